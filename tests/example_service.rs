//! `examples/service.rs` built and run as a process, both ways: on the sandbox default, and — with
//! environment variables only — on the live servers (Redis, oidc-provider, S3, the OpenMetadata contract
//! server, Ollama). Every route is driven over HTTP: the authenticated publish, the consumer's stored object
//! and catalog lookup (read back through the service), the LLM answer over SSE, avb's own routes; SIGTERM
//! stops it with exit code 0.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/http.rs"]
mod http;
#[path = "support/sse.rs"]
mod sse;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The cargo features this test was built with, so the example is built against the same `avb`. `every_feature_is_listed` keeps the list in step with Cargo.toml.
const FEATURES: &[(&str, bool)] = &[
    ("otlp", cfg!(feature = "otlp")),
    ("event-bus-memory", cfg!(feature = "event-bus-memory")),
    ("event-bus-redis", cfg!(feature = "event-bus-redis")),
    ("event-bus-kafka", cfg!(feature = "event-bus-kafka")),
    ("event-bus-pulsar", cfg!(feature = "event-bus-pulsar")),
    (
        "event-bus-conformance",
        cfg!(feature = "event-bus-conformance"),
    ),
    ("object-store-memory", cfg!(feature = "object-store-memory")),
    ("object-store-fs", cfg!(feature = "object-store-fs")),
    ("object-store-s3", cfg!(feature = "object-store-s3")),
    (
        "object-store-conformance",
        cfg!(feature = "object-store-conformance"),
    ),
    ("auth-oidc", cfg!(feature = "auth-oidc")),
    ("auth-axum", cfg!(feature = "auth-axum")),
    ("auth-conformance", cfg!(feature = "auth-conformance")),
    ("catalog-json", cfg!(feature = "catalog-json")),
    (
        "catalog-openmetadata",
        cfg!(feature = "catalog-openmetadata"),
    ),
    ("catalog-conformance", cfg!(feature = "catalog-conformance")),
    ("llm-openai", cfg!(feature = "llm-openai")),
    ("llm-ollama", cfg!(feature = "llm-ollama")),
    ("llm-conformance", cfg!(feature = "llm-conformance")),
    ("http", cfg!(feature = "http")),
    ("check", cfg!(feature = "check")),
    ("testing", cfg!(feature = "testing")),
];

#[test]
fn every_feature_is_listed() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let section = manifest.split("[features]\n").nth(1).unwrap();
    let section = &section[..section.find("\n[").unwrap()];
    for line in section.lines() {
        if let Some((name, _)) = line.split_once(" = [") {
            let name = name.trim();
            assert!(
                name == "default" || FEATURES.iter().any(|(f, _)| *f == name),
                "feature {name} is missing from FEATURES"
            );
        }
    }
}

/// Builds the example (a no-op when it is fresh) with this test's features; its path.
fn example_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            // With every feature on, build as `scripts/test` does (`--workspace --all-features`), whose
            // run has already built the example: nothing is compiled again.
            let features: Vec<&str> = FEATURES
                .iter()
                .filter(|(_, on)| *on)
                .map(|(f, _)| *f)
                .collect();
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["build", "--example", "service"]);
            if features.len() == FEATURES.len() {
                cargo.args(["--workspace", "--all-features"]);
            } else {
                cargo.args(["--no-default-features", "--features", &features.join(",")]);
            }
            let out = cargo.output().unwrap();
            assert!(
                out.status.success(),
                "cargo build --example service failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // <target>/debug/deps/example_service-… → <target>/debug/examples/service
            let exe = std::env::current_exe().unwrap();
            let profile = exe.parent().and_then(|d| d.parent()).unwrap();
            let path = profile.join("examples").join("service");
            assert!(path.is_file(), "{} missing after the build", path.display());
            path
        })
        .clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The running example; killed if the test fails before it stops it.
