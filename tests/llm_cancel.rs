//! Dropping a stream cancels the request and closes the connection to the server: a loopback TCP relay in
//! front of the real server (llama.cpp, Ollama) watches the client's side of the connection. After the
//! first delta the stream is dropped; the relay must see the client close the connection while the server
//! is still generating (before the server's `[DONE]` went through).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::config::Config;
use avb::llm::ChatRequest;
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the relay saw on one connection.
#[derive(Debug, PartialEq)]
enum Seen {
    /// The client closed its side; whether the server's `[DONE]` had been relayed by then.
    ClientClosed { done_relayed: bool },
    /// The server closed its side first.
    ServerClosed,
}

/// A relay to `upstream` (`host:port`); returns its address, the connection count and what it sees.
async fn relay(upstream: String) -> (String, Arc<AtomicUsize>, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::unbounded_channel();
    let count = Arc::new(AtomicUsize::new(0));
    let connections = count.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            connections.fetch_add(1, Ordering::SeqCst);
            let server = TcpStream::connect(&upstream).await.unwrap();
            let tx = tx.clone();
            tokio::spawn(pipe(client, server, tx));
        }
    });
    (addr, count, rx)
}

async fn pipe(client: TcpStream, server: TcpStream, tx: mpsc::UnboundedSender<Seen>) {
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let done = Arc::new(AtomicBool::new(false));
    let done_down = done.clone();
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut tail = Vec::new();
        loop {
            match server_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    tail.extend_from_slice(&buf[..n]);
                    if tail.windows(6).any(|w| w == b"[DONE]") {
                        done_down.store(true, Ordering::SeqCst);
                    }
                    let keep = tail.len().saturating_sub(8);
                    tail.drain(..keep);
                    if client_w.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let up = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if server_w.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    // Whichever side closes first decides; the relay then drops both sockets.
    let seen = tokio::select! {
        () = up => Seen::ClientClosed { done_relayed: done.load(Ordering::SeqCst) },
        () = down => Seen::ServerClosed,
    };
    let _ = tx.send(seen);
}

async fn dropped_stream_closes_the_connection(provider: &str, server_url: &str, model: &str) {
    let upstream = server_url
        .trim_end_matches('/')
        .trim_start_matches("http://")
        .to_string();
    let (addr, connections, mut seen) = relay(upstream).await;
    let api = format!("http://{addr}/v1");
    let config = Config::from_iter([
        ("LLM_PROVIDER", provider),
        ("LLM_API_URL", api.as_str()),
        ("LLM_MODEL", model),
    ])
    .unwrap();
    let llm = avb::llm::open(&config.llm.backend).unwrap();
    // A long answer (up to 400 tokens at ~35 tokens/s): the server is still generating when we drop.
    let request = ChatRequest::user("Write a long story about a lighthouse keeper and the sea.")
        .temperature(0.0)
        .max_tokens(400);
    let mut stream = llm.chat_stream(request).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.content.is_empty());
    drop(stream);
    // A bound on a failure only (no timing is asserted): the close is expected at once.
    let what = tokio::time::timeout(Duration::from_secs(60), seen.recv())
        .await
        .expect("the relay saw nothing within 60 s of the drop")
        .unwrap();
    assert_eq!(
        what,
        Seen::ClientClosed {
            done_relayed: false
        },
        "{provider}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    // The client still works: a new call opens a new connection.
    let answer = llm
        .chat(ChatRequest::user("Hi.").temperature(0.0).max_tokens(2))
        .await
        .unwrap();
    assert!(answer.usage.completion_tokens >= 1);
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_dropped_stream_closes_the_llamacpp_connection() {
    let Some(url) = avb::testing::live_server("AVB_TEST_LLAMACPP_URL") else {
        return;
    };
    let Some(model) = avb::testing::harness_value("AVB_TEST_LLAMACPP_MODEL") else {
        return;
    };
    dropped_stream_closes_the_connection("openai", &url, &model).await;
}

#[tokio::test]
async fn a_dropped_stream_closes_the_ollama_connection() {
    let Some(url) = avb::testing::live_server("AVB_TEST_OLLAMA_URL") else {
        return;
    };
    let Some(model) = avb::testing::harness_value("AVB_TEST_OLLAMA_MODEL") else {
        return;
    };
    dropped_stream_closes_the_connection("ollama", &url, &model).await;
}

/// The same on the mock's terms (no server): the stream ends at the drop, the client answers after.
#[tokio::test]
async fn a_dropped_mock_stream_leaves_the_client_usable() {
    let config = Config::from_iter([("LLM_PROVIDER", "mock")]).unwrap();
    let llm = avb::llm::open(&config.llm.backend).unwrap();
    let mut stream = llm.chat_stream(ChatRequest::user("x")).await.unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    drop(stream);
    assert!(llm.chat(ChatRequest::user("x")).await.is_ok());
}
