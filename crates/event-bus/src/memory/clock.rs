//! The clock behind delivery deadlines. Reading the precise monotonic clock costs a noticeable share of a
//! delivery on the hot path (on a VM, `clock_gettime(CLOCK_MONOTONIC)` is tens of nanoseconds), so
//! [`Now::coarse`] reads `CLOCK_MONOTONIC_COARSE` instead (Linux: a few nanoseconds, one kernel tick of
//! resolution), mapped onto [`Instant`] through one anchor, as a window `early ..= late` that surely holds
//! the real time. Deadlines are set from `late` and expired against `early`, so an ack timeout never fires
//! early; it may fire a few ticks late (at most 6 ticks: 24 ms at HZ=250, and only while a consumer is
//! taking deliveries without waiting — a waiting consumer uses [`Now::precise`]).

use tokio::time::Instant;

/// A window around the current time: `early <= real now <= late`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Now {
    /// No later than the real time: expire deadlines against this.
    pub(super) early: Instant,
    /// No earlier than the real time: set deadlines from this.
    pub(super) late: Instant,
}

impl Now {
    /// The precise clock (`early == late`).
    pub(super) fn precise() -> Self {
        let now = Instant::now();
        Self {
            early: now,
            late: now,
        }
    }

    /// The cheap clock where there is one, else [`Now::precise`].
    #[cfg(target_os = "linux")]
    pub(super) fn coarse() -> Self {
        match coarse::anchor() {
            Some(anchor) => anchor.now(),
            None => Self::precise(),
        }
    }

    /// The cheap clock where there is one, else [`Now::precise`].
    #[cfg(not(target_os = "linux"))]
    pub(super) fn coarse() -> Self {
        Self::precise()
    }
}

#[cfg(target_os = "linux")]
mod coarse {
    use super::Now;
    use rustix::time::{ClockId, clock_getres, clock_gettime};
    use std::sync::OnceLock;
    use std::time::Duration;
    use tokio::time::Instant;

    /// A coarse clock whose tick is longer than this is not used.
    const MAX_TICK: Duration = Duration::from_millis(10);

    pub(super) struct Anchor {
        instant: Instant,
        coarse: Duration,
        /// Two ticks: covers the coarse clock lagging by up to a tick at the anchor and at each read.
        slack: Duration,
    }

    fn read() -> Option<Duration> {
        Duration::try_from(clock_gettime(ClockId::MonotonicCoarse)).ok()
    }

    pub(super) fn anchor() -> Option<&'static Anchor> {
        static ANCHOR: OnceLock<Option<Anchor>> = OnceLock::new();
        ANCHOR
            .get_or_init(|| {
                let tick = Duration::try_from(clock_getres(ClockId::MonotonicCoarse)).ok()?;
                if tick.is_zero() || tick > MAX_TICK {
                    return None;
                }
                let instant = Instant::now();
                let coarse = read()?;
                Some(Anchor {
                    instant,
                    coarse,
                    slack: tick * 2,
                })
            })
            .as_ref()
    }

    impl Anchor {
        pub(super) fn now(&self) -> Now {
            let Some(coarse) = read() else {
                return Now::precise();
            };
            // Both clocks are CLOCK_MONOTONIC underneath; the coarse one lags by less than a tick, so
            // `base` is within a tick (plus the anchor's own lag) of the real time.
            let base = self.instant + coarse.saturating_sub(self.coarse);
            Now {
                early: base.checked_sub(self.slack).unwrap_or(self.instant),
                late: base + self.slack,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_window_holds_the_real_time() {
        for _ in 0..1000 {
            let before = Instant::now();
            let now = Now::coarse();
            let after = Instant::now();
            assert!(now.early <= after, "{now:?} vs {after:?}");
            assert!(now.late >= before, "{now:?} vs {before:?}");
        }
    }
}
