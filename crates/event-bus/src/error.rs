//! [`Error`]: the one portable error of the EventBus port, classified by [`Classify`].

use avb_core::{Classify, ErrorClass};
use std::time::Duration;

/// The port's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed native error, reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything an EventBus operation can fail with, by meaning rather than by backend.
///
/// Every variant has an [`ErrorClass`] ([`Classify::class`], named on each variant below). Only
/// [`Error::Unavailable`] is retryable ([`Error::is_retryable`]): the same call may succeed once the broker is
/// back. Every other variant is a bug, bad input or a deployment problem that retrying cannot fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A topic name that cannot be used. Class: [`ErrorClass::Permanent`].
    #[error("topic name {name:?} is invalid: {reason} (expected {expected})")]
    InvalidTopic {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The accepted shape.
        expected: &'static str,
    },
    /// A consumer-group name that cannot be used. Class: [`ErrorClass::Permanent`].
    #[error("group name {name:?} is invalid: {reason} (expected {expected})")]
    InvalidGroup {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The accepted shape.
        expected: &'static str,
    },
    /// A message larger than the backend accepts ([`crate::Capabilities::max_message_bytes`]). Class:
    /// [`ErrorClass::Permanent`].
    #[error("message of {size} bytes exceeds the {backend} backend's limit of {limit} bytes")]
    TooLarge {
        /// The message's size (payload, key and headers).
        size: usize,
        /// The limit.
        limit: usize,
        /// The backend.
        backend: &'static str,
    },
    /// A header or key the backend cannot carry. Class: [`ErrorClass::Permanent`].
    #[error("invalid message: {reason}")]
    InvalidMessage {
        /// What is wrong.
        reason: String,
    },
    /// `ack`, `nack` or `extend` on a delivery that was already acked or nacked. Class: [`ErrorClass::Conflict`].
    #[error("cannot {attempted} message {message_id}: it was already {settled}")]
    AlreadySettled {
        /// The message.
        message_id: String,
        /// `ack`, `nack` or `extend`.
        attempted: &'static str,
        /// `acked` or `nacked`.
        settled: &'static str,
    },
    /// [`crate::Delivery::extend`] on a delivery whose lease already lapsed: the message is (or will be)
    /// delivered again, possibly to another member; finish or abandon the work. Class:
    /// [`ErrorClass::Conflict`].
    #[error(
        "cannot extend the lease of message {message_id}: it lapsed and the {backend} backend redelivers it"
    )]
    LeaseLost {
        /// The message.
        message_id: String,
        /// The backend.
        backend: &'static str,
    },
    /// A `nack` delay the backend cannot honour. Class: [`ErrorClass::Permanent`].
    #[error("nack delay {delay:?} is too long: the {backend} backend accepts at most {max:?}")]
    DelayTooLong {
        /// The requested delay.
        delay: Duration,
        /// The longest accepted delay.
        max: Duration,
        /// The backend.
        backend: &'static str,
    },
    /// The bus was closed with [`crate::EventBus::close`]. Class: [`ErrorClass::Permanent`].
    #[error("the {backend} event bus is closed")]
    Closed {
        /// The backend.
        backend: &'static str,
    },
    /// A setting with a bad value. Class: [`ErrorClass::Configuration`].
    #[error("{key}={value:?} is invalid: expected {expected}")]
    InvalidConfig {
        /// The setting (builder key or environment variable).
        key: String,
        /// The rejected value (never a secret).
        value: String,
        /// The allowed values.
        expected: String,
    },
    /// An operation or backend this build or backend does not provide. Class: [`ErrorClass::Permanent`].
    #[error("{operation} is not supported by the {backend} event bus: {hint}")]
    NotSupported {
        /// What was asked.
        operation: String,
        /// The backend.
        backend: &'static str,
        /// What to do instead (e.g. the cargo feature that enables the backend).
        hint: String,
    },
    /// The broker cannot be reached or did not answer in time. Class: [`ErrorClass::Retryable`].
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
    /// The broker answered with an error that retrying will not fix. Class: [`ErrorClass::Permanent`].
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
    /// [`crate::EventBus::backlog`] of a group that does not exist on the topic (it was never subscribed,
    /// or the topic does not exist). Class: [`ErrorClass::Permanent`].
    #[error(
        "consumer group {group:?} of topic {topic:?} does not exist on the {backend} event bus"
    )]
    UnknownGroup {
        /// The backend.
        backend: &'static str,
        /// The topic's name.
        topic: String,
        /// The group asked for.
        group: String,
    },
    /// The configuration selects a backend this build does not contain. Class:
    /// [`ErrorClass::Configuration`].
    #[error(transparent)]
    NotCompiled(#[from] avb_core::NotCompiled),
}

