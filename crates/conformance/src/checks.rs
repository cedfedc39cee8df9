//! [`Checks`]: what a case body records. `check` records a failure and lets the case go on; `require` (and
//! the helpers returning [`Abort`]) stop it.

use std::fmt::{self, Debug, Display};

/// A case body's result: `Err(Abort)` stops the case (a failure or a skip was recorded in [`Checks`]).
pub type CaseResult = Result<(), Abort>;

/// Stops a case. Only [`Checks`] makes one, after recording why, so a case cannot stop without a reason.
#[derive(Debug)]
pub struct Abort(());

/// Label of the failure the kit records when a case does not finish within its timeout.
pub const TIMEOUT: &str = "timeout";
/// Label of the failure the kit records when a case body panics.
pub const PANIC: &str = "panic";

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The check's stable label (what a declared server gap names).
    pub label: &'static str,
    /// What was expected and what was seen.
    pub message: String,
    /// Whether the case stopped here (a failed `require`, a timeout, a panic): later checks did not run.
    pub stopped: bool,
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.label, self.message)?;
        if self.stopped {
            write!(f, " (the case stopped here)")?;
        }
        Ok(())
    }
}

/// The checks of one running case.
#[derive(Debug)]
pub struct Checks {
    case: &'static str,
    failures: Vec<Failure>,
    skipped: Option<String>,
    checked: usize,
}

impl Checks {
    /// Checks for the case `case` (the runner makes these; public for a port's own unit tests).
    pub fn new(case: &'static str) -> Self {
        Self {
            case,
            failures: Vec::new(),
            skipped: None,
            checked: 0,
        }
    }

    /// The case's name.
    pub fn case(&self) -> &'static str {
        self.case
    }

    /// Records a failure under `label` unless `ok`; the case goes on. Returns `ok`.
    pub fn check(&mut self, label: &'static str, ok: bool, message: impl Display) -> bool {
        self.checked += 1;
        if !ok {
            self.record(label, message.to_string(), false);
        }
        ok
    }

    /// [`Checks::check`] that `got == want`, the message showing both.
    pub fn check_eq<T: PartialEq + Debug>(
        &mut self,
        label: &'static str,
        got: T,
        want: T,
        what: impl Display,
    ) -> bool {
        let ok = got == want;
        self.check(
            label,
            ok,
            format_args!("{what}: got {got:?}, expected {want:?}"),
        )
    }

    /// Records a failure under `label` and stops the case unless `ok`.
    pub fn require(&mut self, label: &'static str, ok: bool, message: impl Display) -> CaseResult {
        self.checked += 1;
        if ok {
            Ok(())
        } else {
            Err(self.fail(label, message))
        }
    }

    /// [`Checks::require`] that `got == want`, the message showing both.
    pub fn require_eq<T: PartialEq + Debug>(
        &mut self,
        label: &'static str,
        got: T,
        want: T,
        what: impl Display,
    ) -> CaseResult {
        self.checked += 1;
        if got == want {
            Ok(())
        } else {
            Err(self.fail(
                label,
                format_args!("{what}: got {got:?}, expected {want:?}"),
            ))
        }
    }

    /// The value of `result`, or a failure under `label` (naming the error) that stops the case.
    pub fn ok<T, E: Display>(
        &mut self,
        label: &'static str,
        result: Result<T, E>,
    ) -> Result<T, Abort> {
        self.checked += 1;
        result.map_err(|e| self.fail(label, e))
    }

    /// Records a failure under `label` and returns the [`Abort`] that stops the case:
    /// `return Err(c.fail("label", "what went wrong"))`.
    pub fn fail(&mut self, label: &'static str, message: impl Display) -> Abort {
        self.record(label, message.to_string(), true);
        Abort(())
    }

    /// Skips the rest of the case for a reason found at run time (e.g. the harness cannot plant symbolic
    /// links): `return Err(c.skip("a harness that can plant symlinks"))`. Prefer declaring the need as a
    /// capability (the kit then skips before the case runs); a failure recorded earlier still fails the case.
    pub fn skip(&mut self, reason: impl Display) -> Abort {
        self.skipped = Some(reason.to_string());
        Abort(())
    }

    /// The failures so far.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// How many checks ran (passed or failed).
    pub fn checked(&self) -> usize {
        self.checked
    }

    pub(crate) fn record(&mut self, label: &'static str, message: String, stopped: bool) {
        self.failures.push(Failure {
            label,
            message,
            stopped,
        });
    }

    pub(crate) fn into_parts(self) -> (Vec<Failure>, Option<String>, usize) {
        (self.failures, self.skipped, self.checked)
    }
}
