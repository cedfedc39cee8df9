//! The port's one portable error, classified by [`Classify`].

use avb_core::{Classify, ErrorClass};

/// A boxed native error, kept reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything an [`ObjectStore`](crate::ObjectStore) operation can fail with, by meaning, whatever the backend.
///
/// Backends only *report* whether a failure is worth retrying ([`Error::is_retryable`]); retry loops live in
/// layers, never in a backend. Each variant names its [`ErrorClass`] ([`Classify::class`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No object (or multipart upload) under this key. `get` of a missing key is this, never an empty body.
    ///
    /// Class: [`ErrorClass::NotFound`].
    #[error("object {key:?} not found")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// A conditional create found an object already under this key.
    ///
    /// Class: [`ErrorClass::Conflict`].
    #[error("object {key:?} already exists")]
    AlreadyExists {
        /// The key written.
        key: String,
    },
    /// A precondition other than "must not exist" did not hold.
    ///
    /// Class: [`ErrorClass::Conflict`].
    #[error("precondition failed for {key:?}: {detail}")]
    PreconditionFailed {
        /// The key written or read.
        key: String,
        /// What the backend said.
        detail: String,
    },
    /// A read with `If-None-Match` found the object unchanged (HTTP 304): the caller's copy is current.
    ///
    /// Class: [`ErrorClass::Conflict`].
    #[error("object {key:?} not modified")]
    NotModified {
        /// The key read.
        key: String,
        /// The object's entity tag, when known.
        e_tag: Option<String>,
    },
    /// The backend refused the credentials or the operation (HTTP 403, file permissions).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("permission denied by {backend} at {endpoint}: {detail}")]
    PermissionDenied {
        /// The backend (`s3`, `fs`, …).
        backend: &'static str,
        /// Where: the endpoint URL (userinfo redacted) or the directory.
        endpoint: String,
        /// What the backend said (never a secret).
        detail: String,
    },
    /// The bucket does not exist at the endpoint.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error("bucket {bucket:?} does not exist at {endpoint}")]
    BucketNotFound {
        /// The bucket.
        bucket: String,
        /// The endpoint.
        endpoint: String,
    },
    /// The key (or a list prefix) is not acceptable; see [`validate_key`](crate::validate_key).
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why.
        reason: String,
    },
    /// A request argument other than the key is not acceptable (range, metadata name, part number…).
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// What is wrong.
        detail: String,
    },
    /// The requested range starts at or beyond the end of the object.
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("range {range} is not satisfiable for {key:?} ({size} bytes)")]
    InvalidRange {
        /// The key read.
        key: String,
        /// The range asked for.
        range: String,
        /// The object's size.
        size: u64,
    },
    /// A setting is wrong; names the variable (or builder setting), the value and what is allowed.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error("{key}={value:?} is invalid: expected {expected}")]
    InvalidConfig {
        /// The variable or setting.
        key: String,
        /// The rejected value (redacted when secret).
        value: String,
        /// The allowed values or shape.
        expected: String,
    },
    /// The configuration selects a backend this build does not contain (the one shape every port uses).
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error(transparent)]
    NotCompiled(#[from] avb_core::NotCompiled),
    /// The backend cannot do this operation (see [`Capabilities`](crate::Capabilities)).
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("{operation} is not supported by the {backend} backend")]
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// The backend.
        backend: &'static str,
    },
    /// The backend could not be reached or is overloaded (connection refused, timeout, 5xx, throttling).
    ///
    /// Class: [`ErrorClass::Retryable`].
    #[error("{backend} at {endpoint} is unavailable: {detail}")]
    Unavailable {
        /// The backend.
        backend: &'static str,
        /// The endpoint.
        endpoint: String,
        /// What happened.
        detail: String,
        /// The native error.
        #[source]
        source: Option<BoxError>,
    },
    /// Any other backend failure.
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("{backend} failed: {detail}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// What happened.
        detail: String,
        /// The native error.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// Whether repeating the same operation later may succeed (only [`Error::Unavailable`]): the same
    /// answer as [`Classify::is_retryable`], callable without importing the trait.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// Whether this is [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    pub(crate) fn invalid_argument(detail: impl Into<String>) -> Self {
        Error::InvalidArgument {
            detail: detail.into(),
        }
    }
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::NotFound { .. } => ErrorClass::NotFound,
            Error::AlreadyExists { .. }
            | Error::PreconditionFailed { .. }
            | Error::NotModified { .. } => ErrorClass::Conflict,
            Error::PermissionDenied { .. } => ErrorClass::Unauthorized,
            Error::InvalidKey { .. }
            | Error::InvalidArgument { .. }
            | Error::InvalidRange { .. }
            | Error::NotSupported { .. }
            | Error::Backend { .. } => ErrorClass::Permanent,
            Error::BucketNotFound { .. } | Error::InvalidConfig { .. } | Error::NotCompiled(_) => {
                ErrorClass::Configuration
            }
            Error::Unavailable { .. } => ErrorClass::Retryable,
        }
    }
}

