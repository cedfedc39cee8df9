//! The Auth port's configuration: which backend `AUTH_MODE` chose and its settings, read and checked here
//! (once), shown as the startup summary's line, and turned into an [`Authenticator`](crate::Authenticator)
//! by [`open`](crate::open). Each default is one constant below, used by the builders too.
//!
//! ```
//! use avb_core::config::PortConfig;
//! use avb_auth::config::AuthConfig;
//! let port = AuthConfig::from_pairs([("AVB_SANDBOX_SUBJECT", "dev-1")]).unwrap();
//! assert!(matches!(port.backend, AuthConfig::None { .. }));
//! ```

mod claims;
mod keycloak;
use avb_core::config::keys::{Key, key, secret};
use avb_core::config::{PortConfig, Problem, Reader, Scrubber, Secret, ServiceUrl};
pub use claims::{RESERVED_CLAIMS, reserved_claim, reserved_claim_names};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

avb_core::choice! {
    /// Auth backend (`AUTH_MODE`).
    AuthKind { /** Trust-all. */ None = "none", /** Local issuer with a development key. */ Local = "local", /** Keycloak / any OIDC provider. */ Keycloak = "keycloak" }
    aliases { "oidc" => Keycloak }
}
avb_core::backend_kind!(AuthKind, AUTH_MODE, sandbox: None, live: Keycloak, sandbox_only: [None, Local]);

// The port's variables: each described once (the registry, `avb vars` and the README table are made
// from these constants).

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

/// `AUTH_TOKEN_CACHE_SIZE`.
pub const AUTH_TOKEN_CACHE_SIZE: Key = key(
    "AUTH_TOKEN_CACHE_SIZE",
    "auth",
    "integer 0-1000000",
    "`10000`",
    "Most validated tokens remembered (`local` and `keycloak`), so a repeated bearer token skips signature and claim checks: keyed by the token's SHA-256, never past its `exp` (leeway does not extend it), dropped when its key leaves the JWKS, at most 16 MiB; rejections are never cached. `0` turns the cache off. Introspection (`OIDC_INTROSPECTION`) still runs on a cached token.",
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
    AUTH_TOKEN_CACHE_SIZE,
    AVB_AUTH_DEV_KEY_FILE,
];

/// The claim that carries the workspace id (`AUTH_WORKSPACE_CLAIM`).
pub const DEFAULT_WORKSPACE_CLAIM: &str = "workspace_id";
/// Clock skew allowed on `exp`/`nbf` (`AUTH_LEEWAY_SECONDS`).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Shortest interval between two JWKS fetches (`OIDC_JWKS_MIN_REFRESH_SECONDS`).
pub const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);
/// Longest a fetched JWKS is used before a refresh (`OIDC_JWKS_MAX_AGE_SECONDS`).
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);
/// How long an introspection answer is reused (`OIDC_INTROSPECTION_CACHE_SECONDS`).
pub const DEFAULT_INTROSPECTION_CACHE: Duration = Duration::from_secs(5);
/// Most validated tokens cached (`AUTH_TOKEN_CACHE_SIZE`; 0 = off).
pub const DEFAULT_TOKEN_CACHE_SIZE: usize = 10_000;
/// Largest `AUTH_TOKEN_CACHE_SIZE`.
pub const MAX_TOKEN_CACHE_SIZE: u64 = 1_000_000;
/// The development key of the `local` backend (`AVB_AUTH_DEV_KEY_FILE`), under the current directory.
pub const DEFAULT_DEV_KEY_FILE: &str = ".avb/auth/dev-key.pem";
/// The trust-all workspace (`AVB_SANDBOX_WORKSPACE`).
pub const DEFAULT_SANDBOX_WORKSPACE: &str = "sandbox";
/// The trust-all subject (`AVB_SANDBOX_SUBJECT`).
pub const DEFAULT_SANDBOX_SUBJECT: &str = "sandbox-user";

/// Auth backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AuthConfig {
    /// Trust-all: every request is this workspace and subject (sandbox only).
    None {
        /// `AVB_SANDBOX_WORKSPACE`.
        workspace_id: String,
        /// `AVB_SANDBOX_SUBJECT`.
        subject: String,
    },
    /// Local issuer signing real JWTs with a development key (sandbox only).
    Local {
        /// `AVB_AUTH_DEV_KEY_FILE`.
        key_file: PathBuf,
        /// `AUTH_TOKEN_CACHE_SIZE` (0 = no validated-token cache).
        token_cache_size: u32,
    },
    /// Keycloak or any OIDC provider.
    Keycloak {
        /// The issuer (`OIDC_ISSUER_URL`, or `KEYCLOAK_URL/realms/KEYCLOAK_REALM`).
        issuer: ServiceUrl,
        /// `OIDC_AUDIENCE`.
        audience: String,
        /// `OIDC_CLIENT_ID`.
        client_id: Option<String>,
        /// `OIDC_CLIENT_SECRET`.
        client_secret: Option<Secret>,
        /// `AUTH_WORKSPACE_CLAIM`.
        workspace_claim: String,
        /// `AUTH_LEEWAY_SECONDS`.
        leeway_seconds: u64,
        /// `OIDC_JWKS_MIN_REFRESH_SECONDS`.
        jwks_min_refresh_seconds: u64,
        /// `OIDC_JWKS_MAX_AGE_SECONDS`.
        jwks_max_age_seconds: u64,
        /// `OIDC_ALLOWED_ORIGINS`: origins (`scheme://host[:port]`) besides the issuer's trusted for
        /// `jwks_uri` and `token_endpoint`.
        allowed_origins: Vec<String>,
        /// `OIDC_INTROSPECTION`: when tokens are checked at the issuer's introspection endpoint
        /// (with `OIDC_CLIENT_ID`/`OIDC_CLIENT_SECRET`).
        introspection: OidcIntrospection,
        /// `OIDC_INTROSPECTION_CACHE_SECONDS`: how long an introspection answer is reused.
        introspection_cache_seconds: u64,
        /// `AUTH_TOKEN_CACHE_SIZE` (0 = no validated-token cache).
        token_cache_size: u32,
    },
}

