//! Resilience layers, generic over every port through the shared error classification
//! ([`avb_core::Classify`]): a [`timeout`], a [`retry`] with backoff, jitter and a budget, and a
//! [`breaker`] (circuit breaker). Each is a small module in tower's shape — a *layer* (its settings,
//! [`Layer::layer`] wraps an inner service), a *service* (runs a call through the inner one) and the
//! error it adds ([`Refusal`]) — composed statically, so a call pays for no boxing (a
//! timer is boxed only when a call has to wait for it: see `docs/layers.md`, § Cost per call).
//!
//! A call is an operation name and a closure that starts the port's call afresh (a retry calls it again):
//!
//! ```
//! use avb::layers::{Direct, Layer, Refusal, Service, breaker::BreakerLayer, retry::RetryLayer,
//!                   timeout::TimeoutLayer};
//! use avb_core::{Classify, ErrorClass};
//! use std::time::Duration;
//!
//! #[derive(Debug)]
//! enum MyError { Down, Refused(Refusal) }
//! impl Classify for MyError {
//!     fn class(&self) -> ErrorClass {
//!         match self { MyError::Down => ErrorClass::Retryable, MyError::Refused(r) => r.class() }
//!     }
//! }
//! impl From<Refusal> for MyError { fn from(r: Refusal) -> Self { MyError::Refused(r) } }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // The documented order, outermost first: retry → breaker → timeout → the port.
//! let stack = RetryLayer::default().layer(
//!     BreakerLayer::default().layer(TimeoutLayer::new(Duration::from_secs(5)).layer(Direct)));
//! let answer: Result<u32, MyError> = stack.call("get", || async { Ok(7) }).await;
//! assert_eq!(answer.unwrap(), 7);
//! # }
//! ```
//!
//! **Order** (outermost first): retry → circuit breaker → timeout → the port. A timed-out attempt counts
//! as one failure for the breaker and may be retried; an open breaker refuses at once
//! ([`Refusal::CircuitOpen`], retryable) and the retry waits its backoff before asking again, within its
//! budget. Only [`ErrorClass::Retryable`] errors are retried or count
//! against the breaker: a not-found, a conflict or a refused credential is an answer, not a failure.

pub mod breaker;
pub mod defaults;
pub mod metered;
pub mod retry;
#[cfg(test)]
mod tests;
pub mod timeout;

use avb_core::{Classify, ErrorClass};
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// What a layer answers instead of the port: each port's `Error` converts it (`From<Refusal>`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The call did not answer within the timeout (the call's future was dropped: a port's call is
    /// cancel-safe, so nothing is half done).
    TimedOut {
        /// The operation (`publish`, `get`, …).
        operation: &'static str,
        /// The timeout.
        after: Duration,
    },
    /// The circuit breaker is open: the backend failed `fail_max` times in a row, so calls are refused
    /// without reaching it until the reset timeout has passed.
    CircuitOpen {
        /// The operation refused.
        operation: &'static str,
        /// How long until a trial call is let through.
        retry_in: Duration,
    },
}

impl Classify for Refusal {
    /// Both may succeed later: [`ErrorClass::Retryable`].
    fn class(&self) -> ErrorClass {
        ErrorClass::Retryable
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TimedOut { operation, after } => {
                write!(f, "{operation}: no answer within {after:?} (timeout layer)")
            }
            Refusal::CircuitOpen {
                operation,
                retry_in,
            } => write!(
                f,
                "{operation}: refused by the circuit breaker (the backend failed repeatedly); next trial in {retry_in:?}"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// A service: runs `call` (an operation of a port) through this layer and the ones inside it. `call`
/// starts the operation afresh each time it is called (a retry calls it again).
pub trait Service: Send + Sync {
    /// Runs the operation named `operation`.
    fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        call: F,
    ) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: Classify + From<Refusal> + Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send;

    /// Whether this stack may call an operation more than once (a retry layer in it): a wrapper whose call
    /// consumes its argument keeps a copy only then.
    fn may_retry(&self) -> bool {
        false
    }

    /// [`call`](Self::call) without a future, for an attempt that answers at once or not at all (`now`:
    /// a port's `publish_now`, `authenticate_now`; `None` when the backend has to wait). Runs only where
    /// every layer can decide on the spot — no tracing subscriber wants the call's span, the breaker is
    /// closed — and answers [`Now::Done`] with exactly what `call` would have answered, accounted for by
    /// every layer. Otherwise [`Now::Later`]: the caller goes on with `call`, handing it the failure of
    /// the one attempt made, if any (see `docs/layers.md`, § Cost per call).
    ///
    /// The default: [`Now::Later`]`(None)`, nothing attempted (a hand-built stack of the individual
    /// layers always takes `call`).
    fn call_now<T, E, F>(&self, operation: &'static str, now: F) -> Now<T, E>
    where
        E: Classify + From<Refusal>,
        F: FnOnce() -> Option<Result<T, E>>,
    {
        let _ = (operation, now);
        Now::Later(None)
    }
}

/// How [`Service::call_now`] ended.
#[derive(Debug)]
pub enum Now<T, E> {
    /// The whole call's answer, counted and recorded by every layer as `call` would have.
    Done(Result<T, E>),
    /// Not answered on the spot. `None`: nothing was attempted. `Some(e)`: the one attempt made failed
    /// with a retryable error that the retry layer will retry after its backoff — hand it to `call` as
    /// its first attempt's answer; no layer has counted or recorded it yet.
    Later(Option<E>),
}

/// A layer: wraps an inner service into its own.
pub trait Layer<S> {
    /// The wrapped service.
    type Service;
    /// Wraps `inner`.
    fn layer(&self, inner: S) -> Self::Service;
}

/// The innermost service: calls the port.
#[derive(Debug, Clone, Copy, Default)]
pub struct Direct;

impl Service for Direct {
    // Not an `async fn`: the call's future is the port's own.
    fn call<T, E, F, Fut>(
        &self,
        _operation: &'static str,
        mut call: F,
    ) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: Classify + From<Refusal> + Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        call()
    }

    #[inline]
    fn call_now<T, E, F>(&self, _operation: &'static str, now: F) -> Now<T, E>
    where
        E: Classify + From<Refusal>,
        F: FnOnce() -> Option<Result<T, E>>,
    {
        match now() {
            Some(answer) => Now::Done(answer),
            None => Now::Later(None),
        }
    }
}
