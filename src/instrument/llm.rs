//! The LLM client behind a layer stack: `chat`, `chat_stream` (its latency is the time until the stream
//! is handed out — for the HTTP backends, the time to the first token), `embed` and `list_models`. A
//! stream already handed out is never restarted by a layer.

use crate::layers::{Refusal, Service};
use async_trait::async_trait;
use avb_core::Health;
use avb_llm::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, Embeddings, Error, LlmClient, ModelInfo,
    Result,
};
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

/// An [`LlmClient`] whose calls run through `stack`.
pub struct InstrumentedLlm<S> {
    inner: Arc<dyn LlmClient>,
    stack: S,
}

impl<S> InstrumentedLlm<S> {
    /// `inner` behind `stack`.
    pub fn new(inner: Arc<dyn LlmClient>, stack: S) -> Self {
        Self { inner, stack }
    }
}

impl<S> std::fmt::Debug for InstrumentedLlm<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrumentedLlm")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Runs `operation` with `request`, keeping a copy only when the stack may retry.
async fn with_request<S, T, F, Fut>(
    stack: &S,
    operation: &'static str,
    request: ChatRequest,
    call: F,
) -> Result<T>
where
    S: Service,
    T: Send,
    F: Fn(ChatRequest) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let copy = stack.may_retry().then(|| request.clone());
    let mut first = Some(request);
    stack
        .call(operation, || {
            let r = first.take().or_else(|| copy.clone());
            let started = r.map(&call);
            async move {
                match started {
                    Some(f) => f.await,
                    None => Err(Error::Unavailable {
                        backend: "layers",
                        endpoint: String::new(),
                        detail: format!("a layer called {operation} again without a retry layer"),
                    }),
                }
            }
        })
        .await
}

#[async_trait]
impl<S: Service + 'static> LlmClient for InstrumentedLlm<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        with_request(&self.stack, "chat", request, |r| self.inner.chat(r)).await
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        with_request(&self.stack, "chat_stream", request, |r| {
            self.inner.chat_stream(r)
        })
        .await
    }

    async fn embed(&self, inputs: &[String], model: Option<&str>) -> Result<Embeddings> {
        self.stack
            .call("embed", || self.inner.embed(inputs, model))
            .await
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.stack
            .call("list_models", || self.inner.list_models())
            .await
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }
}
