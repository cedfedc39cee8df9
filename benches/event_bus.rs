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
#![allow(clippy::expect_used)] // a benchmark may stop on a broken setup, with context

use avb::event_bus::memory::MemoryBus;
use avb::event_bus::{Delivery, EventBus, Message, StartPosition, Topic, WorkspaceId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const N: usize = 10_000;
const GROUPS: usize = 4;
/// The `max` of a batched take (`Subscription::next_batch`), and the raw side's `recv_many` limit.
const BATCH: usize = 64;
/// Interleaved rounds per memory pair (raw then avb, avb then raw, …).
const MEMORY_ROUNDS: usize = 41;

fn messages(n: usize) -> Vec<Message> {
    let payload = bytes::Bytes::from_static(&[42u8; 64]);
    (0..n).map(|_| Message::new(payload.clone())).collect()
}

fn topic(name: &str) -> Topic {
    let ws = WorkspaceId::new("bench").expect("a fixed workspace name is valid");
    Topic::new(&ws, format!("{name}-{}", uuid::Uuid::new_v4().simple()))
        .expect("a fixed topic name with a UUID is valid")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// How the memory consumers take and settle: one `next` + `ack` per message, or `next_batch(BATCH)` +
/// one `Delivery::ack_all` per batch.
#[derive(Clone, Copy, Debug)]
enum Take {
    One,
    Batch,
}

/// How the memory bus side publishes: through the port (`EventBus::publish`: a topic lookup and a boxed
/// future per message) or through a topic handle (`MemoryBus::publisher`, synchronous).
#[derive(Clone, Copy, Debug)]
enum Publish {
    Port,
    Handle,
}

/// The time of a memory round: publishing everything, then consuming everything (the total is their sum).
#[derive(Clone, Copy)]
struct Phases {
    publish: Duration,
    consume: Duration,
}

impl Phases {
    /// A round that started at `start`, spent `published` publishing, and has just consumed the rest.
    fn ended(start: Instant, published: Duration) -> Self {
        let total = start.elapsed();
        Phases {
            publish: published,
            consume: total - published,
        }
    }

    fn total(self) -> Duration {
        self.publish + self.consume
    }
}

async fn bus_work(groups: usize, take: Take, publish: Publish, msgs: Vec<Message>) -> Phases {
    let bus = MemoryBus::builder()
        .build()
        .unwrap_or_else(|e| panic!("memory bus with default settings: {e}"));
    let topic = topic("mem");
    let mut subs = Vec::new();
    for g in 0..groups {
        let name = format!("g{g}");
        let sub = bus.subscribe(&topic, &name, StartPosition::Latest).await;
        subs.push(sub.unwrap_or_else(|e| panic!("subscribe {name}: {e}")));
    }
    let n = msgs.len();
    let handle = bus.publisher(&topic);
    let start = Instant::now();
    for m in msgs {
        let published = match publish {
            Publish::Port => bus.publish(&topic, m).await,
            Publish::Handle => handle.publish(m),
        };
        if let Err(e) = published {
            panic!("memory publish: {e}");
        }
    }
    let published = start.elapsed();
    for sub in &mut subs {
        let mut got = 0;
        while got < n {
            match take {
                Take::One => {
                    let d = match sub.next().await {
                        Some(Ok(d)) => d,
                        other => panic!("memory next after {got} of {n}: {other:?}"),
                    };
                    d.ack().await.unwrap_or_else(|e| panic!("memory ack: {e}"));
                    got += 1;
                }
                Take::Batch => {
                    let batch = match sub.next_batch(BATCH).await {
                        Some(Ok(batch)) => batch,
                        other => panic!("memory next_batch after {got} of {n}: {other:?}"),
                    };
                    Delivery::ack_all(&batch)
                        .await
                        .unwrap_or_else(|e| panic!("memory ack_all: {e}"));
                    got += batch.len();
                }
            }
        }
    }
    Phases::ended(start, published)
}

async fn raw_work(groups: usize, take: Take, msgs: Vec<Message>) -> Phases {
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
            if tx.send(m.clone()).is_err() {
                panic!("raw mpsc send: the receiver is gone");
            }
        }
    }
    let published = start.elapsed();
    let mut buf = Vec::with_capacity(BATCH);
    for rx in &mut rxs {
        let mut got = 0;
        while got < n {
            match take {
                Take::One => {
                    let m = rx.recv().await;
                    std::hint::black_box(m.expect("raw mpsc recv: the senders are alive"));
                    got += 1;
                }
                Take::Batch => {
                    let taken = rx.recv_many(&mut buf, BATCH).await;
                    assert!(taken > 0, "raw mpsc recv_many: the senders are alive");
                    std::hint::black_box(&buf);
                    buf.clear();
                    got += taken;
                }
            }
        }
    }
    Phases::ended(start, published)
}

