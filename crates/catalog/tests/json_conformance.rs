//! The conformance suite on the JSON backend: the sample file, read from disk as a deployment reads it.

#![cfg(feature = "conformance")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use avb_catalog::conformance::{self, Expect, Harness};
use avb_catalog::json::JsonCatalog;
use std::sync::Arc;

#[tokio::test]
async fn conformance_on_the_json_file() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/stub-catalog.json"
    );
    let catalog = Arc::new(JsonCatalog::open(file).unwrap());
    conformance::run_all(&Harness::new(catalog))
        .await
        .assert_exact(&Expect::all());
}

/// The suite can fail: a catalog whose content differs from the sample (one input type changed) does.
#[tokio::test]
async fn conformance_fails_on_different_content() {
    let text =
        avb_catalog::json::SAMPLE.replacen(r#""limit": "integer?""#, r#""limit": "number?""#, 1);
    assert_ne!(text, avb_catalog::json::SAMPLE);
    let data = avb_catalog::parse::parse_catalog("changed", &text).unwrap();
    let report = conformance::run_all(&Harness::new(Arc::new(JsonCatalog::from_data(data)))).await;
    let diff = report.diff(&Expect::all()).unwrap_err().join("\n");
    assert!(diff.contains("FAILED get_method_signature"), "{diff}");
    assert!(diff.contains("FAILED validate_every_mismatch"), "{diff}");
}
