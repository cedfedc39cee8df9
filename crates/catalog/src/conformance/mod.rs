//! The shared conformance suite (feature `conformance`): what every [`Catalog`] backend must answer, run on
//! the conformance kit ([`avb_conformance`]).
//!
//! The suite checks **exact answers** about one known content: the sample catalog shipped as
//! `examples/stub-catalog.json` ([`crate::json::SAMPLE`]), which the JSON backend reads and the OpenMetadata
//! contract server serves as OpenMetadata entities. [`expected`] lists the facts the cases compare with
//! (written out here, not read from the sample, so a backend that parses the sample wrongly fails).
//! To run the suite against your own deployment, load the sample into it first.
//!
//! The cases live by concern: methods (`methods.rs`), the ontology (`ontology.rs`), call validation
//! (`validation.rs`), the snapshot and health (`snapshot.rs`). Every case has a timeout and stable check
//! labels. No case needs a capability today; one that does is skipped by the kit naming it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_catalog::{conformance::{self, Expect, Harness}, json::JsonCatalog};
//! let catalog = std::sync::Arc::new(JsonCatalog::sample().unwrap());
//! conformance::run_all(&Harness::new(catalog)).await.assert_exact(&Expect::all());
//! # }
//! ```

pub mod expected;
mod methods;
mod ontology;
mod snapshot;
mod validation;

pub use methods::*;
pub use ontology::*;
pub use snapshot::*;
pub use validation::*;

use crate::{Catalog, ErrorClass};
use avb_conformance::{Abort, Capable, Case};
use std::fmt;
use std::sync::Arc;

/// The kit's types a caller needs to run the suite and check its result.
pub use avb_conformance::{CaseResult, Checks, Expect, Gap, GapKind, Report, Runner};

/// What [`run_all`] runs against.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The catalog under test, holding the sample content.
    pub catalog: Arc<dyn Catalog>,
}

impl Harness {
    /// A harness for `catalog`.
    pub fn new(catalog: Arc<dyn Catalog>) -> Self {
        Self { catalog }
    }
}

impl Capable for Harness {
    fn has(&self, _capability: &'static str) -> bool {
        // No case requires a capability yet; capabilities are the backend's declared `Capabilities`.
        false
    }
}

/// Every case, in report order.
pub fn cases() -> Vec<Case<Harness>> {
    vec![
        Case::new("list_methods_all", |h, c| Box::pin(list_methods_all(h, c))),
        Case::new("list_methods_by_entity_type", |h, c| {
            Box::pin(list_methods_by_entity_type(h, c))
        }),
        Case::new("get_method_signature", |h, c| {
            Box::pin(get_method_signature(h, c))
        }),
        Case::new("get_method_unknown", |h, c| {
            Box::pin(get_method_unknown(h, c))
        }),
        Case::new("ontology_versions", |h, c| {
            Box::pin(ontology_versions(h, c))
        }),
        Case::new("ontology_latest", |h, c| Box::pin(ontology_latest(h, c))),
        Case::new("ontology_by_version", |h, c| {
            Box::pin(ontology_by_version(h, c))
        }),
        Case::new("validate_valid_calls", |h, c| {
            Box::pin(validate_valid_calls(h, c))
        }),
        Case::new("validate_every_mismatch", |h, c| {
            Box::pin(validate_every_mismatch(h, c))
        }),
        Case::new("validate_unknown_method", |h, c| {
            Box::pin(validate_unknown_method(h, c))
        }),
        Case::new("validate_typed_references", |h, c| {
            Box::pin(validate_typed_references(h, c))
        }),
        Case::new("health_up", |h, c| Box::pin(health_up(h, c))),
        Case::new("snapshot_answers_the_same", |h, c| {
            Box::pin(snapshot_answers_the_same(h, c))
        }),
    ]
}

/// Runs every case with a default [`Runner`].
pub async fn run_all(harness: &Harness) -> Report {
    run_all_with(harness, Runner::new()).await
}

/// Runs every case with `runner` (its gaps, concurrency, timeout).
pub async fn run_all_with(harness: &Harness, runner: Runner) -> Report {
    runner.run(harness, &cases()).await
}

/// A result's value, or a failure under `label` naming the error (stops the case).
trait At<T> {
    fn at(self, c: &mut Checks, label: &'static str) -> Result<T, Abort>;
}

impl<T> At<T> for crate::Result<T> {
    fn at(self, c: &mut Checks, label: &'static str) -> Result<T, Abort> {
        c.ok(label, self)
    }
}

/// Checks that `result` is an error of class `class`.
fn expect_class<T: fmt::Debug>(
    c: &mut Checks,
    label: &'static str,
    result: crate::Result<T>,
    class: ErrorClass,
    what: &str,
) {
    use avb_core::Classify;
    match result {
        Err(e) => {
            let got = e.class();
            c.check(
                label,
                got == class,
                format_args!("{what}: expected a {class} error, got {got}: {e}"),
            );
        }
        Ok(v) => {
            c.check(
                label,
                false,
                format_args!("{what}: expected a {class} error, got {v:?}"),
            );
        }
    }
}
