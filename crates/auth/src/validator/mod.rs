//! The one access-token validator, shared by the local issuer and the OIDC backend, so sandbox exercises
//! the production path.
//!
//! Order of checks (each failure has its own [`Error`] variant):
//! 1. shape: three base64url segments, a JSON header with a string `alg` (no parameter twice) →
//!    [`Error::Malformed`]; a `crit` parameter (RFC 7515 §4.1.11: avb understands no extension) or `b64`
//!    other than `true` (RFC 7797) → [`Error::UnsupportedHeader`];
//! 2. `alg: none` → [`Error::DisallowedAlgorithm`]; HMAC (`HS*`) → [`Error::AlgorithmMismatch`] when the
//!    `kid` names one of the issuer's (asymmetric) keys — the classic key-confusion attack — else
//!    [`Error::DisallowedAlgorithm`];
//! 3. key by `kid` from the [`KeyCache`] (refreshing on a miss) →
//!    [`Error::UnknownKey`] / [`Error::KeyRotatedOut`];
//! 4. the header's `alg` must be one the *key* allows → [`Error::AlgorithmMismatch`];
//! 5. signature (`jsonwebtoken::crypto::verify` on aws-lc-rs) → [`Error::BadSignature`];
//! 6. claims, parsed in one pass (unread claims are skipped, but every name is checked): one JSON object and
//!    nothing after it but whitespace → else [`Error::Malformed`]; a name twice → [`Error::DuplicateClaim`];
//! 7. token type: access tokens only. It must carry a marker — RFC 9068's header `typ: at+jwt` (or
//!    `application/at+jwt`) or Keycloak's claim `typ: "Bearer"` — and no marker may say otherwise (claim
//!    `typ` `ID`, `Refresh`, `Offline`…, header `typ` other than `JWT`/`at+jwt`) → [`Error::WrongTokenType`].
//!    A token with neither marker is refused too: a provider's ID token may look exactly like it (and
//!    carries the client id as `aud`), so "unmarked" cannot be told apart from "ID token";
//! 8. claim rules: `exp` (required) → [`Error::Expired`], `nbf` → [`Error::NotYetValid`], `iat` →
//!    [`Error::IssuedInFuture`] (all with leeway), `iss` → [`Error::WrongIssuer`], `aud` (string or array)
//!    → [`Error::WrongAudience`], `sub` → [`Error::MissingClaim`], the workspace claim →
//!    [`Error::MissingWorkspace`]; roles from `realm_access.roles` and `resource_access.<client>.roles`,
//!    `scope`. A claim of the wrong JSON type is [`Error::Malformed`].
//!
//! A validator may hold a [`TokenCache`] of tokens it accepted (the local and OIDC backends do, sized by
//! `AUTH_TOKEN_CACHE_SIZE`): a repeated token is then answered without checks 1–8, only while its `exp`
//! has not come and the key that verified it is still published — see [`token_cache`].
//!
//! The claim checks are ours rather than `jsonwebtoken::decode`'s: that function parses the header and the
//! claims twice each, which cost about a quarter of an RS256 validation; the rules are the same
//! (`exp < now - leeway` is expired, `nbf > now + leeway` is not yet valid; `iat > now + leeway`, which
//! `jsonwebtoken` does not check, is issued in the future).

mod claims;
pub mod token_cache;

pub use token_cache::{DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_SIZE, TokenCache};

use crate::jwks::{KeyCache, VerifyKey};
use crate::{Error, Principal, Result};
use avb_core::WorkspaceId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use claims::{Claims, ClaimsSeed};
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest token accepted, in bytes; longer input is [`Error::Malformed`] before any decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Default claim carrying the workspace id.
pub const DEFAULT_WORKSPACE_CLAIM: &str = crate::config::DEFAULT_WORKSPACE_CLAIM;

/// What a valid token must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Expected `iss`, exactly.
    pub issuer: String,
    /// Accepted `aud` values (the token's `aud` must contain one).
    pub audiences: Vec<String>,
    /// Clock-skew allowance for `exp` and `nbf`.
    pub leeway: Duration,
    /// The claim holding the workspace id.
    pub workspace_claim: String,
    /// Workspace used when the claim is absent; `None` (the default) rejects such tokens.
    pub default_workspace: Option<WorkspaceId>,
    /// The client whose `resource_access.<client>.roles` count as roles (besides realm roles).
    pub client_id: Option<String>,
}

impl Rules {
    /// Rules for `issuer` and `audience` with the defaults: 30 s leeway, claim `workspace_id`, no default
    /// workspace, realm roles only.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            leeway: crate::config::DEFAULT_LEEWAY,
            workspace_claim: DEFAULT_WORKSPACE_CLAIM.into(),
            default_workspace: None,
            client_id: None,
        }
    }
}

/// Validates access tokens against [`Rules`] with keys from a [`KeyCache`].
#[derive(Debug)]
pub struct Validator {
    rules: Rules,
    keys: Arc<KeyCache>,
    cache: Option<TokenCache>,
}

