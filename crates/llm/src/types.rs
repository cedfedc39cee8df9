//! The port's request and answer types.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The OpenAI wire name (`system`, `user`, `assistant`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A chat completion request. `model: None` takes the configured model (`LLM_MODEL`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatRequest {
    /// The conversation, oldest first; at least one message.
    pub messages: Vec<Message>,
    /// The model; `None`: the client's configured model.
    pub model: Option<String>,
    /// Sampling temperature; `Some(0.0)` asks for the most likely token every time.
    pub temperature: Option<f32>,
    /// At most this many completion tokens.
    pub max_tokens: Option<u32>,
    /// The completion ends before the first of these strings (which is not included).
    pub stop: Vec<String>,
    /// Sampling seed, for servers that honour one.
    pub seed: Option<u64>,
}

impl ChatRequest {
    /// A request with these messages and every option at the server's default.
    pub fn new(messages: impl IntoIterator<Item = Message>) -> Self {
        Self {
            messages: messages.into_iter().collect(),
            ..Self::default()
        }
    }
    /// One user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new([Message::user(content)])
    }
    /// Sets the model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
    /// Sets the temperature.
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }
    /// Sets the completion token limit.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }
    /// Adds a stop sequence.
    pub fn stop(mut self, s: impl Into<String>) -> Self {
        self.stop.push(s.into());
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Checks what every backend requires: at least one message, a finite non-negative temperature, a
    /// positive token limit, no empty stop sequence.
    pub fn validate(&self) -> crate::Result<()> {
        if self.messages.is_empty() {
            return Err(crate::Error::invalid(
                "a chat request needs at least one message",
            ));
        }
        if let Some(t) = self.temperature
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(crate::Error::invalid(format!(
                "temperature {t} is not a finite number >= 0"
            )));
        }
        if self.max_tokens == Some(0) {
            return Err(crate::Error::invalid("max_tokens must be at least 1"));
        }
        if self.stop.iter().any(String::is_empty) {
            return Err(crate::Error::invalid("a stop sequence must not be empty"));
        }
        Ok(())
    }
}

/// Tokens a call used, as the provider counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Prompt tokens served from the provider's prompt cache, when it says (`None`: it does not report).
    pub cached_tokens: Option<u32>,
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// `max_tokens` (or the context) was reached.
    Length,
    /// Anything else the server named.
    Other(String),
}

impl FinishReason {
    /// From the OpenAI wire name.
    pub fn from_wire(s: &str) -> Self {
        match s {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            other => FinishReason::Other(other.to_string()),
        }
    }
}

/// How long a call took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// From the call to the first token handed out (streamed calls; `None` for a non-streamed call or a
    /// stream that produced no token).
    pub time_to_first_token: Option<Duration>,
    /// From the call to the complete answer (for a stream: to its end).
    pub total: Duration,
}

/// A complete chat answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatResponse {
    /// The generated text.
    pub content: String,
    /// The model that answered, as the server named it.
    pub model: String,
    /// Why generation ended, when the server said.
    pub finish_reason: Option<FinishReason>,
    /// Token counts.
    pub usage: Usage,
    /// Time to first token and total.
    pub timing: Timing,
}

/// One piece of a streamed answer, exactly as the server sent it (never merged with the next).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// 0 for the first delta of the stream, then 1, 2, …
    pub index: u32,
    /// The text of this piece (not empty).
    pub content: String,
}

/// What a finished stream reports (see [`ChatStream::summary`](crate::ChatStream::summary)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamSummary {
    /// The model that answered, when the server said.
    pub model: Option<String>,
    /// Why generation ended, when the server said.
    pub finish_reason: Option<FinishReason>,
    /// Token counts from the provider's final chunk.
    pub usage: Usage,
    /// Deltas handed out.
    pub deltas: u32,
    /// Time to first token and total.
    pub timing: Timing,
}

/// Embedding vectors, one per input, in input order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embeddings {
    /// The vectors (all of the same dimension).
    pub vectors: Vec<Vec<f32>>,
    /// The model that answered.
    pub model: String,
    /// Token counts, when the server said.
    pub usage: Option<Usage>,
}

/// A model the server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// The id to put in a request.
    pub id: String,
    /// Its owner, when the server says.
    pub owned_by: Option<String>,
}

/// What a backend declares it can do; conformance cases that need one of these are skipped, naming it,
/// when the backend lacks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// `embed` works.
    pub embeddings: bool,
    /// `temperature: 0` (with a seed) gives the same answer every time.
    pub deterministic: bool,
    /// A request naming a model the server does not have fails with [`Error::ModelNotFound`](crate::Error)
    /// (an OpenAI-compatible server may instead serve its one model whatever the name: llama.cpp does).
    pub rejects_unknown_model: bool,
    /// A prompt beyond the context window fails with [`Error::ContextTooLong`](crate::Error) (Ollama
    /// truncates the prompt instead).
    pub context_limit_error: bool,
    /// Streamed calls report cached prompt tokens.
    pub cached_tokens: bool,
    /// Errors can be injected by configuration (the mock's `LLM_MOCK_FAIL`).
    pub error_injection: bool,
}

/// The conformance suite's capability names, one per [`Capabilities`] field.
pub mod capability {
    /// [`super::Capabilities::embeddings`].
    pub const EMBEDDINGS: &str = "embeddings";
    /// [`super::Capabilities::deterministic`].
    pub const DETERMINISTIC: &str = "deterministic";
    /// [`super::Capabilities::rejects_unknown_model`].
    pub const REJECTS_UNKNOWN_MODEL: &str = "rejects_unknown_model";
    /// [`super::Capabilities::context_limit_error`].
    pub const CONTEXT_LIMIT_ERROR: &str = "context_limit_error";
    /// [`super::Capabilities::cached_tokens`].
    pub const CACHED_TOKENS: &str = "cached_tokens";
    /// [`super::Capabilities::error_injection`].
    pub const ERROR_INJECTION: &str = "error_injection";
}

impl Capabilities {
    /// Whether the capability named `name` (see [`capability`]) is declared.
    pub fn has(&self, name: &str) -> bool {
        match name {
            capability::EMBEDDINGS => self.embeddings,
            capability::DETERMINISTIC => self.deterministic,
            capability::REJECTS_UNKNOWN_MODEL => self.rejects_unknown_model,
            capability::CONTEXT_LIMIT_ERROR => self.context_limit_error,
            capability::CACHED_TOKENS => self.cached_tokens,
            capability::ERROR_INJECTION => self.error_injection,
            _ => false,
        }
    }
}