/// `Result` with this port's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailable_is_retryable() {
        let unavailable = Error::Unavailable {
            backend: "s3",
            endpoint: "http://127.0.0.1:1".into(),
            detail: "connection refused".into(),
            source: None,
        };
        assert!(unavailable.is_retryable());
        assert!(!Error::NotFound { key: "k".into() }.is_retryable());
        let denied = Error::PermissionDenied {
            backend: "s3",
            endpoint: "http://127.0.0.1:19000".into(),
            detail: "SignatureDoesNotMatch".into(),
        };
        assert!(!denied.is_retryable());
        assert!(denied.to_string().contains("http://127.0.0.1:19000"));
    }

    /// One value of every variant with its expected class (a new variant belongs here too; the count below
    /// is checked).
    fn one_of_each() -> Vec<(Error, ErrorClass)> {
        use ErrorClass::*;
        let s = String::new;
        vec![
            (Error::NotFound { key: s() }, NotFound),
            (Error::AlreadyExists { key: s() }, Conflict),
            (
                Error::PreconditionFailed {
                    key: s(),
                    detail: s(),
                },
                Conflict,
            ),
            (
                Error::NotModified {
                    key: s(),
                    e_tag: None,
                },
                Conflict,
            ),
            (
                Error::PermissionDenied {
                    backend: "s3",
                    endpoint: s(),
                    detail: s(),
                },
                Unauthorized,
            ),
            (
                Error::BucketNotFound {
                    bucket: s(),
                    endpoint: s(),
                },
                Configuration,
            ),
            (
                Error::InvalidKey {
                    key: s(),
                    reason: s(),
                },
                Permanent,
            ),
            (Error::InvalidArgument { detail: s() }, Permanent),
            (
                Error::InvalidRange {
                    key: s(),
                    range: s(),
                    size: 0,
                },
                Permanent,
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
                    backend: "OBJECT_STORE=s3".into(),
                    feature: "object-store-s3",
                }),
                Configuration,
            ),
            (
                Error::NotSupported {
                    operation: "presign",
                    backend: "memory",
                },
                Permanent,
            ),
            (
                Error::Unavailable {
                    backend: "s3",
                    endpoint: s(),
                    detail: s(),
                    source: None,
                },
                Retryable,
            ),
            (
                Error::Backend {
                    backend: "s3",
                    detail: s(),
                    source: None,
                },
                Permanent,
            ),
        ]
    }

    #[test]
    fn every_variant_has_its_class_and_retryable_agrees() {
        let all = one_of_each();
        assert_eq!(all.len(), 14, "one entry per variant of Error");
        for (e, class) in all {
            assert_eq!(e.class(), class, "{e:?}");
            assert_eq!(e.is_retryable(), class == ErrorClass::Retryable, "{e:?}");
            assert_eq!(Classify::is_retryable(&e), e.is_retryable(), "{e:?}");
            assert_eq!(e.is_not_found(), class == ErrorClass::NotFound, "{e:?}");
        }
    }
}
