//! The port's one portable error.

/// A boxed native error, kept reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything an [`ObjectStore`](crate::ObjectStore) operation can fail with, by meaning, whatever the backend.
///
/// Backends only *report* whether a failure is worth retrying ([`Error::is_retryable`]); retry loops live in
/// layers, never in a backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No object (or multipart upload) under this key. `get` of a missing key is this, never an empty body.
    #[error("object {key:?} not found")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// A conditional create found an object already under this key.
    #[error("object {key:?} already exists")]
    AlreadyExists {
        /// The key written.
        key: String,
    },
    /// A precondition other than "must not exist" did not hold.
    #[error("precondition failed for {key:?}: {detail}")]
    PreconditionFailed {
        /// The key written or read.
        key: String,
        /// What the backend said.
        detail: String,
    },
    /// A read with `If-None-Match` found the object unchanged (HTTP 304): the caller's copy is current.
    #[error("object {key:?} not modified")]
    NotModified {
        /// The key read.
        key: String,
        /// The object's entity tag, when known.
        e_tag: Option<String>,
    },
    /// The backend refused the credentials or the operation (HTTP 403, file permissions).
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
    #[error("bucket {bucket:?} does not exist at {endpoint}")]
    BucketNotFound {
        /// The bucket.
        bucket: String,
        /// The endpoint.
        endpoint: String,
    },
    /// The key (or a list prefix) is not acceptable; see [`validate_key`](crate::validate_key).
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why.
        reason: String,
    },
    /// A request argument other than the key is not acceptable (range, metadata name, part number…).
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// What is wrong.
        detail: String,
    },
    /// The requested range starts at or beyond the end of the object.
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
    #[error("{key}={value:?} is invalid: expected {expected}")]
    InvalidConfig {
        /// The variable or setting.
        key: String,
        /// The rejected value (redacted when secret).
        value: String,
        /// The allowed values or shape.
        expected: String,
    },
    /// The backend exists but was not compiled into this binary.
    #[error(transparent)]
    NotCompiled(#[from] avb_core::NotCompiled),
    /// The backend cannot do this operation (see [`Capabilities`](crate::Capabilities)).
    #[error("{operation} is not supported by the {backend} backend")]
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// The backend.
        backend: &'static str,
    },
    /// The backend could not be reached or is overloaded (connection refused, timeout, 5xx, throttling).
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
    /// Whether repeating the same operation later may succeed (only [`Error::Unavailable`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
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
}
