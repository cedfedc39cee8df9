//! The layers the [`crate::Platform`] wraps around each port by default ([`PortLayers::default_for`]),
//! in the documented order (outermost first): metered → retry → circuit breaker → timeout → the port.
//! Each of retry, breaker and timeout is optional: [`PortLayers::stack`] builds them as one fused
//! [`Stack`] where an absent layer costs a branch. (For hand-built stacks, [`Option<L>`] is itself a layer:
//! `None` passes the call straight to the inner service.)

use super::breaker::{BreakerLayer, Circuit, Position, TrialGuard};
use super::retry::{Budget, RetryLayer};
use super::timeout::limit;
use super::{Layer, Now, Refusal, Service};
use crate::Port;
use avb_core::Classify;
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
    /// | catalog | none (the OpenMetadata client retries a retryable answer 3 times itself; a JSON file has none) | 3 / 30 s | 30 s |
    /// | llm | none (the client retries before the first token, `LLM_RETRIES`) | 3 / 30 s | none (`LLM_TIMEOUT_MS`) |
    pub fn default_for(port: Port) -> PortLayers {
        let (retry, timeout) = match port {
            Port::EventBus => (true, Some(Duration::from_secs(30))),
            Port::Auth => (true, Some(Duration::from_secs(10))),
            Port::ObjectStore => (true, Some(Duration::from_secs(300))),
            // The OpenMetadata client retries by itself: a second round here would make 12 requests of a
            // call to a struggling server (tests/platform_layers.rs).
            Port::Catalog => (false, Some(Duration::from_secs(30))),
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

impl<S: Service> Service for Stack<S> {
    fn may_retry(&self) -> bool {
        self.retry.as_ref().is_some_and(|(r, _)| r.max_attempts > 1) || self.inner.may_retry()
    }

    /// One attempt, on the spot, while the breaker is closed (a closed breaker's admission is a read;
    /// an open or half-open one takes `call`). A call that answers at once cannot time out. A retryable
    /// failure the retry layer would retry is handed back untouched (`call` records it, waits the backoff
    /// and retries); any other answer is recorded as `call` records it.
    #[inline]
    fn call_now<T, E, F>(&self, operation: &'static str, now: F) -> Now<T, E>
    where
        E: Classify + From<Refusal>,
        F: FnOnce() -> Option<Result<T, E>>,
    {
        if self.circuit.as_ref().is_some_and(|c| !c.is_closed()) {
            return Now::Later(None);
        }
        let answer = match self.inner.call_now(operation, now) {
            Now::Done(answer) => answer,
            later => return later,
        };
        let failed = matches!(&answer, Err(e) if e.is_retryable());
        if failed
            && self.retry.as_ref().is_some_and(|(settings, budget)| {
                settings.max_attempts > 1 && budget.can_withdraw()
            })
        {
            return match answer {
                Err(e) => Now::Later(Some(e)),
                Ok(_) => Now::Done(answer),
            };
        }
        if let Some((_, budget)) = &self.retry {
            budget.deposit();
        }
        if let Some(circuit) = &self.circuit {
            circuit.record(failed, false);
        }
        Now::Done(answer)
    }

    // Not an `async fn`: an `async` block uses its captured arguments in place.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
    fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        mut call: F,
    ) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: Classify + From<Refusal> + Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        async move {
            if let Some((_, budget)) = &self.retry {
                budget.deposit();
            }
            let mut attempt = 1;
            loop {
                // One attempt — breaker → timeout → the inner service — written out here rather than
                // nested futures, so the answer is not copied out through a future per layer. It lives
                // in this block only (not kept across the backoff).
                let backoff = {
                    let answer = match self.circuit.as_ref().map(|c| c.admit(operation)) {
                        Some(Err(refused)) => Err(E::from(refused)),
                        admitted => {
                            let trial = matches!(admitted, Some(Ok(true)));
                            let mut guard =
                                self.circuit.as_ref().map(|c| TrialGuard::new(c, trial));
                            let mut pending = std::pin::pin!(self.inner.call(operation, &mut call));
                            let answer = match self.timeout {
                                None => pending.await,
                                // As the timeout layer: polled once before a timer is armed.
                                Some(after) => {
                                    match poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await
                                    {
                                        Poll::Ready(answer) => answer,
                                        Poll::Pending => limit(after, operation, pending).await,
                                    }
                                }
                            };
                            if let (Some(circuit), Some(guard)) = (&self.circuit, guard.as_mut()) {
                                guard.disarm();
                                circuit
                                    .record(matches!(&answer, Err(e) if e.is_retryable()), trial);
                            }
                            answer
                        }
                    };
                    let backoff = self
                        .retry
                        .as_ref()
                        .and_then(|(settings, budget)| settings.after(&answer, attempt, budget));
                    match backoff {
                        Some(backoff) => {
                            if let Some(count) = &self.on_retry {
                                count(operation);
                            }
                            backoff
                        }
                        None => return answer,
                    }
                };
                Box::pin(tokio::time::sleep(backoff)).await;
                attempt += 1;
            }
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
    fn call_now<T, E, F>(&self, operation: &'static str, now: F) -> Now<T, E>
    where
        E: Classify + From<Refusal>,
        F: FnOnce() -> Option<Result<T, E>>,
    {
        match self {
            Either::On(a) => a.call_now(operation, now),
            Either::Off(b) => b.call_now(operation, now),
        }
    }
}