/// The floor of an at-least-once consumer (issue 16): the raw channel plus the least record any design
/// that can hand a lapsed delivery to another member must keep — per delivery an in-flight entry (sequence,
/// deadline, a reference to the message) under a lock an ack from any thread can take, a delivery owning
/// its message and a reference to that record, and an ack that settles the entry. It leaves out what the
/// memory bus also does (idempotent-publish dedupe, per-key order, redelivery, dead letters, the clock: the
/// deadline is one instant per round), so it is a lower bound on any such design built on the channel, not
/// a backend. Not part of avb; printed beside the bus so the 0.8× target can be read against it.
mod floor {
    use super::{BATCH, Message, Phases, Take};
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// An in-flight entry: what a lapsed lease would hand to another member (`held`: a message, or a
    /// batch's messages).
    struct Record<T> {
        seq: u64,
        deadline: Instant,
        held: T,
        settled: bool,
    }

    type InFlight<T> = Arc<Mutex<VecDeque<Record<T>>>>;

    /// A delivery (`T`: one message) or a batch-owned delivery (`T`: the batch's messages).
    struct Delivery<T> {
        held: T,
        in_flight: InFlight<T>,
        seq: u64,
    }

    /// A batch that owns its messages and is settled as one: the shape of a different `Delivery` API
    /// (one in-flight entry and one reference count per batch, not per delivery), for comparison.
    type Batch = Arc<Vec<Arc<Message>>>;

    /// Records `held` as in flight under the next sequence number; its delivery.
    fn hand_out<T: Clone>(
        ring: &mut VecDeque<Record<T>>,
        in_flight: &InFlight<T>,
        seq: &mut u64,
        deadline: Instant,
        held: T,
    ) -> Delivery<T> {
        *seq += 1;
        ring.push_back(Record {
            seq: *seq,
            deadline,
            held: held.clone(),
            settled: false,
        });
        Delivery {
            held,
            in_flight: in_flight.clone(),
            seq: *seq,
        }
    }

    /// Reads what a lapsed lease would hand to another member (the floors never redeliver).
    fn look_at_front<T>(in_flight: &InFlight<T>) {
        let ring = in_flight.lock().expect("floor lock");
        std::hint::black_box(ring.front().map(|r| (r.deadline, &r.held)));
    }

    fn settle<T>(ring: &mut VecDeque<Record<T>>, seq: u64) {
        let Some(front) = ring.front().map(|r| r.seq) else {
            return;
        };
        if let Some(r) = seq
            .checked_sub(front)
            .and_then(|i| ring.get_mut(i as usize))
        {
            r.settled = true;
        }
        while ring.front().is_some_and(|r| r.settled) {
            ring.pop_front();
        }
    }

    /// The raw side's publish, as the floors' own: one unbounded channel per group, each message sent to
    /// every group. The receivers, when sending started, and how long it took.
    fn publish(
        groups: usize,
        msgs: Vec<Message>,
    ) -> (
        Vec<tokio::sync::mpsc::UnboundedReceiver<Arc<Message>>>,
        Instant,
        Duration,
    ) {
        let (txs, receivers): (Vec<_>, Vec<_>) = (0..groups)
            .map(|_| tokio::sync::mpsc::unbounded_channel::<Arc<Message>>())
            .unzip();
        let start = Instant::now();
        for m in msgs {
            let m = Arc::new(m);
            for tx in &txs {
                if tx.send(m.clone()).is_err() {
                    panic!("floor send: the receiver is gone");
                }
            }
        }
        (receivers, start, start.elapsed())
    }

