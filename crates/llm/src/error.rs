//! The port's one portable error, classified by [`Classify`]. No variant carries a secret: endpoints are
//! shown without userinfo and the API key never reaches an error.

use avb_core::{Classify, ErrorClass};
use std::time::Duration;

/// Which of the three separate time limits ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Connecting to the server (`LLM_CONNECT_TIMEOUT_MS`).
    Connect,
    /// Waiting for the first token of a stream, or for a non-streamed answer (`LLM_FIRST_TOKEN_TIMEOUT_MS`).
    FirstToken,
    /// The whole call, stream included (`LLM_TIMEOUT_MS`).
    Total,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::FirstToken => "first-token",
            TimeoutPhase::Total => "total",
        })
    }
}

/// Everything an [`LlmClient`](crate::LlmClient) call can fail with, whatever the backend.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the credentials (HTTP 401/403).
    ///
    /// Class: [`ErrorClass::Unauthorized`].
    #[error("{backend} at {endpoint} refused the credentials: {detail}")]
    Unauthorized {
        /// The backend.
        backend: &'static str,
        /// The endpoint (no secrets).
        endpoint: String,
        /// What the server said.
        detail: String,
    },
    /// The server throttles the caller (HTTP 429 or a `rate_limit` error object).
    ///
    /// Class: [`ErrorClass::Retryable`]; wait [`Error::retry_after`] first when the server said.
    #[error("{backend} rate-limited the call{}: {detail}", retry_after.map(|d| format!(" (retry after {d:?})")).unwrap_or_default())]
    RateLimited {
        /// The backend.
        backend: &'static str,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// What the server said.
        detail: String,
    },
    /// The prompt (plus the tokens asked for) does not fit the model's context window.
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("{backend}: the request exceeds the model's context: {detail}")]
    ContextTooLong {
        /// The backend.
        backend: &'static str,
        /// What the server said.
        detail: String,
    },
    /// The server does not have the model asked for.
    ///
    /// Class: [`ErrorClass::NotFound`].
    #[error("{backend}: model {model:?} not found: {detail}")]
    ModelNotFound {
        /// The backend.
        backend: &'static str,
        /// The model asked for.
        model: String,
        /// What the server said.
        detail: String,
    },
    /// The server is unreachable, answered 5xx, or the connection broke (also mid-stream): the same call
    /// may succeed later.
    ///
    /// Class: [`ErrorClass::Retryable`].
    #[error("{backend} at {endpoint} is unavailable: {detail}")]
    Unavailable {
        /// The backend.
        backend: &'static str,
        /// The endpoint (no secrets).
        endpoint: String,
        /// Why.
        detail: String,
    },
    /// A time limit ran out.
    ///
    /// Class: [`ErrorClass::Retryable`].
    #[error("{backend} at {endpoint}: the {phase} timeout ({after:?}) ran out")]
    Timeout {
        /// The backend.
        backend: &'static str,
        /// The endpoint (no secrets).
        endpoint: String,
        /// Which limit.
        phase: TimeoutPhase,
        /// Its value.
        after: Duration,
    },
    /// The server answered something this client cannot use: not SSE where a stream was asked for, JSON
    /// of the wrong shape, a stream that ended without `[DONE]`.
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("{backend} at {endpoint} sent a malformed response: {detail}")]
    MalformedResponse {
        /// The backend.
        backend: &'static str,
        /// The endpoint (no secrets).
        endpoint: String,
        /// What was wrong.
        detail: String,
    },
    /// The server refused the request itself (another 4xx, an error object of another type).
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("{backend} refused the request (HTTP {status}): {detail}")]
    Rejected {
        /// The backend.
        backend: &'static str,
        /// HTTP status (0 for an error object inside a stream).
        status: u16,
        /// What the server said.
        detail: String,
    },
    /// A request argument is not acceptable (no messages, an empty embedding input, …).
    ///
    /// Class: [`ErrorClass::Permanent`].
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// What is wrong.
        detail: String,
    },
    /// The configuration selects a backend this build does not contain.
    ///
    /// Class: [`ErrorClass::Configuration`].
    #[error(transparent)]
    NotCompiled(#[from] avb_core::NotCompiled),
}

impl Error {
    /// How long the server asked to wait before retrying ([`Error::RateLimited`] with `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// An [`Error::InvalidArgument`].
    pub fn invalid(detail: impl Into<String>) -> Self {
        Error::InvalidArgument {
            detail: detail.into(),
        }
    }
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::Unauthorized { .. } => ErrorClass::Unauthorized,
            Error::RateLimited { .. } | Error::Unavailable { .. } | Error::Timeout { .. } => {
                ErrorClass::Retryable
            }
            Error::ModelNotFound { .. } => ErrorClass::NotFound,
            Error::ContextTooLong { .. }
            | Error::MalformedResponse { .. }
            | Error::Rejected { .. }
            | Error::InvalidArgument { .. } => ErrorClass::Permanent,
            Error::NotCompiled(_) => ErrorClass::Configuration,
        }
    }
}

/// The port's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_retry_after() {
        let limited = Error::RateLimited {
            backend: "mock",
            retry_after: Some(Duration::from_secs(2)),
            detail: "slow down".into(),
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        assert!(limited.to_string().contains("retry after 2s"), "{limited}");
        let missing = Error::ModelNotFound {
            backend: "ollama",
            model: "x".into(),
            detail: "not found".into(),
        };
        assert_eq!(missing.class(), ErrorClass::NotFound);
        assert_eq!(missing.retry_after(), None);
        let long = Error::ContextTooLong {
            backend: "openai",
            detail: "n".into(),
        };
        assert_eq!(long.class(), ErrorClass::Permanent);
        assert_eq!(Error::invalid("x").class(), ErrorClass::Permanent);
    }
}
