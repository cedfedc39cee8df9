//! The local-server harness (`scripts/services`) really serves what the live tests need.
//! Skips with a reason when no harness runs; fails instead under `AVB_TEST_REQUIRE_LIVE=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// Sends one RESP command and returns the raw reply lines (enough for simple and bulk replies).
fn redis(url: &str, args: &[&str], lines: usize) -> Vec<String> {
    let addr = url.trim_start_matches("redis://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    stream.write_all(cmd.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    (0..lines)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line.trim_end().to_string()
        })
        .collect()
}

#[test]
fn harness_redis_answers_and_persists_append_only() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    assert_eq!(redis(&url, &["PING"], 1), ["+PONG"]);
    // CONFIG GET appendonly -> *2, $10, appendonly, $3, yes
    assert_eq!(redis(&url, &["CONFIG", "GET", "appendonly"], 5)[4], "yes");
    assert_eq!(
        redis(&url, &["CONFIG", "GET", "appendfsync"], 5)[4],
        "always"
    );
}

/// One HTTP/1.1 GET on loopback; the status code of the answer.
fn http_status(url: &str, path: &str) -> u16 {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    status.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn harness_minio_is_live_and_refuses_anonymous_reads() {
    let Some(url) = avb::testing::live_server("AVB_TEST_MINIO_URL") else {
        return;
    };
    let Some(bucket) = avb::testing::harness_value("AVB_TEST_MINIO_BUCKET") else {
        return;
    };
    assert_eq!(http_status(&url, "/minio/health/live"), 200);
    assert_eq!(http_status(&url, "/minio/health/ready"), 200);
    // The test bucket is private: an unsigned listing is refused. (MinIO answers 403 to an anonymous
    // request for a missing bucket too, so its existence is shown by the signed suites, not here.)
    assert_eq!(http_status(&url, &format!("/{bucket}/")), 403);
}

/// Reads big-endian Kafka protocol fields from a response.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    fn string(&mut self) -> Option<String> {
        let n = self.i16();
        (n >= 0).then(|| String::from_utf8_lossy(self.take(n as usize)).into_owned())
    }
}

/// One Kafka Metadata request (v4, the oldest Kafka 4 serves; request header v1) for `topic` with
/// auto-creation asked for. Returns (broker ids with their `host:port`, controller id, the topic's error code).
fn kafka_metadata(bootstrap: &str, topic: &str) -> (Vec<(i32, String)>, i32, i16) {
    let mut body = Vec::new();
    body.extend_from_slice(&3i16.to_be_bytes()); // api key: Metadata
    body.extend_from_slice(&4i16.to_be_bytes()); // version
    body.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    body.extend_from_slice(&(b"avb-test".len() as i16).to_be_bytes());
    body.extend_from_slice(b"avb-test");
    body.extend_from_slice(&1i32.to_be_bytes()); // one topic
    body.extend_from_slice(&(topic.len() as i16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.push(1); // allow_auto_topic_creation = true
    let mut stream = TcpStream::connect(bootstrap).unwrap();
    stream
        .write_all(&(body.len() as i32).to_be_bytes())
        .unwrap();
    stream.write_all(&body).unwrap();
    let mut len = [0u8; 4];
    std::io::Read::read_exact(&mut stream, &mut len).unwrap();
    let mut raw = vec![0u8; i32::from_be_bytes(len) as usize];
    std::io::Read::read_exact(&mut stream, &mut raw).unwrap();
    // Response header v0, body v4: throttle, brokers [id, host, port, rack], cluster id, controller,
    // topics [error code, name, …].
    let mut r = Cursor(&raw);
    assert_eq!(r.i32(), 7, "correlation id");
    r.i32();
    let brokers = (0..r.i32())
        .map(|_| {
            let id = r.i32();
            let host = r.string().unwrap();
            let port = r.i32();
            r.string();
            (id, format!("{host}:{port}"))
        })
        .collect();
    r.string();
    let controller = r.i32();
    assert_eq!(r.i32(), 1, "one topic in the answer");
    (brokers, controller, r.i16())
}

#[test]
fn harness_kafka_answers_metadata_and_never_auto_creates_topics() {
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let topic = format!("avb-services-probe-{}", uuid::Uuid::new_v4().simple());
    let (brokers, controller, error) = kafka_metadata(&bootstrap, &topic);
    // One combined KRaft node, advertising the address the tests use.
    assert_eq!(brokers, [(1, bootstrap.clone())]);
    assert_eq!(controller, 1, "the node is its own controller");
    // UNKNOWN_TOPIC_OR_PARTITION (3), although the request allowed auto-creation: topics come only from
    // the admin client (with auto-creation on, the broker would answer LEADER_NOT_AVAILABLE and create it).
    assert_eq!(error, 3, "error code for the unknown topic {topic}");
    let (_, _, again) = kafka_metadata(&bootstrap, &topic);
    assert_eq!(again, 3, "the topic was not created by the first request");
}

#[path = "support/http.rs"]
mod http;

/// One request with a JSON body (or a GET without one) against a local LLM server: the status and the JSON answer.
async fn llm_call(
    base: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let request = match body {
        Some(body) => http::client().post(&url).json(&body),
        None => http::client().get(&url),
    };
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{url} answered {status} with non-JSON ({e}): {text}"));
    (status, json)
}

/// Ollama names a model `name:tag`; `ollama create avb-gemma3` makes `avb-gemma3:latest`.
fn names_model(id: &str, model: &str) -> bool {
    id == model || id.strip_suffix(":latest") == Some(model)
}

/// The OpenAI-compatible surface both LLM servers share: `/v1/models` lists the model, and a one-token chat
/// completion at temperature 0 answers with one token of usage, the same text twice.
async fn assert_openai_compatible(base: &str, model: &str) {
    let (status, models) = llm_call(base, "/v1/models", None).await;
    assert_eq!(status, 200, "/v1/models: {models}");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap_or_else(|| panic!("/v1/models has no data list: {models}"))
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        ids.iter().any(|id| names_model(id, model)),
        "/v1/models lists {ids:?}, not {model}"
    );
    let request = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 1,
        "temperature": 0,
    });
    let mut texts = Vec::new();
    for _ in 0..2 {
        let (status, answer) = llm_call(base, "/v1/chat/completions", Some(request.clone())).await;
        assert_eq!(status, 200, "/v1/chat/completions: {answer}");
        assert_eq!(answer["object"], "chat.completion", "{answer}");
        assert_eq!(answer["usage"]["completion_tokens"], 1, "{answer}");
        assert!(
            answer["usage"]["prompt_tokens"].as_u64() > Some(0),
            "{answer}"
        );
        assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
        let text = answer["choices"][0]["message"]["content"].as_str();
        texts.push(
            text.unwrap_or_else(|| panic!("no content: {answer}"))
                .to_string(),
        );
    }
    assert_eq!(texts[0], texts[1], "temperature 0 is deterministic");
}

