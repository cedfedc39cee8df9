//! `avb::Platform` behind `avb::http::router`, over real HTTP: `/health`, the dev-mode API (read, switch,
//! refusals), and the mode switch's guarantees (new ports built first; nothing changes on a refusal; the
//! old snapshot keeps working; production refuses with 403).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/served.rs"]
mod served;

#[path = "support/http.rs"]
mod http;
#[path = "support/private_redis.rs"]
mod private_redis;

use avb::Platform;
use serde_json::{Value, json};
use served::{SAMPLE, serve};
use std::sync::Arc;

async fn get(url: &str) -> (u16, Value) {
    let r = http::client().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn post(url: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = http::client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn health_and_dev_mode_on_the_sandbox_default() {
    let platform = Arc::new(
        Platform::from_pairs(Vec::<(String, String)>::new())
            .await
            .unwrap(),
    );
    let base = serve(platform).await;
    let (status, body) = get(&format!("{base}/health")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["mode"], "sandbox");
    assert_eq!(body["environment"], "development");
    for port in ["event_bus", "auth", "object_store", "catalog"] {
        assert_eq!(body["components"][port]["status"], "up", "{body}");
    }
    let (status, body) = get(&format!("{base}/api/v2/system/dev-mode")).await;
    assert_eq!(status, 200);
    assert_eq!(body["mode"], "sandbox");
    assert_eq!(body["switchable"], true);
    assert_eq!(body["features"]["event_bus"]["backend"], "memory");
    assert_eq!(body["features"]["auth"]["backend"], "none");
}

#[tokio::test]
async fn metrics_count_what_the_platforms_ports_did() {
    let platform = Arc::new(
        Platform::from_pairs(Vec::<(String, String)>::new())
            .await
            .unwrap(),
    );
    let ports = platform.ports();
    let topic = avb::event_bus::Topic::new(&avb::WorkspaceId::new("acme").unwrap(), "t").unwrap();
    for _ in 0..3 {
        ports
            .event_bus()
            .publish(&topic, avb::event_bus::Message::new(&b"x"[..]))
            .await
            .unwrap();
    }
    let too_big = avb::event_bus::Message::new(vec![0u8; 64 * 1024 * 1024]);
    assert!(ports.event_bus().publish(&topic, too_big).await.is_err());
    ports.auth().authenticate("anything").await.unwrap();
    ports.catalog().list_methods(None).await.unwrap();
    ports
        .object_store()
        .put("k", bytes::Bytes::from_static(b"v"), Default::default())
        .await
        .unwrap();
    assert!(ports.object_store().get_bytes("missing").await.is_err());
    assert!(ports.catalog().get_method("no-such-method").await.is_err());
    ports
        .llm()
        .chat(avb::llm::ChatRequest::user("hello"))
        .await
        .unwrap();
    let mut stream = ports
        .llm()
        .chat_stream(avb::llm::ChatRequest::user("hello"))
        .await
        .unwrap();
    use futures::StreamExt;
    while stream.next().await.is_some() {}
    let base = serve(platform.clone()).await;
    let r = http::client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text().await.unwrap();
    for line in [
        r#"avb_event_bus_operations_total{backend="memory",operation="publish",result="ok"} 3"#,
        r#"avb_event_bus_operations_total{backend="memory",operation="publish",result="permanent"} 1"#,
        r#"avb_event_bus_publish_failures_total{backend="memory",class="permanent"} 1"#,
        r#"avb_auth_decisions_total{backend="none",decision="accepted"} 1"#,
        r#"avb_catalog_operations_total{backend="json",operation="list_methods",result="ok"} 1"#,
        r#"avb_catalog_operations_total{backend="json",operation="get_method",result="not_found"} 1"#,
        r#"avb_llm_operations_total{backend="mock",operation="chat",result="ok"} 1"#,
        r#"avb_object_store_operations_total{backend="memory",operation="put",result="ok"} 1"#,
        r#"avb_object_store_operations_total{backend="memory",operation="get",result="not_found"} 1"#,
        r#"avb_llm_operations_total{backend="mock",operation="chat_stream",result="ok"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[tokio::test]
async fn an_invalid_live_configuration_is_refused_with_its_problems_and_nothing_changes() {
    let platform = Arc::new(
        Platform::from_pairs(Vec::<(String, String)>::new())
            .await
            .unwrap(),
    );
    let before = platform.ports();
    let base = serve(platform.clone()).await;
    let url = format!("{base}/api/v2/system/dev-mode");
    let (status, body) = post(&url, r#"{"mode": "live"}"#, None).await;
    assert_eq!(status, 422, "{body}");
    let problems = body["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains("PULSAR_URL is required")),
        "{body}"
    );
    assert!(body["error"].as_str().unwrap().contains("nothing changed"));
    assert!(
        Arc::ptr_eq(&before, &platform.ports()),
        "the ports were replaced"
    );
    assert_eq!(get(&url).await.1["mode"], "sandbox");

    // Bodies it cannot read: 400, naming what it wants.
    for bad in [r#"{"mode": "prod"}"#, r#"{"nope": 1}"#, "not json"] {
        let (status, body) = post(&url, bad, None).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("sandbox"),
            "{body}"
        );
    }
    assert!(Arc::ptr_eq(&before, &platform.ports()));

    // A body a browser may send cross-site without a preflight (form, text/plain): 415, nothing changes —
    // even with AUTH_MODE=none a page the developer visits cannot switch the mode (request forgery).
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = http::client()
            .post(&url)
            .header("content-type", content_type)
            .body(r#"{"mode": "sandbox"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 415, "{content_type}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("application/json"),
            "{body}"
        );
    }
    let r = http::client()
        .post(&url)
        .body(r#"{"mode": "sandbox"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415, "no content type");
    assert!(Arc::ptr_eq(&before, &platform.ports()));
}

/// Live pairs that need no server but Redis: per-port choices that live mode accepts in development.
fn live_ready_pairs(redis: &str, key_file: &str) -> Vec<(String, String)> {
    [
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", redis),
        ("AUTH_MODE", "local"),
        ("AVB_AUTH_DEV_KEY_FILE", key_file),
        ("OBJECT_STORE", "memory"),
        ("DATA_CATALOG", "json"),
        ("DATA_CATALOG_FILE", SAMPLE),
        ("LLM_PROVIDER", "mock"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn a_switch_needs_an_owner_or_admin_token_and_swaps_while_old_snapshots_keep_working() {
    let Some(redis) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("dev-key.pem").display().to_string();
    let platform = Arc::new(
        Platform::from_pairs(live_ready_pairs(&redis, &key_file))
            .await
            .unwrap(),
    );
    let base = serve(platform.clone()).await;
    let url = format!("{base}/api/v2/system/dev-mode");
    let issuer =
        avb::auth::local::LocalIssuer::from_key_file(dir.path().join("dev-key.pem")).unwrap();
    let ttl = std::time::Duration::from_secs(300);
    let viewer = issuer.mint("u1", "acme", &["viewer"], ttl).unwrap();
    let owner = issuer.mint("u2", "acme", &["owner"], ttl).unwrap();

    let (status, body) = post(&url, r#"{"mode": "live"}"#, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(&url, r#"{"mode": "live"}"#, Some("not-a-token")).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(&url, r#"{"mode": "live"}"#, Some(&viewer)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("owner or admin"),
        "{body}"
    );
    assert_eq!(get(&url).await.1["mode"], "sandbox");

    let old = platform.ports();
    let mut changes = platform.changes();
    let (status, body) = post(&url, r#"{"mode": "live"}"#, Some(&owner)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "live");
    assert_eq!(body["features"]["event_bus"]["backend"], "redis");
    assert!(changes.has_changed().unwrap());
    changes.mark_unchanged();
    let new = platform.ports();
    assert!(!Arc::ptr_eq(&old, &new), "new ports were built");
    assert_eq!(new.config().mode.as_str(), "live");
    // A request that took the old snapshot finishes on it.
    old.object_store()
        .put("k", bytes::Bytes::from_static(b"old"), Default::default())
        .await
        .unwrap();
    assert_eq!(old.object_store().get_bytes("k").await.unwrap(), "old");
    assert_eq!(get(&format!("{base}/health")).await.1["mode"], "live");

    // Switching to the running mode changes nothing.
    let (status, _) = post(&url, r#"{"mode": "live"}"#, Some(&owner)).await;
    assert_eq!(status, 200);
    assert!(Arc::ptr_eq(&new, &platform.ports()));
    assert!(!changes.has_changed().unwrap());
    // And back.
    let (status, body) = post(&url, &json!({"mode": "sandbox"}).to_string(), Some(&owner)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mode"], "sandbox");
}

#[cfg(all(
    feature = "event-bus-redis",
    feature = "auth-oidc",
    feature = "object-store-s3"
))]
#[tokio::test]
async fn production_refuses_the_switch_with_403() {
    let Some(production) = served::production_pairs() else {
        return;
    };
    let secret = production
        .iter()
        .find(|(k, _)| *k == "AWS_SECRET_ACCESS_KEY")
        .map(|(_, v)| v.clone())
        .unwrap();
    let platform = Arc::new(Platform::from_pairs(production).await.unwrap());
    let before = platform.ports();
    let base = serve(platform.clone()).await;
    let url = format!("{base}/api/v2/system/dev-mode");
    let (status, body) = get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body["switchable"], false);
    assert_eq!(body["environment"], "production");
    let (status, body) = post(&url, r#"{"mode": "sandbox"}"#, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("development"),
        "{body}"
    );
    assert!(Arc::ptr_eq(&before, &platform.ports()));
    // No secret in any answer.
    for answer in [get(&url).await.1, get(&format!("{base}/health")).await.1] {
        assert!(!answer.to_string().contains(secret.as_str()), "{answer}");
    }
}

/// A killed broker makes `/health` degraded (still 200: the other ports work) and `/ready` 503; once the
/// broker is back, both are green again — readiness is never stale in either direction.
#[tokio::test]
async fn a_killed_broker_degrades_health_and_readiness_until_it_is_back() {
    let Some(mut redis) = private_redis::PrivateRedis::start() else {
        return;
    };
    let platform = Arc::new(
        Platform::from_pairs([("EVENT_BUS", "redis"), ("REDIS_URL", redis.url().as_str())])
            .await
            .unwrap(),
    );
    let base = serve(platform).await;
    let health = format!("{base}/health");
    let ready = format!("{base}/ready");
    let (status, body) = get(&health).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("healthy")),
        "{body}"
    );
    assert_eq!(get(&ready).await.0, 200);

    redis.kill();
    let (status, body) = get(&health).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["components"]["event_bus"]["status"], "down", "{body}");
    assert_eq!(body["components"]["object_store"]["status"], "up", "{body}");
    let (status, body) = get(&ready).await;
    assert_eq!(status, 503, "{body}");

    redis.restart();
    // The connection manager reconnects on its own; poll until it has (bounded).
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = get(&ready).await;
        if status == 200 {
            last = Value::Null;
            break;
        }
        last = body;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        last,
        Value::Null,
        "never ready again after the restart: {last}"
    );
    assert_eq!(get(&health).await.1["status"], "healthy");
}
