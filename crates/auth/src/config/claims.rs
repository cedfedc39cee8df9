//! Access-token claims that `AUTH_WORKSPACE_CLAIM` may not name: each is carried by real tokens for another
//! purpose, or read by the validator ([`crate::validator`]) for one. Naming one would pass every
//! configuration check and then refuse — or mis-read — every token.

/// The reserved claims and what each is for, in the order errors list them.
pub const RESERVED_CLAIMS: &[(&str, &str)] = &[
    ("iss", "the issuer, checked against the configured issuer"),
    ("sub", "the subject, the principal's identity"),
    ("aud", "the audience, checked against OIDC_AUDIENCE"),
    ("exp", "the expiry time"),
    ("nbf", "the not-before time"),
    ("iat", "the issue time"),
    ("jti", "the token's unique id"),
    ("typ", "the token type"),
    ("azp", "the client the token was issued to"),
    ("scope", "the granted scopes"),
    ("realm_access", "the realm roles"),
    ("resource_access", "the client roles"),
];

/// Why `claim` cannot hold the workspace id, or `None` when it can. Claim names are case-sensitive (JSON
/// object keys): `Sub` is not `sub`.
pub fn reserved_claim(claim: &str) -> Option<&'static str> {
    RESERVED_CLAIMS
        .iter()
        .find(|(name, _)| *name == claim)
        .map(|(_, why)| *why)
}

/// The reserved names as errors list them: `iss, sub, aud, …`.
pub fn reserved_claim_names() -> String {
    RESERVED_CLAIMS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}
