//! The port's one portable error: a distinct variant per rejection reason, so callers, tests and the
//! `WWW-Authenticate` glue can tell *why* a token was refused without string matching. Every variant has an
//! [`ErrorClass`] ([`Classify`]), given by its [`ErrorKind`].

use avb_core::{Classify, ErrorClass};
use std::fmt;

/// A result of the Auth port.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why authentication or authorization failed. Never carries a token or a secret.
///
/// Each variant names its [`ErrorClass`] ([`Classify::class`], the same as [`ErrorKind::class`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `exp` is in the past (beyond the leeway).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token not yet valid (nbf is in the future)")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token issuer is not the expected issuer")]
    WrongIssuer,
    /// `aud` does not name this service.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token audience does not include the expected audience")]
    WrongAudience,
    /// An algorithm that is never accepted (`none`, or HMAC with no key of that family).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token algorithm {alg:?} is not allowed")]
    DisallowedAlgorithm {
        /// The header's `alg`.
        alg: String,
    },
    /// The header's `alg` does not fit the key named by `kid` (e.g. HS256 signed with an RSA public key).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token algorithm {alg:?} does not match the algorithm of key {kid:?}")]
    AlgorithmMismatch {
        /// The header's `alg`.
        alg: String,
        /// The key it named.
        kid: String,
    },
    /// No key with this `kid`, even after refreshing the key set (or the refresh was rate-limited).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("unknown signing key {kid:?}")]
    UnknownKey {
        /// The header's `kid` (`None` when the header has none and several keys exist).
        kid: Option<String>,
    },
    /// The key was in the issuer's key set earlier and has been removed since (rotated out).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("signing key {kid:?} was rotated out by the issuer")]
    KeyRotatedOut {
        /// The retired `kid`.
        kid: String,
    },
    /// The signature does not verify with the named key.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token signature is invalid")]
    BadSignature,
    /// Not an access token: an ID, refresh or other token (Keycloak's `typ` claim other than `Bearer`, a
    /// header `typ` other than `JWT`/`at+jwt`), or a token carrying neither access-token marker.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("not an access token: {reason}")]
    WrongTokenType {
        /// Which marker is wrong or missing (the token's `typ` values, never the token).
        reason: String,
    },
    /// A JWS header parameter avb does not implement and must not ignore: `crit` (RFC 7515 §4.1.11) or
    /// `b64` other than `true` (RFC 7797).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token header parameter {parameter:?} is not supported")]
    UnsupportedHeader {
        /// The parameter.
        parameter: String,
    },
    /// A claim name appears twice in the claims object (parsers disagree on which one counts).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token has the claim {claim:?} more than once")]
    DuplicateClaim {
        /// The repeated claim name.
        claim: String,
    },
    /// `iat` is in the future (beyond the leeway).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token issued in the future (iat is ahead of the clock)")]
    IssuedInFuture,
    /// Not a JWS compact token, bad base64, bad JSON, or a claim of the wrong type.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("malformed token: {reason}")]
    Malformed {
        /// What is wrong (never the token itself).
        reason: String,
    },
    /// A claim the port needs (`sub`, `exp`) is absent.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token lacks the {claim:?} claim")]
    MissingClaim {
        /// The claim.
        claim: String,
    },
    /// The configured workspace claim is absent.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token lacks the workspace claim {claim:?}")]
    MissingWorkspace {
        /// The configured claim name.
        claim: String,
    },
    /// The workspace claim is present but not a valid workspace id.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token's workspace claim is invalid: {0}")]
    InvalidWorkspace(#[from] avb_core::InvalidWorkspaceId),
    /// The token passed offline validation but the issuer's introspection endpoint (RFC 7662, opt-in) says
    /// it is no longer active: the session ended, the user was disabled, the token was revoked.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("token is no longer active at the issuer (introspection)")]
    Inactive,
    /// The issuer (discovery, JWKS or token endpoint) cannot be reached or answered badly (also: an answer
    /// larger than the body cap). Retryable.
    ///
    /// Class: [`ErrorClass::Retryable`].
    #[error("issuer {issuer} unavailable: {reason}")]
    IssuerUnavailable {
        /// The issuer URL, redacted (no userinfo, query or fragment).
        issuer: String,
        /// What failed.
        reason: String,
    },
    /// The issuer pointed avb at an endpoint it does not trust: a `jwks_uri` or `token_endpoint` off the
    /// issuer's origin (and not allowed by `OIDC_ALLOWED_ORIGINS`), a redirect to another origin, or more
    /// redirects than allowed. Not retryable: the issuer's configuration must change.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error("issuer {issuer} named an untrusted endpoint: {reason}")]
    UntrustedEndpoint {
        /// The issuer URL (redacted).
        issuer: String,
        /// Which endpoint and why (URLs redacted).
        reason: String,
    },
    /// An authorization check failed.
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("permission denied: {action} needs one of the roles {required}")]
    PermissionDenied {
        /// The action asked for.
        action: String,
        /// Roles that would allow it.
        required: String,
    },
    /// A setting of the backend is invalid.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error("{key}={value:?} is invalid: expected {expected}")]
    InvalidConfig {
        /// The variable or builder setting.
        key: String,
        /// The rejected value (never a secret).
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// The configuration selects a backend this build does not contain (the one shape every port uses).
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error(transparent)]
    NotCompiled(#[from] avb_core::NotCompiled),
    /// The operation is not available on this backend.
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("{operation} is not supported by the {backend} auth backend")]
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// The backend.
        backend: &'static str,
    },
    /// The development key of the local issuer cannot be read or written.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error("local issuer key {path}: {reason}")]
    DevKey {
        /// The key file.
        path: String,
        /// What failed.
        reason: String,
    },
}

