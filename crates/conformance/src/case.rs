//! A case: a name, the capabilities it requires, an optional timeout, and an async body.

use crate::Checks;
use crate::checks::CaseResult;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The future a case body returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A case body: runs against the harness `H`, records checks in [`Checks`].
pub type Body<H> = for<'a> fn(&'a H, &'a mut Checks) -> BoxFuture<'a, CaseResult>;

/// What the kit asks a harness before running a case: does the subject under test have `capability`?
///
/// Capabilities are names (`&'static str` constants the port defines, e.g. `"dead_letter"`); the kit skips a
/// case whose required capability the subject lacks and names that capability in the report. A harness
/// answers from what the backend *declares* (its capabilities struct, its settings, what the harness itself
/// can do), never from the backend's name.
pub trait Capable {
    /// Whether the subject has `capability`.
    fn has(&self, capability: &'static str) -> bool;

    /// The first of `required` the subject lacks, if any.
    fn missing(&self, required: &[&'static str]) -> Option<&'static str> {
        required.iter().copied().find(|c| !self.has(c))
    }
}

/// One case of a suite: plain data, so a port can list, filter and count its cases.
pub struct Case<H: ?Sized> {
    /// The case's name: stable, unique within the suite (reports, expectations and gaps name it).
    pub name: &'static str,
    /// Capabilities the case needs; it is skipped, naming the first one missing, when the subject lacks one.
    pub requires: &'static [&'static str],
    /// This case's timeout; `None` takes the runner's default.
    pub timeout: Option<Duration>,
    /// The body.
    pub body: Body<H>,
}

impl<H: ?Sized> Case<H> {
    /// A case needing no capability, with the runner's default timeout.
    pub const fn new(name: &'static str, body: Body<H>) -> Self {
        Self {
            name,
            requires: &[],
            timeout: None,
            body,
        }
    }

    /// The capabilities the case needs.
    pub const fn requires(mut self, capabilities: &'static [&'static str]) -> Self {
        self.requires = capabilities;
        self
    }

    /// A timeout for this case instead of the runner's default.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<H: ?Sized> Clone for Case<H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: ?Sized> Copy for Case<H> {}

impl<H: ?Sized> std::fmt::Debug for Case<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("requires", &self.requires)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
