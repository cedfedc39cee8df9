//! [`Fallback`]: a second client used when the first fails retryably **before the first token** — never a
//! stream restarted on another backend after the caller saw a delta ([`LlmClient::chat_stream`] returns only
//! once the first token arrived, so a failure after that is the caller's to see).

use crate::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, Classify, Embeddings, Health, LlmClient,
    ModelInfo, Result,
};
use async_trait::async_trait;
use std::sync::Arc;

/// `primary`, and `secondary` when `primary` fails with a retryable error (unavailable, rate-limited,
/// timed out) before handing anything out. Other errors (unauthorized, context too long, …) are the
/// primary's answer. Declares the primary's capabilities and model.
#[derive(Debug, Clone)]
pub struct Fallback {
    primary: Arc<dyn LlmClient>,
    secondary: Arc<dyn LlmClient>,
}

impl Fallback {
    /// `primary`, falling back to `secondary`.
    pub fn new(primary: Arc<dyn LlmClient>, secondary: Arc<dyn LlmClient>) -> Self {
        Self { primary, secondary }
    }
}

/// The secondary's answer when the primary's is a retryable error.
macro_rules! or_secondary {
    ($self:ident, $call:ident ( $($arg:expr),* )) => {
        match $self.primary.$call($($arg),*).await {
            Err(e) if e.is_retryable() => $self.secondary.$call($($arg),*).await,
            other => other,
        }
    };
}

#[async_trait]
impl LlmClient for Fallback {
    fn backend(&self) -> &'static str {
        self.primary.backend()
    }

    fn model(&self) -> &str {
        self.primary.model()
    }

    fn capabilities(&self) -> Capabilities {
        self.primary.capabilities()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        or_secondary!(self, chat(request.clone()))
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        or_secondary!(self, chat_stream(request.clone()))
    }

    async fn embed(&self, inputs: &[String], model: Option<&str>) -> Result<Embeddings> {
        or_secondary!(self, embed(inputs, model))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        or_secondary!(self, list_models())
    }

    async fn health(&self) -> Health {
        let primary = self.primary.health().await;
        if primary.is_up() {
            return primary;
        }
        let secondary = self.secondary.health().await;
        if secondary.is_up() {
            let mut h = secondary;
            h.reason = Some(format!(
                "primary {} down ({}); answering from the fallback",
                primary.backend,
                primary.reason.unwrap_or_default()
            ));
            return h;
        }
        primary
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{MockFailure, MockSettings};
    use crate::mock::MockLlm;
    use futures::StreamExt;

    fn mock(fail: MockFailure) -> Arc<dyn LlmClient> {
        Arc::new(MockLlm::new(MockSettings {
            fail,
            ..MockSettings::new()
        }))
    }

    #[tokio::test]
    async fn a_retryable_failure_before_the_first_token_falls_back() {
        for fail in [MockFailure::Unavailable, MockFailure::RateLimit] {
            let f = Fallback::new(mock(fail), mock(MockFailure::None));
            let r = f.chat(ChatRequest::user("x")).await.unwrap();
            assert!(r.usage.completion_tokens > 0);
            assert!(f.chat_stream(ChatRequest::user("x")).await.is_ok());
        }
    }

    #[tokio::test]
    async fn a_failure_after_the_first_token_is_not_hidden() {
        let f = Fallback::new(mock(MockFailure::MidStream), mock(MockFailure::None));
        let mut s = f.chat_stream(ChatRequest::user("x")).await.unwrap();
        let mut errors = 0;
        while let Some(d) = s.next().await {
            errors += usize::from(d.is_err());
        }
        assert_eq!(errors, 1, "the broken stream's error reaches the caller");
    }

    #[tokio::test]
    async fn a_permanent_error_is_the_primarys_answer() {
        let f = Fallback::new(mock(MockFailure::None), mock(MockFailure::None));
        let err = f
            .chat(ChatRequest::user("x").model("nope"))
            .await
            .unwrap_err();
        assert_eq!(err.class(), crate::ErrorClass::NotFound);
    }
}
