//! The Auth variables: each described once (the registry, `avb vars` and the README table are made from
//! these constants).

use avb_core::config::keys::{Key, key, secret};

/// `AUTH_MODE`.
pub const AUTH_MODE: Key = key(
    "AUTH_MODE",
    "auth",
    "`none`, `local`, `keycloak` (alias `oidc`)",
    "sandbox: `none`; live: `keycloak`",
    "Auth backend. `none` (trust-all) and `local` (dev-key issuer) are sandbox-only.",
);

/// `AVB_SANDBOX_WORKSPACE`.
pub const AVB_SANDBOX_WORKSPACE: Key = key(
    "AVB_SANDBOX_WORKSPACE",
    "auth",
    "workspace id",
    "`sandbox`",
    "Workspace every request gets under `AUTH_MODE=none`.",
);

/// `AVB_SANDBOX_SUBJECT`.
pub const AVB_SANDBOX_SUBJECT: Key = key(
    "AVB_SANDBOX_SUBJECT",
    "auth",
    "subject",
    "`sandbox-user`",
    "Subject every request gets under `AUTH_MODE=none`.",
);

/// `OIDC_ISSUER_URL`.
pub const OIDC_ISSUER_URL: Key = key(
    "OIDC_ISSUER_URL",
    "auth",
    "`http(s)://` URL",
    "required for `AUTH_MODE=keycloak` unless `KEYCLOAK_URL` is set",
    "OIDC issuer; discovery is read from `<issuer>/.well-known/openid-configuration`.",
);

/// `KEYCLOAK_URL`.
pub const KEYCLOAK_URL: Key = key(
    "KEYCLOAK_URL",
    "auth",
    "`http(s)://` URL",
    "unset",
    "Keycloak base URL; with `KEYCLOAK_REALM` gives the issuer `<url>/realms/<realm>`. Set this pair or `OIDC_ISSUER_URL`, not both.",
);

/// `KEYCLOAK_REALM`.
pub const KEYCLOAK_REALM: Key = key(
    "KEYCLOAK_REALM",
    "auth",
    "realm name",
    "required with `KEYCLOAK_URL`",
    "Keycloak realm.",
);

/// `OIDC_AUDIENCE`.
pub const OIDC_AUDIENCE: Key = key(
    "OIDC_AUDIENCE",
    "auth",
    "`aud` value",
    "required for `AUTH_MODE=keycloak`",
    "The audience this service's access tokens must carry (Keycloak: the client id or an audience mapper's value).",
);

/// `OIDC_CLIENT_ID`.
pub const OIDC_CLIENT_ID: Key = key(
    "OIDC_CLIENT_ID",
    "auth",
    "client id",
    "unset",
    "This service's client: its `resource_access.<client>.roles` count as roles, and with `OIDC_CLIENT_SECRET` it gets tokens for outgoing calls (client credentials).",
);

/// `OIDC_CLIENT_SECRET`.
pub const OIDC_CLIENT_SECRET: Key = secret(
    "OIDC_CLIENT_SECRET",
    "auth",
    "client secret",
    "Secret of `OIDC_CLIENT_ID` for the client-credentials grant (optional).",
);

/// `AUTH_WORKSPACE_CLAIM`.
pub const AUTH_WORKSPACE_CLAIM: Key = key(
    "AUTH_WORKSPACE_CLAIM",
    "auth",
    "claim name, not a reserved one (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `typ`, `azp`, `scope`, `realm_access`, `resource_access`)",
    "`workspace_id`",
    "Access-token claim holding the workspace id; a token without it is rejected.",
);

/// `AUTH_LEEWAY_SECONDS`.
pub const AUTH_LEEWAY_SECONDS: Key = key(
    "AUTH_LEEWAY_SECONDS",
    "auth",
    "integer 0-300",
    "`30`",
    "Clock-skew allowance for `exp`, `nbf` and `iat`.",
);

/// `OIDC_JWKS_MIN_REFRESH_SECONDS`.
pub const OIDC_JWKS_MIN_REFRESH_SECONDS: Key = key(
    "OIDC_JWKS_MIN_REFRESH_SECONDS",
    "auth",
    "integer 1-3600",
    "`10`",
    "Least time between two JWKS fetches triggered by unknown `kid`s (rate limit against `kid` floods).",
);

/// `OIDC_JWKS_MAX_AGE_SECONDS`.
pub const OIDC_JWKS_MAX_AGE_SECONDS: Key = key(
    "OIDC_JWKS_MAX_AGE_SECONDS",
    "auth",
    "integer 10-86400",
    "`300`",
    "Cached JWKS older than this is refetched at the next validation, so keys the issuer removed stop validating.",
);

/// `OIDC_ALLOWED_ORIGINS`.
pub const OIDC_ALLOWED_ORIGINS: Key = key(
    "OIDC_ALLOWED_ORIGINS",
    "auth",
    "comma-separated `http(s)://host[:port]` origins",
    "unset (the issuer's origin only)",
    "Origins besides the issuer's on which its discovery document may place `jwks_uri` and `token_endpoint` (e.g. a Keycloak back-channel host). Unset: an endpoint elsewhere fails startup.",
);

/// `OIDC_INTROSPECTION`.
pub const OIDC_INTROSPECTION: Key = key(
    "OIDC_INTROSPECTION",
    "auth",
    "`off`, `all` or `per_route`",
    "`off`",
    "Token introspection (RFC 7662): besides offline validation, ask the issuer's `introspection_endpoint` whether a token is still active (a logout or a disabled user then counts at once) — for every token (`all`) or only on routes behind `AuthLayer::introspected` (`per_route`). Calls as `OIDC_CLIENT_ID`/`OIDC_CLIENT_SECRET` (required then); Keycloak 26 answers inactive to a client not in the token's audience, so use the audience's client.",
);

/// `OIDC_INTROSPECTION_CACHE_SECONDS`.
pub const OIDC_INTROSPECTION_CACHE_SECONDS: Key = key(
    "OIDC_INTROSPECTION_CACHE_SECONDS",
    "auth",
    "integer 0-300",
    "`5`",
    "How long an introspection answer is reused (never past the token's `exp`; at most 10 000 answers cached).",
);

/// `AVB_AUTH_DEV_KEY_FILE`.
pub const AVB_AUTH_DEV_KEY_FILE: Key = key(
    "AVB_AUTH_DEV_KEY_FILE",
    "auth",
    "path",
    "`.avb/auth/dev-key.pem`",
    "Development RSA key of `AUTH_MODE=local`; created (mode 0600) on first use and shared by `avb token` and services.",
);

/// Every variable of the port, in documentation order.
pub const VARS: &[Key] = &[
    AUTH_MODE,
    AVB_SANDBOX_WORKSPACE,
    AVB_SANDBOX_SUBJECT,
    OIDC_ISSUER_URL,
    KEYCLOAK_URL,
    KEYCLOAK_REALM,
    OIDC_AUDIENCE,
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    AUTH_WORKSPACE_CLAIM,
    AUTH_LEEWAY_SECONDS,
    OIDC_JWKS_MIN_REFRESH_SECONDS,
    OIDC_JWKS_MAX_AGE_SECONDS,
    OIDC_ALLOWED_ORIGINS,
    OIDC_INTROSPECTION,
    OIDC_INTROSPECTION_CACHE_SECONDS,
    AVB_AUTH_DEV_KEY_FILE,
];
