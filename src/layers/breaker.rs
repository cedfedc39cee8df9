//! The circuit breaker: after `fail_max` consecutive retryable failures (timeouts included) the breaker
//! **opens** and refuses calls at once ([`Refusal::CircuitOpen`]) without reaching the backend; after
//! `reset_timeout` it is **half-open** and lets one trial call through — its success closes the breaker,
//! its failure opens it again for another `reset_timeout`. A trial whose future is dropped (cancelled)
//! lets the next call try. Errors that are not retryable (not found, conflict, refused credentials, bad
//! request) are answers, not failures: they neither count nor open it.

use super::{Layer, Refusal, Service};
use avb_core::Classify;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
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
            settings: BreakerLayer {
                fail_max: self.fail_max.max(1),
                reset_timeout: self.reset_timeout,
            },
            state: Arc::new(Mutex::new(State::default())),
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

#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    open_until: Option<Instant>,
    trial: bool,
}

/// The service of [`BreakerLayer`]; clones share one breaker.
#[derive(Debug, Clone)]
pub struct Breaker<S> {
    inner: S,
    settings: BreakerLayer,
    state: Arc<Mutex<State>>,
}

impl<S> Breaker<S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the breaker stands now.
    pub fn position(&self) -> Position {
        let s = self.lock();
        match s.open_until {
            None => Position::Closed,
            Some(t) if Instant::now() < t => Position::Open,
            Some(_) => Position::HalfOpen,
        }
    }

    /// Lets a call through (`Ok(is_trial)`) or refuses it.
    fn admit(&self, operation: &'static str) -> Result<bool, Refusal> {
        let mut s = self.lock();
        let Some(until) = s.open_until else {
            return Ok(false);
        };
        let now = Instant::now();
        if now < until {
            return Err(Refusal::CircuitOpen {
                operation,
                retry_in: until - now,
            });
        }
        if s.trial {
            return Err(Refusal::CircuitOpen {
                operation,
                retry_in: Duration::ZERO,
            });
        }
        s.trial = true;
        Ok(true)
    }

    fn record(&self, failed: bool, trial: bool) {
        let mut s = self.lock();
        if trial {
            s.trial = false;
        }
        if failed {
            s.consecutive = s.consecutive.saturating_add(1);
            if trial || s.consecutive >= self.settings.fail_max {
                s.open_until = Some(Instant::now() + self.settings.reset_timeout);
            }
        } else {
            s.consecutive = 0;
            s.open_until = None;
        }
    }
}

/// Gives the trial back when a trial call's future is dropped before it answered.
struct TrialGuard<'a> {
    state: &'a Mutex<State>,
    armed: bool,
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .trial = false;
        }
    }
}

impl<S: Service> Service for Breaker<S> {
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
        let trial = self.admit(operation).map_err(E::from)?;
        let mut guard = TrialGuard {
            state: &self.state,
            armed: trial,
        };
        let answer = self.inner.call(operation, call).await;
        guard.armed = false;
        let failed = matches!(&answer, Err(e) if e.is_retryable());
        self.record(failed, trial);
        answer
    }
}
