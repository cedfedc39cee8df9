//! [`Error`]: the one portable error of the EventBus port.

use std::time::Duration;

/// The port's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed native error, reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything an EventBus operation can fail with, by meaning rather than by backend.
///
/// Only [`Error::Unavailable`] is retryable ([`Error::is_retryable`]): the same call may succeed once the
/// broker is back. Every other variant is a bug or bad input that retrying cannot fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A topic name that cannot be used.
    #[error("topic name {name:?} is invalid: {reason} (expected {expected})")]
    InvalidTopic {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The accepted shape.
        expected: &'static str,
    },
    /// A consumer-group name that cannot be used.
    #[error("group name {name:?} is invalid: {reason} (expected {expected})")]
    InvalidGroup {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The accepted shape.
        expected: &'static str,
    },
    /// A message larger than the backend accepts ([`crate::Capabilities::max_message_bytes`]).
    #[error("message of {size} bytes exceeds the {backend} backend's limit of {limit} bytes")]
    TooLarge {
        /// The message's size (payload, key and headers).
        size: usize,
        /// The limit.
        limit: usize,
        /// The backend.
        backend: &'static str,
    },
    /// A header or key the backend cannot carry.
    #[error("invalid message: {reason}")]
    InvalidMessage {
        /// What is wrong.
        reason: String,
    },
    /// `ack` or `nack` on a delivery that was already acked or nacked.
    #[error("cannot {attempted} message {message_id}: it was already {settled}")]
    AlreadySettled {
        /// The message.
        message_id: String,
        /// `ack` or `nack`.
        attempted: &'static str,
        /// `acked` or `nacked`.
        settled: &'static str,
    },
    /// A `nack` delay the backend cannot honour.
    #[error("nack delay {delay:?} is too long: the {backend} backend accepts at most {max:?}")]
    DelayTooLong {
        /// The requested delay.
        delay: Duration,
        /// The longest accepted delay.
        max: Duration,
        /// The backend.
        backend: &'static str,
    },
    /// The bus was closed with [`crate::EventBus::close`].
    #[error("the {backend} event bus is closed")]
    Closed {
        /// The backend.
        backend: &'static str,
    },
    /// A setting with a bad value.
    #[error("{key}={value:?} is invalid: expected {expected}")]
    InvalidConfig {
        /// The setting (builder key or environment variable).
        key: String,
        /// The rejected value (never a secret).
        value: String,
        /// The allowed values.
        expected: String,
    },
    /// The configuration selects a backend this build of avb does not contain.
    #[error(transparent)]
    NotCompiled(#[from] avb_core::NotCompiled),
    /// An operation or backend this build or backend does not provide.
    #[error("{operation} is not supported by the {backend} event bus: {hint}")]
    NotSupported {
        /// What was asked.
        operation: String,
        /// The backend.
        backend: &'static str,
        /// What to do instead (e.g. the cargo feature that enables the backend).
        hint: String,
    },
    /// The broker cannot be reached or did not answer in time. Retryable.
    #[error("the {backend} event bus is unavailable: {reason}")]
    Unavailable {
        /// The backend.
        backend: &'static str,
        /// Why, without secrets.
        reason: String,
        /// The native error.
        #[source]
        source: Option<BoxError>,
    },
    /// The broker answered with an error that retrying will not fix.
    #[error("the {backend} event bus failed: {reason}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// What failed, without secrets.
        reason: String,
        /// The native error.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// Whether the same call may succeed later (the broker is unreachable or timed out).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailable_is_retryable() {
        let down = Error::Unavailable {
            backend: "redis",
            reason: "connection refused".into(),
            source: None,
        };
        assert!(down.is_retryable());
        assert!(!Error::Closed { backend: "memory" }.is_retryable());
        let settled = Error::AlreadySettled {
            message_id: "m1".into(),
            attempted: "nack",
            settled: "acked",
        };
        assert!(!settled.is_retryable());
        assert_eq!(
            settled.to_string(),
            "cannot nack message m1: it was already acked"
        );
    }
}
