//! The conformance suite on the mock, and proof that it can fail.

#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use avb_llm::config::{MockFailure, MockSettings};
use avb_llm::conformance::{self, Expect, Harness};
use avb_llm::mock::MockLlm;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn conformance_on_the_mock() {
    let llm = Arc::new(MockLlm::new(MockSettings::new()));
    conformance::run_all(&Harness::new(llm))
        .await
        .assert_exact(&Expect::all());
}

/// With latency and a delay between tokens the answers are the same.
#[tokio::test(start_paused = true)]
async fn conformance_on_a_slow_mock() {
    let llm = Arc::new(MockLlm::new(MockSettings {
        latency: Duration::from_millis(300),
        token_delay: Duration::from_millis(30),
        ..MockSettings::new()
    }));
    conformance::run_all(&Harness::new(llm))
        .await
        .assert_exact(&Expect::all());
}

/// The suite can fail: a mock whose streams break midway fails the streaming and chat cases.
#[tokio::test]
async fn conformance_fails_on_a_broken_stream() {
    let llm = Arc::new(MockLlm::new(MockSettings {
        fail: MockFailure::MidStream,
        ..MockSettings::new()
    }));
    let report = conformance::run_all(&Harness::new(llm)).await;
    let diff = report.diff(&Expect::all()).unwrap_err().join("\n");
    assert!(diff.contains("FAILED stream_deltas_and_summary"), "{diff}");
    assert!(diff.contains("FAILED chat_usage_and_finish"), "{diff}");
    assert!(!diff.contains("health_up"), "{diff}");
}