    /// The batched floor with batch-owned deliveries (see [`Batch`]).
    pub(super) async fn batch_owned(groups: usize, msgs: Vec<Message>) -> Phases {
        let deadline = Instant::now() + Duration::from_secs(30);
        let n = msgs.len();
        let (receivers, start, published) = publish(groups, msgs);
        let mut consumers: Vec<_> = receivers
            .into_iter()
            .map(|rx| (rx, InFlight::<Batch>::default(), 0u64))
            .collect();
        for (rx, in_flight, seq) in &mut consumers {
            let mut got = 0;
            while got < n {
                let mut buf = Vec::with_capacity(BATCH);
                let taken = rx.recv_many(&mut buf, BATCH).await;
                assert!(taken > 0, "floor recv_many: the senders are alive");
                let batch = {
                    let mut ring = in_flight.lock().expect("floor lock");
                    hand_out(&mut ring, in_flight, seq, deadline, Arc::new(buf))
                };
                std::hint::black_box(&batch.held);
                settle(&mut batch.in_flight.lock().expect("floor lock"), batch.seq);
                got += taken;
            }
            look_at_front(in_flight);
        }
        Phases::ended(start, published)
    }

    pub(super) async fn work(groups: usize, take: Take, msgs: Vec<Message>) -> Phases {
        let deadline = Instant::now() + Duration::from_secs(30);
        let n = msgs.len();
        let (receivers, start, published) = publish(groups, msgs);
        let mut consumers: Vec<_> = receivers
            .into_iter()
            .map(|rx| (rx, InFlight::<Arc<Message>>::default(), 0u64))
            .collect();
        let mut buf = Vec::with_capacity(BATCH);
        let mut batch = Vec::with_capacity(BATCH);
        for (rx, in_flight, seq) in &mut consumers {
            let mut got = 0;
            while got < n {
                match take {
                    Take::One => {
                        let message = rx.recv().await.expect("floor recv: the senders are alive");
                        let d = {
                            let mut ring = in_flight.lock().expect("floor lock");
                            hand_out(&mut ring, in_flight, seq, deadline, message)
                        };
                        std::hint::black_box(&d.held);
                        settle(&mut d.in_flight.lock().expect("floor lock"), d.seq);
                        got += 1;
                    }
                    Take::Batch => {
                        let taken = rx.recv_many(&mut buf, BATCH).await;
                        assert!(taken > 0, "floor recv_many: the senders are alive");
                        {
                            let mut ring = in_flight.lock().expect("floor lock");
                            for message in buf.drain(..) {
                                batch.push(hand_out(&mut ring, in_flight, seq, deadline, message));
                            }
                        }
                        std::hint::black_box(&batch);
                        {
                            let mut ring = in_flight.lock().expect("floor lock");
                            for d in &batch {
                                settle(&mut ring, d.seq);
                            }
                        }
                        batch.clear();
                        got += taken;
                    }
                }
            }
            look_at_front(in_flight);
        }
        Phases::ended(start, published)
    }
}

fn memory(c: &mut Criterion) {
    let rt = runtime();
    for (name, groups) in [("queue", 1), ("fan_out", GROUPS)] {
        let mut g = c.benchmark_group(format!("memory/{name}"));
        g.throughput(Throughput::Elements((N * groups) as u64));
        for (suffix, take) in [("", Take::One), ("_batched", Take::Batch)] {
            for (how, publish) in [("", Publish::Port), ("_handle", Publish::Handle)] {
                g.bench_function(format!("avb{suffix}{how}"), |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| {
                                rt.block_on(bus_work(groups, take, publish, messages(N)))
                                    .total()
                            })
                            .sum()
                    })
                });
            }
            g.bench_function(format!("raw_tokio_mpsc{suffix}"), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| rt.block_on(raw_work(groups, take, messages(N))).total())
                        .sum()
                })
            });
        }
        g.finish();
    }
}

