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
            // Each `forward_async!` hands back the inner call's boxed future as is.
            avb_core::forward_async!(list_methods<'life1>(entity_type: Option<&'life1 str>) -> Result<Vec<Method>>);
            avb_core::forward_async!(get_method<'life1>(method_id: &'life1 str) -> Result<Method>);
            avb_core::forward_async!(get_ontology<'life1>(version: Option<&'life1 str>) -> Result<Ontology>);
            avb_core::forward_async!(list_ontology_versions<>() -> Result<Vec<String>>);
            fn validate_call_now(
                &self,
                method_id: &str,
                inputs: &Inputs,
            ) -> Option<Result<Vec<Mismatch>>> {
                (**self).validate_call_now(method_id, inputs)
            }
            avb_core::forward_async!(validate_call<'life1, 'life2>(method_id: &'life1 str, inputs: &'life2 Inputs) -> Result<Vec<Mismatch>>);
            avb_core::forward_async!(health<>() -> Health);
        }
    };
}

forward!(Arc<T>);
forward!(Box<T>);
