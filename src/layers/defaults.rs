//! The layers the [`crate::Platform`] wraps around each port by default ([`PortLayers::default_for`]),
//! in the documented order (outermost first): metered → retry → circuit breaker → timeout → the port.
//! Each of retry, breaker and timeout is optional: [`PortLayers::stack`] builds them as one fused
//! [`Stack`] where an absent layer costs a branch. (For hand-built stacks, [`Option<L>`] is itself a layer:
//! `None` passes the call straight to the inner service.)

use super::breaker::{BreakerLayer, Circuit, Position, TrialGuard};
use super::retry::{Budget, RetryLayer};
use super::timeout::limit;
use super::{Layer, Refusal, Service};
use crate::Port;
use avb_core::{Classify, PortFuture};
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// The resilience layers of one port (see the table in `docs/layers.md`).
#[derive(Debug, Clone, Copy)]
pub struct PortLayers {
    /// Retry of retryable errors (`None`: a call is made once).
    pub retry: Option<RetryLayer>,
    /// Circuit breaker (`None`: never refuses).
    pub breaker: Option<BreakerLayer>,
    /// Per-attempt time limit (`None`: none).
    pub timeout: Option<Duration>,
}

impl PortLayers {
    /// No layer (only the metered one remains): what `Platform::builder().without_default_layers()` uses.
    pub const NONE: PortLayers = PortLayers {
        retry: None,
        breaker: None,
        timeout: None,
    };

    /// The defaults for `port`:
    ///
    /// | port | retry | breaker | timeout |
    /// |---|---|---|---|
    /// | event bus | 3 attempts | 3 / 30 s | 30 s |
    /// | auth | 3 attempts | 3 / 30 s | 10 s |
    /// | object store | 3 attempts | 3 / 30 s | 300 s |
    /// | catalog | 3 attempts | 3 / 30 s | 30 s |
    /// | llm | none (the client retries before the first token, `LLM_RETRIES`) | 3 / 30 s | none (`LLM_TIMEOUT_MS`) |
    pub fn default_for(port: Port) -> PortLayers {
        let (retry, timeout) = match port {
            Port::EventBus => (true, Some(Duration::from_secs(30))),
            Port::Auth => (true, Some(Duration::from_secs(10))),
            Port::ObjectStore => (true, Some(Duration::from_secs(300))),
            Port::Catalog => (true, Some(Duration::from_secs(30))),
            Port::Llm => (false, None),
        };
        PortLayers {
            retry: retry.then(RetryLayer::default),
            breaker: Some(BreakerLayer::default()),
            timeout,
        }
    }

    /// `inner` behind retry → breaker → timeout (those set).
    pub fn stack<S: Service>(&self, inner: S) -> Stack<S> {
        Stack {
            inner,
            retry: self.retry.map(|r| (r, Budget::new(&r))),
            circuit: self.breaker.as_ref().map(Circuit::new),
            timeout: self.timeout,
            on_retry: None,
        }
    }
}

/// Told the operation's name each time the retry layer starts a call again (e.g.
/// [`Metrics::retry_counter`](crate::metrics::Metrics::retry_counter)).
pub type RetryCounter = Arc<dyn Fn(&'static str) + Send + Sync>;

/// What [`PortLayers::stack`] builds: retry → breaker → timeout → `S`, each possibly off — the same
/// behaviour as [`RetryLayer`], [`BreakerLayer`] and [`TimeoutLayer`](super::timeout::TimeoutLayer) nested (and the same code: the
/// budget, the circuit and the time limit are theirs), fused into one service so a call runs one state
/// machine rather than nested ones (an absent layer costs a branch). Clones share the budget and the
/// breaker.
#[derive(Clone)]
pub struct Stack<S> {
    inner: S,
    retry: Option<(RetryLayer, Arc<Budget>)>,
    circuit: Option<Circuit>,
    timeout: Option<Duration>,
    on_retry: Option<RetryCounter>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Stack<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("inner", &self.inner)
            .field("retry", &self.retry)
            .field("circuit", &self.circuit)
            .field("timeout", &self.timeout)
            .field("counts_retries", &self.on_retry.is_some())
            .finish()
    }
}

