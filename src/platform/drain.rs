//! Drain: work in flight is counted ([`Platform::begin`] → [`Work`]), [`Platform::shutdown`] stops handing
//! out work, waits for it, then closes the ports.

use super::Platform;
use crate::{Port, Ports};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The drain state of a [`Platform`].
pub(super) struct Drain {
    shutting_down: AtomicBool,
    /// The number of [`Work`]s alive; a receiver waits for zero.
    in_flight: Arc<tokio::sync::watch::Sender<usize>>,
    /// The first shutdown's report, for a second caller.
    done: tokio::sync::OnceCell<ShutdownReport>,
}

impl Drain {
    pub(super) fn new() -> Self {
        Self {
            shutting_down: AtomicBool::new(false),
            in_flight: Arc::new(tokio::sync::watch::channel(0).0),
            done: tokio::sync::OnceCell::new(),
        }
    }
}

/// New work refused: the platform is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShuttingDown;

impl fmt::Display for ShuttingDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the service is shutting down: no new work is accepted")
    }
}

impl std::error::Error for ShuttingDown {}

/// A unit of work in flight (a request, a handled delivery): the ports snapshot, counted until dropped.
/// [`Platform::shutdown`] waits for every `Work` to be dropped (or its deadline). Derefs to [`Ports`].
pub struct Work {
    ports: Arc<Ports>,
    in_flight: Arc<tokio::sync::watch::Sender<usize>>,
}

impl std::ops::Deref for Work {
    type Target = Ports;
    fn deref(&self) -> &Ports {
        &self.ports
    }
}

impl Work {
    /// The ports snapshot (kept valid across a mode switch).
    pub fn ports(&self) -> &Arc<Ports> {
        &self.ports
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        self.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Work").field("ports", &self.ports).finish()
    }
}

/// What [`Platform::shutdown`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Work ([`Platform::begin`]) still in flight when the deadline passed (0 after a clean drain).
    pub work_in_flight: usize,
    /// Whether closing the ports (the EventBus waits for its deliveries and flushes their acks) had not
    /// finished by the deadline.
    pub close_unfinished: bool,
    /// Ports whose close failed, with the error (secrets scrubbed).
    pub close_failed: Vec<(Port, String)>,
    /// How long the shutdown took.
    pub took: Duration,
}

impl ShutdownReport {
    /// Whether everything finished in time and every close succeeded.
    pub fn is_clean(&self) -> bool {
        self.work_in_flight == 0 && !self.close_unfinished && self.close_failed.is_empty()
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return write!(f, "drained in {} ms", self.took.as_millis());
        }
        write!(f, "stopped after {} ms with", self.took.as_millis())?;
        let mut parts = Vec::new();
        if self.work_in_flight > 0 {
            parts.push(format!("{} unit(s) of work in flight", self.work_in_flight));
        }
        if self.close_unfinished {
            parts.push("the ports' close (the event bus's in-flight deliveries) unfinished".into());
        }
        for (port, e) in &self.close_failed {
            parts.push(format!("{port} close failed: {e}"));
        }
        write!(f, " {}", parts.join("; "))
    }
}

impl Platform {
    /// Starts a unit of work: the current ports snapshot, counted until the [`Work`] is dropped. Refused
    /// once [`Platform::shutdown`] has started.
    pub fn begin(&self) -> Result<Work, ShuttingDown> {
        // Counted first, then checked: a shutdown that starts in between sees this work and waits for it.
        self.drain.in_flight.send_modify(|n| *n += 1);
        let work = Work {
            ports: self.ports(),
            in_flight: self.drain.in_flight.clone(),
        };
        if self.is_shutting_down() {
            return Err(ShuttingDown);
        }
        Ok(work)
    }

    /// Whether [`Platform::shutdown`] has started.
    pub fn is_shutting_down(&self) -> bool {
        self.drain.shutting_down.load(Ordering::SeqCst)
    }

    /// Work in flight now.
    pub fn work_in_flight(&self) -> usize {
        *self.drain.in_flight.borrow()
    }

    /// Drains within `deadline`: refuses new work ([`Platform::begin`], [`Platform::switch_mode`]), waits
    /// for the work in flight, then closes the ports — the EventBus refuses new publishes and
    /// subscriptions, waits for the deliveries it handed out and flushes their acks (its own
    /// `EVENT_BUS_DRAIN_TIMEOUT` bounds that too). Returns what was still in flight at the deadline. A
    /// second call answers the first one's report.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.drain.shutting_down.store(true, Ordering::SeqCst);
        self.drain
            .done
            .get_or_init(|| self.drain_once(deadline))
            .await
            .clone()
    }

    async fn drain_once(&self, deadline: Duration) -> ShutdownReport {
        let start = Instant::now();
        let end = tokio::time::Instant::now() + deadline;
        let mut count = self.drain.in_flight.subscribe();
        let _ = tokio::time::timeout_at(end, count.wait_for(|n| *n == 0)).await;
        let work_in_flight = *count.borrow();
        let ports = self.ports();
        let (close_unfinished, close_failed) =
            match tokio::time::timeout_at(end, ports.close()).await {
                Ok(failed) => (false, failed),
                Err(_) => (true, Vec::new()),
            };
        let report = ShutdownReport {
            work_in_flight,
            close_unfinished,
            close_failed,
            took: start.elapsed(),
        };
        if report.is_clean() {
            tracing::info!(target: "avb::platform", "avb: shutdown: {report}");
        } else {
            tracing::warn!(target: "avb::platform", "avb: shutdown: {report}");
        }
        report
    }
}

/// A duration: a positive whole number with unit `ms`, `s`, `m`, `h` or `d` (`500ms`, `30s`), or plain
/// seconds. `None` for anything else (the caller names the variable or flag and these forms).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => Some(Duration::from_millis(n.saturating_mul(millis_per_unit))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        for bad in ["", "0s", "-1s", "1.5s", "10 parsecs", "s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn work_is_refused_once_shutdown_starts_and_is_waited_for() {
        let platform = Arc::new(
            Platform::from_pairs(Vec::<(String, String)>::new())
                .await
                .unwrap(),
        );
        let work = platform.begin().unwrap();
        assert_eq!(platform.work_in_flight(), 1);
        let p = platform.clone();
        let shutdown = tokio::spawn(async move { p.shutdown(Duration::from_secs(3600)).await });
        while !platform.is_shutting_down() {
            tokio::task::yield_now().await;
        }
        assert_eq!(platform.begin().unwrap_err(), ShuttingDown);
        assert!(!shutdown.is_finished());
        drop(work);
        let report = shutdown.await.unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!(platform.shutdown(Duration::from_secs(1)).await, report);
    }

    #[tokio::test(start_paused = true)]
    async fn the_report_names_what_was_in_flight_at_the_deadline() {
        let platform = Platform::from_pairs(Vec::<(String, String)>::new())
            .await
            .unwrap();
        let _held = platform.begin().unwrap();
        let report = platform.shutdown(Duration::from_millis(100)).await;
        assert_eq!(report.work_in_flight, 1);
        assert!(!report.is_clean());
        assert!(
            report.to_string().contains("1 unit(s) of work in flight"),
            "{report}"
        );
    }
}
