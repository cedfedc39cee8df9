//! The avb **LLM** port: chat, streaming chat, embeddings, the model list, health and capabilities, with
//! one portable [`Error`] ([`Classify`]) whatever the backend.
//!
//! | backend | module | cargo feature (of `avb`) | notes |
//! |---|---|---|---|
//! | deterministic offline model | [`mock`] | always built | sandbox default; no network, no key; latency and errors injectable |
//! | any OpenAI-compatible API | `openai` | `openai` (`llm-openai`) | reqwest streaming (rustls); OpenAI, Groq, llama.cpp's server |
//! | Ollama | `ollama` | `ollama` (`llm-ollama`) | Ollama's OpenAI-compatible `/v1` API; no key |
//!
//! Every call reports its [`Usage`] (prompt, completion and cached tokens) and [`Timing`] (time to first
//! token, total). A streamed call ([`LlmClient::chat_stream`]) is a [`ChatStream`] of [`Delta`]s handed
//! out as they arrive, never merged; its usage comes from the provider's final chunk. Dropping the stream
//! cancels the request and closes its connection. Backends retry (and time out on the first token) only
//! *before* the stream is handed out, never after a token reached the caller; [`Fallback`] puts a second
//! client behind a first on the same rule.
//!
//! The shared conformance suite is `conformance` (feature `conformance`, on the kit `avb-conformance`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> avb_llm::Result<()> {
//! use avb_llm::{ChatRequest, LlmClient, mock::MockLlm};
//! use futures::StreamExt;
//! let llm = MockLlm::new(Default::default());
//! let answer = llm.chat(ChatRequest::user("hello").max_tokens(8)).await?;
//! assert_eq!(answer.usage.completion_tokens, 8);
//! let mut stream = llm.chat_stream(ChatRequest::user("hello").max_tokens(8)).await?;
//! let mut text = String::new();
//! while let Some(delta) = stream.next().await {
//!     text.push_str(&delta?.content);
//! }
//! assert_eq!(text, answer.content); // same input, same output
//! assert_eq!(stream.summary().map(|s| s.deltas), Some(8));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod config;
mod error;
mod fallback;
pub mod mock;
mod open;
mod stream;
mod types;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "ollama")]
pub mod ollama;
#[cfg(feature = "openai")]
pub mod openai;

pub use avb_core::{Classify, ErrorClass, Health, NotCompiled};
pub use error::{Error, Result, TimeoutPhase};
pub use fallback::Fallback;
pub use open::open;
pub use stream::{ChatStream, Event, EventStream};
pub use types::{
    Capabilities, ChatRequest, ChatResponse, Delta, Embeddings, FinishReason, Message, ModelInfo,
    Role, StreamSummary, Timing, Usage, capability,
};

use async_trait::async_trait;

/// A language model client. Implementations are cheap to share behind `Arc<dyn LlmClient>`.
#[async_trait]
pub trait LlmClient: std::fmt::Debug + Send + Sync + 'static {
    /// The backend's name (`mock`, `openai`, `ollama`), for errors and health. Never branch on it: use
    /// [`LlmClient::capabilities`].
    fn backend(&self) -> &'static str;

    /// The model used when a request names none (`LLM_MODEL`).
    fn model(&self) -> &str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// A complete answer. Its [`Timing::time_to_first_token`] is `None` (nothing was streamed).
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse>;

    /// A streamed answer. Returns once the first token arrived (or the answer turned out empty), so that a
    /// backend can retry until then; after that, errors reach the caller through the stream.
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream>;

    /// One embedding vector per input, in input order; `model: None` takes [`LlmClient::model`].
    async fn embed(&self, inputs: &[String], model: Option<&str>) -> Result<Embeddings>;

    /// The models the server offers.
    async fn list_models(&self) -> Result<Vec<ModelInfo>>;

    /// Whether the backend answers (and, for a server, has finished loading its model).
    async fn health(&self) -> Health;
}