struct Service {
    child: Option<Child>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Service {
    async fn start(vars: &[(&str, String)]) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(example_binary());
        command
            .env_clear()
            .env("AVB_HTTP_ADDR", &addr)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut service = Service {
            child: Some(command.spawn().unwrap()),
            base: format!("http://{addr}"),
            _dir: dir,
        };
        // Up when /health answers; a process that exited fails the test with its output.
        for _ in 0..600 {
            if http::client()
                .get(format!("{}/health", service.base))
                .send()
                .await
                .is_ok()
            {
                return service;
            }
            if let Some(status) = service.child.as_mut().unwrap().try_wait().unwrap() {
                let out = service.child.take().unwrap().wait_with_output().unwrap();
                panic!(
                    "the example exited ({status}) before answering:\n{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the example never answered on {}", service.base);
    }

    /// SIGTERM; asserts exit code 0 and the clean-stop line.
    fn stop(mut self) {
        let child = self.child.take().unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "exit {:?}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("service: stopped"), "{stdout}");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http::client().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Places an order and waits until the consumer has processed it; what `GET /orders/{id}` answers.
async fn order(base: &str, token: &str, method: &str, inputs: Value) -> Value {
    let (status, placed) = call(
        reqwest::Method::POST,
        format!("{base}/orders"),
        Some(token),
        Some(json!({ "method": method, "inputs": inputs })),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let id = placed["id"].as_str().unwrap().to_string();
    // The consumer runs asynchronously: ask until it reports the order (a hang guard, not a timed assertion).
    for _ in 0..600 {
        let (status, body) = call(
            reqwest::Method::GET,
            format!("{base}/orders/{id}"),
            Some(token),
            None,
        )
        .await;
        match status {
            200 => {
                assert_eq!(body["id"], id.as_str());
                assert_eq!(
                    body["stored"]["id"],
                    id.as_str(),
                    "the stored object is the order: {body}"
                );
                assert_eq!(body["stored"]["method"], method);
                assert_eq!(body["object_key"], format!("orders/{id}.json"));
                return body;
            }
            404 => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => panic!("GET /orders/{id}: {status} {body}"),
        }
    }
    panic!("order {id} was never processed");
}

/// Every route: authentication refusals, two orders (a known method, an unknown one), the LLM answer over
/// SSE, avb's routes.
async fn drive(service: &Service, token: &str, mode: &str) {
    let base = service.base.as_str();
    let (status, body) = call(
        reqwest::Method::POST,
        format!("{base}/orders"),
        None,
        Some(json!({"method": "x"})),
    )
    .await;
    assert_eq!(status, 401, "no token: {body}");

    let known = order(
        base,
        token,
        "crawler_twitter_profile",
        json!({"username": "ada"}),
    )
    .await;
    assert_eq!(known["catalog"]["found"], true, "{known}");
    assert_eq!(known["catalog"]["entity_type"], "person");
    assert_eq!(known["catalog"]["valid"], true);
    let wrong = order(
        base,
        token,
        "crawler_twitter_profile",
        json!({"username": 42}),
    )
    .await;
    assert_eq!(wrong["catalog"]["valid"], false, "{wrong}");
    assert!(
        wrong["catalog"]["mismatches"][0]
            .as_str()
            .unwrap()
            .contains("username")
    );
    let unknown = order(base, token, "no_such_method", json!({})).await;
    assert_eq!(unknown["catalog"]["found"], false, "{unknown}");

    let mut answer = sse::Sse::open(&format!("{base}/answer?q=Say%20hello")).await;
    let mut tokens = 0;
    loop {
        let e = answer.next().await;
        match e.event.as_str() {
            "token" => tokens += 1,
            "done" => break,
            other => panic!("unexpected {other} event: {}", e.data),
        }
    }
    assert!(tokens > 0, "the answer streamed no token");

    let (status, health) = call(reqwest::Method::GET, format!("{base}/health"), None, None).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["mode"], mode);
    let console = http::client()
        .get(format!("{base}/console"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        console.status().as_u16(),
        200,
        "the dev console is mounted (development)"
    );
}

#[tokio::test]
async fn the_example_runs_on_the_sandbox_default() {
    let service = Service::start(&[]).await;
    // Sandbox auth trusts every token; a token is still required by the route.
    drive(&service, "any-token", "sandbox").await;
    service.stop();
}

#[cfg(all(
    feature = "event-bus-redis",
    feature = "auth-oidc",
    feature = "object-store-s3",
    feature = "catalog-openmetadata",
    feature = "llm-ollama",
    feature = "testing"
))]
#[tokio::test]
async fn the_example_runs_unchanged_on_the_live_servers() {
    let get = avb::testing::live_server;
    let val = avb::testing::harness_value;
    let (Some(redis), Some(issuer), Some(s3), Some(metadata), Some(ollama)) = (
        get("AVB_TEST_REDIS_URL"),
        get("AVB_TEST_OIDC_URL"),
        get("AVB_TEST_S3_URL"),
        get("AVB_TEST_OPENMETADATA_URL"),
        get("AVB_TEST_OLLAMA_URL"),
    ) else {
        return;
    };
    let (Some(key), Some(secret), Some(bucket), Some(metadata_token), Some(model)) = (
        val("AVB_TEST_S3_ACCESS_KEY"),
        val("AVB_TEST_S3_SECRET_KEY"),
        val("AVB_TEST_S3_BUCKET"),
        val("AVB_TEST_OPENMETADATA_TOKEN"),
        val("AVB_TEST_OLLAMA_MODEL"),
    ) else {
        return;
    };
    let service = Service::start(&[
        ("AVB_DEV_MODE", "live".into()),
        ("EVENT_BUS", "redis".into()),
        ("REDIS_URL", redis),
        ("AUTH_MODE", "keycloak".into()),
        ("OIDC_ISSUER_URL", issuer.clone()),
        ("OIDC_AUDIENCE", "urn:avb:api".into()),
        ("OBJECT_STORE", "s3".into()),
        ("AWS_ENDPOINT_URL", s3),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("OBJECT_STORE_BUCKET", bucket),
        ("DATA_CATALOG", "openmetadata".into()),
        ("OPENMETADATA_URL", metadata),
        ("OPENMETADATA_TOKEN", metadata_token),
        ("LLM_PROVIDER", "ollama".into()),
        ("LLM_API_URL", ollama),
        ("LLM_MODEL", model),
    ])
    .await;
    // A token from the OIDC provider, in a workspace of its own (the Redis topic and S3 prefix are fresh).
    let workspace = format!("ex{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let signed: Value = http::client()
        .post(format!("{issuer}/test/sign"))
        .json(&json!({"claims": {"workspace_id": workspace}, "key": "rsa"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed["token"].as_str().unwrap().to_string();
    let (status, body) = call(
        reqwest::Method::POST,
        format!("{}/orders", service.base),
        Some("not-a-jwt"),
        Some(json!({"method": "x"})),
    )
    .await;
    assert_eq!(
        status, 401,
        "a bad token is refused by the live Auth port: {body}"
    );
    drive(&service, &token, "live").await;
    service.stop();
}

/// The other live servers, same program: Kafka, Keycloak (a client-credentials token), MinIO, the
/// OpenMetadata contract server, llama.cpp through the OpenAI-compatible backend.
#[cfg(all(
    feature = "event-bus-kafka",
    feature = "auth-oidc",
    feature = "object-store-s3",
    feature = "catalog-openmetadata",
    feature = "llm-openai",
    feature = "testing"
))]
#[tokio::test]
async fn the_example_runs_unchanged_on_kafka_keycloak_minio_and_llamacpp() {
    let get = avb::testing::live_server;
    let val = avb::testing::harness_value;
    let (Some(kafka), Some(issuer), Some(minio), Some(metadata), Some(llamacpp)) = (
        get("AVB_TEST_KAFKA_BOOTSTRAP"),
        get("AVB_TEST_KEYCLOAK_URL"),
        get("AVB_TEST_MINIO_URL"),
        get("AVB_TEST_OPENMETADATA_URL"),
        get("AVB_TEST_LLAMACPP_URL"),
    ) else {
        return;
    };
    let (Some(key), Some(secret), Some(bucket), Some(metadata_token), Some(model)) = (
        val("AVB_TEST_MINIO_ACCESS_KEY"),
        val("AVB_TEST_MINIO_SECRET_KEY"),
        val("AVB_TEST_MINIO_BUCKET"),
        val("AVB_TEST_OPENMETADATA_TOKEN"),
        val("AVB_TEST_LLAMACPP_MODEL"),
    ) else {
        return;
    };
    let service = Service::start(&[
        ("AVB_DEV_MODE", "live".into()),
        ("EVENT_BUS", "kafka".into()),
        ("KAFKA_BOOTSTRAP_SERVERS", kafka),
        ("AUTH_MODE", "keycloak".into()),
        ("OIDC_ISSUER_URL", issuer.clone()),
        ("OIDC_AUDIENCE", "avb-api".into()),
        ("OBJECT_STORE", "s3".into()),
        ("AWS_ENDPOINT_URL", minio),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("OBJECT_STORE_BUCKET", bucket),
        ("DATA_CATALOG", "openmetadata".into()),
        ("OPENMETADATA_URL", metadata),
        ("OPENMETADATA_TOKEN", metadata_token),
        ("LLM_PROVIDER", "openai".into()),
        (
            "LLM_API_URL",
            format!("{}/v1", llamacpp.trim_end_matches('/')),
        ),
        ("LLM_MODEL", model),
    ])
    .await;
    // The realm's service client (loopback test credentials from tests/fixtures/keycloak/avb-realm.json).
    let grant: Value = http::client()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "avb-service"),
            ("client_secret", "avb-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = grant["access_token"].as_str().unwrap().to_string();
    drive(&service, &token, "live").await;
    service.stop();
}
