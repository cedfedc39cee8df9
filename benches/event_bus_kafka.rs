//! The Kafka EventBus beside raw rdkafka with identical client settings, as interleaved rounds against
//! the harness broker (`AVB_TEST_KAFKA_BOOTSTRAP`); figures in `docs/benchmarks.md`.
//!
//! - `kafka/publish`: 2,000 messages of 64 bytes as 20 `publish_batch` calls of 100 — against a raw
//!   `FutureProducer` (idempotent, `acks=all`, `linger.ms=5`, the same `message.max.bytes`) handing the same
//!   100 records (same `avb-id` header) to librdkafka, then awaiting their 100 delivery reports.
//! - `kafka/consume_ack`: 2,000 pre-published messages, `next` + `ack` each through a new group — against a
//!   raw `StreamConsumer` (the backend's consumer settings: `enable.auto.commit=false`,
//!   `enable.auto.offset.store=false`) receiving them, storing each one's offset after processing it
//!   (`store_offset_from_message`) and committing the stored offsets every 100 ms (the adapter's commit
//!   schedule), plus once at the end, as the adapter commits on close. Timed from the first message on both
//!   sides (the group join is not the adapter's cost).
//! - `kafka/consume_ack_batched`: the same with `next_batch(64)` + one `Delivery::ack_all` per batch —
//!   against the raw consumer receiving 64 records (or the rest) and storing the last one's offset once
//!   (what a raw at-least-once consumer storing per batch does), the same commits.
//!
//! - `kafka/consume_ack_long`: the one-by-one pair over one topic of 20,000 messages, filled once
//!   (untimed), each round a new group on both sides, 10 rounds: ten times the records per timed window
//!   (the 2,000-message rounds last about a millisecond on the raw side, so a wake-up more or less moves
//!   their ratio).
//! - `kafka/consume_ack_long floor`: on the same topic, the raw loop that also decodes each record into
//!   the owned, shared `Message` an adapter hands out (`wire::decode` + an `Arc`), against the raw loop: what
//!   the decoding alone costs, before any adapter bookkeeping (issue 10).
//!
//! 20 rounds (10 for the long case), alternating which side goes first; the median of the per-round
//! ratios is the result. A failed round is skipped and named; nothing panics on a slow broker.
//!
//! Run with: `cargo bench -p avb --features event-bus-kafka,testing --bench event_bus_kafka`
//! (`AVB_TEST_BENCH_CURRENT_THREAD=1`: everything on one thread, to measure the reader-to-member hand-off).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may stop on a broken setup

use avb::event_bus::kafka::KafkaBus;
use avb::event_bus::kafka::wire::{self, HEADER_ID, kafka_topic, topic_root};
use avb::event_bus::{Delivery, EventBus, Message, Settings, StartPosition, Topic, WorkspaceId};
use rdkafka::ClientConfig;

/// The topic root of the adapter here (built in the default environment, `development`).
fn dev_root() -> String {
    topic_root(&avb::ResourceScope::default())
}
use rdkafka::Message as _;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use std::time::{Duration, Instant};

const N: usize = 2_000;
const DEPTH: usize = 100;
const ROUNDS: usize = 20;
/// Messages in the topic of `kafka/consume_ack_long`, and its rounds.
const LONG: usize = 20_000;
const LONG_ROUNDS: usize = 10;

type Outcome = Result<Duration, String>;

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

fn raw_producer(bootstrap: &str) -> FutureProducer {
    let max = Settings::default().max_message_bytes + 64 * 1024;
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.max.bytes", max.to_string())
        .create()
        .unwrap()
}