/// The JWS header parameters the validator reads. A repeated one is an error (serde's duplicate check).
#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// Present at all (even `null` or `[]`): refused, avb implements no critical extension.
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    /// RFC 7797: anything but `true` changes what was signed; refused.
    #[serde(default, deserialize_with = "some_value")]
    b64: Option<Value>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

fn some_value<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Keycloak's `typ` claim of an access token.
pub const ACCESS_TOKEN_CLAIM_TYP: &str = "Bearer";
/// RFC 9068's header `typ` of a JWT access token (also accepted as `application/at+jwt`).
pub const ACCESS_TOKEN_HEADER_TYP: &str = "at+jwt";

/// Whether the header `typ` names the media type `name`, case-insensitively, with or without the
/// `application/` prefix (RFC 7515 §4.1.9).
fn is_media_type(typ: &str, name: &str) -> bool {
    const PREFIX: &str = "application/";
    let bare = match typ.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => typ.get(PREFIX.len()..).unwrap_or(""),
        _ => typ,
    };
    bare.eq_ignore_ascii_case(name)
}

/// A `typ` value from a token, for an error message: quoted, at most 40 characters.
fn shown_typ(typ: &str) -> String {
    format!("{:?}", typ.chars().take(40).collect::<String>())
}

/// Only access tokens pass: a marker must say so (header `typ: at+jwt`, or Keycloak's claim
/// `typ: "Bearer"`), and no marker may say otherwise.
fn check_token_type(header_typ: Option<&str>, claim_typ: Option<&str>) -> Result<()> {
    let header_ok = match header_typ {
        None => false,
        Some(typ) if is_media_type(typ, "JWT") => false,
        Some(typ) if is_media_type(typ, ACCESS_TOKEN_HEADER_TYP) => true,
        Some(typ) => {
            return Err(Error::WrongTokenType {
                reason: format!("header typ {}", shown_typ(typ)),
            });
        }
    };
    let claim_ok = match claim_typ {
        None => false,
        Some(typ) if typ.eq_ignore_ascii_case(ACCESS_TOKEN_CLAIM_TYP) => true,
        Some(typ) => {
            return Err(Error::WrongTokenType {
                reason: format!("typ claim {}", shown_typ(typ)),
            });
        }
    };
    if header_ok || claim_ok {
        Ok(())
    } else {
        Err(Error::WrongTokenType {
            reason: format!(
                "neither the header typ {ACCESS_TOKEN_HEADER_TYP:?} nor the claim typ {ACCESS_TOKEN_CLAIM_TYP:?}"
            ),
        })
    }
}

impl Validator {
    /// A validator for `rules` with keys from `keys`.
    /// A validator for `rules` with keys from `keys`, without a [`TokenCache`]: every token is checked in
    /// full.
    pub fn new(rules: Rules, keys: Arc<KeyCache>) -> Self {
        Self {
            rules,
            keys,
            cache: None,
        }
    }

    /// Answer repeated tokens from `cache` (see [`token_cache`]); a cache of 0 entries is no cache.
    pub fn with_token_cache(mut self, cache: TokenCache) -> Self {
        self.cache = (cache.max_entries() > 0).then_some(cache);
        self
    }

    /// The validated-token cache, when there is one.
    pub fn token_cache(&self) -> Option<&TokenCache> {
        self.cache.as_ref()
    }

    /// The rules applied.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The key cache.
    pub fn keys(&self) -> &Arc<KeyCache> {
        &self.keys
    }

