//! The retry layer: a call that fails with a retryable error ([`Classify::is_retryable`]) is started
//! again after an exponential backoff with jitter, up to `max_attempts` in all, while the **budget**
//! allows: retries may add at most `reserve` calls plus `ratio` of the calls made (so an outage cannot
//! multiply the load on a struggling backend). Any other error, and the last failure, is returned as is.

use super::{Layer, Refusal, Service};
use avb_core::Classify;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Settings of the retry layer.
#[derive(Debug, Clone, Copy)]
pub struct RetryLayer {
    /// Attempts in all, the first included (1: no retry).
    pub max_attempts: u32,
    /// The first backoff; doubled per retry up to `max_backoff`, plus up to a quarter of jitter.
    pub min_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// Retries allowed per call made (0.2: one retry per five calls), on top of `reserve`.
    pub ratio: f64,
    /// Retries allowed however few calls were made.
    pub reserve: u32,
}

impl Default for RetryLayer {
    /// 3 attempts, 50 ms doubling up to 2 s, a budget of 10 retries plus 20 % of the calls.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            ratio: 0.2,
            reserve: 10,
        }
    }
}

impl RetryLayer {
    /// The backoff before attempt `attempt + 1` (after `attempt` failures), `jitter` in `0.0 ..= 1.0`.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let base = self
            .min_backoff
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        (base + base.mul_f64(jitter.clamp(0.0, 1.0) / 4.0)).min(self.max_backoff)
    }
}

impl RetryLayer {
    /// What follows a failed attempt: the wait before attempt `attempt + 1` when `answer` failed retryably,
    /// attempts remain and `budget` pays for one more; `None` when `answer` is to be returned as is. One
    /// rule for [`Retry`] and the fused default stack ([`Stack`](super::defaults::Stack)).
    pub(super) fn after<T, E: Classify>(
        &self,
        answer: &Result<T, E>,
        attempt: u32,
        budget: &Budget,
    ) -> Option<Duration> {
        match answer {
            Err(e) if e.is_retryable() && attempt < self.max_attempts && budget.withdraw() => {
                Some(self.backoff(attempt, jitter()))
            }
            _ => None,
        }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;
    fn layer(&self, inner: S) -> Retry<S> {
        Retry {
            inner,
            settings: *self,
            budget: Budget::new(self),
        }
    }
}

/// One retry, in thousandths.
const MILLI: i64 = 1000;

/// The retry budget shared by the clones of one [`Retry`]: a balance of retries (in thousandths) that each
/// call tops up by `ratio` (up to the reserve) and each retry spends one of.
#[derive(Debug)]
pub(super) struct Budget {
    balance: AtomicI64,
    deposit: i64,
    cap: i64,
}

impl Budget {
    /// A full budget for `settings`.
    pub(super) fn new(settings: &RetryLayer) -> Arc<Budget> {
        let reserve = i64::from(settings.reserve) * MILLI;
        Arc::new(Budget {
            balance: AtomicI64::new(reserve),
            deposit: (settings.ratio.clamp(0.0, 1000.0) * MILLI as f64) as i64,
            cap: reserve.max(MILLI),
        })
    }

    /// Tops the balance up by one call's share. Relaxed: the balance is a budget, not a lock, and a
    /// full one (the usual case while the backend answers) is only read.
    #[inline]
    pub(super) fn deposit(&self) {
        if self.balance.load(Ordering::Relaxed) >= self.cap {
            return;
        }
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b < self.cap).then(|| (b + self.deposit).min(self.cap))
            });
    }

    /// Whether a retry could be withdrawn now (a read; [`Budget::withdraw`] decides).
    #[inline]
    pub(super) fn can_withdraw(&self) -> bool {
        self.balance.load(Ordering::Relaxed) >= MILLI
    }

    pub(super) fn withdraw(&self) -> bool {
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b >= MILLI).then_some(b - MILLI)
            })
            .is_ok()
    }
}

/// The service of [`RetryLayer`].
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    settings: RetryLayer,
    budget: Arc<Budget>,
}

impl<S> Retry<S> {
    /// Retries the budget allows now (whole ones).
    pub fn budget_left(&self) -> u32 {
        u32::try_from(self.budget.balance.load(Ordering::Relaxed) / MILLI).unwrap_or(0)
    }
}

impl<S: Service> Service for Retry<S> {
    fn may_retry(&self) -> bool {
        self.settings.max_attempts > 1
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
        mut call: F,
    ) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: Classify + From<Refusal> + Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        async move {
            self.budget.deposit();
            let mut attempt = 1;
            loop {
                // The answer lives in this block only, so its space is not kept across the backoff.
                let backoff = {
                    let answer = self.inner.call(operation, &mut call).await;
                    match self.settings.after(&answer, attempt, &self.budget) {
                        Some(backoff) => backoff,
                        None => return answer,
                    }
                };
                // Boxed: the timer stays out of the call's future (a call that is not retried neither
                // arms nor carries it).
                Box::pin(tokio::time::sleep(backoff)).await;
                attempt += 1;
            }
        }
    }
}

/// A fraction in `0.0 .. 1.0`, different on every call (std's per-instance random hash keys).
pub(super) fn jitter() -> f64 {
    let bits = std::hash::RandomState::new().build_hasher().finish() >> 11;
    bits as f64 / (1u64 << 53) as f64
}