/// The variant of an [`Error`] without its data: for matching in tests, metrics and conformance cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // one-to-one with Error's documented variants
pub enum ErrorKind {
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    DisallowedAlgorithm,
    AlgorithmMismatch,
    UnknownKey,
    KeyRotatedOut,
    BadSignature,
    WrongTokenType,
    UnsupportedHeader,
    DuplicateClaim,
    IssuedInFuture,
    Malformed,
    MissingClaim,
    MissingWorkspace,
    InvalidWorkspace,
    Inactive,
    IssuerUnavailable,
    UntrustedEndpoint,
    PermissionDenied,
    InvalidConfig,
    NotCompiled,
    NotSupported,
    DevKey,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl ErrorKind {
    /// The class of every error of this kind (see [`Error`]).
    pub fn class(self) -> ErrorClass {
        match self {
            ErrorKind::Expired
            | ErrorKind::NotYetValid
            | ErrorKind::WrongIssuer
            | ErrorKind::WrongAudience
            | ErrorKind::DisallowedAlgorithm
            | ErrorKind::AlgorithmMismatch
            | ErrorKind::UnknownKey
            | ErrorKind::KeyRotatedOut
            | ErrorKind::BadSignature
            | ErrorKind::WrongTokenType
            | ErrorKind::UnsupportedHeader
            | ErrorKind::DuplicateClaim
            | ErrorKind::IssuedInFuture
            | ErrorKind::Malformed
            | ErrorKind::MissingClaim
            | ErrorKind::MissingWorkspace
            | ErrorKind::InvalidWorkspace
            | ErrorKind::Inactive
            | ErrorKind::PermissionDenied => ErrorClass::Unauthorized,
            ErrorKind::IssuerUnavailable => ErrorClass::Retryable,
            ErrorKind::UntrustedEndpoint
            | ErrorKind::InvalidConfig
            | ErrorKind::NotCompiled
            | ErrorKind::DevKey => ErrorClass::Configuration,
            ErrorKind::NotSupported => ErrorClass::Permanent,
        }
    }
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        self.kind().class()
    }
}

