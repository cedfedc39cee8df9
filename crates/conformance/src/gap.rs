//! Known server gaps: a failure the *server* behind a backend is known for (not the adapter), declared as a
//! predicate on one specific failure, so it waives that failure only.

use crate::Failure;
use std::fmt;

/// Whether a declared gap fails every run or only some (a race).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    /// Fails every run: a run where it did not fail reports it as stale ("remove the declaration") and fails
    /// [`crate::Report::assert_exact`].
    Deterministic,
    /// A race that fails some runs: a run where it did not fail reports so, without failing.
    Intermittent,
}

/// One declared server gap: case, check label (optionally narrowed by a predicate on the failure message),
/// server, reason and kind.
#[derive(Clone, Copy)]
pub struct Gap {
    /// The case the gap is in.
    pub case: &'static str,
    /// The label of the failing check (e.g. `"etag_matches"`; [`crate::TIMEOUT`] for a hang).
    pub check: &'static str,
    /// Narrows the gap to failures whose message this predicate accepts; `None`: any failure of the check.
    pub when: Option<fn(&str) -> bool>,
    /// The server (product and version, e.g. `"moto 5.1"`).
    pub server: &'static str,
    /// Why the server fails it (a link to the upstream issue where there is one).
    pub reason: &'static str,
    /// Deterministic or intermittent.
    pub kind: GapKind,
}

impl Gap {
    /// A gap that fails every run.
    pub const fn deterministic(
        case: &'static str,
        check: &'static str,
        server: &'static str,
        reason: &'static str,
    ) -> Self {
        Self {
            case,
            check,
            when: None,
            server,
            reason,
            kind: GapKind::Deterministic,
        }
    }

    /// A gap that fails some runs (a race on the server).
    pub const fn intermittent(
        case: &'static str,
        check: &'static str,
        server: &'static str,
        reason: &'static str,
    ) -> Self {
        Self {
            kind: GapKind::Intermittent,
            ..Self::deterministic(case, check, server, reason)
        }
    }

    /// Narrows the gap to failures whose message `predicate` accepts.
    pub const fn when(mut self, predicate: fn(&str) -> bool) -> Self {
        self.when = Some(predicate);
        self
    }

    /// Whether this gap waives `failure` of case `case`.
    pub fn waives(&self, case: &str, failure: &Failure) -> bool {
        self.case == case
            && self.check == failure.label
            && self.when.is_none_or(|holds| holds(&failure.message))
    }
}

impl fmt::Debug for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gap")
            .field("case", &self.case)
            .field("check", &self.check)
            .field("narrowed", &self.when.is_some())
            .field("server", &self.server)
            .field("reason", &self.reason)
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            GapKind::Deterministic => "deterministic",
            GapKind::Intermittent => "intermittent",
        };
        write!(
            f,
            "[{}] on {} ({kind}): {}",
            self.check, self.server, self.reason
        )
    }
}
