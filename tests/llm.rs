//! The LLM port through the facade: one conformance suite on mock, on `openai` against the real llama.cpp
//! server and on `ollama` against real Ollama (`scripts/services up llamacpp ollama`), switched by the
//! environment alone; the key redacted; a dropped stream closing the server connection (`llm_cancel.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::config::Config;
use avb::llm::conformance::{self, Expect, Harness};
use avb::llm::{LlmClient, capability};
use std::sync::Arc;

fn config(pairs: &[(&str, &str)]) -> Config {
    Config::from_iter(pairs.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
}

/// Exactly what a service does: the configuration from the environment, then `Ports`.
async fn client(pairs: &[(&str, &str)]) -> Arc<dyn LlmClient> {
    let ports = avb::Ports::open(config(pairs)).await.unwrap();
    let report = ports.health().await;
    assert!(report.components["llm"].is_up(), "{report}");
    ports.llm().clone()
}

/// The llama.cpp server's URL and model, or skip (fail under AVB_TEST_REQUIRE_LIVE=1).
fn llamacpp() -> Option<(String, String)> {
    let url = avb::testing::live_server("AVB_TEST_LLAMACPP_URL")?;
    let model = avb::testing::harness_value("AVB_TEST_LLAMACPP_MODEL")?;
    Some((url, model))
}

/// Ollama's URL and model, or skip (fail under AVB_TEST_REQUIRE_LIVE=1).
fn ollama() -> Option<(String, String)> {
    let url = avb::testing::live_server("AVB_TEST_OLLAMA_URL")?;
    let model = avb::testing::harness_value("AVB_TEST_OLLAMA_MODEL")?;
    Some((url, model))
}

#[tokio::test]
async fn conformance_on_the_mock_through_the_facade() {
    let llm = client(&[("LLM_PROVIDER", "mock")]).await;
    assert_eq!(llm.backend(), "mock");
    conformance::run_all(&Harness::new(llm))
        .await
        .assert_exact(&Expect::all());
}

/// llama.cpp serves its one model whatever the name, so `rejects_unknown_model` is not declared by
/// `openai` and that case is skipped, visibly.
#[tokio::test]
async fn conformance_on_openai_against_llamacpp() {
    let Some((url, model)) = llamacpp() else {
        return;
    };
    let api = format!("{}/v1", url.trim_end_matches('/'));
    let llm = client(&[
        ("LLM_PROVIDER", "openai"),
        ("LLM_API_URL", &api),
        ("LLM_MODEL", &model),
    ])
    .await;
    assert_eq!(llm.backend(), "openai");
    conformance::run_all(&Harness::new(llm)).await.assert_exact(
        &Expect::all().skipped("unknown_model_not_found", capability::REJECTS_UNKNOWN_MODEL),
    );
}

/// The same code with `LLM_PROVIDER=ollama`: production's settings, nothing else changed. Ollama
/// truncates an over-long prompt and reports no cached tokens, and declares (`/api/show`) that this
/// model does not embed, so those three cases are skipped, visibly.
#[tokio::test]
async fn conformance_on_ollama() {
    let Some((url, model)) = ollama() else {
        return;
    };
    let api = format!("{}/v1", url.trim_end_matches('/'));
    let llm = client(&[
        ("LLM_PROVIDER", "ollama"),
        ("LLM_API_URL", &api),
        ("LLM_MODEL", &model),
    ])
    .await;
    assert_eq!(llm.backend(), "ollama");
    // The URL without `/v1` is the same server.
    let bare = client(&[
        ("LLM_PROVIDER", "ollama"),
        ("LLM_API_URL", &url),
        ("LLM_MODEL", &model),
    ])
    .await;
    let listed = bare.list_models().await.unwrap();
    assert!(listed.iter().any(|m| m.id == bare.model()), "{listed:?}");
    conformance::run_all(&Harness::new(llm)).await.assert_exact(
        &Expect::all()
            .skipped("stream_cached_tokens", capability::CACHED_TOKENS)
            .skipped("embeddings_shape", capability::EMBEDDINGS)
            .skipped("context_too_long", capability::CONTEXT_LIMIT_ERROR),
    );
}

/// `LLM_API_KEY` appears in no text: summary, JSON, `Debug`, health, errors.
#[tokio::test]
async fn the_api_key_is_redacted_everywhere() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener); // nothing listens there: every call fails
    let key = "sk-avb-test-secret-4711";
    let cfg = config(&[
        ("LLM_PROVIDER", "openai"),
        ("LLM_API_URL", &url),
        ("LLM_MODEL", "m"),
        ("LLM_API_KEY", key),
    ]);
    let mut texts = vec![
        cfg.to_string(),
        serde_json::to_string(&cfg).unwrap(),
        format!("{cfg:?}"),
    ];
    let ports = avb::Ports::open(cfg).await.unwrap();
    let report = ports.health().await;
    assert!(!report.components["llm"].is_up(), "{report}");
    let err = ports
        .llm()
        .chat(avb::llm::ChatRequest::user("hi"))
        .await
        .unwrap_err();
    texts.extend([
        report.to_string(),
        serde_json::to_string(&report).unwrap(),
        format!("{ports:?}"),
        format!("{:?}", ports.llm()),
        err.to_string(),
        format!("{err:?}"),
    ]);
    for text in texts {
        assert!(!text.contains(key), "{text}");
    }
}

/// A service tests its handling of LLM failures with the environment alone (`LLM_MOCK_*`).
#[tokio::test]
async fn injected_failures_through_the_environment() {
    use avb::llm::{ChatRequest, Classify, Error};
    use futures::StreamExt;
    let limited = client(&[("LLM_MOCK_FAIL", "rate_limit")]).await;
    let err = limited.chat(ChatRequest::user("hi")).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(1)));
    let broken = client(&[
        ("LLM_MOCK_FAIL", "mid_stream"),
        ("LLM_MOCK_FAIL_AFTER", "3"),
    ])
    .await;
    let mut stream = broken.chat_stream(ChatRequest::user("hi")).await.unwrap();
    let mut got = Vec::new();
    while let Some(d) = stream.next().await {
        got.push(d.map(|d| d.content));
    }
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got[..3].iter().all(Result::is_ok), "{got:?}");
    assert!(got[3].as_ref().is_err_and(|e| e.is_retryable()), "{got:?}");
}
