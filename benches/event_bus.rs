//! EventBus benchmarks: each adapter beside the raw client doing the same work, in the same run, so the
//! ratio is the result (see `docs/benchmarks.md` for figures and the command).
//!
//! - `memory/queue`: publish N messages to one group with one consumer, consume and ack all — against a
//!   raw `tokio::sync::mpsc` channel sending and receiving the same N messages.
//! - `memory/fan_out`: the same with 4 groups, each consuming all N — against 4 raw mpsc channels.
//! - `redis/publish`: 2,000 messages as batches of 100 (`publish_batch`, one pipeline) — against raw
//!   `XADD`s in a pipeline of the same depth (feature `event-bus-redis`, harness Redis `AVB_TEST_REDIS_URL`).
//! - `redis/consume_ack`: consume and ack 2,000 pre-published entries — against raw `XREADGROUP COUNT 32`
//!   + one `XACK` per entry.
//!
//! The Redis pairs run as 20 interleaved rounds (see `live`) and print the median per-round ratio; they
//! never panic on a slow or missing server (a failed round is skipped and named).
//!
//! Run with: `cargo bench -p avb --features event-bus-redis,testing --bench event_bus`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may stop on a broken setup

use avb::event_bus::memory::MemoryBus;
use avb::event_bus::{EventBus, Message, StartPosition, Topic, WorkspaceId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const N: usize = 10_000;
const GROUPS: usize = 4;

fn messages(n: usize) -> Vec<Message> {
    let payload = bytes::Bytes::from_static(&[42u8; 64]);
    (0..n).map(|_| Message::new(payload.clone())).collect()
}

fn topic(name: &str) -> Topic {
    Topic::new(
        &WorkspaceId::new("bench").unwrap(),
        format!("{name}-{}", uuid::Uuid::new_v4().simple()),
    )
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn bus_work(groups: usize, msgs: Vec<Message>) -> Duration {
    let bus = MemoryBus::builder().build().unwrap();
    let topic = topic("mem");
    let mut subs = Vec::new();
    for g in 0..groups {
        subs.push(
            bus.subscribe(&topic, &format!("g{g}"), StartPosition::Latest)
                .await
                .unwrap(),
        );
    }
    let n = msgs.len();
    let start = Instant::now();
    for m in msgs {
        bus.publish(&topic, m).await.unwrap();
    }
    for sub in &mut subs {
        for _ in 0..n {
            let d = sub.next().await.unwrap().unwrap();
            d.ack().await.unwrap();
        }
    }
    start.elapsed()
}

async fn raw_work(groups: usize, msgs: Vec<Message>) -> Duration {
    let mut txs = Vec::new();
    let mut rxs = Vec::new();
    for _ in 0..groups {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::sync::Arc<Message>>();
        txs.push(tx);
        rxs.push(rx);
    }
    let n = msgs.len();
    let start = Instant::now();
    for m in msgs {
        let m = std::sync::Arc::new(m);
        for tx in &txs {
            tx.send(m.clone()).unwrap();
        }
    }
    for rx in &mut rxs {
        for _ in 0..n {
            std::hint::black_box(rx.recv().await.unwrap());
        }
    }
    start.elapsed()
}

fn memory(c: &mut Criterion) {
    let rt = runtime();
    for (name, groups) in [("queue", 1), ("fan_out", GROUPS)] {
        let mut g = c.benchmark_group(format!("memory/{name}"));
        g.throughput(Throughput::Elements((N * groups) as u64));
        g.bench_function("avb", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(bus_work(groups, messages(N))))
                    .sum()
            })
        });
        g.bench_function("raw_tokio_mpsc", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(raw_work(groups, messages(N))))
                    .sum()
            })
        });
        g.finish();
    }
}

#[cfg(feature = "event-bus-redis")]
mod live {
    //! The Redis comparison runs as interleaved rounds, not as two criterion functions one after the other:
    //! on a shared machine against an `appendfsync always` server, load and the growing append-only file
    //! shift whichever side runs later. Each round times the raw client and the adapter on the same work,
    //! alternating which goes first, and the median of the per-round ratios is the result. A failed
    //! operation (the server too slow to answer, gone) skips that round with a message; nothing panics.
    use super::*;
    use avb::event_bus::redis::{RedisBus, stream_key};

