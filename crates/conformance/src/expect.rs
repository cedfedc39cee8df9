//! [`Expect`]: exactly which cases a run should pass, skip (and why) and which declared gaps should hold.

use crate::GapKind;
use crate::report::{Outcome, Report};

/// The exact result a run should have: every case passes, except those listed as skipped (with the
/// capability or reason) and the deterministic server gaps listed as holding.
///
/// ```
/// use avb_conformance::Expect;
/// let expect = Expect::all()
///     .skipped("per_key_order", "ordering_per_key")
///     .gap("multipart", "part_etags");
/// # let _ = expect;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Expect {
    skipped: Vec<(&'static str, String)>,
    gaps: Vec<(&'static str, &'static str)>,
}

impl Expect {
    /// Every case passes, no gap holds.
    pub fn all() -> Self {
        Self::default()
    }

    /// `case` is skipped because the subject lacks `capability` (or, for a run-time skip, for `reason`).
    pub fn skipped(mut self, case: &'static str, capability_or_reason: impl Into<String>) -> Self {
        self.skipped.push((case, capability_or_reason.into()));
        self
    }

    /// The declared deterministic gap on `case`'s check `check` holds (waives a failure).
    pub fn gap(mut self, case: &'static str, check: &'static str) -> Self {
        self.gaps.push((case, check));
        self
    }
}

impl Report {
    /// Compares the run with `expect`: `Err` lists every difference, one per line.
    ///
    /// Intermittent gaps may hold or not; everything else is exact: a case listed as skipped must be skipped
    /// for that reason, every other case must pass, a listed gap must hold, an unlisted deterministic gap
    /// must not, a stale deterministic gap or a gap naming an unknown case is a difference.
    pub fn diff(&self, expect: &Expect) -> Result<(), Vec<String>> {
        let mut missing = Vec::new();
        let mut unexpected = Vec::new();
        for (case, _) in &expect.skipped {
            if self.case(case).is_none() {
                unexpected.push(format!("expectation names an unknown case {case}"));
            }
        }
        for (case, check) in &expect.gaps {
            if self.case(case).is_none() {
                unexpected.push(format!(
                    "expectation names a gap in an unknown case {case} [{check}]"
                ));
            }
        }
        for c in &self.cases {
            let want_skip = expect.skipped.iter().find(|(n, _)| *n == c.name);
            match (&c.outcome, want_skip) {
                (Outcome::Skipped(skip), Some((_, why))) if skip.reason() == why => {}
                (Outcome::Skipped(skip), Some((_, why))) => unexpected.push(format!(
                    "SKIPPED {}: {skip} (expected skipped for {why})",
                    c.name
                )),
                (got, Some((_, why))) => {
                    missing.push(format!("SKIPPED {}: {why}", c.name));
                    unexpected.push(describe(c.name, got, c));
                }
                (Outcome::Passed, None) => {}
                (got, None) => {
                    missing.push(format!("PASSED {}", c.name));
                    unexpected.push(describe(c.name, got, c));
                }
            }
            for (gap, failure) in &c.gaps_held {
                let listed = expect
                    .gaps
                    .iter()
                    .any(|(n, check)| *n == c.name && *check == gap.check);
                if gap.kind == GapKind::Deterministic && !listed {
                    unexpected.push(format!("GAP {}: {failure} held ({gap})", c.name));
                }
            }
            for (_, check) in expect.gaps.iter().filter(|(n, _)| *n == c.name) {
                if !c.gaps_held.iter().any(|(g, _)| g.check == *check) {
                    missing.push(format!("GAP {} [{check}] holding", c.name));
                }
            }
            for gap in c.stale_gaps() {
                unexpected.push(format!(
                    "STALE GAP {}: {gap} did not fail — remove the declaration",
                    c.name
                ));
            }
        }
        for gap in &self.unknown_gaps {
            unexpected.push(format!("UNKNOWN GAP {}: {gap}", gap.case));
        }
        if missing.is_empty() && unexpected.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        lines.extend(missing.into_iter().map(|m| format!("missing:    {m}")));
        lines.extend(unexpected.into_iter().map(|u| format!("unexpected: {u}")));
        Err(lines)
    }

    /// Panics with a readable diff (missing, unexpected, then the whole report) unless the run is exactly
    /// `expect` (see [`Report::diff`]).
    #[track_caller]
    pub fn assert_exact(&self, expect: &Expect) {
        if let Err(lines) = self.diff(expect) {
            panic!(
                "the conformance run differs from the expectation:\n{}\n\nthe whole report:\n{self}",
                lines.join("\n")
            );
        }
    }
}

fn describe(name: &str, got: &Outcome, c: &crate::CaseReport) -> String {
    match got {
        Outcome::Passed => format!("PASSED {name}"),
        Outcome::Skipped(skip) => format!("SKIPPED {name}: {skip}"),
        Outcome::Failed => {
            let why: Vec<String> = c.failures.iter().map(ToString::to_string).collect();
            format!("FAILED {name}: {}", why.join("; "))
        }
    }
}
