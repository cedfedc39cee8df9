//! One error classification shared by every port, so that layers (retry, circuit breaker, metrics) can be
//! generic over the ports: each port's `Error` implements [`Classify`].

use serde::Serialize;
use std::fmt;

/// What a caller (or a resilience layer) may do about an error.
///
/// | class | retry the same call? | counts against the backend's health (circuit breaker)? |
/// |---|---|---|
/// | [`Retryable`](ErrorClass::Retryable) | yes, with backoff | yes |
/// | [`NotFound`](ErrorClass::NotFound) | no | no: an answer, not a failure |
/// | [`Conflict`](ErrorClass::Conflict) | no (re-read, then decide) | no |
/// | [`Unauthorized`](ErrorClass::Unauthorized) | no (new credentials) | no |
/// | [`Permanent`](ErrorClass::Permanent) | no: it fails the same way | no |
/// | [`Configuration`](ErrorClass::Configuration) | no: fix the deployment | no |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient: the backend is unavailable, timed out, throttled or dropped the connection; the same call
    /// may succeed later.
    Retryable,
    /// The thing asked for does not exist.
    NotFound,
    /// The call conflicts with the current state: a precondition failed, the object already exists.
    Conflict,
    /// The caller's identity was refused: missing, invalid, expired credentials or not allowed.
    Unauthorized,
    /// The request itself is wrong (invalid name, too large, unsupported operation): retrying fails the same
    /// way.
    Permanent,
    /// The deployment is wrong: a setting, a backend not compiled in, a missing resource the operator must
    /// create.
    Configuration,
}

impl ErrorClass {
    /// The class's name (`retryable`, `not_found`, …), as used in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Retryable => "retryable",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Unauthorized => "unauthorized",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Configuration => "configuration",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented by every port's error type.
pub trait Classify {
    /// The error's class.
    fn class(&self) -> ErrorClass;

    /// Whether retrying the same call may succeed ([`ErrorClass::Retryable`]).
    fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }
}

/// A backend the configuration selects but this build of avb does not contain: the same shape for every
/// port (each port's `Error` has a variant carrying it, classified [`ErrorClass::Configuration`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCompiled {
    /// The selecting variable and value, e.g. `EVENT_BUS=redis`.
    pub backend: String,
    /// The cargo feature of the `avb` crate that compiles it in, e.g. `event-bus-redis`.
    pub feature: &'static str,
}

impl fmt::Display for NotCompiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not compiled into this build of avb: enable the cargo feature `{}` of avb",
            self.backend, self.feature
        )
    }
}

impl std::error::Error for NotCompiled {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_compiled_names_backend_and_feature() {
        let e = NotCompiled {
            backend: "EVENT_BUS=redis".into(),
            feature: "event-bus-redis",
        };
        assert_eq!(
            e.to_string(),
            "EVENT_BUS=redis is not compiled into this build of avb: enable the cargo feature `event-bus-redis` of avb"
        );
    }

    #[test]
    fn only_retryable_is_retryable() {
        struct E(ErrorClass);
        impl Classify for E {
            fn class(&self) -> ErrorClass {
                self.0
            }
        }
        for class in [
            ErrorClass::NotFound,
            ErrorClass::Conflict,
            ErrorClass::Unauthorized,
            ErrorClass::Permanent,
            ErrorClass::Configuration,
        ] {
            assert!(!E(class).is_retryable(), "{class}");
        }
        assert!(E(ErrorClass::Retryable).is_retryable());
    }
}
