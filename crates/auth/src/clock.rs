//! The clock the Auth port's caches read: the JWKS [`KeyCache`](crate::jwks::KeyCache) (refresh
//! interval, max age), the introspection answer cache and the client-credentials token cache. A
//! [`Clock`] gives a monotonic [`Instant`]; [`SystemClock`] is the real one and the default everywhere.
//! Tests inject a `ManualClock` (feature `conformance`) and advance it explicitly, so a test of a
//! deadline never waits for it to pass (and never fails because the machine was slow).
//!
//! Token `exp`/`nbf`/`iat` checks do not read this clock: they compare with the system's wall clock
//! (`SystemTime`), as the issuer does. The validated-token cache
//! ([`TokenCache`](crate::validator::TokenCache)) compares a cached token's `exp` with the clock's
//! [`wall`](Clock::wall) time ([`SystemClock`]: the system's wall clock), so a test can step a
//! `ManualClock` to the exact second of `exp`.
//!
//! | setter | clock of |
//! |---|---|
//! | `OidcBuilder::with_clock` (feature `oidc`) | the JWKS cache and the introspection cache |
//! | `ClientCredentials::with_clock` (feature `oidc`) | the token cache |
//! | [`KeyCache::with_clock`](crate::jwks::KeyCache::with_clock) | that key cache |
//! | [`TokenCache::with_clock`](crate::validator::TokenCache::with_clock) | that validated-token cache (the OIDC builder's clock for its own) |

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// A source of monotonic time for the caches (see the [module docs](self)).
pub trait Clock: Send + Sync + Debug {
    /// The current instant.
    fn now(&self) -> Instant;

    /// The current wall-clock time, compared with a cached token's `exp` (default: [`SystemTime::now`]).
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The real clock: [`Instant::now`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Instant {
        (**self).now()
    }
    fn wall(&self) -> SystemTime {
        (**self).wall()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Instant {
        (**self).now()
    }
    fn wall(&self) -> SystemTime {
        (**self).wall()
    }
}

/// The clock a cache starts with: [`SystemClock`].
pub(crate) fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[cfg(any(test, feature = "conformance"))]
pub use manual::ManualClock;

#[cfg(any(test, feature = "conformance"))]
mod manual {
    use super::Clock;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::{Duration, Instant, SystemTime};

    /// A clock that stands still until [`advance`](Self::advance)d (feature `conformance`, for tests).
    /// Clones share one time: hand a clone to the builder, keep one to advance. Its
    /// [`wall`](Clock::wall) time starts at the system's wall clock and moves with it.
    ///
    /// ```
    /// use avb_auth::clock::{Clock, ManualClock};
    /// use std::time::Duration;
    /// let clock = ManualClock::new();
    /// let start = clock.now();
    /// assert_eq!(clock.now(), start, "time stands still");
    /// clock.advance(Duration::from_secs(10));
    /// assert_eq!(clock.now() - start, Duration::from_secs(10));
    /// ```
    #[derive(Debug, Clone)]
    pub struct ManualClock {
        now: Arc<Mutex<(Instant, SystemTime)>>,
    }

    impl Default for ManualClock {
        fn default() -> Self {
            Self::new()
        }
    }

    impl ManualClock {
        /// A clock standing at the moment of the call.
        pub fn new() -> Self {
            Self {
                now: Arc::new(Mutex::new((Instant::now(), SystemTime::now()))),
            }
        }

        /// Moves the clock forward by `by` (every clone sees it). An advance past what [`Instant`] can
        /// represent leaves the clock where it was.
        pub fn advance(&self, by: Duration) {
            let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
            if let (Some(later), Some(wall)) = (now.0.checked_add(by), now.1.checked_add(by)) {
                *now = (later, wall);
            }
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            self.now.lock().unwrap_or_else(PoisonError::into_inner).0
        }

        fn wall(&self) -> SystemTime {
            self.now.lock().unwrap_or_else(PoisonError::into_inner).1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_its_clones_share_the_time() {
        let clock = ManualClock::new();
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let (start, wall) = (shared.now(), shared.wall());
        assert_eq!(shared.now(), start);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(shared.now() - start, Duration::from_millis(1500));
        assert_eq!(
            shared.wall().duration_since(wall).ok(),
            Some(Duration::from_millis(1500))
        );
        // An unrepresentable advance leaves the clock unchanged (no panic).
        clock.advance(Duration::MAX);
        assert_eq!(shared.now() - start, Duration::from_millis(1500));
    }

    #[test]
    fn the_system_clock_does_not_go_backwards() {
        let a = SystemClock.now();
        let b = SystemClock.now();
        assert!(b >= a);
    }
}
