//! The avb **Catalog** port: which methods exist, their typed signatures, and the versioned ontology of
//! entities they work on — with every call checked against those signatures.
//!
//! [`Catalog`] lists methods (all, or for one entity type), gets one by id, gets an ontology version (the
//! latest when none is named), lists the versions, and validates a call's inputs against the method's
//! signature, reporting **every** [`Mismatch`] (unknown method, missing input, unexpected input, wrong
//! type), not just the first. `avb catalog validate <pipeline.yaml>` runs the same check over a
//! pipeline. Every failure is one portable [`Error`] ([`Classify`]).
//!
//! | backend | module | cargo feature (of `avb`) | notes |
//! |---|---|---|---|
//! | JSON file | [`json`] | `json` (`catalog-json`), default | sandbox default; re-read when the file changes |
//! | OpenMetadata | `openmetadata` | `openmetadata` (`catalog-openmetadata`) | REST API, bearer token, paging followed to the end |
//!
//! The shared conformance suite is `conformance` (feature `conformance`, on the kit `avb-conformance`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> avb_catalog::Result<()> {
//! use avb_catalog::{Catalog, Inputs, Mismatch, json::JsonCatalog};
//! let catalog = JsonCatalog::sample()?;
//! let method = catalog.get_method("crawler_twitter_profile").await?;
//! assert_eq!(method.entity_type, "person");
//! let inputs: Inputs = [("username".to_string(), serde_json::json!(42).into())].into();
//! let problems = catalog.validate_call("crawler_twitter_profile", &inputs).await?;
//! assert!(matches!(&problems[..], [Mismatch::WrongType { input, .. }] if input == "username"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod config;
mod error;
mod forward;
mod open;
pub mod parse;
pub mod pipeline;
mod snapshot;
mod types;
pub mod validate;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "openmetadata")]
pub mod openmetadata;

pub use avb_core::{Classify, ErrorClass, Health, NotCompiled};
pub use error::{Error, Result};
pub use open::open;
pub use snapshot::snapshot;
pub use types::{
    Arg, Capabilities, CatalogData, Entity, Inputs, Method, Mismatch, Ontology, Param, ValueType,
    inputs_from_json, version_key,
};

use async_trait::async_trait;

/// A catalog of methods and ontology. Implementations are cheap to share behind `Arc<dyn Catalog>`.
#[async_trait]
pub trait Catalog: std::fmt::Debug + Send + Sync + 'static {
    /// The backend's name (`json`, `openmetadata`), for errors and health. Never branch on it: use
    /// [`Catalog::capabilities`].
    fn backend(&self) -> &'static str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The methods about `entity_type` (every method with `None`), sorted by id. An entity type no method
    /// names gives an empty list.
    async fn list_methods(&self, entity_type: Option<&str>) -> Result<Vec<Method>>;

    /// The method `method_id`; [`Error::NotFound`] when there is none.
    async fn get_method(&self, method_id: &str) -> Result<Method>;

    /// The ontology `version`, or the latest (highest) version with `None`; [`Error::NotFound`] for a
    /// version that does not exist.
    async fn get_ontology(&self, version: Option<&str>) -> Result<Ontology>;

    /// Every ontology version, oldest first.
    async fn list_ontology_versions(&self) -> Result<Vec<String>>;

    /// Every mismatch between `inputs` and the signature of `method_id` (empty: the call is valid), in
    /// input-name order ([`validate::check_call`]). An unknown method is a mismatch, not an error; errors
    /// are the backend's own failures.
    async fn validate_call(&self, method_id: &str, inputs: &Inputs) -> Result<Vec<Mismatch>> {
        let method = match self.get_method(method_id).await {
            Ok(m) => Some(m),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(validate::check_call(method_id, method.as_ref(), inputs))
    }

    /// [`validate_call`](Self::validate_call) without a future, for a backend that holds its catalog in
    /// memory (the json file): `Some(answer)` is exactly what `validate_call` would answer; `None` says
    /// this backend has to wait (ask a server), so call `validate_call`. The default: `None`.
    ///
    /// For wrappers (the Platform's layers), which call it from inside their own future, on its first
    /// poll — so a wrapped `validate_call` stays lazy. The conformance suite checks that both answer alike.
    fn validate_call_now(&self, method_id: &str, inputs: &Inputs) -> Option<Result<Vec<Mismatch>>> {
        let _ = (method_id, inputs);
        None
    }

    /// Whether the backend answers.
    async fn health(&self) -> Health;
}