impl<S> Stack<S> {
    /// Tells `counter` each retry (the operation's name), e.g. to count them in the metrics.
    pub fn count_retries(mut self, counter: RetryCounter) -> Self {
        self.on_retry = Some(counter);
        self
    }

    /// Where the breaker stands (`None`: no breaker).
    pub fn position(&self) -> Option<Position> {
        self.circuit.as_ref().map(Circuit::position)
    }
}

/// An attempt the breaker let through: whether it is the half-open trial, and the guard that gives the
/// trial back if the attempt is dropped before it answered.
struct Admitted<'a> {
    trial: bool,
    guard: Option<TrialGuard<'a>>,
}

/// The parts of one call, shared by [`Service::call`] and the fast path ([`Service::call_port`]): each
/// behaviour is written once, here or in its layer's module (the budget, the circuit, the time limit,
/// [`RetryLayer::after`]).
impl<S: Service> Stack<S> {
    /// A new call: tops the retry budget up by its share.
    #[inline]
    fn begin(&self) {
        if let Some((_, budget)) = &self.retry {
            budget.deposit();
        }
    }

    /// The breaker's word on the next attempt.
    #[inline]
    fn admit(&self, operation: &'static str) -> Result<Admitted<'_>, Refusal> {
        match &self.circuit {
            None => Ok(Admitted {
                trial: false,
                guard: None,
            }),
            Some(circuit) => {
                let trial = circuit.admit(operation)?;
                Ok(Admitted {
                    trial,
                    guard: Some(TrialGuard::new(circuit, trial)),
                })
            }
        }
    }

    /// Records an admitted attempt's answer in the breaker (a retryable error is a failure).
    #[inline]
    fn record<T, E: Classify>(&self, answer: &Result<T, E>, admitted: Admitted<'_>) {
        if let (Some(circuit), Some(mut guard)) = (&self.circuit, admitted.guard) {
            guard.disarm();
            circuit.record(matches!(answer, Err(e) if e.is_retryable()), admitted.trial);
        }
    }

    /// The answer of an admitted attempt that may wait: polled once before a timer is armed (as the
    /// timeout layer), then recorded.
    // Not an `async fn`: an `async` block uses its captured arguments in place.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
    fn settle<'s, T, E, Fut>(
        &'s self,
        operation: &'static str,
        pending: Fut,
        admitted: Admitted<'s>,
    ) -> impl Future<Output = Result<T, E>> + 's
    where
        T: 's,
        E: Classify + From<Refusal> + 's,
        Fut: Future<Output = Result<T, E>> + 's,
    {
        async move {
            let mut pending = std::pin::pin!(pending);
            let answer = match self.timeout {
                None => pending.await,
                Some(after) => match poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await {
                    Poll::Ready(answer) => answer,
                    Poll::Pending => limit(after, operation, pending).await,
                },
            };
            self.record(&answer, admitted);
            answer
        }
    }

    /// What follows attempt `attempt`'s answer: the backoff before the next attempt (the retry is
    /// counted), or `None` when `answer` is the call's.
    #[inline]
    fn after<T, E: Classify>(
        &self,
        operation: &'static str,
        answer: &Result<T, E>,
        attempt: u32,
    ) -> Option<Duration> {
        let backoff = self
            .retry
            .as_ref()
            .and_then(|(settings, budget)| settings.after(answer, attempt, budget))?;
        if let Some(count) = &self.on_retry {
            count(operation);
        }
        Some(backoff)
    }

    /// The call from attempt `attempt` on (1: a new call, which tops the retry budget up), after waiting
    /// `backoff` when set.
    // Not an `async fn`: an `async` block uses its captured arguments in place.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
    fn attempts<T, E, F, Fut>(
        &self,
        operation: &'static str,
        mut call: F,
        mut attempt: u32,
        mut backoff: Option<Duration>,
    ) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: Classify + From<Refusal> + Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        async move {
            if attempt == 1 {
                self.begin();
            }
            loop {
                if let Some(wait) = backoff {
                    // Boxed: the timer stays out of the call's future (a call that is not retried neither
                    // arms nor carries it).
                    Box::pin(tokio::time::sleep(wait)).await;
                }
                // One attempt — breaker → timeout → the inner service. The answer lives in this block
                // only (not kept across the backoff).
                backoff = {
                    let answer = match self.admit(operation) {
                        Err(refused) => Err(E::from(refused)),
                        Ok(admitted) => {
                            self.settle(operation, self.inner.call(operation, &mut call), admitted)
                                .await
                        }
                    };
                    match self.after(operation, &answer, attempt) {
                        Some(backoff) => Some(backoff),
                        None => return answer,
                    }
                };
                attempt += 1;
            }
        }
    }
}

