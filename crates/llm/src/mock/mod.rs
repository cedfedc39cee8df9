//! The deterministic offline model (`LLM_PROVIDER=mock`, the sandbox default): no network, no key. The
//! same request gives the same answer; a stream hands out one delta per token (several per answer); usage
//! is counted in words; embeddings are unit vectors of [`DIMENSIONS`] determined by the text. Latency and
//! failures (rate limit, unavailable, a stream breaking midway) are injected through [`MockSettings`]
//! (`LLM_MOCK_*`), so a service can test its handling of them.
//!
//! It knows the models [`MODEL`] and [`EMBED_MODEL`]; any other name is [`Error::ModelNotFound`]. A prompt
//! beyond [`CONTEXT_TOKENS`] is [`Error::ContextTooLong`].

mod model;

pub use model::{CONTEXT_TOKENS, DIMENSIONS};

use crate::config::{MockFailure, MockSettings};
use crate::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, Embeddings, Error, Event, Health,
    LlmClient, ModelInfo, Result, Timing,
};
use async_trait::async_trait;
use std::time::{Duration, Instant};

/// The mock's chat model.
pub const MODEL: &str = "avb-mock";
/// The mock's embedding model (chat works with it too).
pub const EMBED_MODEL: &str = "avb-mock-embed";

const BACKEND: &str = "mock";
const ENDPOINT: &str = "mock://offline";

/// The offline model.
#[derive(Debug, Clone)]
pub struct MockLlm {
    settings: MockSettings,
}

impl MockLlm {
    /// The mock with these settings (`MockSettings::default()`: no latency, no failure).
    pub fn new(settings: MockSettings) -> Self {
        Self { settings }
    }

    /// Its settings.
    pub fn settings(&self) -> &MockSettings {
        &self.settings
    }

    fn model_of(&self, asked: Option<&str>) -> Result<String> {
        match asked {
            None => Ok(MODEL.to_string()),
            Some(m @ (MODEL | EMBED_MODEL)) => Ok(m.to_string()),
            Some(other) => Err(Error::ModelNotFound {
                backend: BACKEND,
                model: other.to_string(),
                detail: format!("the mock knows {MODEL} and {EMBED_MODEL}"),
            }),
        }
    }

    /// The injected failure of a whole call, if any.
    fn injected(&self) -> Result<()> {
        match self.settings.fail {
            MockFailure::RateLimit => Err(Error::RateLimited {
                backend: BACKEND,
                retry_after: Some(Duration::from_secs(1)),
                detail: "injected by LLM_MOCK_FAIL=rate_limit".into(),
            }),
            MockFailure::Unavailable => Err(unavailable("injected by LLM_MOCK_FAIL=unavailable")),
            MockFailure::None | MockFailure::MidStream => Ok(()),
        }
    }

    /// Checks the request and computes the answer's pieces (after the failure injection and latency).
    async fn prepare(
        &self,
        request: &ChatRequest,
    ) -> Result<(String, Vec<String>, crate::FinishReason, crate::Usage)> {
        request.validate()?;
        self.injected()?;
        let model = self.model_of(request.model.as_deref())?;
        let (pieces, finish, usage) = model::answer(request, &model);
        let asked = usage
            .prompt_tokens
            .saturating_add(request.max_tokens.unwrap_or(0));
        if asked > CONTEXT_TOKENS {
            return Err(Error::ContextTooLong {
                backend: BACKEND,
                detail: format!(
                    "{} prompt tokens + {} asked > {CONTEXT_TOKENS}",
                    usage.prompt_tokens,
                    request.max_tokens.unwrap_or(0)
                ),
            });
        }
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
        Ok((model, pieces, finish, usage))
    }

    fn mid_stream_error(&self) -> Error {
        unavailable(&format!(
            "the stream broke after {} tokens (injected by LLM_MOCK_FAIL=mid_stream)",
            self.settings.fail_after
        ))
    }
}

fn unavailable(detail: &str) -> Error {
    Error::Unavailable {
        backend: BACKEND,
        endpoint: ENDPOINT.into(),
        detail: detail.into(),
    }
}

#[async_trait]
impl LlmClient for MockLlm {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn model(&self) -> &str {
        MODEL
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            embeddings: true,
            deterministic: true,
            rejects_unknown_model: true,
            context_limit_error: true,
            cached_tokens: true,
            error_injection: self.settings.fail != MockFailure::None,
        }
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let started = Instant::now();
        let (model, pieces, finish, usage) = self.prepare(&request).await?;
        if self.settings.fail == MockFailure::MidStream {
            return Err(self.mid_stream_error());
        }
        Ok(ChatResponse {
            content: pieces.concat(),
            model,
            finish_reason: Some(finish),
            usage,
            timing: Timing {
                time_to_first_token: None,
                total: started.elapsed(),
            },
        })
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let started = Instant::now();
        let (model, pieces, finish, usage) = self.prepare(&request).await?;
        let fail_after = (self.settings.fail == MockFailure::MidStream)
            .then(|| usize::try_from(self.settings.fail_after).unwrap_or(usize::MAX));
        let mut events: Vec<Result<Event>> = vec![Ok(Event::Model(model))];
        for (i, piece) in pieces.into_iter().enumerate() {
            if fail_after == Some(i) {
                break;
            }
            events.push(Ok(Event::Delta(piece)));
        }
        match fail_after {
            Some(_) => events.push(Err(self.mid_stream_error())),
            None => {
                events.push(Ok(Event::Finish(finish)));
                events.push(Ok(Event::Usage(usage)));
            }
        }
        // The first delta is ready now (after the latency); the others follow `token_delay` apart.
        let delay = self.settings.token_delay;
        let first_delta = events.iter().position(|e| matches!(e, Ok(Event::Delta(_))));
        let inner = futures::stream::unfold(
            (events.into_iter().enumerate(), first_delta),
            move |(mut it, first)| async move {
                let (i, event) = it.next()?;
                if matches!(event, Ok(Event::Delta(_))) && Some(i) != first && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some((event, (it, first)))
            },
        );
        Ok(ChatStream::new(
            BACKEND,
            ENDPOINT,
            started,
            Vec::new(),
            None,
            Box::pin(inner),
            None,
        ))
    }

    async fn embed(&self, inputs: &[String], model: Option<&str>) -> Result<Embeddings> {
        if inputs.is_empty() {
            return Err(Error::invalid("embeddings need at least one input"));
        }
        self.injected()?;
        let model = self.model_of(model)?;
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
        let tokens = inputs
            .iter()
            .map(|t| model::count_tokens(t))
            .fold(0u32, u32::saturating_add);
        Ok(Embeddings {
            vectors: inputs.iter().map(|t| model::embedding(&model, t)).collect(),
            model,
            usage: Some(crate::Usage {
                prompt_tokens: tokens,
                completion_tokens: 0,
                cached_tokens: None,
            }),
        })
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.injected()?;
        Ok([MODEL, EMBED_MODEL]
            .into_iter()
            .map(|id| ModelInfo {
                id: id.to_string(),
                owned_by: Some("avb".to_string()),
            })
            .collect())
    }

    async fn health(&self) -> Health {
        match self.settings.fail {
            MockFailure::Unavailable => {
                Health::down(BACKEND, "injected by LLM_MOCK_FAIL=unavailable")
            }
            _ => Health::up(BACKEND),
        }
    }
}

#[cfg(test)]
mod tests;
