//! The OpenAI client against a scripted loopback HTTP server: SSE edge cases, typed errors, retries only
//! before the first token, timeouts, the key kept out of text.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use super::*;
use crate::{Classify, ErrorClass};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One scripted answer: raw bytes written in pieces (`None`: stall forever; end: close).
#[derive(Clone)]
struct Answer(Vec<Option<Vec<u8>>>);

fn sse(status: &str, pieces: &[&str]) -> Answer {
    let mut out = vec![Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        )
        .into_bytes(),
    )];
    out.extend(pieces.iter().map(|p| Some(p.as_bytes().to_vec())));
    Answer(out)
}

fn plain(status: &str, headers: &str, body: &str) -> Answer {
    Answer(vec![Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )])
}

struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Serves `answers` in order, one per connection (the last one again when they run out).
async fn server(answers: Vec<Answer>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (count, log) = (requests.clone(), seen.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let answer = answers[n.min(answers.len() - 1)].clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then the body by content-length.
                loop {
                    let Ok(k) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            log.lock().unwrap().push(text);
                            break;
                        }
                    }
                }
                for piece in answer.0 {
                    match piece {
                        Some(bytes) => {
                            if sock.write_all(&bytes).await.is_err() {
                                return;
                            }
                            let _ = sock.flush().await;
                            tokio::task::yield_now().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                }
            });
        }
    });
    Server {
        url,
        requests,
        seen,
    }
}

fn settings(retries: u32) -> HttpSettings {
    HttpSettings {
        retries,
        first_token_timeout: Duration::from_secs(10),
        ..HttpSettings::default()
    }
}

fn client(s: &Server, retries: u32) -> OpenAiClient {
    OpenAiClient::new(
        &s.url,
        "m",
        Some(Secret::new("sk-very-secret")),
        settings(retries),
    )
    .unwrap()
}

const CHUNK_A: &str = r#"{"model":"m","choices":[{"delta":{"content":"Hel"}}]}"#;
const CHUNK_B: &str = r#"{"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}"#;
const USAGE: &str = r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4}}}"#;

