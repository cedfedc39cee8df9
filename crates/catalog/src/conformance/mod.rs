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
    /// A harness for `catalog`. The cases see it through a view whose `validate_call` also asks
    /// [`Catalog::validate_call_now`] (the synchronous path the Platform's layers take for a catalog in
    /// memory) and fails the call when both answer and disagree — so every validation case checks both
    /// paths on every backend.
    pub fn new(catalog: Arc<dyn Catalog>) -> Self {
        Self {
            catalog: Arc::new(Agreeing(catalog)),
        }
    }
}

/// See [`Harness::new`]: a disagreement is an [`Error::Malformed`](crate::Error::Malformed) naming both
/// answers, which no case expects.
#[derive(Debug)]
struct Agreeing(Arc<dyn Catalog>);

#[async_trait::async_trait]
impl Catalog for Agreeing {
    fn backend(&self) -> &'static str {
        self.0.backend()
    }
    fn capabilities(&self) -> crate::Capabilities {
        self.0.capabilities()
    }
    async fn list_methods(&self, entity_type: Option<&str>) -> crate::Result<Vec<crate::Method>> {
        self.0.list_methods(entity_type).await
    }
    async fn get_method(&self, method_id: &str) -> crate::Result<crate::Method> {
        self.0.get_method(method_id).await
    }
    async fn get_ontology(&self, version: Option<&str>) -> crate::Result<crate::Ontology> {
        self.0.get_ontology(version).await
    }
    async fn list_ontology_versions(&self) -> crate::Result<Vec<String>> {
        self.0.list_ontology_versions().await
    }
    async fn validate_call(
        &self,
        method_id: &str,
        inputs: &crate::Inputs,
    ) -> crate::Result<Vec<crate::Mismatch>> {
        use avb_core::Classify;
        let now = self.0.validate_call_now(method_id, inputs);
        let answer = self.0.validate_call(method_id, inputs).await;
        let agree = match (&now, &answer) {
            (None, _) => true,
            (Some(Ok(a)), Ok(b)) => a == b,
            (Some(Err(a)), Err(b)) => a.class() == b.class(),
            _ => false,
        };
        if agree {
            return answer;
        }
        Err(crate::Error::Malformed {
            source_name: format!("the {} catalog", self.0.backend()),
            path: format!("validate_call({method_id:?})"),
            expected: format!("validate_call_now to answer as validate_call ({answer:?})"),
            found: format!("{now:?}"),
        })
    }
    fn validate_call_now(
        &self,
        method_id: &str,
        inputs: &crate::Inputs,
    ) -> Option<crate::Result<Vec<crate::Mismatch>>> {
        self.0.validate_call_now(method_id, inputs)
    }
    async fn health(&self) -> avb_core::Health {
        self.0.health().await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonCatalog;
    use crate::{Inputs, Method, Mismatch, Ontology, Result};

    /// The sample json catalog whose `validate_call_now` finds every call valid: its `validate_call` is
    /// right, so only the suite's comparison of the two paths can catch it.
    #[derive(Debug)]
    struct SplitBrain(JsonCatalog);

    #[async_trait::async_trait]
    impl Catalog for SplitBrain {
        fn backend(&self) -> &'static str {
            "split-brain"
        }
        fn capabilities(&self) -> crate::Capabilities {
            self.0.capabilities()
        }
        async fn list_methods(&self, entity_type: Option<&str>) -> Result<Vec<Method>> {
            self.0.list_methods(entity_type).await
        }
        async fn get_method(&self, method_id: &str) -> Result<Method> {
            self.0.get_method(method_id).await
        }
        async fn get_ontology(&self, version: Option<&str>) -> Result<Ontology> {
            self.0.get_ontology(version).await
        }
        async fn list_ontology_versions(&self) -> Result<Vec<String>> {
            self.0.list_ontology_versions().await
        }
        async fn validate_call(&self, method_id: &str, inputs: &Inputs) -> Result<Vec<Mismatch>> {
            self.0.validate_call(method_id, inputs).await
        }
        fn validate_call_now(&self, _: &str, _: &Inputs) -> Option<Result<Vec<Mismatch>>> {
            Some(Ok(Vec::new()))
        }
        async fn health(&self) -> avb_core::Health {
            self.0.health().await
        }
    }

    #[tokio::test]
    async fn a_catalog_whose_two_paths_disagree_fails_every_case_that_finds_a_mismatch() {
        let honest = Harness::new(Arc::new(JsonCatalog::sample().unwrap()));
        run_all_with(&honest, Runner::new().silent())
            .await
            .assert_exact(&Expect::all());
        let split = Harness::new(Arc::new(SplitBrain(JsonCatalog::sample().unwrap())));
        let report = run_all_with(&split, Runner::new().silent()).await;
        for case in [
            "validate_every_mismatch",
            "validate_unknown_method",
            "validate_typed_references",
        ] {
            assert!(report.failed().contains(&case), "{case}: {report}");
            let failure = &report.case(case).unwrap().failures[0];
            assert!(failure.message.contains("validate_call_now"), "{report}");
        }
        // The calls both paths find valid, and everything but validation, still pass.
        for case in [
            "validate_valid_calls",
            "list_methods_all",
            "get_method_signature",
        ] {
            assert!(report.passed().contains(&case), "{case}: {report}");
        }
    }
}