impl<S: Service> Service for Stack<S> {
    fn may_retry(&self) -> bool {
        self.retry.as_ref().is_some_and(|(r, _)| r.max_attempts > 1) || self.inner.may_retry()
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
        self.attempts(operation, call, 1, None)
    }

    /// The fast path, when the inner service is the port itself: the first attempt is made now; a ready
    /// answer that is not retried is recorded and answered ready (no allocation, no timer — it answered on
    /// its first poll). A refusal, a retry or an attempt that waits continues as [`Service::call`] does,
    /// boxed.
    #[inline]
    fn call_port<'a, T, E, F>(
        &'a self,
        operation: &'static str,
        mut call: F,
    ) -> PortFuture<'a, Result<T, E>>
    where
        T: Send + 'a,
        E: Classify + From<Refusal> + Send + 'a,
        F: FnMut() -> PortFuture<'a, Result<T, E>> + Send + 'a,
    {
        if !self.inner.is_direct() {
            return PortFuture::boxed(self.call(operation, call));
        }
        self.begin();
        // The answer is looked at in place and its future passed on (not copied out and back in).
        let first = match self.admit(operation) {
            Err(refused) => PortFuture::ready(Err(E::from(refused))),
            Ok(admitted) => {
                let first = call();
                match first.answer() {
                    Some(answer) => self.record(answer, admitted),
                    None => {
                        return PortFuture::boxed(async move {
                            let answer = self.settle(operation, first, admitted).await;
                            match self.after(operation, &answer, 1) {
                                None => answer,
                                Some(backoff) => {
                                    self.attempts(operation, call, 2, Some(backoff)).await
                                }
                            }
                        });
                    }
                }
                first
            }
        };
        match first
            .answer()
            .and_then(|answer| self.after(operation, answer, 1))
        {
            None => first,
            Some(backoff) => PortFuture::boxed(self.attempts(operation, call, 2, Some(backoff))),
        }
    }
}

/// One of two services: what an optional layer ([`Option<L>`]) builds.
#[derive(Debug)]
pub enum Either<A, B> {
    /// The layer is on.
    On(A),
    /// The layer is off: the inner service itself.
    Off(B),
}

impl<S, L: Layer<S>> Layer<S> for Option<L> {
    type Service = Either<L::Service, S>;
    fn layer(&self, inner: S) -> Self::Service {
        match self {
            Some(layer) => Either::On(layer.layer(inner)),
            None => Either::Off(inner),
        }
    }
}

impl<A: Service, B: Service> Service for Either<A, B> {
    // Not an `async fn`: the call's future is the chosen service's, tagged (an `async fn` would add a
    // state machine holding a second copy of the arguments to every call).
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
        match self {
            Either::On(a) => futures::future::Either::Left(a.call(operation, call)),
            Either::Off(b) => futures::future::Either::Right(b.call(operation, call)),
        }
    }

    fn may_retry(&self) -> bool {
        match self {
            Either::On(a) => a.may_retry(),
            Either::Off(b) => b.may_retry(),
        }
    }

    #[inline]
    fn call_port<'a, T, E, F>(
        &'a self,
        operation: &'static str,
        call: F,
    ) -> PortFuture<'a, Result<T, E>>
    where
        T: Send + 'a,
        E: Classify + From<Refusal> + Send + 'a,
        F: FnMut() -> PortFuture<'a, Result<T, E>> + Send + 'a,
    {
        match self {
            Either::On(a) => a.call_port(operation, call),
            Either::Off(b) => b.call_port(operation, call),
        }
    }

    fn is_direct(&self) -> bool {
        match self {
            Either::On(a) => a.is_direct(),
            Either::Off(b) => b.is_direct(),
        }
    }
}
