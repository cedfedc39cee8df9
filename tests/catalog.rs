//! The Catalog port through the facade: the conformance suite on json and on openmetadata (the contract
//! server of `scripts/services`, serving the same sample content), with zero code change between them; the
//! snapshot of OpenMetadata equal to the JSON sample; 401, retries, redaction.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::catalog::conformance::{self, Expect, Harness};
use avb::catalog::openmetadata::OpenMetadataCatalog;
use avb::catalog::{Catalog, Classify, ErrorClass};
use avb::config::Config;
use std::sync::Arc;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stub-catalog.json");

fn config(pairs: &[(&str, &str)]) -> Config {
    Config::from_iter(pairs.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
}

/// The contract server's URL and token, or skip (fail under AVB_TEST_REQUIRE_LIVE=1).
fn contract_server() -> Option<(String, String)> {
    let url = avb::testing::live_server("AVB_TEST_OPENMETADATA_URL")?;
    let token = avb::testing::harness_value("AVB_TEST_OPENMETADATA_TOKEN")?;
    Some((url, token))
}

async fn open(pairs: &[(&str, &str)]) -> Arc<dyn Catalog> {
    avb::catalog::open(&config(pairs).catalog.backend)
        .await
        .unwrap()
}

#[tokio::test]
async fn conformance_on_json_through_the_facade() {
    let catalog = open(&[("DATA_CATALOG", "json"), ("DATA_CATALOG_FILE", SAMPLE)]).await;
    assert_eq!(catalog.backend(), "json");
    conformance::run_all(&Harness::new(catalog))
        .await
        .assert_exact(&Expect::all());
}

#[tokio::test]
async fn conformance_on_openmetadata_contract_server() {
    let Some((url, token)) = contract_server() else {
        return;
    };
    // Exactly what a deployment sets; the code is the same as for json.
    let catalog = open(&[
        ("DATA_CATALOG", "openmetadata"),
        ("OPENMETADATA_URL", &url),
        ("OPENMETADATA_TOKEN", &token),
    ])
    .await;
    assert_eq!(catalog.backend(), "openmetadata");
    conformance::run_all(&Harness::new(catalog))
        .await
        .assert_exact(&Expect::all());
}

/// Pages of 2: every list crosses many pages (13 + 1 deleted endpoints, 2 glossaries, 10 terms), and the
/// answers are the same as with one page.
#[tokio::test]
async fn conformance_on_openmetadata_with_pages_of_2() {
    let Some((url, token)) = contract_server() else {
        return;
    };
    let catalog =
        OpenMetadataCatalog::with_page_size(&url.parse().unwrap(), Some(&token), 2).unwrap();
    assert_eq!(catalog.page_size(), 2);
    conformance::run_all(&Harness::new(Arc::new(catalog)))
        .await
        .assert_exact(&Expect::all());
}

/// Same logical content: the snapshot of OpenMetadata is the JSON sample, value for value.
#[tokio::test]
async fn the_openmetadata_snapshot_is_the_json_sample() {
    let Some((url, token)) = contract_server() else {
        return;
    };
    let om = OpenMetadataCatalog::new(&url.parse().unwrap(), Some(&token)).unwrap();
    let json = avb::catalog::json::JsonCatalog::open(SAMPLE).unwrap();
    let from_om = avb::catalog::snapshot(&om).await.unwrap();
    let from_json = avb::catalog::snapshot(&json).await.unwrap();
    assert_eq!(from_om, from_json);
    assert_eq!(
        from_om.methods.len(),
        13,
        "the deleted endpoint is not a method"
    );
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_unauthorized_and_never_shown() {
    let Some((url, _)) = contract_server() else {
        return;
    };
    let secret = "wrong-token-SeCrEtMk";
    for token in [Some(secret), None] {
        let om = OpenMetadataCatalog::new(&url.parse().unwrap(), token).unwrap();
        let err = om.list_methods(None).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Unauthorized, "{err}");
        assert!(err.to_string().contains("HTTP 401"), "{err}");
        assert!(!err.to_string().contains("SeCrEtMk"), "{err}");
        let health = om.health().await;
        assert!(!health.is_up());
        assert!(!format!("{health:?}").contains("SeCrEtMk"), "{health:?}");
    }
}

async fn inject(url: &str, token: &str, status: u16, count: u32) {
    let root = url.trim_end_matches("/api");
    let client = reqwest::Client::new();
    let answer = client
        .post(format!(
            "{root}/__contract/fail?token={token}&status={status}&count={count}"
        ))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
}

async fn calls(url: &str, token: &str) -> u64 {
    let root = url.trim_end_matches("/api");
    let v: serde_json::Value = reqwest::get(format!("{root}/__contract/stats?token={token}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["calls"].as_u64().unwrap()
}

/// 503 is retried (three times): two in a row are absorbed; four in a row are the retryable error after
/// exactly four attempts. A 500 is not retried.
#[tokio::test]
async fn only_retryable_failures_are_retried() {
    let Some((url, _)) = contract_server() else {
        return;
    };
    let token = format!("retry-{}", std::process::id());
    let om = OpenMetadataCatalog::new(&url.parse().unwrap(), Some(&token)).unwrap();
    inject(&url, &token, 503, 2).await;
    assert_eq!(om.list_ontology_versions().await.unwrap(), ["1.0", "2.0"]);
    assert_eq!(calls(&url, &token).await, 3);
    inject(&url, &token, 503, 4).await;
    let err = om.list_ontology_versions().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(calls(&url, &token).await, 3 + 4);
    inject(&url, &token, 500, 1).await;
    let err = om.list_ontology_versions().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert_eq!(calls(&url, &token).await, 3 + 4 + 1);
}

#[test]
fn openmetadata_without_its_url_fails_at_startup_naming_it() {
    let err = Config::from_iter([("DATA_CATALOG", "openmetadata")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("OPENMETADATA_URL"), "{err}");
}

#[test]
fn the_token_is_redacted_in_the_summary_and_json() {
    let config = config(&[
        ("DATA_CATALOG", "openmetadata"),
        ("OPENMETADATA_URL", "http://127.0.0.1:18585/api"),
        ("OPENMETADATA_TOKEN", "tok-SeCrEtMk"),
    ]);
    let shown = format!("{config}\n{}", serde_json::to_string(&config).unwrap());
    assert!(!shown.contains("SeCrEtMk"), "{shown}");
    assert!(shown.contains("openmetadata"), "{shown}");
}

/// The contract server itself answers as OpenMetadata does: `fields` filtering, cursors both ways,
/// `include`, `{code, errorType, message}` errors, 401 without the token.
#[tokio::test]
async fn the_contract_server_answers_like_openmetadata() {
    let Some((url, token)) = contract_server() else {
        return;
    };
    let http = reqwest::Client::new();
    let get = |path: String, auth: bool| {
        let mut r = http.get(format!("{url}/v1/{path}"));
        if auth {
            r = r.header("Authorization", format!("Bearer {token}"));
        }
        async move {
            let answer = r.send().await.unwrap();
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await.unwrap();
            (status, body)
        }
    };
    // Default limit 10; total counts non-deleted entities; `after` leads on, `before` leads back.
    let (status, first) = get("apiEndpoints".into(), true).await;
    assert_eq!(status, 200);
    assert_eq!(first["data"].as_array().unwrap().len(), 10);
    assert_eq!(first["paging"]["total"], 13);
    assert!(first["paging"].get("before").is_none());
    assert!(
        first["data"][0].get("tags").is_none(),
        "tags only with fields=tags"
    );
    let after = first["paging"]["after"].as_str().unwrap();
    let (_, second) = get(format!("apiEndpoints?after={after}&fields=tags"), true).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 3);
    assert!(second["paging"].get("after").is_none());
    assert!(second["data"][0]["tags"].is_array());
    let before = second["paging"]["before"].as_str().unwrap();
    let (_, back) = get(format!("apiEndpoints?before={before}"), true).await;
    assert_eq!(back["data"], first["data"]);
    // include: the deleted endpoint only with deleted/all.
    let (_, deleted) = get("apiEndpoints?include=deleted".into(), true).await;
    assert_eq!(deleted["paging"]["total"], 1);
    assert_eq!(deleted["data"][0]["name"], "crawler_myspace_profile");
    let (_, all) = get("apiEndpoints?include=all&limit=100".into(), true).await;
    assert_eq!(all["paging"]["total"], 14);
    // Errors: shape and status.
    let (status, bad_field) = get("glossaryTerms?fields=nope".into(), true).await;
    assert_eq!(status, 400);
    assert_eq!(bad_field["message"], "Invalid field name nope");
    let (status, missing) = get(
        "glossaries/00000000-0000-0000-0000-000000000000".into(),
        true,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(missing["code"], 404);
    assert!(missing["errorType"].is_string() && missing["message"].is_string());
    let (status, anonymous) = get("system/version".into(), false).await;
    assert_eq!(
        (status, anonymous["code"].clone()),
        (401, serde_json::json!(401))
    );
    // An entity's versions: EntityVersionHistory.
    let id = first["data"][0]["id"].as_str().unwrap();
    let (status, history) = get(format!("apiEndpoints/{id}/versions"), true).await;
    assert_eq!(status, 200);
    assert_eq!(history["entityType"], "apiEndpoint");
}
