//! Starting a group consumer: its librdkafka configuration, the topic's partitions, a new group's start
//! offsets, the subscription.

use super::group::Reader;
use super::state::{Ctx, Kafka, State};
use super::{SCHEME, Shared, map_err};
use crate::{Error, Result, StartPosition, Topic};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Time for blocking librdkafka calls (metadata, committed offsets, watermarks).
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn start_reader(
    bus: &Arc<Shared>,
    topic: &Topic,
    kafka_topic: &str,
    group: &str,
    start: StartPosition,
) -> Result<Arc<Reader>> {
    let state = Arc::new(Mutex::new(State::default()));
    let lag = Arc::new(AtomicI64::new(0));
    let ctx = Ctx {
        topic: kafka_topic.to_string(),
        state: state.clone(),
        lag: lag.clone(),
    };
    let mut config = bus.consumer_config.clone();
    config
        .set("group.id", format!("{kafka_topic}.{group}"))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set(
            "auto.offset.reset",
            match start {
                StartPosition::Earliest => "earliest",
                StartPosition::Latest => "latest",
            },
        )
        .set("fetch.wait.max.ms", "100")
        .set("session.timeout.ms", "10000")
        .set("statistics.interval.ms", "5000");
    let consumer: Kafka = config
        .create_with_context(ctx)
        .map_err(|e| Error::InvalidConfig {
            key: "kafka consumer".into(),
            value: e.to_string(),
            expected: "a valid librdkafka configuration".into(),
        })?;
    let consumer = Arc::new(consumer);
    let prepared = {
        let consumer = consumer.clone();
        let name = kafka_topic.to_string();
        tokio::task::spawn_blocking(move || prepare(&consumer, &name, start))
            .await
            .map_err(|e| Error::Backend {
                backend: SCHEME,
                reason: format!("preparing the consumer: {e}"),
                source: None,
            })?
    };
    prepared?;
    Ok(Reader::start(
        bus,
        topic,
        kafka_topic,
        group,
        state,
        lag,
        consumer,
    ))
}

/// Calls `f` until it succeeds, fails for good, or `deadline` passes: right after a topic is created or a
/// broker restarted, metadata, coordinator and leader lookups answer "not yet" for a moment.
fn retrying<T>(
    deadline: std::time::Instant,
    what: &str,
    mut f: impl FnMut() -> rdkafka::error::KafkaResult<T>,
) -> Result<T> {
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) => {
                let err = map_err(e, what);
                if !err.is_retryable() || std::time::Instant::now() >= deadline {
                    return Err(err);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Waits until the topic's partitions are known, commits the start offsets of a new group (so `Latest`
/// means "after subscribe returned", not "after the group was assigned"), and subscribes.
fn prepare(consumer: &Kafka, topic: &str, start: StartPosition) -> Result<()> {
    let deadline = std::time::Instant::now() + CALL_TIMEOUT * 3;
    let partitions: Vec<i32> = loop {
        let metadata = retrying(deadline, "fetching the topic's metadata", || {
            consumer.fetch_metadata(Some(topic), CALL_TIMEOUT)
        })?;
        let found: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if !found.is_empty() {
            break found;
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::Unavailable {
                backend: SCHEME,
                reason: format!(
                    "the topic {topic} has no partitions in the cluster's metadata yet"
                ),
                source: None,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut asked = TopicPartitionList::new();
    for p in &partitions {
        asked.add_partition(topic, *p);
    }
    let committed = retrying(deadline, "reading the group's committed offsets", || {
        consumer.committed_offsets(asked.clone(), CALL_TIMEOUT)
    })?;
    let mut starts = TopicPartitionList::new();
    for elem in committed.elements_for_topic(topic) {
        if matches!(elem.offset(), Offset::Offset(_)) {
            continue;
        }
        let (low, high) = retrying(deadline, "reading the partition's offsets", || {
            consumer.fetch_watermarks(topic, elem.partition(), CALL_TIMEOUT)
        })?;
        let at = match start {
            StartPosition::Earliest => low,
            StartPosition::Latest => high,
        };
        let _ = starts.add_partition_offset(topic, elem.partition(), Offset::Offset(at));
    }
    if starts.count() > 0 {
        // Refused when the group already has active members elsewhere: they set its position then.
        let _ = consumer.commit(&starts, CommitMode::Sync);
    }
    consumer
        .subscribe(&[topic])
        .map_err(|e| map_err(e, "subscribing"))
}
