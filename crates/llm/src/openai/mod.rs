//! Any OpenAI-compatible API (`LLM_PROVIDER=openai`): OpenAI, Groq, llama.cpp's server, vLLM. `LLM_API_URL`
//! is the API root that `/chat/completions` hangs off (`https://api.openai.com/v1`,
//! `http://127.0.0.1:11435/v1`); `LLM_API_KEY` is sent as a bearer token and appears nowhere else.
//!
//! Streams ask for `stream_options.include_usage`, so the usage comes from the provider's final chunk. Three
//! separate limits: connect (`LLM_CONNECT_TIMEOUT_MS`), first token (`LLM_FIRST_TOKEN_TIMEOUT_MS`; for a
//! non-streamed call, the whole answer) and total (`LLM_TIMEOUT_MS`). A retryable failure (unreachable,
//! 5xx, 429 — after its `Retry-After` —, a timeout, a stream that breaks before its first token) is retried
//! up to `LLM_RETRIES` times, **only before the first token was handed out**: once a delta reached the
//! caller, a failure ends the stream with its typed error and nothing is restarted behind the caller's back.

mod sse;
mod stream;
mod wire;

pub use sse::{LineTooLong, MAX_LINE, SseParser};
#[cfg_attr(not(feature = "ollama"), allow(unused_imports))]
pub(crate) use wire::error_parts;

use crate::config::{HttpSettings, LlmConfig};
use crate::error::TimeoutPhase;
use crate::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, Embeddings, Error, Event, EventStream,
    FinishReason, Health, LlmClient, ModelInfo, Result, Timing,
};
use async_trait::async_trait;
use avb_core::config::PortConfig as _;
use avb_core::config::Secret;
use futures::StreamExt;
use std::time::{Duration, Instant};
use wire::Origin;

