//! [`Runner`]: runs a case table against a harness, up to N cases at once, each under its timeout.

use crate::checks::{PANIC, TIMEOUT};
use crate::report::{CaseReport, Outcome, Report, Skip};
use crate::{Capable, Case, Checks, Failure, Gap};
use futures::{FutureExt, StreamExt};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

/// Runs suites: concurrency, default timeout, declared server gaps, printing.
#[derive(Debug, Clone)]
pub struct Runner {
    concurrency: usize,
    timeout: Duration,
    gaps: Vec<Gap>,
    print: bool,
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// Default number of cases run at once.
    pub const DEFAULT_CONCURRENCY: usize = 4;
    /// Default timeout of a case.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// [`Runner::DEFAULT_CONCURRENCY`] cases at once, [`Runner::DEFAULT_TIMEOUT`] each, no gaps, printing.
    pub fn new() -> Self {
        Self {
            concurrency: Self::DEFAULT_CONCURRENCY,
            timeout: Self::DEFAULT_TIMEOUT,
            gaps: Vec::new(),
            print: true,
        }
    }

    /// Runs up to `n` cases at once (at least 1). Cases must not share state: each uses its own namespace.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The timeout of a case that sets none.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Declares a known server gap (see [`Gap`]).
    pub fn gap(mut self, gap: Gap) -> Self {
        self.gaps.push(gap);
        self
    }

    /// Declares known server gaps.
    pub fn gaps(mut self, gaps: impl IntoIterator<Item = Gap>) -> Self {
        self.gaps.extend(gaps);
        self
    }

    /// Does not print lines as the run goes (the report still has them): for the kit's own tests and for
    /// machine-readable output (`avb check --json`).
    pub fn silent(mut self) -> Self {
        self.print = false;
        self
    }

    /// Whether the run prints lines as it goes (a suite printing its own lines follows this).
    pub fn prints(&self) -> bool {
        self.print
    }

    /// Runs `cases` against `harness`; prints one line per case as it ends (with `println!`, so the test
    /// harness shows it with the test's output) and returns the report, in the table's order.
    pub async fn run<H>(&self, harness: &H, cases: &[Case<H>]) -> Report
    where
        H: Capable + Sync + ?Sized,
    {
        let unknown_gaps: Vec<Gap> = self
            .gaps
            .iter()
            .filter(|g| !cases.iter().any(|c| c.name == g.case))
            .copied()
            .collect();
        let runs = cases
            .iter()
            .enumerate()
            .map(|(i, case)| async move { (i, self.run_case(harness, case).await) });
        let mut done: Vec<(usize, CaseReport)> = futures::stream::iter(runs)
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        done.sort_by_key(|(i, _)| *i);
        let report = Report {
            cases: done.into_iter().map(|(_, r)| r).collect(),
            unknown_gaps,
        };
        if self.print {
            for gap in &report.unknown_gaps {
                println!(
                    "UNKNOWN GAP {}: the suite has no such case: {gap}",
                    gap.case
                );
            }
            let summary = report.to_string();
            if let Some(first) = summary.lines().next() {
                println!("{first}");
            }
        }
        report
    }

    async fn run_case<H>(&self, harness: &H, case: &Case<H>) -> CaseReport
    where
        H: Capable + Sync + ?Sized,
    {
        let gaps: Vec<Gap> = self
            .gaps
            .iter()
            .filter(|g| g.case == case.name)
            .copied()
            .collect();
        let report = if let Some(capability) = harness.missing(case.requires) {
            CaseReport {
                name: case.name,
                outcome: Outcome::Skipped(Skip::Lacks(capability)),
                failures: Vec::new(),
                gaps_held: Vec::new(),
                gaps_quiet: Vec::new(),
                checked: 0,
            }
        } else {
            let timeout = case.timeout.unwrap_or(self.timeout);
            let mut checks = Checks::new(case.name);
            let ended = run_body(harness, case, &mut checks, timeout).await;
            match ended {
                Ended::Finished => {}
                Ended::Panicked(message) => checks.record(PANIC, message, true),
                Ended::TimedOut => checks.record(
                    TIMEOUT,
                    format!("{} did not finish within {timeout:?}", case.name),
                    true,
                ),
            }
            judge(case.name, checks, &gaps)
        };
        if self.print {
            for line in report.lines() {
                println!("{line}");
            }
        }
        report
    }
}

enum Ended {
    Finished,
    Panicked(String),
    TimedOut,
}

async fn run_body<H>(harness: &H, case: &Case<H>, checks: &mut Checks, timeout: Duration) -> Ended
where
    H: Capable + Sync + ?Sized,
{
    let body = AssertUnwindSafe((case.body)(harness, checks)).catch_unwind();
    match tokio::time::timeout(timeout, body).await {
        // A body's `Err(Abort)` recorded its failure or skip in `checks` already.
        Ok(Ok(_)) => Ended::Finished,
        Ok(Err(panic)) => Ended::Panicked(
            panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the case panicked".to_string()),
        ),
        Err(_) => Ended::TimedOut,
    }
}

/// Sorts the failures into waived (a gap matches) and not; decides the outcome.
fn judge(name: &'static str, checks: Checks, gaps: &[Gap]) -> CaseReport {
    let (all, skipped, checked) = checks.into_parts();
    let mut failures = Vec::new();
    let mut held: Vec<(usize, Failure)> = Vec::new();
    for failure in all {
        match gaps.iter().position(|g| g.waives(name, &failure)) {
            Some(i) => held.push((i, failure)),
            None => failures.push(failure),
        }
    }
    let outcome = match (&skipped, failures.is_empty()) {
        (_, false) => Outcome::Failed,
        (Some(reason), true) => Outcome::Skipped(Skip::Because(reason.clone())),
        (None, true) => Outcome::Passed,
    };
    // A gap that did not fail is news only when the case ran to its end (not skipped, not stopped early).
    let stopped = failures
        .iter()
        .chain(held.iter().map(|(_, f)| f))
        .any(|f| f.stopped);
    let gaps_quiet = if skipped.is_none() && !stopped {
        gaps.iter()
            .enumerate()
            .filter(|(i, _)| !held.iter().any(|(h, _)| h == i))
            .map(|(_, g)| *g)
            .collect()
    } else {
        Vec::new()
    };
    CaseReport {
        name,
        outcome,
        failures,
        gaps_held: held.into_iter().map(|(i, f)| (gaps[i], f)).collect(),
        gaps_quiet,
        checked,
    }
}
