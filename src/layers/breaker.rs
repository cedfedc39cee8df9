//! The circuit breaker: after `fail_max` consecutive retryable failures (timeouts included) the breaker
//! **opens** and refuses calls at once ([`Refusal::CircuitOpen`]) without reaching the backend; after
//! `reset_timeout` it is **half-open** and lets one trial call through — its success closes the breaker,
//! its failure opens it again for another `reset_timeout`. A trial whose future is dropped (cancelled)
//! lets the next call try. Errors that are not retryable (not found, conflict, refused credentials, bad
//! request) are answers, not failures: they neither count nor open it.

use super::{Layer, Refusal, Service};
use avb_core::Classify;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Settings of the circuit breaker.
#[derive(Debug, Clone, Copy)]
pub struct BreakerLayer {
    /// Consecutive retryable failures that open the breaker.
    pub fail_max: u32,
    /// How long it stays open before a trial call.
    pub reset_timeout: Duration,
}

impl Default for BreakerLayer {
    /// `fail_max = 3`, `reset_timeout = 30 s` (the dev–prod parity roadmap's figures).
    fn default() -> Self {
        Self {
            fail_max: 3,
            reset_timeout: Duration::from_secs(30),
        }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = Breaker<S>;
    fn layer(&self, inner: S) -> Breaker<S> {
        Breaker {
            inner,
            circuit: Circuit::new(self),
        }
    }
}

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Calls go through.
    Closed,
    /// Calls are refused until the reset timeout passed.
    Open,
    /// The reset timeout passed: the next call is a trial (or one is under way).
    HalfOpen,
}

/// `open_until` of a closed breaker.
const CLOSED: u64 = 0;

/// The breaker's state, lock-free: a closed breaker's call reads `open_until` on the way in and
/// `consecutive` and `open_until` on the way out, and writes nothing (a failure, or the first success
/// after one, writes).
#[derive(Debug)]
struct State {
    /// The instant `open_until` counts from.
    epoch: Instant,
    /// When the breaker half-opens, as a [`State::stamp`]; [`CLOSED`] when closed.
    open_until: AtomicU64,
    /// Retryable failures in a row.
    consecutive: AtomicU32,
    /// A trial call is under way (at most one caller sets it, by compare-and-swap).
    trial: AtomicBool,
}

impl State {
    /// One plus the nanoseconds from `epoch` to `at` (saturating; never [`CLOSED`]).
    fn stamp(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }
}

/// The service of [`BreakerLayer`]; clones share one breaker.
#[derive(Debug, Clone)]
pub struct Breaker<S> {
    inner: S,
    circuit: Circuit,
}

impl<S> Breaker<S> {
    /// Where the breaker stands now.
    pub fn position(&self) -> Position {
        self.circuit.position()
    }
}

/// A breaker's settings and state, without the inner service (shared by [`Breaker`] and the default
/// stack, [`super::defaults::Stack`]); clones share one breaker.
#[derive(Debug, Clone)]
pub(super) struct Circuit {
    settings: BreakerLayer,
    state: Arc<State>,
}

impl Circuit {
    pub(super) fn new(settings: &BreakerLayer) -> Circuit {
        Circuit {
            settings: BreakerLayer {
                fail_max: settings.fail_max.max(1),
                reset_timeout: settings.reset_timeout,
            },
            state: Arc::new(State {
                epoch: Instant::now(),
                open_until: AtomicU64::new(CLOSED),
                consecutive: AtomicU32::new(0),
                trial: AtomicBool::new(false),
            }),
        }
    }

    /// Where the breaker stands now.
    pub(super) fn position(&self) -> Position {
        let s = &*self.state;
        match s.open_until.load(Ordering::Acquire) {
            CLOSED => Position::Closed,
            until if s.stamp(Instant::now()) < until => Position::Open,
            _ => Position::HalfOpen,
        }
    }

    /// Whether the breaker is closed (one atomic read).
    #[inline]
    pub(super) fn is_closed(&self) -> bool {
        self.state.open_until.load(Ordering::Acquire) == CLOSED
    }

    /// Lets a call through (`Ok(is_trial)`) or refuses it.
    pub(super) fn admit(&self, operation: &'static str) -> Result<bool, Refusal> {
        let s = &*self.state;
        let until = s.open_until.load(Ordering::Acquire);
        if until == CLOSED {
            return Ok(false);
        }
        let now = s.stamp(Instant::now());
        if now < until {
            return Err(Refusal::CircuitOpen {
                operation,
                retry_in: Duration::from_nanos(until - now),
            });
        }
        if s.trial
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(Refusal::CircuitOpen {
                operation,
                retry_in: Duration::ZERO,
            });
        }
        // The trial is ours; a trial that just failed may have reopened the breaker before giving the
        // trial back (it writes `open_until` first), so look again.
        match s.open_until.load(Ordering::Acquire) {
            CLOSED => {
                s.trial.store(false, Ordering::Release);
                Ok(false)
            }
            until if now < until => {
                s.trial.store(false, Ordering::Release);
                Err(Refusal::CircuitOpen {
                    operation,
                    retry_in: Duration::from_nanos(until - now),
                })
            }
            _ => Ok(true),
        }
    }

    /// Records a call's outcome (`failed`: a retryable error) and gives a trial back.
    #[inline]
    pub(super) fn record(&self, failed: bool, trial: bool) {
        let s = &*self.state;
        if failed {
            let consecutive = s
                .consecutive
                .fetch_add(1, Ordering::AcqRel)
                .saturating_add(1);
            if trial || consecutive >= self.settings.fail_max {
                let reset =
                    u64::try_from(self.settings.reset_timeout.as_nanos()).unwrap_or(u64::MAX);
                let until = s.stamp(Instant::now()).saturating_add(reset);
                s.open_until.store(until, Ordering::Release);
            }
        } else {
            // Only the first success after a failure writes: a closed breaker's calls share the line
            // read-only.
            if s.consecutive.load(Ordering::Acquire) != 0 {
                s.consecutive.store(0, Ordering::Release);
            }
            if s.open_until.load(Ordering::Acquire) != CLOSED {
                s.open_until.store(CLOSED, Ordering::Release);
            }
        }
        if trial {
            s.trial.store(false, Ordering::Release);
        }
    }
}

/// Gives the trial back when a trial call's future is dropped before it answered.
pub(super) struct TrialGuard<'a> {
    state: &'a State,
    armed: bool,
}

impl<'a> TrialGuard<'a> {
    /// Armed when `trial`: until disarmed, dropping it gives the trial back.
    pub(super) fn new(circuit: &'a Circuit, trial: bool) -> Self {
        TrialGuard {
            state: &circuit.state,
            armed: trial,
        }
    }

    /// The call answered: its outcome is recorded instead.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.state.trial.store(false, Ordering::Release);
        }
    }
}

impl<S: Service> Service for Breaker<S> {
    fn may_retry(&self) -> bool {
        self.inner.may_retry()
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
            let circuit = &self.circuit;
            let trial = circuit.admit(operation).map_err(E::from)?;
            let mut guard = TrialGuard::new(circuit, trial);
            let answer = self.inner.call(operation, call).await;
            guard.disarm();
            circuit.record(matches!(&answer, Err(e) if e.is_retryable()), trial);
            answer
        }
    }
}
