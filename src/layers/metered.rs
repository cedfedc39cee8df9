//! The metered layer: records every call's result and latency into [`Metrics`] (see [`crate::metrics`]).
//! Outermost in the stack, so a call is counted once with its final result (after any retries).
//!
//! Each call also runs in a `tracing` span named `avb` (`otel.name` = `<port>.<operation>`, e.g.
//! `object_store.get`) with the fields `avb.port`, `avb.backend`, `avb.operation` and, on failure,
//! `error.type` (the error's class) and `otel.status_code` = `ERROR` — never an argument, a token, a key
//! or a payload ([`crate::trace`], `docs/observability.md`). Without a subscriber the span is disabled
//! and costs one relaxed atomic load.

use super::{Layer, Now, Refusal, Service};
use crate::metrics::{Metrics, OkHandles, SAMPLE_EVERY};
use avb_core::Classify;
use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

/// An operation and its resolved handles (`None`: a port the metrics do not know).
type Slot = OnceLock<(&'static str, Option<OkHandles>)>;

/// Operations whose handles a metered service keeps (an operation beyond them takes the slow path).
const SLOTS: usize = 16;

thread_local! {
    static TICK: Cell<u32> = const { Cell::new(0) };
}

/// Whether this call is one of the timed sample.
#[inline]
fn sampled() -> bool {
    TICK.with(|t| {
        let n = t.get().wrapping_add(1);
        t.set(n);
        n % SAMPLE_EVERY == 0
    })
}

/// Settings: where to record, and the port and backend the calls go to.
#[derive(Debug, Clone)]
pub struct MeteredLayer {
    metrics: Arc<Metrics>,
    port: &'static str,
    backend: &'static str,
}

impl MeteredLayer {
    /// Records `port`'s calls on `backend` into `metrics`.
    pub fn new(metrics: Arc<Metrics>, port: &'static str, backend: &'static str) -> Self {
        Self {
            metrics,
            port,
            backend,
        }
    }
}

impl<S> Layer<S> for MeteredLayer {
    type Service = Metered<S>;
    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            settings: self.clone(),
            slots: Arc::new(std::array::from_fn(|_| OnceLock::new())),
        }
    }
}

/// The service of [`MeteredLayer`]; clones share their resolved handles.
#[derive(Debug, Clone)]
pub struct Metered<S> {
    inner: S,
    settings: MeteredLayer,
    slots: Arc<[Slot; SLOTS]>,
}

impl<S> Metered<S> {
    /// Counts a call's final answer (and its latency, when timed).
    #[inline]
    fn record<T, E: Classify>(
        &self,
        operation: &'static str,
        answer: &Result<T, E>,
        took: Option<std::time::Duration>,
    ) {
        let s = &self.settings;
        match answer {
            Ok(_) => match self.handles(operation) {
                Some(h) => h.record_ok(took),
                None => s.metrics.record(s.port, s.backend, operation, Ok(()), took),
            },
            Err(e) => s
                .metrics
                .record_error(s.port, s.backend, operation, e.class(), took),
        }
    }

    /// The handles of `operation`, resolved on its first call.
    #[inline]
    fn handles(&self, operation: &'static str) -> Option<&OkHandles> {
        let s = &self.settings;
        for slot in self.slots.iter() {
            let (name, handles) =
                slot.get_or_init(|| (operation, s.metrics.handles(s.port, s.backend, operation)));
            // The same `&'static str` (the usual case) compares by address first.
            if std::ptr::eq(*name, operation) || *name == operation {
                return handles.as_ref();
            }
        }
        None
    }
}

impl<S: Service> Service for Metered<S> {
    fn may_retry(&self) -> bool {
        self.inner.may_retry()
    }

    /// Only while no subscriber wants this module's `INFO` spans (then the `avb` span would be disabled,
    /// so there is none to open: with no subscriber, or one whose filter turns `avb::layers` below
    /// `INFO`, a relaxed read and the callsite's cached interest); a done call is counted and timed as
    /// `call` counts it.
    #[inline]
    fn call_now<T, E, F>(&self, operation: &'static str, now: F) -> Now<T, E>
    where
        E: Classify + From<Refusal>,
        F: FnOnce() -> Option<Result<T, E>>,
    {
        // The same target as the `avb` span (this module).
        if tracing::span_enabled!(tracing::Level::INFO) {
            return Now::Later(None);
        }
        let started = sampled().then(Instant::now);
        let answer = match self.inner.call_now(operation, now) {
            Now::Done(answer) => answer,
            later => return later,
        };
        self.record(operation, &answer, started.map(|t| t.elapsed()));
        Now::Done(answer)
    }

    // Not an `async fn`: an `async` block uses its captured arguments in place (an `async fn` copies
    // them into its state a second time, and every byte of a call's future is moved into its box).
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
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
        async move {
            let s = &self.settings;
            let span = tracing::info_span!(
                "avb",
                otel.name = Empty,
                avb.port = s.port,
                avb.backend = s.backend,
                avb.operation = operation,
                error.type = Empty,
                otel.status_code = Empty,
            );
            if !span.is_disabled() {
                span.record("otel.name", format!("{}.{operation}", s.port));
            }
            let started = sampled().then(Instant::now);
            // The span is kept in the instrumented call (not cloned beside it) and read back after.
            let mut instrumented =
                std::pin::pin!(self.inner.call(operation, call).instrument(span));
            let answer = instrumented.as_mut().await;
            let span = instrumented.span();
            let took = started.map(|t| t.elapsed());
            if let Err(e) = &answer {
                span.record("error.type", e.class().as_str());
                span.record("otel.status_code", "ERROR");
            }
            self.record(operation, &answer, took);
            answer
        }
    }
}
