//! The Catalog behind a layer stack: every read goes through it.

use crate::layers::{Refusal, Service};
use async_trait::async_trait;
use avb_catalog::{Capabilities, Catalog, Error, Inputs, Method, Mismatch, Ontology, Result};
use avb_core::Health;
use std::sync::Arc;

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Unavailable {
            backend: "layers",
            endpoint: String::new(),
            detail: r.to_string(),
        }
    }
}

/// A [`Catalog`] whose reads run through `stack`.
pub struct InstrumentedCatalog<S> {
    inner: Arc<dyn Catalog>,
    stack: S,
}

impl<S> InstrumentedCatalog<S> {
    /// `inner` behind `stack`.
    pub fn new(inner: Arc<dyn Catalog>, stack: S) -> Self {
        Self { inner, stack }
    }
}

impl<S> std::fmt::Debug for InstrumentedCatalog<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrumentedCatalog")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: Service + 'static> Catalog for InstrumentedCatalog<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn list_methods(&self, entity_type: Option<&str>) -> Result<Vec<Method>> {
        self.stack
            .call("list_methods", || self.inner.list_methods(entity_type))
            .await
    }

    async fn get_method(&self, method_id: &str) -> Result<Method> {
        self.stack
            .call("get_method", || self.inner.get_method(method_id))
            .await
    }

    async fn get_ontology(&self, version: Option<&str>) -> Result<Ontology> {
        self.stack
            .call("get_ontology", || self.inner.get_ontology(version))
            .await
    }

    async fn list_ontology_versions(&self) -> Result<Vec<String>> {
        self.stack
            .call("list_ontology_versions", || {
                self.inner.list_ontology_versions()
            })
            .await
    }

    async fn validate_call(&self, method_id: &str, inputs: &Inputs) -> Result<Vec<Mismatch>> {
        self.stack
            .call("validate_call", || {
                self.inner.validate_call(method_id, inputs)
            })
            .await
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }
}
