//! The one access-token validator, shared by the local issuer and the OIDC backend, so sandbox exercises
//! the production path.
//!
//! Order of checks (each failure has its own [`Error`] variant):
//! 1. shape: three base64url segments, a JSON header with a string `alg` → [`Error::Malformed`];
//! 2. `alg: none` → [`Error::DisallowedAlgorithm`]; HMAC (`HS*`) → [`Error::AlgorithmMismatch`] when the
//!    `kid` names one of the issuer's (asymmetric) keys — the classic key-confusion attack — else
//!    [`Error::DisallowedAlgorithm`];
//! 3. key by `kid` from the [`KeyCache`](crate::jwks::KeyCache) (refreshing on a miss) →
//!    [`Error::UnknownKey`] / [`Error::KeyRotatedOut`];
//! 4. the header's `alg` must be one the *key* allows → [`Error::AlgorithmMismatch`];
//! 5. signature → [`Error::BadSignature`]; then `exp`, `nbf` (with leeway), `iss`, `aud`;
//! 6. claims: `sub`, the workspace claim, roles from `realm_access.roles` and
//!    `resource_access.<client>.roles`, `scope`.

use crate::jwks::KeyCache;
use crate::{Error, Principal, Result};
use avb_core::WorkspaceId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// Longest token accepted, in bytes; longer input is [`Error::Malformed`] before any decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Default claim carrying the workspace id.
pub const DEFAULT_WORKSPACE_CLAIM: &str = "workspace_id";

const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

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
            leeway: Duration::from_secs(30),
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
    /// The template (its algorithm list is never matched: see `validations`).
    validation: Validation,
    /// One prepared validation per asymmetric algorithm, so validating allocates no rule sets.
    validations: Vec<Validation>,
    keys: Arc<KeyCache>,
}

#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

impl Validator {
    /// A validator for `rules` with keys from `keys`.
    pub fn new(rules: Rules, keys: Arc<KeyCache>) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = rules.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&rules.issuer]);
        validation.set_audience(&rules.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let validations = ASYMMETRIC
            .iter()
            .map(|alg| {
                let mut v = validation.clone();
                v.algorithms = vec![*alg];
                v
            })
            .collect();
        // The template itself must never accept anything: an empty algorithm list is rejected by jsonwebtoken.
        validation.algorithms = Vec::new();
        Self {
            rules,
            validation,
            validations,
            keys,
        }
    }

    /// The rules applied.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The key cache.
    pub fn keys(&self) -> &Arc<KeyCache> {
        &self.keys
    }

    /// Validates `token` and maps its claims to a [`Principal`].
    pub async fn validate(&self, token: &str) -> Result<Principal> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::malformed(format!(
                "token longer than {MAX_TOKEN_LEN} bytes"
            )));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::malformed("expected three dot-separated segments"));
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|e| Error::malformed(format!("header is not base64url: {e}")))?;
        let header: Header = serde_json::from_slice(&header)
            .map_err(|e| Error::malformed(format!("header is not a JWS header: {e}")))?;
        let kid = header.kid.as_deref();
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
        let validation = self
            .validations
            .iter()
            .find(|v| v.algorithms.first() == Some(&alg))
            .unwrap_or(&self.validation);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, validation)
            .map_err(map_jwt_error)?;
        self.principal(data.claims)
    }

    fn principal(&self, claims: Map<String, Value>) -> Result<Principal> {
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(Error::MissingClaim {
                    claim: "sub".into(),
                });
            }
        };
        let workspace_id = match claims.get(&self.rules.workspace_claim) {
            Some(Value::String(ws)) => WorkspaceId::new(ws.as_str())?,
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
        let mut roles = BTreeSet::new();
        collect_roles(claims.get("realm_access"), "realm_access", &mut roles)?;
        if let (Some(client), Some(resource_access)) =
            (&self.rules.client_id, claims.get("resource_access"))
        {
            collect_roles(
                resource_access.get(client),
                "resource_access.<client>",
                &mut roles,
            )?;
        }
        let scopes = match claims.get("scope") {
            None => BTreeSet::new(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            Some(_) => return Err(Error::malformed("claim \"scope\" is not a string")),
        };
        let expires_at = match claims.get("exp").and_then(Value::as_u64) {
            Some(exp) => UNIX_EPOCH.checked_add(Duration::from_secs(exp)),
            None => None,
        };
        Ok(Principal {
            subject,
            workspace_id,
            roles,
            scopes,
            expires_at,
        })
    }
}

fn collect_roles(access: Option<&Value>, what: &str, roles: &mut BTreeSet<String>) -> Result<()> {
    let Some(access) = access else {
        return Ok(());
    };
    match access.get("roles") {
        None => Ok(()),
        Some(Value::Array(list)) => {
            for role in list {
                match role {
                    Value::String(r) => {
                        roles.insert(r.clone());
                    }
                    _ => return Err(Error::malformed(format!("{what}.roles has a non-string"))),
                }
            }
            Ok(())
        }
        Some(_) => Err(Error::malformed(format!("{what}.roles is not an array"))),
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
