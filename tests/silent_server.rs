//! A live backend pointed at a server that accepts connections and never answers (a wrong port, a hung
//! process, a firewall that swallows packets after the handshake) must end every call with an error — never
//! hang the service. Each case opens the port against such a server on loopback and makes the port's first
//! real call (on the bus: a publish, then a subscribe or its first `next`); the call must return an error
//! (or open must) within a generous bound, and the error text must not carry the configured secret.
//!
//! The bound is not a performance figure: it only turns a hang into a failure with a message. Each backend's
//! own time limit is what ends the call; the test prints how long it took (figures in
//! `docs/adding-a-backend.md`). The S3 case found the S3 client had no time limit at all: a put waited
//! for ever (`OBJECT_STORE_S3_TIMEOUT_MS` now bounds it).

#![cfg(all(
    feature = "event-bus-redis",
    feature = "event-bus-kafka",
    feature = "event-bus-pulsar",
    feature = "object-store-s3",
    feature = "auth-oidc",
    feature = "catalog-openmetadata",
    feature = "llm-ollama"
))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// Longer than any backend's own limit on these calls; reaching it means the call would hang.
const BOUND: Duration = Duration::from_secs(300);

const SECRET: &str = "silent-server-secret-value";

/// A loopback server that accepts every connection and never writes a byte; its address.
async fn silent_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            held.lock().unwrap().push(socket);
        }
    });
    addr
}

/// The configuration of a live service whose every server is the silent one (the bus on Pulsar).
async fn config() -> avb::config::Config {
    let addr = silent_server().await;
    config_with(&[
        ("EVENT_BUS", "pulsar".into()),
        ("PULSAR_URL", format!("pulsar://{addr}")),
        ("PULSAR_ADMIN_URL", format!("http://{addr}")),
        ("PULSAR_TOKEN", SECRET.into()),
    ])
    .await
}

/// [`config`] with these event bus settings.
async fn config_with(bus: &[(&str, String)]) -> avb::config::Config {
    let addr = silent_server().await;
    let http = format!("http://{addr}");
    let pairs: Vec<(String, String)> = [("AVB_DEV_MODE", "live".to_string())]
        .into_iter()
        .chain(bus.iter().cloned())
        .chain([
            ("AUTH_MODE", "keycloak".into()),
            ("OIDC_ISSUER_URL", format!("{http}/realms/avb")),
            ("OIDC_AUDIENCE", "svc".into()),
            ("OIDC_CLIENT_ID", "svc".into()),
            ("OIDC_CLIENT_SECRET", SECRET.into()),
            ("OBJECT_STORE", "s3".into()),
            ("AWS_ENDPOINT_URL", http.clone()),
            ("OBJECT_STORE_BUCKET", "silent".into()),
            ("AWS_ACCESS_KEY_ID", "silent-key".into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            // 120 s by default; the case checks the setting is what ends the call.
            ("OBJECT_STORE_S3_TIMEOUT_MS", "3000".into()),
            ("DATA_CATALOG", "openmetadata".into()),
            ("OPENMETADATA_URL", format!("{http}/api")),
            ("OPENMETADATA_TOKEN", SECRET.into()),
            ("LLM_PROVIDER", "ollama".into()),
            ("LLM_API_URL", http.clone()),
            ("LLM_MODEL", "m".into()),
            ("LLM_API_KEY", SECRET.into()),
            // Its defaults wait a minute for a first token, three times (a model may be loading).
            ("LLM_FIRST_TOKEN_TIMEOUT_MS", "2000".into()),
            ("LLM_TIMEOUT_MS", "5000".into()),
            ("LLM_RETRIES", "1".into()),
        ])
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    avb::config::Config::from_iter(pairs).unwrap()
}

/// Runs `call` within [`BOUND`] (past it, the test fails): its answer, or `None` after an error that does
/// not show [`SECRET`] (printed with the time it took).
async fn error_or_answer<T, E: std::fmt::Display>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, E>>,
) -> Option<T> {
    let started = Instant::now();
    match tokio::time::timeout(BOUND, call).await {
        Err(_) => panic!("{what}: still waiting after {BOUND:?} on a server that never answers"),
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            let text = e.to_string();
            assert!(!text.contains(SECRET), "{what}: the secret is in {text:?}");
            println!("{what}: error after {:?}: {text}", started.elapsed());
            None
        }
    }
}

/// [`error_or_answer`], where an answer fails the test.
async fn ends_with_an_error<T: std::fmt::Debug, E: std::fmt::Display>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, E>>,
) {
    if let Some(v) = error_or_answer(what, call).await {
        panic!("{what}: a server that never answers gave an answer: {v:?}");
    }
}