/// The memory pairs as interleaved rounds (raw first, then avb first, …): prints the median of the
/// per-round throughput ratios avb / raw, with p10–p90, for single-message and batched takes.
fn memory_interleaved(_: &mut Criterion) {
    let rt = runtime();
    for (name, groups) in [("queue", 1), ("fan_out", GROUPS)] {
        for (take, publish) in [
            (Take::One, Publish::Port),
            (Take::Batch, Publish::Port),
            (Take::One, Publish::Handle),
            (Take::Batch, Publish::Handle),
        ] {
            let mut rounds = Vec::with_capacity(MEMORY_ROUNDS);
            let mut phases = Vec::with_capacity(MEMORY_ROUNDS);
            for round in 0..MEMORY_ROUNDS {
                let (msgs_raw, msgs_avb) = (messages(N), messages(N));
                let (raw, avb) = if round % 2 == 0 {
                    let raw = rt.block_on(raw_work(groups, take, msgs_raw));
                    (raw, rt.block_on(bus_work(groups, take, publish, msgs_avb)))
                } else {
                    let avb = rt.block_on(bus_work(groups, take, publish, msgs_avb));
                    (rt.block_on(raw_work(groups, take, msgs_raw)), avb)
                };
                rounds.push((raw.total(), avb.total()));
                phases.push((raw, avb));
            }
            let label = format!("memory/{name} ({take:?}, publish via {publish:?})");
            ratio_report(&label, N * groups, &rounds, 0);
            phase_report(&label, N, N * groups, &phases);
        }
        // The floors, in rounds of their own (raw first, then the floor first, …), so they do not
        // disturb the pairs above.
        for (take, owned) in [
            (Take::One, false),
            (Take::Batch, false),
            (Take::Batch, true),
        ] {
            let floor_work = |msgs| {
                if owned {
                    rt.block_on(floor::batch_owned(groups, msgs))
                } else {
                    rt.block_on(floor::work(groups, take, msgs))
                }
            };
            let mut phases = Vec::with_capacity(MEMORY_ROUNDS);
            for round in 0..MEMORY_ROUNDS {
                let (msgs_raw, msgs_floor) = (messages(N), messages(N));
                phases.push(if round % 2 == 0 {
                    let raw = rt.block_on(raw_work(groups, take, msgs_raw));
                    (raw, floor_work(msgs_floor))
                } else {
                    let floor = floor_work(msgs_floor);
                    (rt.block_on(raw_work(groups, take, msgs_raw)), floor)
                });
            }
            let label = if owned {
                format!("memory/{name} (Batch) floor, batch-owned deliveries")
            } else {
                format!("memory/{name} ({take:?}) floor: raw channel + in-flight record only")
            };
            let totals: Vec<_> = phases.iter().map(|(r, f)| (r.total(), f.total())).collect();
            ratio_report(&label, N * groups, &totals, 0);
            phase_report(&label, N, N * groups, &phases);
        }
    }
}

/// Prints where a memory pair's time goes: the median nanoseconds per message of the publish phase (per
/// published message) and of the consume phase (per delivery), raw and avb, from the same rounds.
fn phase_report(name: &str, published: usize, delivered: usize, rounds: &[(Phases, Phases)]) {
    let median_ns = |f: &dyn Fn(&(Phases, Phases)) -> Duration, per: usize| {
        let mut ns: Vec<f64> = rounds
            .iter()
            .map(|r| f(r).as_secs_f64() * 1e9 / per as f64)
            .collect();
        ns.sort_by(f64::total_cmp);
        ns[ns.len() / 2]
    };
    println!(
        "{name}: per message, median ns: publish raw {:.0} / avb {:.0}; consume (per delivery) raw {:.0} / avb {:.0}",
        median_ns(&|r| r.0.publish, published),
        median_ns(&|r| r.1.publish, published),
        median_ns(&|r| r.0.consume, delivered),
        median_ns(&|r| r.1.consume, delivered),
    );
}

#[cfg(feature = "event-bus-redis")]
mod live {
    //! The Redis comparison runs as interleaved rounds, not as two criterion functions one after the other:
    //! on a shared machine against an `appendfsync always` server, load and the growing append-only file
    //! shift whichever side runs later. Each round times the raw client and the adapter on the same work,
    //! alternating which goes first, and the median of the per-round ratios is the result. A failed
    //! operation (the server too slow to answer, gone) skips that round with a message; nothing panics.
    use super::*;
    use avb::event_bus::redis::{RedisBus, key_root, stream_key};

    /// The key root of the adapter here (built in the default environment, `development`).
    fn dev_root() -> String {
        key_root(&avb::ResourceScope::default())
    }

