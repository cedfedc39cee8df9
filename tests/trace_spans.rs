//! Spans of the port operations: every call through the metered layer runs in an `avb` span naming the
//! port, backend and operation, and a failing call records its error class — never the token, the
//! credentials or the payload. LLM calls follow OpenTelemetry's GenAI conventions, and their token counts
//! and time to the first token reach `/metrics`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/s3_servers.rs"]
mod s3_servers;
#[path = "support/trace_capture.rs"]
mod trace_capture;

use avb::layers::{Direct, Layer, metered::MeteredLayer};
use avb::metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;
use trace_capture::{Captured, SpanRec};
use tracing_subscriber::layer::SubscriberExt;

fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    (captured, guard)
}

fn op_span(c: &Captured, port: &str, operation: &str) -> SpanRec {
    c.spans_named("avb")
        .into_iter()
        .find(|s| {
            s.fields.get("avb.port").map(String::as_str) == Some(port)
                && s.fields.get("avb.operation").map(String::as_str) == Some(operation)
        })
        .unwrap_or_else(|| {
            panic!(
                "no avb span for {port}.{operation} in {:#?}",
                c.spans_named("avb")
            )
        })
}

#[tokio::test]
async fn a_refused_token_leaves_no_trace_of_itself_in_spans() {
    use avb::auth::Authenticator;
    let issuer = avb::auth::local::LocalIssuer::ephemeral().unwrap();
    let other = avb::auth::local::LocalIssuer::ephemeral().unwrap();
    // A well-formed token signed by another key: refused, and it must not be recorded anywhere.
    let token = other
        .mint("alice", "acme", &["admin"], Duration::from_secs(60))
        .unwrap();
    let metrics = Arc::new(Metrics::new());
    let inner: Arc<dyn Authenticator> = Arc::new(issuer);
    let auth = avb::instrument::InstrumentedAuth::new(
        inner.clone(),
        MeteredLayer::new(metrics.clone(), "auth", inner.backend()).layer(Direct),
    );
    let (captured, _guard) = capture();
    let garbage = "sekrit-bearer-value-0123456789";
    assert!(auth.authenticate(&token).await.is_err());
    assert!(auth.authenticate(garbage).await.is_err());
    let span = op_span(&captured, "auth", "authenticate");
    assert_eq!(span.fields["avb.backend"], inner.backend());
    assert_eq!(span.fields["otel.name"], "auth.authenticate");
    assert_eq!(span.fields["otel.status_code"], "ERROR");
    assert!(!span.fields["error.type"].is_empty(), "{span:?}");
    let text = captured.all_text();
    let signature = token.rsplit('.').next().unwrap();
    for secret in [token.as_str(), signature, garbage] {
        assert!(
            !text.contains(secret),
            "a span or event carries {secret:?}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_object_store_call_records_no_credentials() {
    use avb::object_store::{GetOptions, ObjectStore};
    let Some(server) = s3_servers::s3s_fs() else {
        return;
    };
    // The harness's key id with a wrong secret: the server refuses the signature.
    let secret = "wrong-secret-9f8e7d6c5b4a";
    let inner: Arc<dyn ObjectStore> = Arc::new(
        avb::object_store::s3::S3Builder::new()
            .with_endpoint(&server.url)
            .with_bucket(&server.bucket)
            .with_credentials(&server.key, secret)
            .build()
            .await
            .unwrap(),
    );
    let metrics = Arc::new(Metrics::new());
    let store = avb::instrument::InstrumentedStore::new(
        inner.clone(),
        MeteredLayer::new(metrics.clone(), "object_store", inner.backend()).layer(Direct),
    );
    let (captured, _guard) = capture();
    let key = "payloads/customer-42.json";
    let err = store.get(key, GetOptions::default()).await.unwrap_err();
    let span = op_span(&captured, "object_store", "get");
    assert_eq!(span.fields["otel.status_code"], "ERROR", "{err:?}");
    assert!(!span.fields["error.type"].is_empty());
    let text = captured.all_text();
    assert!(
        !text.contains(secret),
        "a span or event carries the secret:\n{text}"
    );
    // avb's own span names no key and no credential.
    let ours = format!("{:?}", captured.spans_named("avb"));
    for hidden in [secret, server.key.as_str(), key] {
        assert!(
            !ours.contains(hidden),
            "the avb span carries {hidden:?}: {ours}"
        );
    }
}

#[tokio::test]
async fn llm_spans_follow_the_gen_ai_conventions_and_metrics_count_tokens() {
    use avb::llm::{ChatRequest, LlmClient};
    use futures::StreamExt;
    let inner: Arc<dyn LlmClient> = Arc::new(avb::llm::mock::MockLlm::new(
        avb::llm::config::MockSettings::new(),
    ));
    let metrics = Arc::new(Metrics::new());
    let llm = avb::instrument::InstrumentedLlm::new(
        inner.clone(),
        MeteredLayer::new(metrics.clone(), "llm", inner.backend()).layer(Direct),
    )
    .with_metrics(metrics.clone());
    let (captured, _guard) = capture();
    let prompt = "the quick brown fox jumps";
    let answer = llm
        .chat(ChatRequest::user(prompt).max_tokens(16))
        .await
        .unwrap();
    let mut stream = llm
        .chat_stream(ChatRequest::user("stream please"))
        .await
        .unwrap();
    let mut streamed = String::new();
    while let Some(d) = stream.next().await {
        streamed.push_str(&d.unwrap().content);
    }
    // The stream handed out is re-emitted by the instrument: same text and summary as the backend's.
    let direct = inner
        .chat_stream(ChatRequest::user("stream please"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed, direct.content);
    let summary = stream.summary().expect("a summary after the end");
    assert_eq!(summary.usage, direct.usage);
    assert_eq!(summary.finish_reason, direct.finish_reason);
    assert!(summary.timing.time_to_first_token.is_some());
    assert!(
        llm.chat(ChatRequest::user("x").model("no-such-model"))
            .await
            .is_err()
    );

    let spans = captured.spans_named("gen_ai");
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let chat = &spans[0];
    let model = inner.model();
    assert_eq!(chat.fields["otel.name"], format!("chat {model}"));
    assert_eq!(chat.fields["gen_ai.operation.name"], "chat");
    assert_eq!(chat.fields["gen_ai.provider.name"], "mock");
    assert_eq!(chat.fields["gen_ai.request.model"], model);
    assert_eq!(chat.fields["gen_ai.request.max_tokens"], "16");
    assert_eq!(
        chat.fields["gen_ai.usage.input_tokens"],
        answer.usage.prompt_tokens.to_string()
    );
    assert_eq!(
        chat.fields["gen_ai.usage.output_tokens"],
        answer.usage.completion_tokens.to_string()
    );
    assert!(answer.usage.completion_tokens > 0);
    let ttft: f64 = spans[1].fields["gen_ai.server.time_to_first_token"]
        .parse()
        .unwrap();
    assert!(ttft >= 0.0);
    assert_eq!(spans[2].fields["gen_ai.request.model"], "no-such-model");
    assert_eq!(spans[2].fields["error.type"], "not_found");
    let text = captured.all_text();
    assert!(
        !text.contains(prompt) && !text.contains(&answer.content),
        "prompt or answer in spans:\n{text}"
    );

    let m = metrics.encode();
    for line in [
        format!(
            r#"avb_llm_tokens_total{{backend="mock",model="{model}",type="input"}} {}"#,
            answer.usage.prompt_tokens + summary.usage.prompt_tokens
        ),
        format!(
            r#"avb_llm_tokens_total{{backend="mock",model="{model}",type="output"}} {}"#,
            answer.usage.completion_tokens + summary.usage.completion_tokens
        ),
        format!(r#"avb_llm_time_to_first_token_seconds_count{{backend="mock",model="{model}"}} 1"#),
    ] {
        assert!(m.contains(&line), "missing {line:?} in\n{m}");
    }
}

#[cfg(feature = "llm-conformance")]
/// The LLM port as the Platform hands it out (metered, with metrics: streams re-emitted to count their
/// tokens) still passes the LLM conformance suite — on the mock, and on llama.cpp through the OpenAI API.
#[tokio::test]
async fn the_instrumented_llm_passes_the_conformance_suite() {
    use avb::llm::conformance::{self, Expect, Harness};
    let metrics = Arc::new(Metrics::new());
    let mut runs = vec![(
        vec![("LLM_PROVIDER".to_string(), "mock".to_string())],
        Expect::all(),
    )];
    if let Some(url) = avb::testing::live_server("AVB_TEST_LLAMACPP_URL") {
        let model = avb::testing::harness_value("AVB_TEST_LLAMACPP_MODEL").unwrap();
        runs.push((
            vec![
                ("LLM_PROVIDER".into(), "openai".into()),
                (
                    "LLM_API_URL".into(),
                    format!("{}/v1", url.trim_end_matches('/')),
                ),
                ("LLM_MODEL".into(), model),
            ],
            Expect::all().skipped(
                "unknown_model_not_found",
                avb::llm::capability::REJECTS_UNKNOWN_MODEL,
            ),
        ));
    }
    for (pairs, expect) in runs {
        let config = avb::config::Config::from_iter(pairs).unwrap();
        let ports = avb::Ports::open(config)
            .await
            .unwrap()
            .instrumented(&metrics);
        let llm = ports.llm().clone();
        conformance::run_all(&Harness::new(llm))
            .await
            .assert_exact(&expect);
    }
    let text = metrics.encode();
    assert!(
        text.contains(r#"avb_llm_tokens_total{backend="mock""#),
        "{text}"
    );
}