impl Error {
    /// A client library's error `source` as the port's error: [`Error::Unavailable`] when `retryable`,
    /// else [`Error::Backend`] (how every backend's error mapping ends, once it has classified the error).
    pub fn from_client(
        backend: &'static str,
        retryable: bool,
        reason: String,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let source: Option<BoxError> = Some(Box::new(source));
        if retryable {
            Error::Unavailable {
                backend,
                reason,
                source,
            }
        } else {
            Error::Backend {
                backend,
                reason,
                source,
            }
        }
    }

    /// Whether the same call may succeed later (the broker is unreachable or timed out): the same answer
    /// as [`Classify::is_retryable`], callable without importing the trait.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::InvalidTopic { .. }
            | Error::InvalidGroup { .. }
            | Error::TooLarge { .. }
            | Error::InvalidMessage { .. }
            | Error::DelayTooLong { .. }
            | Error::Closed { .. }
            | Error::NotSupported { .. }
            | Error::UnknownGroup { .. }
            | Error::Backend { .. } => ErrorClass::Permanent,
            Error::AlreadySettled { .. } | Error::LeaseLost { .. } => ErrorClass::Conflict,
            Error::InvalidConfig { .. } | Error::NotCompiled(_) => ErrorClass::Configuration,
            Error::Unavailable { .. } => ErrorClass::Retryable,
        }
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

    /// One value of every variant with its expected class (a new variant belongs here too; the count below
    /// is checked).
    fn one_of_each() -> Vec<(Error, ErrorClass)> {
        let s = String::new;
        vec![
            (
                Error::InvalidTopic {
                    name: s(),
                    reason: "",
                    expected: "",
                },
                ErrorClass::Permanent,
            ),
            (
                Error::InvalidGroup {
                    name: s(),
                    reason: "",
                    expected: "",
                },
                ErrorClass::Permanent,
            ),
            (
                Error::TooLarge {
                    size: 2,
                    limit: 1,
                    backend: "memory",
                },
                ErrorClass::Permanent,
            ),
            (Error::InvalidMessage { reason: s() }, ErrorClass::Permanent),
            (
                Error::AlreadySettled {
                    message_id: s(),
                    attempted: "ack",
                    settled: "acked",
                },
                ErrorClass::Conflict,
            ),
            (
                Error::LeaseLost {
                    message_id: s(),
                    backend: "memory",
                },
                ErrorClass::Conflict,
            ),
            (
                Error::DelayTooLong {
                    delay: Duration::from_secs(2),
                    max: Duration::from_secs(1),
                    backend: "memory",
                },
                ErrorClass::Permanent,
            ),
            (Error::Closed { backend: "memory" }, ErrorClass::Permanent),
            (
                Error::InvalidConfig {
                    key: s(),
                    value: s(),
                    expected: s(),
                },
                ErrorClass::Configuration,
            ),
            (
                Error::NotSupported {
                    operation: s(),
                    backend: "memory",
                    hint: s(),
                },
                ErrorClass::Permanent,
            ),
            (
                Error::Unavailable {
                    backend: "redis",
                    reason: s(),
                    source: None,
                },
                ErrorClass::Retryable,
            ),
            (
                Error::Backend {
                    backend: "redis",
                    reason: s(),
                    source: None,
                },
                ErrorClass::Permanent,
            ),
            (
                Error::NotCompiled(avb_core::NotCompiled {
                    backend: "EVENT_BUS=redis".into(),
                    feature: "event-bus-redis",
                }),
                ErrorClass::Configuration,
            ),
        ]
    }

    #[test]
    fn every_variant_has_its_class_and_retryable_agrees() {
        let all = one_of_each();
        assert_eq!(all.len(), 13, "one entry per variant of Error");
        for (e, class) in all {
            assert_eq!(e.class(), class, "{e:?}");
            assert_eq!(e.is_retryable(), class == ErrorClass::Retryable, "{e:?}");
            assert_eq!(Classify::is_retryable(&e), e.is_retryable(), "{e:?}");
        }
    }

    #[test]
    fn not_compiled_is_transparent() {
        let e = Error::from(avb_core::NotCompiled {
            backend: "EVENT_BUS=redis".into(),
            feature: "event-bus-redis",
        });
        assert_eq!(
            e.to_string(),
            "EVENT_BUS=redis is not compiled into this build of avb: enable the cargo feature `event-bus-redis` of avb"
        );
    }
}