async fn deltas(stream: &mut ChatStream) -> (Vec<String>, Option<Error>) {
    let mut out = Vec::new();
    while let Some(d) = stream.next().await {
        match d {
            Ok(d) => out.push(d.content),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

#[tokio::test]
async fn split_events_comments_and_crlf_give_each_delta_and_the_final_usage() {
    let body = format!(
        "data: {CHUNK_A}\r\n\r\n: keep-alive\r\n\r\ndata: {CHUNK_B}\r\n\r\ndata: {USAGE}\r\n\r\ndata: [DONE]\r\n\r\n"
    );
    // Cut the body in 7-byte reads: events split across reads, a CRLF split in two.
    let pieces: Vec<String> = body
        .as_bytes()
        .chunks(7)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let s = server(vec![sse("200 OK", &refs)]).await;
    let mut stream = client(&s, 0)
        .chat_stream(ChatRequest::user("hi"))
        .await
        .unwrap();
    let (got, err) = deltas(&mut stream).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, ["Hel", "lo"]);
    let summary = stream.summary().unwrap();
    assert_eq!(summary.usage.prompt_tokens, 5);
    assert_eq!(summary.usage.cached_tokens, Some(4));
    assert_eq!(summary.finish_reason, Some(FinishReason::Stop));
    let request = s.seen.lock().unwrap()[0].clone();
    assert!(request.contains(r#""include_usage":true"#), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer sk-very-secret")
    );
}

#[tokio::test]
async fn several_events_in_one_read() {
    let all = format!("data: {CHUNK_A}\n\ndata: {CHUNK_B}\n\ndata: {USAGE}\n\ndata: [DONE]\n\n");
    let s = server(vec![sse("200 OK", &[&all])]).await;
    let r = client(&s, 0)
        .chat_stream(ChatRequest::user("hi"))
        .await
        .unwrap();
    let r = r.collect_response().await.unwrap();
    assert_eq!(r.content, "Hello");
    assert_eq!(r.usage.completion_tokens, 2);
}

#[tokio::test]
async fn an_error_object_mid_stream_is_typed_and_not_retried() {
    let err_obj = r#"{"error":{"message":"too many","type":"rate_limit_error"}}"#;
    let s = server(vec![sse(
        "200 OK",
        &[
            &format!("data: {CHUNK_A}\n\n"),
            &format!("data: {err_obj}\n\n"),
        ],
    )])
    .await;
    let mut stream = client(&s, 3)
        .chat_stream(ChatRequest::user("hi"))
        .await
        .unwrap();
    let (got, err) = deltas(&mut stream).await;
    assert_eq!(got, ["Hel"]);
    assert!(matches!(err, Some(Error::RateLimited { .. })), "{err:?}");
    assert!(stream.next().await.is_none());
    assert_eq!(
        s.requests.load(Ordering::SeqCst),
        1,
        "no restart after a token was handed out"
    );
}

#[tokio::test]
async fn a_break_after_the_first_token_ends_the_stream_with_an_error() {
    let s = server(vec![sse("200 OK", &[&format!("data: {CHUNK_A}\n\n")])]).await;
    let mut stream = client(&s, 3)
        .chat_stream(ChatRequest::user("hi"))
        .await
        .unwrap();
    let (got, err) = deltas(&mut stream).await;
    assert_eq!(got, ["Hel"]);
    let err = err.unwrap();
    assert!(err.to_string().contains("before [DONE]"), "{err}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(s.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn failures_before_the_first_token_are_retried() {
    let good = sse(
        "200 OK",
        &[&format!(
            "data: {CHUNK_A}\n\ndata: {CHUNK_B}\n\ndata: [DONE]\n\n"
        )],
    );
    let s = server(vec![
        plain(
            "503 Service Unavailable",
            "",
            r#"{"error":{"message":"Loading model","type":"unavailable_error"}}"#,
        ),
        plain("429 Too Many Requests", "retry-after: 0\r\n", "{}"),
        sse("200 OK", &[": only a comment\n\n"]),
        good,
    ])
    .await;
    let r = client(&s, 3)
        .chat_stream(ChatRequest::user("hi"))
        .await
        .unwrap();
    assert_eq!(r.collect_response().await.unwrap().content, "Hello");
    assert_eq!(s.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn without_retries_the_rate_limit_reaches_the_caller_with_retry_after() {
    let s = server(vec![plain(
        "429 Too Many Requests",
        "retry-after: 12\r\n",
        r#"{"error":{"message":"slow"}}"#,
    )])
    .await;
    let err = client(&s, 0)
        .chat(ChatRequest::user("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(12)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_answer_that_is_not_sse_is_a_typed_error() {
    let s = server(vec![plain("200 OK", "", r#"{"choices":[]}"#)]).await;
    let err = client(&s, 2)
        .chat_stream(ChatRequest::user("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err}");
    assert_eq!(
        s.requests.load(Ordering::SeqCst),
        1,
        "a malformed answer is not retried"
    );
    let s = server(vec![sse("200 OK", &["data: {not json\n\n"])]).await;
    let err = client(&s, 0)
        .chat_stream(ChatRequest::user("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err}");
    let s = server(vec![plain("200 OK", "", "<html>")]).await;
    let err = client(&s, 0)
        .chat(ChatRequest::user("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err}");
}

#[tokio::test]
async fn the_first_token_timeout_is_separate_from_the_total() {
    let s = server(vec![Answer(vec![
        Some(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n".to_vec()),
        None,
    ])])
    .await;
    let c = OpenAiClient::new(
        &s.url,
        "m",
        None,
        HttpSettings {
            first_token_timeout: Duration::from_millis(200),
            retries: 0,
            ..HttpSettings::default()
        },
    )
    .unwrap();
    let err = c.chat_stream(ChatRequest::user("hi")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                phase: TimeoutPhase::FirstToken,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_key_is_in_no_text() {
    let s = server(vec![plain(
        "401 Unauthorized",
        "",
        r#"{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}"#,
    )])
    .await;
    let c = client(&s, 0);
    let err = c.chat(ChatRequest::user("hi")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Unauthorized);
    for text in [
        format!("{c:?}"),
        err.to_string(),
        format!("{err:?}"),
        c.health().await.reason.unwrap_or_default(),
    ] {
        assert!(!text.contains("sk-very-secret"), "{text}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_retryable_and_health_is_down() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let c = OpenAiClient::new(&url, "m", None, settings(0)).unwrap();
    assert!(
        c.chat(ChatRequest::user("hi"))
            .await
            .unwrap_err()
            .is_retryable()
    );
    assert!(!c.health().await.is_up());
}
