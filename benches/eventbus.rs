//! EventBus benchmarks: each adapter beside the raw client doing the same work, in the same run, so the
//! ratio is the result (see `docs/benchmarks.md` for figures and the command).
//!
//! - `memory/queue`: publish N messages to one group with one consumer, consume and ack all — against a
//!   raw `tokio::sync::mpsc` channel sending and receiving the same N messages.
//! - `memory/fan_out`: the same with 4 groups, each consuming all N — against 4 raw mpsc channels.
//! - `redis/publish`: N messages as batches of 100 (`publish_batch`, one pipeline) — against raw `XADD`s
//!   in a pipeline of the same depth (feature `eventbus-redis`, harness Redis `AVB_TEST_REDIS_URL`).
//! - `redis/consume_ack`: consume and ack N pre-published entries — against raw `XREADGROUP COUNT 32` +
//!   one `XACK` per entry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may stop on a broken setup

use avb::eventbus::memory::MemoryBus;
use avb::eventbus::{EventBus, Message, StartPosition, Topic, WorkspaceId};
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

#[cfg(feature = "eventbus-redis")]
mod live {
    use super::*;
    use avb::eventbus::redis::{RedisBus, stream_key};
    use redis::streams::StreamReadReply;

    const RN: usize = 2_000;
    const DEPTH: usize = 100;

    fn fields(m: &Message) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("i", m.id.as_str().as_bytes().to_vec()),
            ("p", m.payload.to_vec()),
        ]
    }

    async fn raw_conn(url: &str) -> redis::aio::MultiplexedConnection {
        redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    async fn fill(conn: &mut redis::aio::MultiplexedConnection, key: &str, msgs: &[Message]) {
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
            pipe.query_async::<()>(conn).await.unwrap();
        }
    }

    async fn del(conn: &mut redis::aio::MultiplexedConnection, key: &str) {
        redis::cmd("DEL")
            .arg(key)
            .query_async::<()>(conn)
            .await
            .unwrap();
    }

    pub fn redis(c: &mut Criterion) {
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let bus = rt.block_on(async { RedisBus::builder().with_url(&url).build().unwrap() });
        let mut conn = rt.block_on(raw_conn(&url));

        let mut g = c.benchmark_group("redis/publish");
        g.sample_size(10);
        g.throughput(Throughput::Elements(RN as u64));
        g.bench_function("avb", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = topic("pub");
                        let msgs = messages(RN);
                        let start = Instant::now();
                        for chunk in msgs.chunks(DEPTH) {
                            bus.publish_batch(&t, chunk.to_vec()).await.unwrap();
                        }
                        total += start.elapsed();
                        del(&mut conn.clone(), &stream_key(&t)).await;
                    }
                    total
                })
            })
        });
        g.bench_function("raw_xadd_pipeline", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let key = stream_key(&topic("raw"));
                        let msgs = messages(RN);
                        let start = Instant::now();
                        fill(&mut conn, &key, &msgs).await;
                        total += start.elapsed();
                        del(&mut conn, &key).await;
                    }
                    total
                })
            })
        });
        g.finish();

        let mut g = c.benchmark_group("redis/consume_ack");
        g.sample_size(10);
        g.throughput(Throughput::Elements(RN as u64));
        g.bench_function("avb", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = topic("con");
                        let key = stream_key(&t);
                        let mut sub = bus
                            .subscribe(&t, "g", StartPosition::Earliest)
                            .await
                            .unwrap();
                        fill(&mut conn, &key, &messages(RN)).await;
                        let start = Instant::now();
                        for _ in 0..RN {
                            let d = sub.next().await.unwrap().unwrap();
                            d.ack().await.unwrap();
                        }
                        total += start.elapsed();
                        drop(sub);
                        del(&mut conn, &key).await;
                    }
                    total
                })
            })
        });
        g.bench_function("raw_xreadgroup_xack", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let key = stream_key(&topic("rawcon"));
                        redis::cmd("XGROUP")
                            .arg("CREATE")
                            .arg(&key)
                            .arg("g")
                            .arg("0")
                            .arg("MKSTREAM")
                            .query_async::<()>(&mut conn)
                            .await
                            .unwrap();
                        fill(&mut conn, &key, &messages(RN)).await;
                        let mut reader = raw_conn(&url).await;
                        let start = Instant::now();
                        let mut done = 0;
                        while done < RN {
                            let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
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
                                .unwrap();
                            for s in reply.map(|r| r.keys).unwrap_or_default() {
                                for e in s.ids {
                                    std::hint::black_box(&e.map);
                                    redis::cmd("XACK")
                                        .arg(&key)
                                        .arg("g")
                                        .arg(&e.id)
                                        .query_async::<()>(&mut conn)
                                        .await
                                        .unwrap();
                                    done += 1;
                                }
                            }
                        }
                        total += start.elapsed();
                        del(&mut conn, &key).await;
                    }
                    total
                })
            })
        });
        g.finish();
    }
}

#[cfg(feature = "eventbus-redis")]
criterion_group!(benches, memory, live::redis);
#[cfg(not(feature = "eventbus-redis"))]
criterion_group!(benches, memory);
criterion_main!(benches);