/// An OpenAI-compatible client. `Debug` shows the endpoint and model, never the key.
#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base: String,
    model: String,
    key: Option<Secret>,
    settings: HttpSettings,
    backend: &'static str,
    capabilities: Capabilities,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("backend", &self.backend)
            .field("base", &self.base)
            .field("model", &self.model)
            .field("key", &self.key.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// What the `openai` backend declares: an OpenAI-compatible server may serve its one model whatever the
/// name (llama.cpp does), so unknown models are not promised to fail; temperature 0 with a seed is
/// deterministic on llama.cpp and vLLM (OpenAI's own seed is best-effort: override with
/// [`OpenAiClient::with_capabilities`] when running the suite there).
pub const OPENAI_CAPABILITIES: Capabilities = Capabilities {
    embeddings: true,
    deterministic: true,
    rejects_unknown_model: false,
    context_limit_error: true,
    cached_tokens: true,
    error_injection: false,
};

/// A reqwest error in words, without the URL (it could carry userinfo) — reqwest's own `Display` has it.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the body broke off"
    } else if e.is_request() {
        "the request failed"
    } else {
        "transport error"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

impl OpenAiClient {
    /// A client for the API root `base` (no trailing slash needed), `model`, an optional key.
    pub fn new(
        base: &str,
        model: &str,
        key: Option<Secret>,
        settings: HttpSettings,
    ) -> Result<Self> {
        Self::build("openai", base, model, key, settings, OPENAI_CAPABILITIES)
    }

    /// From an `LlmConfig::OpenAi`.
    pub fn from_config(config: &LlmConfig) -> Result<Self> {
        match config {
            LlmConfig::OpenAi {
                url,
                model,
                api_key,
                http,
            } => Self::new(url.expose().as_str(), model, api_key.clone(), *http),
            other => Err(Error::invalid(format!(
                "the openai backend needs LLM_PROVIDER=openai, not {}",
                other.kind()
            ))),
        }
    }

    pub(crate) fn build(
        backend: &'static str,
        base: &str,
        model: &str,
        key: Option<Secret>,
        settings: HttpSettings,
        capabilities: Capabilities,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| {
                Error::invalid(format!("cannot build the HTTP client: {}", describe(&e)))
            })?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            model: model.to_string(),
            key,
            settings,
            backend,
            capabilities,
        })
    }

    /// The same client declaring other capabilities (for a server that does more or less than
    /// [`OPENAI_CAPABILITIES`]).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// The API root requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The endpoint for messages: without userinfo.
    fn shown(&self) -> String {
        avb_core::config::redact_url(&self.base)
    }

    fn origin<'a>(&'a self, shown: &'a str, model: &'a str) -> Origin<'a> {
        Origin {
            backend: self.backend,
            endpoint: shown,
            model,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, self.endpoint(path));
        match &self.key {
            Some(k) => r.bearer_auth(k.expose()),
            None => r,
        }
    }

    fn transport(&self, e: &reqwest::Error) -> Error {
        if e.is_connect() && e.is_timeout() {
            return Error::Timeout {
                backend: self.backend,
                endpoint: self.shown(),
                phase: TimeoutPhase::Connect,
                after: self.settings.connect_timeout,
            };
        }
        Error::Unavailable {
            backend: self.backend,
            endpoint: self.shown(),
            detail: describe(e),
        }
    }

    fn timeout(&self, phase: TimeoutPhase, after: Duration) -> Error {
        Error::Timeout {
            backend: self.backend,
            endpoint: self.shown(),
            phase,
            after,
        }
    }

    /// Sends and checks the status: an error status is its typed error.
    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
        model: &str,
    ) -> Result<reqwest::Response> {
        let response = builder.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = wire::retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        let shown = self.shown();
        Err(wire::error_for(
            self.origin(&shown, model),
            status.as_u16(),
            &body,
            retry_after,
        ))
    }

    /// A JSON answer of the right shape, or [`Error::MalformedResponse`].
    /// `POST <path>` with `body` as JSON, the answer parsed as `T` (errors mapped as [`Self::send`] does).
    async fn post_json<T: serde::de::DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        model: &str,
    ) -> Result<T> {
        let response = self
            .send(self.request(reqwest::Method::POST, path).json(body), model)
            .await?;
        self.json(response).await
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, response: reqwest::Response) -> Result<T> {
        let bytes = response.bytes().await.map_err(|e| self.transport(&e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::MalformedResponse {
            backend: self.backend,
            endpoint: self.shown(),
            detail: format!("{e}: {}", wire::shorten(&String::from_utf8_lossy(&bytes))),
        })
    }

    /// Runs `attempt` until it succeeds, fails for good, the retries are spent or the total time is up.
    async fn with_retries<T, F, Fut>(&self, started: Instant, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0u32;
        loop {
            let left = self.settings.timeout.saturating_sub(started.elapsed());
            let limit = self.settings.first_token_timeout.min(left);
            let result = match tokio::time::timeout(limit, attempt()).await {
                Ok(r) => r,
                Err(_) if limit < self.settings.first_token_timeout => {
                    Err(self.timeout(TimeoutPhase::Total, self.settings.timeout))
                }
                Err(_) => Err(self.timeout(TimeoutPhase::FirstToken, limit)),
            };
            let err = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            use avb_core::Classify as _;
            if !err.is_retryable() || tries >= self.settings.retries {
                return Err(err);
            }
            let backoff = err
                .retry_after()
                .unwrap_or_else(|| Duration::from_millis(100 << tries.min(4)));
            if started.elapsed() + backoff >= self.settings.timeout {
                return Err(err);
            }
            tokio::time::sleep(backoff).await;
            tries += 1;
        }
    }

    /// Opens a stream and reads up to its first token (or its end).
    async fn open_stream(
        &self,
        request: &ChatRequest,
        model: &str,
    ) -> Result<(Vec<Event>, Option<Instant>, EventStream)> {
        let body = wire::ChatBody::new(request, model, true);
        let response = self
            .send(
                self.request(reqwest::Method::POST, "/chat/completions")
                    .json(&body),
                model,
            )
            .await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !content_type.starts_with("text/event-stream") {
            let body = response.text().await.unwrap_or_default();
            return Err(Error::MalformedResponse {
                backend: self.backend,
                endpoint: self.shown(),
                detail: format!(
                    "a stream was asked for, the answer is {content_type:?}: {}",
                    wire::shorten(&body)
                ),
            });
        }
        let mut events = stream::events(response, self.backend, self.shown(), model.to_string());
        let mut buffered = Vec::new();
        while let Some(event) = events.next().await {
            let event = event?;
            let first = matches!(&event, Event::Delta(t) if !t.is_empty());
            buffered.push(event);
            if first {
                return Ok((buffered, Some(Instant::now()), events));
            }
        }
        Ok((buffered, None, events))
    }
}

