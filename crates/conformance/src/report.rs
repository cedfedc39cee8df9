//! What a run saw: one [`CaseReport`] per case, printed line by line as the run goes and as a whole through
//! `Display`.

use crate::{Failure, Gap, GapKind};
use std::fmt;

/// Why a case was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The subject lacks this capability (decided by the kit before the case ran).
    Lacks(&'static str),
    /// The body skipped at run time through [`crate::Checks::skip`], for this reason.
    Because(String),
}

impl Skip {
    /// The capability or the reason.
    pub fn reason(&self) -> &str {
        match self {
            Skip::Lacks(capability) => capability,
            Skip::Because(reason) => reason,
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Lacks(capability) => write!(f, "lacks {capability}"),
            Skip::Because(reason) => write!(f, "{reason}"),
        }
    }
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held, or failed only as a declared server gap (see [`CaseReport::gaps_held`]).
    Passed,
    /// Skipped, with why.
    Skipped(Skip),
    /// Some check failed outside any declared gap (see [`CaseReport::failures`]).
    Failed,
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// The case.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// Failures no declared gap waives.
    pub failures: Vec<Failure>,
    /// Failures a declared gap waived, with the gap.
    pub gaps_held: Vec<(Gap, Failure)>,
    /// Gaps declared for this case that did not fail although the case ran to its end.
    pub gaps_quiet: Vec<Gap>,
    /// How many checks ran.
    pub checked: usize,
}

impl CaseReport {
    /// Deterministic gaps that did not fail: the declaration is stale.
    pub fn stale_gaps(&self) -> impl Iterator<Item = &Gap> {
        self.gaps_quiet
            .iter()
            .filter(|g| g.kind == GapKind::Deterministic)
    }

    /// The report's lines for this case (the same the runner prints as it goes).
    pub fn lines(&self) -> Vec<String> {
        let name = self.name;
        let mut lines = Vec::new();
        match &self.outcome {
            Outcome::Passed if self.gaps_held.is_empty() => lines.push(format!("PASSED {name}")),
            Outcome::Passed => lines.push(format!(
                "PASSED {name} (except {} declared server gap(s), below)",
                self.gaps_held.len()
            )),
            Outcome::Skipped(skip) => lines.push(format!("SKIPPED {name}: {skip}")),
            Outcome::Failed => {
                let why: Vec<String> = self.failures.iter().map(ToString::to_string).collect();
                lines.push(format!("FAILED {name}: {}", why.join("; ")));
            }
        }
        for (gap, failure) in &self.gaps_held {
            lines.push(format!("GAP {name}: {failure} — waived as declared: {gap}"));
        }
        for gap in &self.gaps_quiet {
            lines.push(match gap.kind {
                GapKind::Deterministic => {
                    format!("STALE GAP {name}: {gap} did not fail — remove the declaration")
                }
                GapKind::Intermittent => {
                    format!("GAP NOT SEEN {name}: {gap} did not fail this run")
                }
            });
        }
        lines
    }
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per case, in the suite's order.
    pub cases: Vec<CaseReport>,
    /// Declared gaps naming a case the suite does not have (a typo or a removed case).
    pub unknown_gaps: Vec<Gap>,
}

impl Report {
    /// The report of `case`, if the suite has it.
    pub fn case(&self, case: &str) -> Option<&CaseReport> {
        self.cases.iter().find(|c| c.name == case)
    }

    /// Names of the cases that passed (possibly with held gaps).
    pub fn passed(&self) -> Vec<&'static str> {
        self.with(|o| matches!(o, Outcome::Passed))
    }

    /// Names of the cases that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.with(|o| matches!(o, Outcome::Failed))
    }

    /// The skipped cases, with why.
    pub fn skipped(&self) -> Vec<(&'static str, &Skip)> {
        self.cases
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Skipped(s) => Some((c.name, s)),
                _ => None,
            })
            .collect()
    }

    fn with(&self, pick: impl Fn(&Outcome) -> bool) -> Vec<&'static str> {
        self.cases
            .iter()
            .filter(|c| pick(&c.outcome))
            .map(|c| c.name)
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held: usize = self.cases.iter().map(|c| c.gaps_held.len()).sum();
        let stale: usize = self.cases.iter().map(|c| c.stale_gaps().count()).sum();
        writeln!(
            f,
            "{} cases: {} passed, {} skipped, {} failed; {held} server gap(s) held, {stale} stale",
            self.cases.len(),
            self.passed().len(),
            self.skipped().len(),
            self.failed().len(),
        )?;
        for case in &self.cases {
            for line in case.lines() {
                writeln!(f, "  {line}")?;
            }
        }
        for gap in &self.unknown_gaps {
            writeln!(
                f,
                "  UNKNOWN GAP {}: the suite has no such case: {gap}",
                gap.case
            )?;
        }
        Ok(())
    }
}
