//! The timeout layer: a call that does not answer within the timeout is dropped and answered with
//! [`Refusal::TimedOut`].

use super::{Layer, Refusal, Service};
use avb_core::Classify;
use std::future::Future;
use std::time::Duration;

/// Settings: the longest a call may take.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    after: Duration,
}

impl TimeoutLayer {
    /// Calls time out after `after`.
    pub fn new(after: Duration) -> Self {
        Self { after }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            after: self.after,
        }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    after: Duration,
}

impl<S: Service> Service for Timeout<S> {
    fn may_retry(&self) -> bool {
        self.inner.may_retry()
    }

    async fn call<T, E, F, Fut>(&self, operation: &'static str, call: F) -> Result<T, E>
    where
        T: Send,
        E: Classify + From<Refusal> + Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        match tokio::time::timeout(self.after, self.inner.call(operation, call)).await {
            Ok(answer) => answer,
            Err(_) => Err(E::from(Refusal::TimedOut {
                operation,
                after: self.after,
            })),
        }
    }
}