async fn raw_publish(producer: &FutureProducer, name: &str, msgs: &[Message]) -> Outcome {
    let start = Instant::now();
    for chunk in msgs.chunks(DEPTH) {
        let mut reports = Vec::with_capacity(chunk.len());
        for m in chunk {
            let headers = OwnedHeaders::new().insert(Header {
                key: HEADER_ID,
                value: Some(m.id.as_str().as_bytes()),
            });
            let record = FutureRecord::<(), _>::to(name)
                .payload(m.payload.as_ref())
                .headers(headers);
            reports.push(
                producer
                    .send_result(record)
                    .map_err(|(e, _)| e.to_string())?,
            );
        }
        for r in reports {
            r.await
                .map_err(|e| e.to_string())?
                .map_err(|(e, _)| e.to_string())?;
        }
    }
    Ok(start.elapsed())
}

async fn avb_publish(bus: &KafkaBus, topic: &Topic, msgs: &[Message]) -> Outcome {
    let start = Instant::now();
    for chunk in msgs.chunks(DEPTH) {
        bus.publish_batch(topic, chunk.to_vec())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(start.elapsed())
}

/// Records per batch of the batched consume pair.
const BATCH: usize = 64;

/// `decode`: the raw loop also turns each record into the owned, shared [`Message`] any adapter handing out
/// self-contained deliveries must build (`wire::decode`: the `avb-id` header, the other headers, the key,
/// a copy of the payload; then an `Arc`) — the floor of such an adapter, not a raw client's work.
async fn raw_consume(
    bootstrap: &str,
    name: &str,
    batched: bool,
    decode: bool,
    n: usize,
) -> Outcome {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("raw-{}", uuid::Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        .set("session.timeout.ms", "10000")
        .create()
        .map_err(|e| e.to_string())?;
    consumer.subscribe(&[name]).map_err(|e| e.to_string())?;
    let mut start = None;
    let mut last_commit = Instant::now();
    for i in 0..n {
        let m = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .map_err(|_| "raw consumer: nothing within 60 s".to_string())?
            .map_err(|e| e.to_string())?;
        start.get_or_insert_with(Instant::now);
        if decode {
            std::hint::black_box(std::sync::Arc::new(wire::decode(&m)));
        } else {
            std::hint::black_box(m.payload());
        }
        // Processed: its offset may be committed (at-least-once, as the adapter's ack); batched, once
        // for the batch's last record.
        if !batched || (i + 1) % BATCH == 0 || i + 1 == n {
            consumer
                .store_offset_from_message(&m)
                .map_err(|e| e.to_string())?;
        }
        if last_commit.elapsed() >= COMMIT_EVERY {
            commit(&consumer, CommitMode::Async)?;
            last_commit = Instant::now();
        }
    }
    let took = start.map(|s| s.elapsed()).unwrap_or_default();
    // Untimed, as the adapter's close: the last stored offsets.
    commit(&consumer, CommitMode::Sync)?;
    Ok(took)
}

/// The adapter's commit interval.
const COMMIT_EVERY: Duration = Duration::from_millis(100);

/// Commits the stored offsets; "nothing new to commit" is not an error.
fn commit(consumer: &StreamConsumer, mode: CommitMode) -> Result<(), String> {
    match consumer.commit_consumer_state(mode) {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
        Err(e) => Err(format!("raw commit: {e}")),
    }
}

async fn avb_consume(bus: &KafkaBus, topic: &Topic, batched: bool, n: usize) -> Outcome {
    // A new group each time (the long case reads one topic in every round).
    let group = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let mut sub = bus
        .subscribe(topic, &group, StartPosition::Earliest)
        .await
        .map_err(|e| e.to_string())?;
    let mut start = None;
    if batched {
        let mut done = 0;
        while done < n {
            let batch = tokio::time::timeout(Duration::from_secs(60), sub.next_batch(BATCH))
                .await
                .map_err(|_| "avb: nothing within 60 s".to_string())?
                .ok_or("avb: the subscription ended")?
                .map_err(|e| e.to_string())?;
            start.get_or_insert_with(Instant::now);
            for d in &batch {
                std::hint::black_box(&d.message().payload);
            }
            Delivery::ack_all(&batch).await.map_err(|e| e.to_string())?;
            done += batch.len();
        }
        return Ok(start.map(|s| s.elapsed()).unwrap_or_default());
    }
    for _ in 0..n {
        let d = tokio::time::timeout(Duration::from_secs(60), sub.next())
            .await
            .map_err(|_| "avb: nothing within 60 s".to_string())?
            .ok_or("avb: the subscription ended")?
            .map_err(|e| e.to_string())?;
        start.get_or_insert_with(Instant::now);
        std::hint::black_box(&d.message().payload);
        d.ack().await.map_err(|e| e.to_string())?;
    }
    Ok(start.map(|s| s.elapsed()).unwrap_or_default())
}

async fn interleave<R, A>(name: &str, (per_round, rounds_n): (usize, usize), mut raw: R, mut avb: A)
where
    R: AsyncFnMut() -> Outcome,
    A: AsyncFnMut() -> Outcome,
{
    let mut rounds = Vec::new();
    let mut skipped = 0;
    for round in 0..rounds_n {
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
    ratio_report(name, per_round, &rounds, skipped);
}

fn main() {
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    // `AVB_TEST_BENCH_CURRENT_THREAD=1`: the whole bench on one thread (the adapter's reader task beside
    // the member), to measure what the hand-off between two threads costs; by default two workers.
    let current_thread = avb::testing::harness_flag("AVB_TEST_BENCH_CURRENT_THREAD");
    let rt = if current_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    }
    .expect("a Tokio runtime");
    rt.block_on(async {
        let bus = KafkaBus::builder()
            .with_bootstrap_servers([&bootstrap])
            .build()
            .unwrap();
        let producer = raw_producer(&bootstrap);
        // Both sides publish to one topic the adapter created (the raw side has no admin step to time).
        let target = topic("publish");
        bus.publish(&target, Message::new(&b"create"[..]))
            .await
            .unwrap();
        let name = kafka_topic(&dev_root(), &target).unwrap();
        let msgs = messages(N);
        interleave(
            "kafka/publish",
            (N, ROUNDS),
            async || raw_publish(&producer, &name, &msgs).await,
            async || avb_publish(&bus, &target, &msgs).await,
        )
        .await;
        // Each consume round reads its own topic of N messages, filled (untimed) through the adapter.
        let fill = async |case: &str| -> Result<Topic, String> {
            let t = topic(case);
            avb_publish(&bus, &t, &msgs).await?;
            Ok(t)
        };
        for (case, batched) in [
            ("kafka/consume_ack", false),
            ("kafka/consume_ack_batched", true),
        ] {
            interleave(
                case,
                (N, ROUNDS),
                async || {
                    let t = fill("raw-consume").await?;
                    let name = kafka_topic(&dev_root(), &t).map_err(|e| e.to_string())?;
                    raw_consume(&bootstrap, &name, batched, false, N).await
                },
                async || {
                    let t = fill("avb-consume").await?;
                    avb_consume(&bus, &t, batched, N).await
                },
            )
            .await;
        }
        let long = topic("consume-long");
        for chunk in messages(LONG).chunks(N) {
            avb_publish(&bus, &long, chunk).await.unwrap();
        }
        let long_name = kafka_topic(&dev_root(), &long).unwrap();
        interleave(
            "kafka/consume_ack_long",
            (LONG, LONG_ROUNDS),
            async || raw_consume(&bootstrap, &long_name, false, false, LONG).await,
            async || avb_consume(&bus, &long, false, LONG).await,
        )
        .await;
        // The floor (issue 10): the raw loop plus decoding each record into an owned `Message`, against
        // the raw loop alone, on the same topic.
        interleave(
            "kafka/consume_ack_long floor (raw + decode into an owned Message, vs raw)",
            (LONG, LONG_ROUNDS),
            async || raw_consume(&bootstrap, &long_name, false, false, LONG).await,
            async || raw_consume(&bootstrap, &long_name, false, true, LONG).await,
        )
        .await;
        let _ = bus.close().await;
    });
}

#[path = "support/ratio.rs"]
mod ratio;
use ratio::ratio_report;