#[tokio::test]
async fn redis_publish_ends() {
    let addr = silent_server().await;
    let bus = avb::event_bus::redis::RedisBus::builder()
        .with_url(format!("redis://:{SECRET}@{addr}"))
        .with_response_timeout(Duration::from_secs(2))
        .build();
    let bus = match bus {
        Ok(bus) => bus,
        Err(e) => {
            assert!(!e.to_string().contains(SECRET), "{e}");
            return;
        }
    };
    bus_calls_end("redis", Arc::new(bus)).await;
}

/// Opens the bus of `config`: opening ends with an error, or every call of [`bus_calls_end`] does.
async fn bus_ends(what: &str, config: avb::config::Config) {
    let opened = avb::event_bus::open(&config.event_bus.backend);
    if let Some(bus) = error_or_answer(&format!("{what} open"), opened).await {
        bus_calls_end(what, bus).await;
    }
}

/// A publish ends with an error; a consumer too: subscribing does, or the subscription's `next` reports
/// one.
async fn bus_calls_end(what: &str, bus: Arc<dyn avb::event_bus::EventBus>) {
    let ws = avb::WorkspaceId::new("w").unwrap();
    let topic = avb::event_bus::Topic::new(&ws, "t").unwrap();
    ends_with_an_error(
        &format!("{what} publish"),
        bus.publish(&topic, avb::event_bus::Message::new(&b"m"[..])),
    )
    .await;
    let started = Instant::now();
    let subscribed = bus.subscribe(&topic, "g", avb::event_bus::StartPosition::Earliest);
    let Some(mut sub) = error_or_answer(&format!("{what} subscribe"), subscribed).await else {
        return;
    };
    match tokio::time::timeout(BOUND, sub.next()).await {
        Err(_) => panic!("{what} next: still waiting after {BOUND:?}, no error reported"),
        Ok(None) => panic!("{what} next: the subscription ended without an error"),
        Ok(Some(Ok(d))) => panic!("{what} next: a delivery from a silent server: {d:?}"),
        Ok(Some(Err(e))) => {
            assert!(!e.to_string().contains(SECRET), "{what}: {e}");
            println!("{what} next: error after {:?}: {e}", started.elapsed());
        }
    }
}

#[tokio::test]
async fn pulsar_publish_ends() {
    bus_ends("pulsar", config().await).await;
}

/// The admin API answers (the harness's real Pulsar) and only the broker is silent: the binary protocol's
/// own limits must end the publish (the producer's set-up, `SETUP_TIMEOUT`).
#[tokio::test]
async fn pulsar_publish_ends_when_only_the_broker_is_silent() {
    let Some(admin) = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL") else {
        return;
    };
    let addr = silent_server().await;
    let config = config_with(&[
        ("EVENT_BUS", "pulsar".into()),
        ("PULSAR_URL", format!("pulsar://{addr}")),
        ("PULSAR_ADMIN_URL", admin),
        ("AVB_RESOURCE_SCOPE", "silent-broker".into()),
    ])
    .await;
    bus_ends("pulsar broker", config).await;
}

#[tokio::test]
async fn kafka_publish_ends() {
    let addr = silent_server().await;
    let config = config_with(&[
        ("EVENT_BUS", "kafka".into()),
        ("KAFKA_BOOTSTRAP_SERVERS", addr.to_string()),
    ])
    .await;
    bus_ends("kafka", config).await;
}

#[tokio::test]
async fn s3_put_ends() {
    let config = config().await;
    let store = avb::object_store::open(&config.object_store.backend)
        .await
        .unwrap();
    ends_with_an_error(
        "s3 put",
        store.put("k", bytes::Bytes::from_static(b"v"), Default::default()),
    )
    .await;
}

#[tokio::test]
async fn oidc_open_or_authenticate_ends() {
    let config = config().await;
    if let Some(auth) = error_or_answer("oidc open", avb::auth::open(&config.auth.backend)).await {
        ends_with_an_error("oidc authenticate", auth.authenticate("a.b.c")).await;
    }
}

#[tokio::test]
async fn openmetadata_list_ends() {
    let config = config().await;
    let catalog = avb::catalog::open(&config.catalog.backend).await.unwrap();
    ends_with_an_error("openmetadata list_methods", catalog.list_methods(None)).await;
}

#[tokio::test]
async fn ollama_chat_ends() {
    let config = config().await;
    let llm = avb::llm::open(&config.llm.backend).unwrap();
    ends_with_an_error("ollama chat", llm.chat(avb::llm::ChatRequest::user("hi"))).await;
}