#[async_trait]
impl LlmClient for OpenAiClient {
    fn backend(&self) -> &'static str {
        self.backend
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        request.validate()?;
        let started = Instant::now();
        let model = request.model.as_deref().unwrap_or(&self.model);
        let answer: wire::ChatAnswer = self
            .with_retries(started, || async {
                let body = wire::ChatBody::new(&request, model, false);
                self.post_json("/chat/completions", &body, model).await
            })
            .await?;
        let choice = answer
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| Error::MalformedResponse {
                backend: self.backend,
                endpoint: self.shown(),
                detail: "the answer has no choice".into(),
            })?;
        Ok(ChatResponse {
            content: choice.message.content.unwrap_or_default(),
            model: answer.model,
            finish_reason: choice.finish_reason.as_deref().map(FinishReason::from_wire),
            usage: answer.usage.map(Into::into).unwrap_or_default(),
            timing: Timing {
                time_to_first_token: None,
                total: started.elapsed(),
            },
        })
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        request.validate()?;
        let started = Instant::now();
        let model = request.model.as_deref().unwrap_or(&self.model);
        let (buffered, first_at, events) = self
            .with_retries(started, || self.open_stream(&request, model))
            .await?;
        Ok(ChatStream::new(
            self.backend,
            self.shown(),
            started,
            buffered,
            first_at,
            events,
            Some(self.settings.timeout),
        ))
    }

    async fn embed(&self, inputs: &[String], model: Option<&str>) -> Result<Embeddings> {
        if inputs.is_empty() {
            return Err(Error::invalid("embeddings need at least one input"));
        }
        let started = Instant::now();
        let model = model.unwrap_or(&self.model);
        let body = serde_json::json!({ "model": model, "input": inputs });
        let answer: wire::EmbeddingAnswer = self
            .with_retries(started, || self.post_json("/embeddings", &body, model))
            .await?;
        let mut data = answer.data;
        data.sort_by_key(|d| d.index);
        if data.len() != inputs.len() {
            return Err(Error::MalformedResponse {
                backend: self.backend,
                endpoint: self.shown(),
                detail: format!("{} vectors for {} inputs", data.len(), inputs.len()),
            });
        }
        Ok(Embeddings {
            vectors: data.into_iter().map(|d| d.embedding).collect(),
            model: answer.model,
            usage: answer.usage.map(Into::into),
        })
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let started = Instant::now();
        let list: wire::ModelList = self
            .with_retries(started, || async {
                let response = self
                    .send(self.request(reqwest::Method::GET, "/models"), &self.model)
                    .await?;
                self.json(response).await
            })
            .await?;
        Ok(list
            .data
            .into_iter()
            .map(|m| ModelInfo {
                id: m.id,
                owned_by: m.owned_by,
            })
            .collect())
    }

    async fn health(&self) -> Health {
        let probe = async {
            let response = self
                .send(self.request(reqwest::Method::GET, "/models"), &self.model)
                .await?;
            self.json::<wire::ModelList>(response).await
        };
        match tokio::time::timeout(self.settings.first_token_timeout, probe).await {
            Ok(Ok(_)) => Health::up(self.backend),
            Ok(Err(e)) => Health::down(self.backend, e.to_string()),
            Err(_) => Health::down(self.backend, "the model list did not answer in time"),
        }
    }
}

#[cfg(test)]
mod tests;
