#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use super::*;
use crate::{Classify, ErrorClass};
use futures::StreamExt;

fn mock(fail: MockFailure) -> MockLlm {
    MockLlm::new(MockSettings {
        fail,
        ..MockSettings::new()
    })
}

#[tokio::test]
async fn a_stream_is_the_answer_in_several_deltas_with_usage() {
    let llm = mock(MockFailure::None);
    let request = ChatRequest::user("tell me").max_tokens(5);
    let whole = llm.chat(request.clone()).await.unwrap();
    let mut stream = llm.chat_stream(request).await.unwrap();
    let mut deltas = Vec::new();
    while let Some(d) = stream.next().await {
        deltas.push(d.unwrap().content);
    }
    assert_eq!(deltas.len(), 5);
    assert_eq!(deltas.concat(), whole.content);
    let summary = stream.summary().unwrap();
    assert_eq!(summary.usage, whole.usage);
    assert_eq!(summary.usage.completion_tokens, 5);
    assert!(summary.usage.prompt_tokens > 0);
    assert!(summary.timing.time_to_first_token.is_some());
    assert_eq!(summary.finish_reason, Some(crate::FinishReason::Length));
}

#[tokio::test]
async fn injected_rate_limit_is_typed_with_retry_after() {
    let err = mock(MockFailure::RateLimit)
        .chat_stream(ChatRequest::user("x"))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
}

#[tokio::test]
async fn injected_mid_stream_failure_comes_after_the_first_tokens() {
    let llm = MockLlm::new(MockSettings {
        fail: MockFailure::MidStream,
        fail_after: 3,
        ..MockSettings::new()
    });
    let mut stream = llm.chat_stream(ChatRequest::user("x")).await.unwrap();
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(stream.next().await.is_none());
    assert!(stream.summary().is_none());
    assert!(llm.chat(ChatRequest::user("x")).await.is_err());
}

#[tokio::test]
async fn unavailable_turns_health_down() {
    let llm = mock(MockFailure::Unavailable);
    assert!(!llm.health().await.is_up());
    assert!(
        llm.embed(&["a".into()], None)
            .await
            .unwrap_err()
            .is_retryable()
    );
    assert!(mock(MockFailure::None).health().await.is_up());
}

#[tokio::test]
async fn unknown_model_and_long_prompt_are_typed() {
    let llm = mock(MockFailure::None);
    let err = llm
        .chat(ChatRequest::user("x").model("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::NotFound);
    let long = "word ".repeat(CONTEXT_TOKENS as usize);
    let err = llm.chat(ChatRequest::user(long)).await.unwrap_err();
    assert!(matches!(err, Error::ContextTooLong { .. }), "{err}");
    let err = llm.chat(ChatRequest::new([])).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_first_token() {
    let llm = MockLlm::new(MockSettings {
        latency: Duration::from_secs(5),
        token_delay: Duration::from_secs(1),
        ..MockSettings::new()
    });
    let start = tokio::time::Instant::now();
    let stream = llm
        .chat_stream(ChatRequest::user("x").max_tokens(3))
        .await
        .unwrap();
    // Paused clock: the time advanced is exactly the configured latency (no wall-clock assertion).
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    let text = stream.collect_response().await.unwrap();
    assert_eq!(text.usage.completion_tokens, 3);
    assert_eq!(start.elapsed(), Duration::from_secs(7));
}
