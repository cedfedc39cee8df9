//! The avb conformance kit: one shape for every port's conformance suite.
//!
//! A port's suite is a table of [`Case`]s — a name, the capabilities the case requires, an optional
//! timeout, and an async body run against the harness `H` the port defines. A [`Runner`] runs the table:
//!
//! - **Skip by capability, decided by the kit.** Before a case runs, the kit asks the harness ([`Capable`])
//!   which required capability it lacks and reports `SKIPPED <case>: lacks <capability>`. A body may skip at
//!   run time only through [`Checks::skip`], with a named reason. Never by backend name.
//! - **Checks.** A body records [`Checks::check`] failures and goes on; [`Checks::require`] / [`Checks::ok`]
//!   / [`Checks::fail`] stop the case. Every check has a stable label.
//! - **Known server gaps** ([`Gap`]): a predicate on one specific failure (case + check label, optionally a
//!   message predicate) of a named server, with the reason, deterministic or intermittent. A gap waives only
//!   the failure it matches; the rest of the case still runs and counts. A deterministic gap that did not
//!   fail is reported stale and fails [`Report::assert_exact`].
//! - **A timeout per case** (runner default, per-case override): a hang is a failure labelled [`TIMEOUT`]
//!   naming the case and the timeout. A panic in a body is a failure labelled [`PANIC`], not a stopped run.
//! - **Concurrency**: up to [`Runner::concurrency`] cases at once (cases use their own namespaces).
//! - **Report**: one line per case, printed with `println!` as the run goes (`PASSED`, `SKIPPED …: lacks …`,
//!   `FAILED …: [label] why`, `GAP …`, `STALE GAP …`), and [`Report`]'s `Display` for the whole run.
//! - **Exact expectations**: [`Report::assert_exact`] with an [`Expect`] — which cases are skipped and why,
//!   which gaps hold; every other case must pass. There is no "at least N passed".
//!
//! ```
//! use avb_conformance::{Capable, Case, Checks, CaseResult, Expect, Runner};
//!
//! /// The port's harness: what the cases run against, and what the subject declares it can do.
//! struct Counter { limit: u32, ordered: bool }
//! impl Capable for Counter {
//!     fn has(&self, capability: &'static str) -> bool {
//!         match capability {
//!             "ordered" => self.ordered,
//!             _ => false,
//!         }
//!     }
//! }
//!
//! async fn within_limit(h: &Counter, c: &mut Checks) -> CaseResult {
//!     c.require("limit_positive", h.limit > 0, "the limit is at least 1")?;
//!     c.check_eq("limit_value", h.limit, 10, "the configured limit");
//!     Ok(())
//! }
//!
//! async fn keeps_order(_h: &Counter, c: &mut Checks) -> CaseResult {
//!     c.check("in_order", [1, 2, 3].is_sorted(), "publish order kept");
//!     Ok(())
//! }
//!
//! let cases = [
//!     Case::new("within_limit", |h, c| Box::pin(within_limit(h, c))),
//!     Case::new("keeps_order", |h, c| Box::pin(keeps_order(h, c))).requires(&["ordered"]),
//! ];
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let report = Runner::new().run(&Counter { limit: 10, ordered: false }, &cases).await;
//! report.assert_exact(&Expect::all().skipped("keeps_order", "ordered"));
//! # });
//! ```
//!
//! `docs/conformance.md` shows how to run a port's suite against your own deployment and how to declare a
//! server gap.

mod case;
mod checks;
mod expect;
mod gap;
mod report;
mod run;

pub use case::{Body, BoxFuture, Capable, Case};
pub use checks::{Abort, CaseResult, Checks, Failure, PANIC, TIMEOUT};
pub use expect::Expect;
pub use gap::{Gap, GapKind};
pub use report::{CaseReport, Outcome, Report, Skip};
pub use run::Runner;

#[cfg(test)]
mod tests;