impl Error {
    /// The variant, without data.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Expired => ErrorKind::Expired,
            Error::NotYetValid => ErrorKind::NotYetValid,
            Error::WrongIssuer => ErrorKind::WrongIssuer,
            Error::WrongAudience => ErrorKind::WrongAudience,
            Error::DisallowedAlgorithm { .. } => ErrorKind::DisallowedAlgorithm,
            Error::AlgorithmMismatch { .. } => ErrorKind::AlgorithmMismatch,
            Error::UnknownKey { .. } => ErrorKind::UnknownKey,
            Error::KeyRotatedOut { .. } => ErrorKind::KeyRotatedOut,
            Error::BadSignature => ErrorKind::BadSignature,
            Error::WrongTokenType { .. } => ErrorKind::WrongTokenType,
            Error::UnsupportedHeader { .. } => ErrorKind::UnsupportedHeader,
            Error::DuplicateClaim { .. } => ErrorKind::DuplicateClaim,
            Error::IssuedInFuture => ErrorKind::IssuedInFuture,
            Error::Malformed { .. } => ErrorKind::Malformed,
            Error::MissingClaim { .. } => ErrorKind::MissingClaim,
            Error::MissingWorkspace { .. } => ErrorKind::MissingWorkspace,
            Error::InvalidWorkspace(_) => ErrorKind::InvalidWorkspace,
            Error::Inactive => ErrorKind::Inactive,
            Error::IssuerUnavailable { .. } => ErrorKind::IssuerUnavailable,
            Error::UntrustedEndpoint { .. } => ErrorKind::UntrustedEndpoint,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::InvalidConfig { .. } => ErrorKind::InvalidConfig,
            Error::NotCompiled(_) => ErrorKind::NotCompiled,
            Error::NotSupported { .. } => ErrorKind::NotSupported,
            Error::DevKey { .. } => ErrorKind::DevKey,
        }
    }

    /// Whether retrying the same call later may succeed. Only an unreachable issuer is; a rejected token
    /// stays rejected. The same answer as [`Classify::is_retryable`], callable without importing the trait.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// Whether the token itself was rejected (HTTP glue answers 401), as opposed to a refused permission
    /// (403) or a server-side problem (503/500).
    pub fn is_unauthenticated(&self) -> bool {
        !matches!(
            self,
            Error::IssuerUnavailable { .. }
                | Error::UntrustedEndpoint { .. }
                | Error::PermissionDenied { .. }
                | Error::InvalidConfig { .. }
                | Error::NotCompiled(_)
                | Error::NotSupported { .. }
                | Error::DevKey { .. }
        )
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Error::Malformed {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unavailable_issuer_is_retryable() {
        let unavailable = Error::IssuerUnavailable {
            issuer: "http://x".into(),
            reason: "refused".into(),
        };
        assert!(unavailable.is_retryable());
        assert!(!unavailable.is_unauthenticated());
        assert!(!Error::Expired.is_retryable());
        assert!(Error::Expired.is_unauthenticated());
        assert_eq!(Error::BadSignature.kind(), ErrorKind::BadSignature);
    }

    /// One value of every variant with its expected class (a new variant belongs here too; the count below
    /// is checked).
    fn one_of_each() -> Vec<(Error, ErrorClass)> {
        use ErrorClass::*;
        let s = String::new;
        let workspace = match avb_core::WorkspaceId::new("") {
            Err(e) => e,
            Ok(id) => panic!("an empty workspace id was accepted: {id}"),
        };
        vec![
            (Error::Expired, Unauthorized),
            (Error::NotYetValid, Unauthorized),
            (Error::WrongIssuer, Unauthorized),
            (Error::WrongAudience, Unauthorized),
            (Error::DisallowedAlgorithm { alg: s() }, Unauthorized),
            (
                Error::AlgorithmMismatch { alg: s(), kid: s() },
                Unauthorized,
            ),
            (Error::UnknownKey { kid: None }, Unauthorized),
            (Error::KeyRotatedOut { kid: s() }, Unauthorized),
            (Error::BadSignature, Unauthorized),
            (Error::WrongTokenType { reason: s() }, Unauthorized),
            (Error::UnsupportedHeader { parameter: s() }, Unauthorized),
            (Error::DuplicateClaim { claim: s() }, Unauthorized),
            (Error::IssuedInFuture, Unauthorized),
            (Error::Malformed { reason: s() }, Unauthorized),
            (Error::MissingClaim { claim: s() }, Unauthorized),
            (Error::MissingWorkspace { claim: s() }, Unauthorized),
            (Error::InvalidWorkspace(workspace), Unauthorized),
            (Error::Inactive, Unauthorized),
            (
                Error::IssuerUnavailable {
                    issuer: s(),
                    reason: s(),
                },
                Retryable,
            ),
            (
                Error::UntrustedEndpoint {
                    issuer: s(),
                    reason: s(),
                },
                Configuration,
            ),
            (
                Error::PermissionDenied {
                    action: s(),
                    required: s(),
                },
                Unauthorized,
            ),
            (
                Error::InvalidConfig {
                    key: s(),
                    value: s(),
                    expected: s(),
                },
                Configuration,
            ),
            (
                Error::NotCompiled(avb_core::NotCompiled {
                    backend: "AUTH_MODE=keycloak".into(),
                    feature: "auth-oidc",
                }),
                Configuration,
            ),
            (
                Error::NotSupported {
                    operation: "mint",
                    backend: "none",
                },
                Permanent,
            ),
            (
                Error::DevKey {
                    path: s(),
                    reason: s(),
                },
                Configuration,
            ),
        ]
    }

    #[test]
    fn every_variant_has_its_class_and_retryable_agrees() {
        let all = one_of_each();
        assert_eq!(all.len(), 25, "one entry per variant of Error");
        for (e, class) in all {
            assert_eq!(e.class(), class, "{e:?}");
            assert_eq!(e.kind().class(), class, "{e:?}");
            assert_eq!(e.is_retryable(), class == ErrorClass::Retryable, "{e:?}");
            assert_eq!(Classify::is_retryable(&e), e.is_retryable(), "{e:?}");
            // A rejected token (401) is Unauthorized; of the Unauthorized class only a refused permission
            // (403) is not a rejected token.
            assert_eq!(
                e.is_unauthenticated(),
                class == ErrorClass::Unauthorized && e.kind() != ErrorKind::PermissionDenied,
                "{e:?}"
            );
        }
    }
}
