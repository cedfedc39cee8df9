//! `Arc<T>` and `Box<T>` of a catalog are catalogs (every method forwarded, overrides included).

use crate::{Capabilities, Catalog, Inputs, Method, Mismatch, Ontology, Result};
use async_trait::async_trait;
use avb_core::Health;
use std::sync::Arc;

macro_rules! forward {
    ($ty:ty) => {
        #[async_trait]
        impl<T: Catalog + ?Sized> Catalog for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn list_methods(&self, entity_type: Option<&str>) -> Result<Vec<Method>> {
                (**self).list_methods(entity_type).await
            }
            async fn get_method(&self, method_id: &str) -> Result<Method> {
                (**self).get_method(method_id).await
            }
            async fn get_ontology(&self, version: Option<&str>) -> Result<Ontology> {
                (**self).get_ontology(version).await
            }
            async fn list_ontology_versions(&self) -> Result<Vec<String>> {
                (**self).list_ontology_versions().await
            }
            async fn validate_call(
                &self,
                method_id: &str,
                inputs: &Inputs,
            ) -> Result<Vec<Mismatch>> {
                (**self).validate_call(method_id, inputs).await
            }
            async fn health(&self) -> Health {
                (**self).health().await
            }
        }
    };
}

forward!(Arc<T>);
forward!(Box<T>);
