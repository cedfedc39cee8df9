//! A [`Platform`] served on a loopback port, and the production configuration on the harness's live servers
//! (shared by the HTTP, dev console and browser tests).

use avb::Platform;
use std::sync::Arc;

/// The sample catalog (the JSON backend's file in these configurations).
#[allow(dead_code)] // not every test file that includes this module uses every item
pub const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stub-catalog.json");

/// Serves `platform` (`avb::http::router`) on a loopback port; the base URL.
pub async fn serve(platform: Arc<Platform>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, avb::http::router(platform))
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// `AVB_ENV=production` on the harness's Redis, oidc-provider and s3s-fs (catalog: [`SAMPLE`]; LLM: an
/// Ollama URL nothing calls). `None` when one of those servers is missing (the harness said why, or failed
/// the test under `AVB_TEST_REQUIRE_LIVE=1`).
#[allow(dead_code)]
#[cfg(feature = "testing")]
pub fn production_pairs() -> Option<Vec<(&'static str, String)>> {
    let server = avb::testing::live_server;
    let value = avb::testing::harness_value;
    let pairs = vec![
        ("AVB_ENV", "production".to_string()),
        ("EVENT_BUS", "redis".into()),
        ("REDIS_URL", server("AVB_TEST_REDIS_URL")?),
        ("AUTH_MODE", "keycloak".into()),
        ("OIDC_ISSUER_URL", server("AVB_TEST_OIDC_URL")?),
        ("OIDC_AUDIENCE", "avb-api".into()),
        ("OBJECT_STORE", "s3".into()),
        ("AWS_ENDPOINT_URL", server("AVB_TEST_S3_URL")?),
        ("AWS_ACCESS_KEY_ID", value("AVB_TEST_S3_ACCESS_KEY")?),
        ("AWS_SECRET_ACCESS_KEY", value("AVB_TEST_S3_SECRET_KEY")?),
        ("OBJECT_STORE_BUCKET", value("AVB_TEST_S3_BUCKET")?),
        ("DATA_CATALOG", "json".into()),
        ("DATA_CATALOG_FILE", SAMPLE.into()),
        ("LLM_PROVIDER", "ollama".into()),
        ("LLM_API_URL", "http://127.0.0.1:11434".into()),
        ("LLM_MODEL", "gemma3:270m".into()),
    ];
    Some(pairs)
}
