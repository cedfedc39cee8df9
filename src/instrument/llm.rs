//! The LLM client behind a layer stack: `chat`, `chat_stream` (its latency is the time until the stream
//! is handed out — for the HTTP backends, the time to the first token), `embed` and `list_models`. A
//! stream already handed out is never restarted by a layer.
//!
//! Spans follow OpenTelemetry's GenAI semantic conventions: `chat` and `embeddings` spans (kind client,
//! `otel.name` = `chat <model>`) with `gen_ai.operation.name`, `gen_ai.provider.name` (the backend),
//! `gen_ai.request.model`, `gen_ai.request.max_tokens`/`temperature`, and on the answer
//! `gen_ai.response.model`, `gen_ai.usage.input_tokens`/`output_tokens`, `gen_ai.response.finish_reasons`;
//! a streamed chat records `gen_ai.server.time_to_first_token` (seconds). No prompt or answer text.
//! With [`InstrumentedLlm::with_metrics`], token counts and the time to the first token go to
//! [`crate::metrics`]; a stream's tokens arrive with its last chunk, so the stream handed out is the
//! backend's re-emitted piece by piece (same deltas, same summary) and counts them when it ends.

use crate::layers::{Refusal, Service};
use crate::metrics::Metrics;
use async_trait::async_trait;
use avb_core::Health;
use avb_llm::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, Embeddings, Error, LlmClient, ModelInfo,
    Result,
};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

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
    metrics: Option<Arc<Metrics>>,
}

impl<S> InstrumentedLlm<S> {
    /// `inner` behind `stack`.
    pub fn new(inner: Arc<dyn LlmClient>, stack: S) -> Self {
        Self {
            inner,
            stack,
            metrics: None,
        }
    }

    /// Also records token counts and the time to the first token into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The GenAI span of `operation` on `model`.
    fn span(
        &self,
        operation: &'static str,
        model: &str,
        request: Option<&ChatRequest>,
    ) -> tracing::Span {
        let span = tracing::info_span!(
            "gen_ai",
            otel.name = Empty,
            otel.kind = "client",
            gen_ai.operation.name = operation,
            gen_ai.provider.name = self.inner.backend(),
            gen_ai.request.model = model,
            gen_ai.request.max_tokens = Empty,
            gen_ai.request.temperature = Empty,
            gen_ai.response.model = Empty,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.server.time_to_first_token = Empty,
            error.type = Empty,
        );
        if !span.is_disabled() {
            span.record("otel.name", format!("{operation} {model}"));
            if let Some(r) = request {
                if let Some(n) = r.max_tokens {
                    span.record("gen_ai.request.max_tokens", n);
                }
                if let Some(t) = r.temperature {
                    span.record("gen_ai.request.temperature", f64::from(t));
                }
            }
        }
        span
    }
}

/// `stream` re-emitted event by event (the same deltas, then its model, finish reason and usage), counting
/// its tokens into `metrics` when it ends. `started` is when the call began; the first token had arrived
/// when the backend handed the stream out (now).
fn counted(
    stream: ChatStream,
    started: Instant,
    backend: &'static str,
    model: String,
    metrics: Arc<Metrics>,
) -> ChatStream {
    use avb_llm::Event;
    use futures::StreamExt;
    let first_token_at = Instant::now();
    let events = futures::stream::unfold(Some(stream), move |state| {
        let (model, metrics) = (model.clone(), metrics.clone());
        async move {
            let mut s = state?;
            match s.next().await {
                Some(Ok(delta)) => Some((vec![Ok(Event::Delta(delta.content))], Some(s))),
                Some(Err(e)) => Some((vec![Err(e)], None)),
                None => {
                    let summary = s.summary()?;
                    let u = summary.usage;
                    metrics.record_llm(backend, &model, u.prompt_tokens, u.completion_tokens, None);
                    let mut end = Vec::with_capacity(3);
                    if let Some(m) = summary.model {
                        end.push(Ok(Event::Model(m)));
                    }
                    if let Some(f) = summary.finish_reason {
                        end.push(Ok(Event::Finish(f)));
                    }
                    end.push(Ok(Event::Usage(u)));
                    Some((end, None))
                }
            }
        }
    })
    .flat_map(futures::stream::iter);
    ChatStream::new(
        backend,
        String::new(),
        started,
        Vec::new(),
        Some(first_token_at),
        Box::pin(events),
        None,
    )
}

fn finish_name(f: &avb_llm::FinishReason) -> &str {
    match f {
        avb_llm::FinishReason::Stop => "stop",
        avb_llm::FinishReason::Length => "length",
        avb_llm::FinishReason::Other(s) => s,
    }
}

fn record_error(span: &tracing::Span, e: &Error) {
    use avb_core::Classify;
    span.record("error.type", e.class().as_str());
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
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| self.inner.model().to_string());
        let span = self.span("chat", &model, Some(&request));
        let answer = with_request(&self.stack, "chat", request, |r| self.inner.chat(r))
            .instrument(span.clone())
            .await;
        match &answer {
            Ok(a) => {
                let (input, output) = (a.usage.prompt_tokens, a.usage.completion_tokens);
                span.record("gen_ai.response.model", a.model.as_str());
                span.record("gen_ai.usage.input_tokens", input);
                span.record("gen_ai.usage.output_tokens", output);
                if let Some(f) = &a.finish_reason {
                    span.record("gen_ai.response.finish_reasons", finish_name(f));
                }
                if let Some(m) = &self.metrics {
                    m.record_llm(self.inner.backend(), &model, input, output, None);
                }
            }
            Err(e) => record_error(&span, e),
        }
        answer
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let model = request
            .model
            .clone()
            .unwrap_or_else(|| self.inner.model().to_string());
        let span = self.span("chat", &model, Some(&request));
        let started = Instant::now();
        let answer = with_request(&self.stack, "chat_stream", request, |r| {
            self.inner.chat_stream(r)
        })
        .instrument(span.clone())
        .await;
        match &answer {
            Ok(_) => {
                // chat_stream returns once the first token arrived: this is the time to the first token.
                let ttft = started.elapsed();
                span.record("gen_ai.server.time_to_first_token", ttft.as_secs_f64());
                if let Some(m) = &self.metrics {
                    m.record_llm(self.inner.backend(), &model, 0, 0, Some(ttft));
                }
            }
            Err(e) => record_error(&span, e),
        }
        match (answer, &self.metrics) {
            (Ok(stream), Some(m)) => Ok(counted(
                stream,
                started,
                self.inner.backend(),
                model,
                m.clone(),
            )),
            (answer, _) => answer,
        }
    }

    async fn embed(&self, inputs: &[String], model: Option<&str>) -> Result<Embeddings> {
        let name = model.unwrap_or_else(|| self.inner.model()).to_string();
        let span = self.span("embeddings", &name, None);
        let answer = self
            .stack
            .call("embed", || self.inner.embed(inputs, model))
            .instrument(span.clone())
            .await;
        match &answer {
            Ok(e) => {
                if let Some(u) = e.usage {
                    span.record("gen_ai.usage.input_tokens", u.prompt_tokens);
                    if let Some(m) = &self.metrics {
                        m.record_llm(self.inner.backend(), &name, u.prompt_tokens, 0, None);
                    }
                }
            }
            Err(e) => record_error(&span, e),
        }
        answer
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
