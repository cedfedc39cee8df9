//! The shared conformance suite (feature `conformance`): what every [`LlmClient`] backend must answer, run
//! on the conformance kit ([`avb_conformance`]).
//!
//! It checks the **protocol**, not the quality of answers (the live servers run a 270M base model): token
//! limits, one delta per piece and the stream's summary (usage from the final chunk, time to first token),
//! stop sequences, determinism at temperature 0, embeddings' shape, the model list, typed errors (unknown
//! model, context too long, invalid request), that a dropped stream leaves the client usable, and health.
//! Cases that need a capability a backend does not declare ([`Capabilities`](crate::Capabilities)) are
//! skipped by the kit, naming it.
//!
//! The cases live by concern: chat (`chat.rs`), streaming (`streaming.rs`), embeddings, models, errors and
//! health (`other.rs`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_llm::{conformance::{self, Expect, Harness}, mock::MockLlm};
//! let llm = std::sync::Arc::new(MockLlm::new(Default::default()));
//! conformance::run_all(&Harness::new(llm)).await.assert_exact(&Expect::all());
//! # }
//! ```

mod chat;
mod other;
mod streaming;

pub use chat::*;
pub use other::*;
pub use streaming::*;

use crate::{ChatRequest, LlmClient, capability};
use avb_conformance::{Capable, Case};
use std::sync::Arc;

/// The kit's types a caller needs to run the suite and check its result.
pub use avb_conformance::{CaseResult, Checks, Expect, Gap, GapKind, Report, Runner};

/// What [`run_all`] runs against.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The client under test.
    pub client: Arc<dyn LlmClient>,
}

impl Harness {
    /// A harness for `client`.
    pub fn new(client: Arc<dyn LlmClient>) -> Self {
        Self { client }
    }
}

impl Capable for Harness {
    fn has(&self, capability: &'static str) -> bool {
        self.client.capabilities().has(capability)
    }
}

/// The prompt most cases send, at temperature 0 (the most likely token every time).
pub fn prompt(max_tokens: u32) -> ChatRequest {
    ChatRequest::user("Write a short story about a lighthouse keeper.")
        .temperature(0.0)
        .seed(42)
        .max_tokens(max_tokens)
}

/// Every case, in report order.
pub fn cases() -> Vec<Case<Harness>> {
    vec![
        Case::new("chat_usage_and_finish", |h, c| {
            Box::pin(chat_usage_and_finish(h, c))
        }),
        Case::new("chat_max_tokens", |h, c| Box::pin(chat_max_tokens(h, c))),
        Case::new("chat_deterministic", |h, c| {
            Box::pin(chat_deterministic(h, c))
        })
        .requires(&[capability::DETERMINISTIC]),
        Case::new("chat_stop_sequence", |h, c| {
            Box::pin(chat_stop_sequence(h, c))
        })
        .requires(&[capability::DETERMINISTIC]),
        Case::new("chat_roles", |h, c| Box::pin(chat_roles(h, c))),
        Case::new("stream_deltas_and_summary", |h, c| {
            Box::pin(stream_deltas_and_summary(h, c))
        }),
        Case::new("stream_equals_chat", |h, c| {
            Box::pin(stream_equals_chat(h, c))
        })
        .requires(&[capability::DETERMINISTIC]),
        Case::new("stream_cached_tokens", |h, c| {
            Box::pin(stream_cached_tokens(h, c))
        })
        .requires(&[capability::CACHED_TOKENS]),
        Case::new("stream_dropped_then_next_call", |h, c| {
            Box::pin(stream_dropped_then_next_call(h, c))
        }),
        Case::new("embeddings_shape", |h, c| Box::pin(embeddings_shape(h, c)))
            .requires(&[capability::EMBEDDINGS]),
        Case::new("list_models_has_model", |h, c| {
            Box::pin(list_models_has_model(h, c))
        }),
        Case::new("unknown_model_not_found", |h, c| {
            Box::pin(unknown_model_not_found(h, c))
        })
        .requires(&[capability::REJECTS_UNKNOWN_MODEL]),
        Case::new("context_too_long", |h, c| Box::pin(context_too_long(h, c)))
            .requires(&[capability::CONTEXT_LIMIT_ERROR]),
        Case::new("invalid_request", |h, c| Box::pin(invalid_request(h, c))),
        Case::new("health_up", |h, c| Box::pin(health_up(h, c))),
    ]
}

/// Runs every case with a default [`Runner`], two cases at once (a local model server has few slots).
pub async fn run_all(harness: &Harness) -> Report {
    run_all_with(harness, Runner::new().concurrency(2)).await
}

/// Runs every case with `runner` (its gaps, concurrency, timeout).
pub async fn run_all_with(harness: &Harness, runner: Runner) -> Report {
    runner.run(harness, &cases()).await
}