    const RN: usize = 2_000;
    const DEPTH: usize = 100;
    const ROUNDS: usize = 20;
    /// Generous, as the adapter's own default (10 s + the claim interval): fsync-bound pipelines of 100
    /// `XADD`s can take longer than the client's 500 ms default, which made the raw side fail.
    const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

    type Conn = redis::aio::MultiplexedConnection;
    type Outcome = Result<Duration, String>;

    fn fields(m: &Message) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("i", m.id.as_str().as_bytes().to_vec()),
            ("p", m.payload.to_vec()),
        ]
    }

    async fn raw_conn(url: &str) -> Result<Conn, String> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        redis::Client::open(url)
            .map_err(|e| format!("bad URL: {e}"))?
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| format!("connecting: {e}"))
    }

    async fn fill(conn: &mut Conn, key: &str, msgs: &[Message]) -> Result<(), String> {
        for chunk in msgs.chunks(DEPTH) {
            let mut pipe = redis::pipe();
            for m in chunk {
                let mut cmd = redis::cmd("XADD");
                cmd.arg(key).arg("MAXLEN").arg("~").arg(100_000).arg("*");
                for (f, v) in fields(m) {
                    cmd.arg(f).arg(v);
                }
                pipe.add_command(cmd).ignore();
            }
            pipe.query_async::<()>(conn)
                .await
                .map_err(|e| format!("raw XADD pipeline: {e}"))?;
        }
        Ok(())
    }

    async fn del(conn: &mut Conn, key: &str) {
        // Cleanup only: a failure leaves a stream behind, it does not change a figure.
        let _ = redis::cmd("DEL").arg(key).query_async::<()>(conn).await;
    }

    async fn avb_publish(bus: &RedisBus, conn: &mut Conn) -> Outcome {
        let t = topic("pub");
        let msgs = messages(RN);
        let start = Instant::now();
        for chunk in msgs.chunks(DEPTH) {
            bus.publish_batch(&t, chunk.to_vec())
                .await
                .map_err(|e| format!("publish_batch: {e}"))?;
        }
        let took = start.elapsed();
        del(conn, &stream_key(&t)).await;
        Ok(took)
    }

    async fn raw_publish(conn: &mut Conn) -> Outcome {
        let key = stream_key(&topic("raw"));
        let msgs = messages(RN);
        let start = Instant::now();
        let filled = fill(conn, &key, &msgs).await;
        let took = start.elapsed();
        del(conn, &key).await;
        filled.map(|()| took)
    }

    async fn avb_consume(bus: &RedisBus, conn: &mut Conn) -> Outcome {
        let t = topic("con");
        let key = stream_key(&t);
        let mut sub = bus
            .subscribe(&t, "g", StartPosition::Earliest)
            .await
            .map_err(|e| format!("subscribe: {e}"))?;
        let result = async {
            fill(conn, &key, &messages(RN)).await?;
            let start = Instant::now();
            for _ in 0..RN {
                let d = match sub.next().await {
                    Some(Ok(d)) => d,
                    Some(Err(e)) => return Err(format!("next: {e}")),
                    None => return Err("the subscription ended".into()),
                };
                d.ack().await.map_err(|e| format!("ack: {e}"))?;
            }
            Ok(start.elapsed())
        }
        .await;
        drop(sub);
        del(conn, &key).await;
        result
    }

    async fn raw_consume(url: &str, conn: &mut Conn) -> Outcome {
        let key = stream_key(&topic("rawcon"));
        let result = async {
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&key)
                .arg("g")
                .arg("0")
                .arg("MKSTREAM")
                .query_async::<()>(conn)
                .await
                .map_err(|e| format!("XGROUP CREATE: {e}"))?;
            fill(conn, &key, &messages(RN)).await?;
            let mut reader = raw_conn(url).await?;
            let start = Instant::now();
            let mut done = 0;
            while done < RN {
                let reply: Option<redis::streams::StreamReadReply> = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg("g")
                    .arg("c")
                    .arg("COUNT")
                    .arg(32)
                    .arg("BLOCK")
                    .arg(100)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(">")
                    .query_async(&mut reader)
                    .await
                    .map_err(|e| format!("XREADGROUP: {e}"))?;
                for s in reply.map(|r| r.keys).unwrap_or_default() {
                    for e in s.ids {
                        std::hint::black_box(&e.map);
                        redis::cmd("XACK")
                            .arg(&key)
                            .arg("g")
                            .arg(&e.id)
                            .query_async::<()>(conn)
                            .await
                            .map_err(|e| format!("XACK: {e}"))?;
                        done += 1;
                    }
                }
            }
            Ok(start.elapsed())
        }
        .await;
        del(conn, &key).await;
        result
    }

    /// Prints the median and p10–p90 of the per-round throughput ratios avb / raw.
    fn report(name: &str, rounds: &[(Duration, Duration)], skipped: usize) {
        let per_s = |d: &Duration| RN as f64 / d.as_secs_f64();
        let mut ratios: Vec<f64> = rounds
            .iter()
            .map(|(raw, avb)| raw.as_secs_f64() / avb.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
        if ratios.is_empty() {
            println!("{name}: no round completed ({skipped} skipped)");
            return;
        }
        let mut raw: Vec<f64> = rounds.iter().map(|(r, _)| per_s(r)).collect();
        let mut avb: Vec<f64> = rounds.iter().map(|(_, a)| per_s(a)).collect();
        raw.sort_by(f64::total_cmp);
        avb.sort_by(f64::total_cmp);
        println!(
            "{name}: interleaved throughput ratio avb/raw = {:.2} (median of {} rounds of {RN} messages; p10 {:.2}, p90 {:.2}; {skipped} skipped); median raw {:.1} K msg/s, avb {:.1} K msg/s",
            at(0.5),
            ratios.len(),
            at(0.1),
            at(0.9),
            raw[raw.len() / 2] / 1000.0,
            avb[avb.len() / 2] / 1000.0,
        );
    }

    async fn interleave<R, A>(name: &str, mut raw: R, mut avb: A)
    where
        R: AsyncFnMut() -> Outcome,
        A: AsyncFnMut() -> Outcome,
    {
        let mut rounds = Vec::new();
        let mut skipped = 0;
        for round in 0..ROUNDS {
            let (r, a) = if round % 2 == 0 {
                let r = raw().await;
                (r, avb().await)
            } else {
                let a = avb().await;
                (raw().await, a)
            };
            match (r, a) {
                (Ok(r), Ok(a)) => rounds.push((r, a)),
                (r, a) => {
                    skipped += 1;
                    for e in [r.err(), a.err()].into_iter().flatten() {
                        eprintln!("{name}: round {round} skipped: {e}");
                    }
                }
            }
        }
        report(name, &rounds, skipped);
    }

    pub fn redis(_: &mut Criterion) {
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        rt.block_on(async {
            let bus = match RedisBus::builder().with_url(&url).build() {
                Ok(bus) => bus,
                Err(e) => return eprintln!("redis benchmarks skipped: {e}"),
            };
            let (mut conn, mut conn2) = match (raw_conn(&url).await, raw_conn(&url).await) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return eprintln!("redis benchmarks skipped: {e}"),
            };
            let (c1, c2) = (&mut conn, &mut conn2);
            interleave(
                "redis/publish",
                async || raw_publish(&mut *c1).await,
                async || avb_publish(&bus, &mut *c2).await,
            )
            .await;
            let (c1, c2) = (&mut conn, &mut conn2);
            interleave(
                "redis/consume_ack",
                async || raw_consume(&url, &mut *c1).await,
                async || avb_consume(&bus, &mut *c2).await,
            )
            .await;
        });
    }
}

#[cfg(feature = "event-bus-redis")]
criterion_group!(benches, memory, live::redis);
#[cfg(not(feature = "event-bus-redis"))]
criterion_group!(benches, memory);
criterion_main!(benches);