    const RN: usize = 2_000;
    const DEPTH: usize = 100;
    const ROUNDS: usize = 20;
    /// Entries per `XREADGROUP` on the raw side: the adapter's reader reads 32 at a time too.
    const COUNT: usize = 32;
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
        del(conn, &stream_key(&dev_root(), &t)).await;
        Ok(took)
    }

    async fn raw_publish(conn: &mut Conn) -> Outcome {
        let key = stream_key(&dev_root(), &topic("raw"));
        let msgs = messages(RN);
        let start = Instant::now();
        let filled = fill(conn, &key, &msgs).await;
        let took = start.elapsed();
        del(conn, &key).await;
        filled.map(|()| took)
    }

    async fn avb_consume(bus: &RedisBus, conn: &mut Conn, take: Take) -> Outcome {
        let t = topic("con");
        let key = stream_key(&dev_root(), &t);
        let mut sub = bus
            .subscribe(&t, "g", StartPosition::Earliest)
            .await
            .map_err(|e| format!("subscribe: {e}"))?;
        let result = async {
            fill(conn, &key, &messages(RN)).await?;
            let start = Instant::now();
            let mut done = 0;
            while done < RN {
                match take {
                    Take::One => {
                        let d = match sub.next().await {
                            Some(Ok(d)) => d,
                            Some(Err(e)) => return Err(format!("next: {e}")),
                            None => return Err("the subscription ended".into()),
                        };
                        d.ack().await.map_err(|e| format!("ack: {e}"))?;
                        done += 1;
                    }
                    Take::Batch => {
                        let batch = match sub.next_batch(COUNT).await {
                            Some(Ok(batch)) => batch,
                            Some(Err(e)) => return Err(format!("next_batch: {e}")),
                            None => return Err("the subscription ended".into()),
                        };
                        Delivery::ack_all(&batch)
                            .await
                            .map_err(|e| format!("ack_all: {e}"))?;
                        done += batch.len();
                    }
                }
            }
            Ok(start.elapsed())
        }
        .await;
        drop(sub);
        del(conn, &key).await;
        result
    }

    /// One `XACK` of `ids`; an error names the command and what the server said.
    async fn xack(conn: &mut Conn, key: &str, ids: &[String]) -> Result<(), String> {
        redis::cmd("XACK")
            .arg(key)
            .arg("g")
            .arg(ids)
            .query_async::<()>(conn)
            .await
            .map_err(|e| format!("XACK of {} entries: {e}", ids.len()))
    }

    async fn raw_consume(url: &str, conn: &mut Conn, take: Take) -> Outcome {
        let key = stream_key(&dev_root(), &topic("rawcon"));
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
                    .arg(COUNT)
                    .arg("BLOCK")
                    .arg(100)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(">")
                    .query_async(&mut reader)
                    .await
                    .map_err(|e| format!("XREADGROUP: {e}"))?;
                for s in reply.map(|r| r.keys).unwrap_or_default() {
                    match take {
                        Take::One => {
                            for e in s.ids {
                                std::hint::black_box(&e.map);
                                xack(conn, &key, &[e.id]).await?;
                                done += 1;
                            }
                        }
                        Take::Batch => {
                            std::hint::black_box(&s.ids);
                            let ids: Vec<String> = s.ids.into_iter().map(|e| e.id).collect();
                            if !ids.is_empty() {
                                xack(conn, &key, &ids).await?;
                            }
                            done += ids.len();
                        }
                    }
                }
            }
            Ok(start.elapsed())
        }
        .await;
        del(conn, &key).await;
        result
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
        ratio_report(name, RN, &rounds, skipped);
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
            for (name, take) in [
                ("redis/consume_ack", Take::One),
                ("redis/consume_ack_batched", Take::Batch),
            ] {
                let (c1, c2) = (&mut conn, &mut conn2);
                interleave(
                    name,
                    async || raw_consume(&url, &mut *c1, take).await,
                    async || avb_consume(&bus, &mut *c2, take).await,
                )
                .await;
            }
        });
    }
}

#[cfg(feature = "event-bus-redis")]
criterion_group!(benches, memory, memory_interleaved, live::redis);
#[cfg(not(feature = "event-bus-redis"))]
criterion_group!(benches, memory, memory_interleaved);
criterion_main!(benches);

#[path = "support/ratio.rs"]
mod ratio;
use ratio::ratio_report;
