//! LLM benchmarks: the `openai` adapter beside raw `reqwest` reading the same answers from the same local
//! server (an OpenAI-shaped SSE server in this file: a fixed first-chunk delay, then 24 content chunks, a
//! usage chunk and `[DONE]`, HTTP/1.1 keep-alive, chunked encoding), in the same run, interleaved.
//!
//! - **Time to first token**: per round, raw then adapter (order alternating), each from the call to the
//!   first content delta in hand; the adapter's *added* TTFT is the per-round difference; its p50 is the
//!   result (bar: ≤ 0.25 ms). Chunk counts must be exactly equal (asserted every round).
//! - **Non-streamed throughput**: rounds of 50 `chat` calls vs 50 raw POST + JSON parse, interleaved; the
//!   median ratio is the result (bar: ≥ 0.9×).
//! - criterion's own numbers for a whole streamed answer, adapter and raw.
//!
//! Run with: `cargo bench --features llm-openai --bench llm -- --warm-up-time 1 --measurement-time 5`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failed setup must abort the run
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

#[path = "support/ratio.rs"]
mod ratio;

use avb::llm::openai::OpenAiClient;
use avb::llm::{ChatRequest, LlmClient};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FIRST_CHUNK_DELAY: Duration = Duration::from_millis(2);
const CONTENT_CHUNKS: usize = 24;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Serves every connection (keep-alive) with a stream or a JSON answer, as the request asks.
async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            sock.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    // One request: headers, then the body by content-length.
                    let (head_end, len) = loop {
                        if let Some(end) = find(&buf, b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                            if buf.len() >= end + 4 + len {
                                break (end, len);
                            }
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let body = buf[head_end + 4..head_end + 4 + len].to_vec();
                    buf.drain(..head_end + 4 + len);
                    let ok = if find(&body, b"\"stream\":true").is_some() {
                        stream_answer(&mut sock).await
                    } else {
                        json_answer(&mut sock).await
                    };
                    if !ok {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn stream_answer(sock: &mut tokio::net::TcpStream) -> bool {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
    if sock.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    tokio::time::sleep(FIRST_CHUNK_DELAY).await;
    let mut events: Vec<String> = (0..CONTENT_CHUNKS)
        .map(|i| format!("data: {{\"model\":\"bench\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" tok{i}\"}},\"finish_reason\":null}}]}}\n\n"))
        .collect();
    events.push(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".into(),
    );
    events.push(format!("data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":7,\"completion_tokens\":{CONTENT_CHUNKS}}}}}\n\n"));
    events.push("data: [DONE]\n\n".into());
    for e in events {
        let framed = format!("{:x}\r\n{e}\r\n", e.len());
        if sock.write_all(framed.as_bytes()).await.is_err() {
            return false;
        }
    }
    sock.write_all(b"0\r\n\r\n").await.is_ok()
}

async fn json_answer(sock: &mut tokio::net::TcpStream) -> bool {
    let body = format!(
        "{{\"model\":\"bench\",\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":\"{}\"}},\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":7,\"completion_tokens\":{CONTENT_CHUNKS}}}}}",
        " tok".repeat(CONTENT_CHUNKS)
    );
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(answer.as_bytes()).await.is_ok()
}

fn request() -> ChatRequest {
    ChatRequest::user("bench").temperature(0.0).max_tokens(64)
}

/// Raw reqwest: POST, read the SSE body, count content events; returns (TTFT, content chunks, total).
async fn raw_stream(http: &reqwest::Client, url: &str) -> (Duration, usize, Duration) {
    let started = Instant::now();
    let body = serde_json::json!({
        "model": "bench",
        "messages": [{"role": "user", "content": "bench"}],
        "temperature": 0.0, "max_tokens": 64, "stream": true,
        "stream_options": {"include_usage": true},
    });
    let response = http
        .post(format!("{url}/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut bytes = response.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut ttft = None;
    let mut chunks = 0;
    'read: while let Some(piece) = bytes.next().await {
        buf.extend_from_slice(&piece.unwrap());
        while let Some(end) = find(&buf, b"\n\n") {
            let event: Vec<u8> = buf.drain(..end + 2).collect();
            let data = std::str::from_utf8(&event).unwrap().trim();
            let data = data.strip_prefix("data: ").unwrap_or(data);
            if data == "[DONE]" {
                break 'read;
            }
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            if v["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
            {
                ttft.get_or_insert_with(|| started.elapsed());
                chunks += 1;
            }
        }
    }
    (ttft.unwrap(), chunks, started.elapsed())
}

/// The adapter: `chat_stream`, deltas counted; returns (TTFT, deltas, total).
async fn avb_stream(llm: &OpenAiClient) -> (Duration, usize, Duration) {
    let started = Instant::now();
    let mut stream = llm.chat_stream(request()).await.unwrap();
    let mut ttft = None;
    let mut chunks = 0;
    while let Some(d) = stream.next().await {
        d.unwrap();
        ttft.get_or_insert_with(|| started.elapsed());
        chunks += 1;
    }
    assert_eq!(
        stream.summary().unwrap().usage.completion_tokens as usize,
        CONTENT_CHUNKS
    );
    (ttft.unwrap(), chunks, started.elapsed())
}

async fn raw_chat(http: &reqwest::Client, url: &str) -> usize {
    let body = serde_json::json!({
        "model": "bench",
        "messages": [{"role": "user", "content": "bench"}],
        "temperature": 0.0, "max_tokens": 64, "stream": false,
    });
    let bytes = http
        .post(format!("{url}/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .len()
}

fn setup(rt: &tokio::runtime::Runtime) -> (String, reqwest::Client, OpenAiClient) {
    let url = rt.block_on(serve());
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let llm = OpenAiClient::new(&url, "bench", None, Default::default()).unwrap();
    (url, http, llm)
}

fn interleaved(_c: &mut Criterion) {
    let rt = runtime();
    let (url, http, llm) = setup(&rt);
    // Time to first token, 400 rounds, order alternating.
    const ROUNDS: usize = 400;
    let mut added: Vec<f64> = Vec::with_capacity(ROUNDS);
    let (mut raw_t, mut avb_t) = (Vec::new(), Vec::new());
    let mut whole = Vec::with_capacity(ROUNDS);
    rt.block_on(async {
        for _ in 0..20 {
            raw_stream(&http, &url).await;
            avb_stream(&llm).await;
        }
        for round in 0..ROUNDS {
            let (raw, avb) = if round % 2 == 0 {
                let raw = raw_stream(&http, &url).await;
                (raw, avb_stream(&llm).await)
            } else {
                let avb = avb_stream(&llm).await;
                (raw_stream(&http, &url).await, avb)
            };
            assert_eq!(raw.1, CONTENT_CHUNKS, "raw chunk count");
            assert_eq!(
                avb.1, raw.1,
                "the adapter hands out exactly the server's chunks"
            );
            added.push((avb.0.as_secs_f64() - raw.0.as_secs_f64()) * 1e3);
            raw_t.push(raw.0.as_secs_f64() * 1e3);
            avb_t.push(avb.0.as_secs_f64() * 1e3);
            whole.push((raw.2, avb.2));
        }
    });
    let med = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    println!(
        "llm TTFT (first chunk delayed {FIRST_CHUNK_DELAY:?}): added by the adapter p50 {:.3} ms (p10 {:.3}, p90 {:.3}) over {ROUNDS} interleaved rounds; median TTFT raw {:.3} ms, avb {:.3} ms; chunk counts equal ({CONTENT_CHUNKS}) in every round",
        med(&mut added, 0.5),
        med(&mut added, 0.1),
        med(&mut added, 0.9),
        med(&mut raw_t, 0.5),
        med(&mut avb_t, 0.5),
    );
    ratio::ratio_report(
        "llm whole streamed answer (1 stream per round)",
        1,
        &whole,
        0,
    );
    // Non-streamed throughput: rounds of 50 calls each, interleaved.
    const PER_ROUND: usize = 50;
    let mut rounds = Vec::new();
    rt.block_on(async {
        for round in 0..40 {
            let time_raw = async || {
                let t = Instant::now();
                for _ in 0..PER_ROUND {
                    assert_eq!(raw_chat(&http, &url).await, 4 * CONTENT_CHUNKS);
                }
                t.elapsed()
            };
            let time_avb = async || {
                let t = Instant::now();
                for _ in 0..PER_ROUND {
                    let r = llm.chat(request()).await.unwrap();
                    assert_eq!(r.content.len(), 4 * CONTENT_CHUNKS);
                }
                t.elapsed()
            };
            let (raw, avb) = if round % 2 == 0 {
                let raw = time_raw().await;
                (raw, time_avb().await)
            } else {
                let avb = time_avb().await;
                (time_raw().await, avb)
            };
            rounds.push((raw, avb));
        }
    });
    ratio::ratio_report("llm chat (non-streamed)", PER_ROUND, &rounds, 0);
}

fn criterion_streams(c: &mut Criterion) {
    let rt = runtime();
    let (url, http, llm) = setup(&rt);
    let mut g = c.benchmark_group("llm_stream_whole_answer");
    g.bench_function("avb chat_stream", |b| {
        b.iter(|| rt.block_on(avb_stream(&llm)))
    });
    g.bench_function("raw reqwest SSE", |b| {
        b.iter(|| rt.block_on(raw_stream(&http, &url)))
    });
    g.finish();
    let mut g = c.benchmark_group("llm_chat");
    g.bench_function("avb chat", |b| {
        b.iter(|| rt.block_on(llm.chat(request())).unwrap())
    });
    g.bench_function("raw reqwest POST", |b| {
        b.iter(|| rt.block_on(raw_chat(&http, &url)))
    });
    g.finish();
}

criterion_group!(benches, interleaved, criterion_streams);
criterion_main!(benches);