/// When the OIDC backend asks the issuer whether a validated token is still active (RFC 7662 token
/// introspection; `OIDC_INTROSPECTION`). Offline validation alone keeps a token valid until its `exp`
/// even after a logout or a disabled user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OidcIntrospection {
    /// Never: offline validation only (the default).
    Off,
    /// For every token.
    All,
    /// Only on routes that ask for it (`AuthLayer::introspected`).
    PerRoute,
}

impl OidcIntrospection {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OidcIntrospection::Off => "off",
            OidcIntrospection::All => "all",
            OidcIntrospection::PerRoute => "per_route",
        }
    }
}

/// `AUTH_TOKEN_CACHE_SIZE` (the range keeps it well inside `u32`).
fn token_cache_size(r: &mut Reader<'_>) -> Option<u32> {
    let size = r.integer(
        &AUTH_TOKEN_CACHE_SIZE,
        DEFAULT_TOKEN_CACHE_SIZE as u64,
        0..=MAX_TOKEN_CACHE_SIZE,
    )?;
    u32::try_from(size).ok()
}

impl PortConfig for AuthConfig {
    type Kind = AuthKind;
    const NAME: &'static str = "auth";
    const VARS: &'static [Key] = VARS;

    fn read(kind: AuthKind, r: &mut Reader<'_>, needed_by: &str) -> Option<Self> {
        match kind {
            AuthKind::None => {
                let workspace_id =
                    r.with_default(&AVB_SANDBOX_WORKSPACE, DEFAULT_SANDBOX_WORKSPACE);
                let subject = r.with_default(&AVB_SANDBOX_SUBJECT, DEFAULT_SANDBOX_SUBJECT);
                Some(AuthConfig::None {
                    workspace_id: workspace_id?,
                    subject: subject?,
                })
            }
            AuthKind::Local => {
                let key_file = r.with_default(&AVB_AUTH_DEV_KEY_FILE, DEFAULT_DEV_KEY_FILE);
                let token_cache_size = token_cache_size(r);
                Some(AuthConfig::Local {
                    key_file: key_file?.into(),
                    token_cache_size: token_cache_size?,
                })
            }
            AuthKind::Keycloak => keycloak::keycloak(r, needed_by),
        }
    }

    fn kind(&self) -> AuthKind {
        match self {
            AuthConfig::None { .. } => AuthKind::None,
            AuthConfig::Local { .. } => AuthKind::Local,
            AuthConfig::Keycloak { .. } => AuthKind::Keycloak,
        }
    }

    fn secrets<'a>(&'a self, out: &mut Scrubber<'a>) {
        match self {
            AuthConfig::None { .. } | AuthConfig::Local { .. } => {}
            AuthConfig::Keycloak {
                issuer,
                client_secret,
                ..
            } => {
                out.url(issuer);
                if let Some(secret) = client_secret {
                    out.secret(secret);
                }
            }
        }
    }
}

/// `token cache off` or `token cache <n> tokens`, for the summary line.
struct TokenCacheShown(u32);

impl fmt::Display for TokenCacheShown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("token cache off"),
            n => write!(f, "token cache {n} tokens"),
        }
    }
}

impl fmt::Display for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::None {
                workspace_id,
                subject,
            } => write!(
                f,
                "none (trust-all: workspace {workspace_id:?}, subject {subject:?})"
            ),
            AuthConfig::Local {
                key_file,
                token_cache_size,
            } => write!(
                f,
                "local (tokens signed with the development key {}), {}",
                key_file.display(),
                TokenCacheShown(*token_cache_size)
            ),
            AuthConfig::Keycloak {
                issuer,
                audience,
                workspace_claim,
                introspection,
                token_cache_size,
                ..
            } => write!(
                f,
                "keycloak issuer {issuer}, audience {audience}, workspace claim {workspace_claim}, introspection {}, {}",
                introspection.as_str(),
                TokenCacheShown(*token_cache_size)
            ),
        }
    }
}

#[cfg(test)]
mod tests;
