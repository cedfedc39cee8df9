//! The layers the [`crate::Platform`] wraps around each port by default ([`PortLayers::default_for`]),
//! in the documented order (outermost first): metered → retry → circuit breaker → timeout → the port.
//! Each of retry, breaker and timeout is optional ([`Option<L>`] is itself a layer: `None` passes the call
//! straight to the inner service).

use super::breaker::{Breaker, BreakerLayer};
use super::retry::{Retry, RetryLayer};
use super::timeout::{Timeout, TimeoutLayer};
use super::{Layer, Refusal, Service};
use crate::Port;
use avb_core::Classify;
use std::future::Future;
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
        let timed = self.timeout.map(TimeoutLayer::new).layer(inner);
        let broken = self.breaker.layer(timed);
        self.retry.layer(broken)
    }
}

type Timed<S> = Either<Timeout<S>, S>;
type Broken<S> = Either<Breaker<Timed<S>>, Timed<S>>;
/// What [`PortLayers::stack`] builds: retry → breaker → timeout → `S`, each possibly off.
pub type Stack<S> = Either<Retry<Broken<S>>, Broken<S>>;

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
}
