//! The Catalog behind a layer stack: every read goes through it.

use crate::layers::{Now, Refusal, Service};
use async_trait::async_trait;
use avb_catalog::{Capabilities, Catalog, Error, Inputs, Method, Mismatch, Ontology, Result};
use avb_core::Health;
use avb_core::forward::BoxFuture;
use futures::future::Either;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

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

impl<S: Service + 'static> InstrumentedCatalog<S> {
    /// `validate_call` through the layers' futures; `handed`: the failure of an attempt `call_now`
    /// already made (the first attempt's answer).
    async fn validate_call_layered(
        &self,
        method_id: &str,
        inputs: &Inputs,
        mut handed: Option<Error>,
    ) -> Result<Vec<Mismatch>> {
        self.stack
            .call("validate_call", || {
                if let Some(failure) = handed.take() {
                    return Either::Left(std::future::ready(Err(failure)));
                }
                match self.inner.validate_call_now(method_id, inputs) {
                    Some(answer) => Either::Left(std::future::ready(answer)),
                    None => Either::Right(self.inner.validate_call(method_id, inputs)),
                }
            })
            .await
    }
}

/// The future of [`InstrumentedCatalog::validate_call`]: on its first poll, `call_now`; if that does not
/// answer, the layered call (boxed: only that path allocates it).
struct ValidateCall<'a, S> {
    catalog: &'a InstrumentedCatalog<S>,
    method_id: &'a str,
    inputs: &'a Inputs,
    layered: Option<BoxFuture<'a, Result<Vec<Mismatch>>>>,
}

impl<S: Service + 'static> Future for ValidateCall<'_, S> {
    type Output = Result<Vec<Mismatch>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let layered = match &mut this.layered {
            Some(layered) => layered,
            None => {
                let (catalog, method_id, inputs) = (this.catalog, this.method_id, this.inputs);
                let handed = match catalog.stack.call_now("validate_call", || {
                    catalog.inner.validate_call_now(method_id, inputs)
                }) {
                    Now::Done(answer) => return Poll::Ready(answer),
                    Now::Later(handed) => handed,
                };
                this.layered.insert(Box::pin(
                    catalog.validate_call_layered(method_id, inputs, handed),
                ))
            }
        };
        layered.as_mut().poll(cx)
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

    // Not an `async fn`: the call's future is [`ValidateCall`], which answers on its first poll through
    // `Service::call_now` when the catalog is in memory and nothing needs a span, and otherwise runs
    // `validate_call_layered`. Lazy either way.
    fn validate_call<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        method_id: &'life1 str,
        inputs: &'life2 Inputs,
    ) -> BoxFuture<'async_trait, Result<Vec<Mismatch>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(ValidateCall {
            catalog: self,
            method_id,
            inputs,
            layered: None,
        })
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::defaults::PortLayers;
    use crate::layers::metered::MeteredLayer;
    use crate::layers::{Direct, Layer};
    use crate::metrics::Metrics;
    use avb_catalog::json::JsonCatalog;

    /// The json catalog behind the Platform's default layers answers `validate_call` on the spot with
    /// what the bare catalog answers, counted once per call; a dropped, never-polled call counts nothing.
    #[tokio::test]
    async fn validate_call_on_the_spot_answers_as_the_bare_catalog_and_is_counted() {
        let metrics = Arc::new(Metrics::new());
        let bare: Arc<dyn Catalog> = Arc::new(JsonCatalog::sample().unwrap());
        let layered = InstrumentedCatalog::new(
            bare.clone(),
            MeteredLayer::new(metrics.clone(), "catalog", "json")
                .layer(PortLayers::default_for(crate::Port::Catalog).stack(Direct)),
        );
        let bad =
            avb_catalog::inputs_from_json(serde_json::json!({"limit": "ten"}).as_object().unwrap());
        drop(layered.validate_call("crawler_twitter_posts", &bad));
        for method in ["crawler_twitter_posts", "no_such_method"] {
            assert_eq!(
                layered.validate_call(method, &bad).await.unwrap(),
                bare.validate_call(method, &bad).await.unwrap()
            );
        }
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"avb_catalog_operations_total{backend="json",operation="validate_call",result="ok"} 2"#
            ),
            "{text}"
        );
    }
}
