//! The timeout layer: a call that does not answer within the timeout is dropped and answered with
//! [`Refusal::TimedOut`].
//!
//! The call is polled once before the timer is armed: a call that answers at once (an in-memory
//! backend, a cache hit) costs no timer; one that waits is given the full timeout from that first wait
//! (so its first, synchronous step is not counted — it cannot be interrupted anyway).

use super::{Layer, Refusal, Service};
use avb_core::Classify;
use std::future::{Future, poll_fn};
use std::task::Poll;
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

    fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        call: F,
    ) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: Classify + From<Refusal> + Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        limit(self.after, operation, self.inner.call(operation, call))
    }
}

/// `call`, answered [`Refusal::TimedOut`] when it does not answer within `after` of its first wait (shared
/// by [`Timeout`] and the default stack, [`super::defaults::Stack`]).
// Not an `async fn`: an `async` block keeps `call` (the inner future) once, not twice.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
pub(super) fn limit<T, E, Fut>(
    after: Duration,
    operation: &'static str,
    call: Fut,
) -> impl Future<Output = Result<T, E>>
where
    E: From<Refusal>,
    Fut: Future<Output = Result<T, E>>,
{
    async move {
        let mut answer = std::pin::pin!(call);
        // Most calls on an in-memory backend answer on their first poll: those arm no timer (a timer
        // costs a clock read and a registration in the runtime's wheel, removed again on drop).
        if let Poll::Ready(answer) = poll_fn(|cx| Poll::Ready(answer.as_mut().poll(cx))).await {
            return answer;
        }
        // Boxed: the timer (a few hundred bytes) is kept out of every call's future, so a call that
        // answers at once neither arms it nor carries (and moves) its space.
        match Box::pin(tokio::time::timeout(after, answer)).await {
            Ok(answer) => answer,
            Err(_) => Err(E::from(Refusal::TimedOut { operation, after })),
        }
    }
}