    /// Validates `token` and maps its claims to a [`Principal`] — from the [`TokenCache`] when it holds
    /// the token.
    pub async fn validate(&self, token: &str) -> Result<Principal> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::malformed(format!(
                "token longer than {MAX_TOKEN_LEN} bytes"
            )));
        }
        let Some(cache) = &self.cache else {
            return self.verify(token).await.map(|(principal, _)| principal);
        };
        let digest = token_cache::digest(token);
        if let Some(principal) = cache.get(&digest, &self.keys) {
            return Ok(principal);
        }
        let (principal, key) = self.verify(token).await?;
        cache.insert(digest, &principal, &key, &self.keys);
        Ok(principal)
    }

    /// Checks 1–8 of the [module docs](self); the principal and the key that verified the signature.
    async fn verify(&self, token: &str) -> Result<(Principal, Arc<VerifyKey>)> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::malformed("expected three dot-separated segments"));
        };
        let message = &token[..header.len() + 1 + payload.len()];
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|e| Error::malformed(format!("header is not base64url: {e}")))?;
        let header: Header = serde_json::from_slice(&header)
            .map_err(|e| Error::malformed(format!("header is not a JWS header: {e}")))?;
        let kid = header.kid.as_deref();
        if header.crit {
            return Err(Error::UnsupportedHeader {
                parameter: "crit".into(),
            });
        }
        if header.b64.as_ref().is_some_and(|b| *b != Value::Bool(true)) {
            return Err(Error::UnsupportedHeader {
                parameter: "b64".into(),
            });
        }
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(Error::DisallowedAlgorithm { alg: header.alg });
        }
        let Ok(alg) = header.alg.parse::<Algorithm>() else {
            return Err(Error::DisallowedAlgorithm { alg: header.alg });
        };
        if alg.family() == AlgorithmFamily::Hmac {
            return Err(match (kid, self.keys.cached(kid)) {
                (Some(kid), Some(_)) => Error::AlgorithmMismatch {
                    alg: header.alg,
                    kid: kid.into(),
                },
                _ => Error::DisallowedAlgorithm { alg: header.alg },
            });
        }
        let key = self.keys.key(kid).await?;
        if !key.algorithms.contains(&alg) {
            return Err(Error::AlgorithmMismatch {
                alg: header.alg,
                kid: kid.unwrap_or_default().into(),
            });
        }
        // The signature first, then the claims, parsed once. The key was parsed for `alg` when it was
        // loaded (the same aws-lc-rs algorithm `jsonwebtoken::crypto::verify` picks, without parsing the
        // key again at every call); a key aws-lc-rs could not parse goes through `jsonwebtoken`.
        let verified = match key.parsed(alg) {
            Some(parsed) => {
                let signature = URL_SAFE_NO_PAD
                    .decode(signature)
                    .map_err(|e| map_jwt_error(JwtErrorKind::Base64(e).into()))?;
                parsed.verify_sig(message.as_bytes(), &signature).is_ok()
            }
            None => jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, alg)
                .map_err(map_jwt_error)?,
        };
        if !verified {
            return Err(Error::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|e| Error::malformed(format!("payload is not base64url: {e}")))?;
        let mut json = serde_json::Deserializer::from_slice(&payload);
        let claims = ClaimsSeed {
            workspace_claim: &self.rules.workspace_claim,
            client_id: self.rules.client_id.as_deref(),
        }
        .deserialize(&mut json)
        .and_then(|claims| json.end().map(|()| claims))
        .map_err(|e| Error::malformed(format!("claims: {e}")))?;
        if let Some(claim) = claims.duplicate {
            return Err(Error::DuplicateClaim { claim });
        }
        check_token_type(header.typ.as_deref(), claims.typ.as_deref())?;
        self.check(claims).map(|principal| (principal, key))
    }

    fn check(&self, claims: Claims) -> Result<Principal> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let leeway = self.rules.leeway.as_secs_f64();
        let Some(exp) = claims.exp else {
            return Err(Error::MissingClaim {
                claim: "exp".into(),
            });
        };
        if exp < now - leeway {
            return Err(Error::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(Error::NotYetValid);
        }
        if claims.iat.is_some_and(|iat| iat > now + leeway) {
            return Err(Error::IssuedInFuture);
        }
        if claims.iss.as_deref() != Some(self.rules.issuer.as_str()) {
            return Err(Error::WrongIssuer);
        }
        if !claims
            .aud
            .iter()
            .any(|aud| self.rules.audiences.iter().any(|a| a == aud))
        {
            return Err(Error::WrongAudience);
        }
        let subject = match claims.sub {
            Some(s) if !s.is_empty() => s,
            _ => {
                return Err(Error::MissingClaim {
                    claim: "sub".into(),
                });
            }
        };
        let workspace_id = match claims.workspace {
            Some(Value::String(ws)) => WorkspaceId::new(ws)?,
            Some(_) => {
                return Err(Error::malformed(format!(
                    "claim {:?} is not a string",
                    self.rules.workspace_claim
                )));
            }
            None => match &self.rules.default_workspace {
                Some(ws) => ws.clone(),
                None => {
                    return Err(Error::MissingWorkspace {
                        claim: self.rules.workspace_claim.clone(),
                    });
                }
            },
        };
        let scopes = claims
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        Ok(Principal {
            subject,
            workspace_id,
            roles: claims.roles,
            scopes,
            expires_at: UNIX_EPOCH.checked_add(Duration::from_secs_f64(exp.clamp(0.0, 1e12))),
        })
    }
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> Error {
    match e.kind() {
        JwtErrorKind::InvalidSignature => Error::BadSignature,
        JwtErrorKind::ExpiredSignature => Error::Expired,
        JwtErrorKind::ImmatureSignature => Error::NotYetValid,
        JwtErrorKind::InvalidIssuer => Error::WrongIssuer,
        JwtErrorKind::InvalidAudience => Error::WrongAudience,
        JwtErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "iss" => Error::WrongIssuer,
            "aud" => Error::WrongAudience,
            other => Error::MissingClaim {
                claim: other.into(),
            },
        },
        JwtErrorKind::InvalidAlgorithm => Error::AlgorithmMismatch {
            alg: String::new(),
            kid: String::new(),
        },
        other => Error::malformed(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests;
