//! The Pulsar EventBus beside the raw `pulsar` crate with the same client settings, as interleaved rounds
//! against the harness broker (`AVB_TEST_PULSAR_URL`, `AVB_TEST_PULSAR_ADMIN_URL`); figures in
//! `docs/benchmarks.md`.
//!
//! - `pulsar/publish`: 2,000 messages of 64 bytes as 20 `publish_batch` calls of 100 — against a raw
//!   producer (same options: no batching) handing the same 100 messages (same `avb-id` property) to the
//!   producer, then awaiting their 100 receipts.
//! - `pulsar/consume_ack`: 2,000 pre-published messages, `next` + `ack` each through a new group — against a
//!   raw consumer of a new Shared subscription on the same topic receiving them and acking each
//!   individually. Timed from the first message on both sides (subscribing is not the adapter's cost).
//!
//! Both sides use a receiver queue of 64 (`PulsarBusBuilder::with_receiver_queue`; the adapter's default
//! of 1 shares a group's work fairly but is far slower, and would measure the broker's round trips, not the
//! adapter).
//!
//! 20 rounds, alternating which side goes first; the median of the per-round ratios is the result. A
//! failed round is skipped and named; nothing panics on a slow broker.
//!
//! Run with: `cargo bench -p avb --features event-bus-pulsar,testing --bench event_bus_pulsar`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark may stop on a broken setup

use avb::event_bus::pulsar::PulsarBus;
use avb::event_bus::pulsar::wire::PROPERTY_ID;
use avb::event_bus::{EventBus, Message, StartPosition, Topic, WorkspaceId};
use futures::StreamExt;
use pulsar::consumer::{ConsumerOptions, InitialPosition};
use pulsar::{Pulsar, SubType, TokioExecutor};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const N: usize = 2_000;
const DEPTH: usize = 100;
const ROUNDS: usize = 20;
const TENANT: &str = "avb-bench";

/// Where the buses here put their topics: the tenant, in the default environment (`development`).
fn dev_names() -> avb::event_bus::pulsar::wire::Names {
    avb::event_bus::pulsar::wire::Names {
        tenant: TENANT.into(),
        scope: avb::ResourceScope::default(),
    }
}
const RECEIVER_QUEUE: u32 = 64;

type Outcome = Result<Duration, String>;

fn messages() -> Vec<Message> {
    let payload = bytes::Bytes::from_static(&[42u8; 64]);
    (0..N).map(|_| Message::new(payload.clone())).collect()
}

fn topic(name: &str) -> Topic {
    Topic::new(
        &WorkspaceId::new("bench").unwrap(),
        format!("{name}-{}", uuid::Uuid::new_v4().simple()),
    )
    .unwrap()
}

async fn raw_publish(
    producer: &mut pulsar::producer::Producer<TokioExecutor>,
    msgs: &[Message],
) -> Outcome {
    let start = Instant::now();
    for chunk in msgs.chunks(DEPTH) {
        let mut receipts = Vec::with_capacity(chunk.len());
        for m in chunk {
            let raw = pulsar::producer::Message {
                payload: m.payload.to_vec(),
                properties: HashMap::from([(PROPERTY_ID.to_string(), m.id.as_str().to_string())]),
                ..Default::default()
            };
            receipts.push(
                producer
                    .send_non_blocking(raw)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        for r in receipts {
            r.await.map_err(|e| e.to_string())?;
        }
    }
    Ok(start.elapsed())
}

async fn avb_publish(bus: &PulsarBus, topic: &Topic, msgs: &[Message]) -> Outcome {
    let start = Instant::now();
    for chunk in msgs.chunks(DEPTH) {
        bus.publish_batch(topic, chunk.to_vec())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(start.elapsed())
}

async fn raw_consume(client: &Pulsar<TokioExecutor>, name: &str) -> Outcome {
    let mut consumer: pulsar::Consumer<Vec<u8>, TokioExecutor> = client
        .consumer()
        .with_topic(name)
        .with_subscription(format!("raw-{}", uuid::Uuid::new_v4().simple()))
        .with_subscription_type(SubType::Shared)
        .with_batch_size(RECEIVER_QUEUE)
        .with_options(ConsumerOptions::default().with_initial_position(InitialPosition::Earliest))
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let mut start = None;
    for _ in 0..N {
        let m = tokio::time::timeout(Duration::from_secs(60), consumer.next())
            .await
            .map_err(|_| "raw consumer: nothing within 60 s".to_string())?
            .ok_or("raw consumer: the stream ended")?
            .map_err(|e| e.to_string())?;
        start.get_or_insert_with(Instant::now);
        consumer.ack(&m).await.map_err(|e| e.to_string())?;
    }
    let elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
    let _ = consumer.close().await;
    Ok(elapsed)
}

async fn avb_consume(bus: &PulsarBus, topic: &Topic) -> Outcome {
    let group = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let mut sub = bus
        .subscribe(topic, &group, StartPosition::Earliest)
        .await
        .map_err(|e| e.to_string())?;
    let mut start = None;
    for _ in 0..N {
        let d = tokio::time::timeout(Duration::from_secs(60), sub.next())
            .await
            .map_err(|_| "avb: nothing within 60 s".to_string())?
            .ok_or("avb: the subscription ended")?
            .map_err(|e| e.to_string())?;
        start.get_or_insert_with(Instant::now);
        d.ack().await.map_err(|e| e.to_string())?;
    }
    Ok(start.map(|s| s.elapsed()).unwrap_or_default())
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
    ratio_report(name, N, &rounds, skipped);
}

fn main() {
    let Some(url) = avb::testing::live_server("AVB_TEST_PULSAR_URL") else {
        return;
    };
    let Some(admin) = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    rt.block_on(async {
        let bus = PulsarBus::builder()
            .with_url(&url)
            .with_admin_url(&admin)
            .with_tenant(TENANT)
            .with_receiver_queue(RECEIVER_QUEUE)
            .build()
            .unwrap();
        let client = Pulsar::builder(&url, TokioExecutor).build().await.unwrap();
        // Both sides publish to one topic the adapter created (namespace and topic).
        let target = topic("publish");
        bus.publish(&target, Message::new(&b"create"[..]))
            .await
            .unwrap();
        let name = dev_names().topic_url(&target);
        let mut producer = client
            .producer()
            .with_topic(&name)
            .with_options(pulsar::producer::ProducerOptions {
                block_queue_if_full: true,
                ..Default::default()
            })
            .build()
            .await
            .unwrap();
        let msgs = messages();
        interleave(
            "pulsar/publish",
            async || raw_publish(&mut producer, &msgs).await,
            async || avb_publish(&bus, &target, &msgs).await,
        )
        .await;
        // Each consume round reads its own topic of N messages, filled (untimed) through the adapter.
        let fill = async |case: &str| -> Result<Topic, String> {
            let t = topic(case);
            avb_publish(&bus, &t, &msgs).await?;
            Ok(t)
        };
        interleave(
            "pulsar/consume_ack",
            async || {
                let t = fill("raw-consume").await?;
                raw_consume(&client, &dev_names().topic_url(&t)).await
            },
            async || {
                let t = fill("avb-consume").await?;
                avb_consume(&bus, &t).await
            },
        )
        .await;
        let _ = bus.close().await;
    });
}

#[path = "support/ratio.rs"]
mod ratio;
use ratio::ratio_report;