#[tokio::test]
async fn harness_llamacpp_lists_the_model_and_completes_one_token() {
    let Some(url) = avb::testing::live_server("AVB_TEST_LLAMACPP_URL") else {
        return;
    };
    let Some(model) = avb::testing::harness_value("AVB_TEST_LLAMACPP_MODEL") else {
        return;
    };
    let (status, health) = llm_call(&url, "/health", None).await;
    assert_eq!((status, &health["status"]), (200, &"ok".into()), "{health}");
    assert_openai_compatible(&url, &model).await;
}

#[tokio::test]
async fn harness_ollama_lists_the_model_and_completes_one_token() {
    let Some(url) = avb::testing::live_server("AVB_TEST_OLLAMA_URL") else {
        return;
    };
    let Some(model) = avb::testing::harness_value("AVB_TEST_OLLAMA_MODEL") else {
        return;
    };
    // Ollama's own API: the model was created from the GGUF (`ollama create`), no registry pull.
    let (status, tags) = llm_call(&url, "/api/tags", None).await;
    assert_eq!(status, 200, "/api/tags: {tags}");
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap_or_else(|| panic!("/api/tags has no models list: {tags}"))
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|name| names_model(name, &model)),
        "/api/tags lists {names:?}, not {model}"
    );
    assert_openai_compatible(&url, &model).await;
}

/// One HTTP/1.1 GET on loopback; the status code and the body of the answer.
fn http_get(url: &str, path: &str) -> (u16, String) {
    use std::io::Read;
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, body.to_string())
}

#[test]
fn harness_pulsar_serves_public_default_and_advertises_loopback() {
    let Some(url) = avb::testing::live_server("AVB_TEST_PULSAR_URL") else {
        return;
    };
    let Some(admin) = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL") else {
        return;
    };
    // The readiness the plugin waits for: the admin REST API lists `public/default` …
    let (status, body) = http_get(&admin, "/admin/v2/namespaces/public");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"public/default\""), "{body}");
    // … and the binary protocol port accepts a connection.
    let addr = url.trim_start_matches("pulsar://");
    TcpStream::connect(addr).unwrap();
    // The standalone's cluster advertises the loopback address the tests use.
    let (status, body) = http_get(&admin, "/admin/v2/clusters/standalone");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("\"brokerServiceUrl\":\"{url}\"")),
        "{body}"
    );
    // One bookie, on loopback.
    let (status, body) = http_get(&admin, "/admin/v2/bookies/all");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"bookieId\":\"127.0.0.1:"), "{body}");
}
