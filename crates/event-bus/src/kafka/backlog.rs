//! [`EventBus::backlog`](crate::EventBus::backlog) on Kafka, from the broker: a short-lived consumer in
//! the group `<kafka topic>.<group>` (it never joins) reads the topic's partitions, their watermarks and
//! the group's committed offsets.
//!
//! `lag`: Σ over the partitions of (high watermark − committed offset) — the standard consumer lag; the
//! committed offset moves up to the lowest unsettled record of its partition every 100 ms, so a record
//! settled above an unsettled one counts until that one settles. `in_flight`: `None` — which records a
//! member read or handed out lives in that member's process, not in the broker
//! ([`crate::Capabilities::backlog_in_flight`] is false). `dead_letters`: Σ (high − low watermark) of
//! `<topic>.dlq` — the records retained there (0 when it does not exist). A topic without partitions in
//! the metadata, or a group without a committed offset on any partition (every group this backend
//! creates commits its start offsets before it joins), is [`Error::UnknownGroup`]. The blocking
//! librdkafka calls run on the blocking pool, each within [`CALL_TIMEOUT`]. The consumer of each group is
//! kept for the next call (creating one costs about 100 ms; at most [`MAX_READERS`] are kept, then the
//! oldest set is dropped), so a periodic scrape costs a few round trips.

use super::{SCHEME, Shared, map_err, wire};
use crate::{Backlog, Error, Result, Topic, backend::check_group};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The most backlog consumers a bus keeps.
const MAX_READERS: usize = 64;

/// The backlog consumers of a bus, by consumer group id.
pub(super) type Readers = Mutex<HashMap<String, Arc<BaseConsumer>>>;

/// Time for each blocking librdkafka call of a backlog read.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn backlog(shared: &Arc<Shared>, topic: &Topic, group: &str) -> Result<Backlog> {
    check_group(group)?;
    let name = wire::kafka_topic(&shared.root, topic)?;
    let dlq = wire::kafka_topic(&shared.root, &topic.dead_letter())?;
    let consumer = reader(shared, format!("{name}.{group}"))?;
    let (topic_name, group_name) = (topic.name().to_string(), group.to_string());
    tokio::task::spawn_blocking(move || read(&consumer, &name, &dlq, &topic_name, &group_name))
        .await
        .map_err(|e| Error::Backend {
            backend: SCHEME,
            reason: format!("reading the backlog: {e}"),
            source: None,
        })?
}

/// The kept consumer of consumer group `id`, created on first use (it never joins the group).
fn reader(shared: &Shared, id: String) -> Result<Arc<BaseConsumer>> {
    let mut readers = shared
        .backlog_readers
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = readers.get(&id) {
        return Ok(c.clone());
    }
    let mut config = shared.consumer_config.clone();
    config
        .set("group.id", &id)
        .set("enable.auto.commit", "false")
        .set("allow.auto.create.topics", "false");
    let consumer: Arc<BaseConsumer> =
        Arc::new(config.create().map_err(|e| Error::InvalidConfig {
            key: "kafka consumer".into(),
            value: e.to_string(),
            expected: "a valid librdkafka configuration".into(),
        })?);
    if readers.len() >= MAX_READERS {
        // Destroying a librdkafka client blocks (it closes its threads): not on this task's thread.
        let old = std::mem::take(&mut *readers);
        tokio::task::spawn_blocking(move || drop(old));
    }
    readers.insert(id, consumer.clone());
    Ok(consumer)
}

/// The partitions of `topic` (empty when the topic does not exist).
fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), CALL_TIMEOUT)
        .map_err(|e| map_err(e, "fetching the topic's metadata"))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect())
}

fn watermarks(consumer: &BaseConsumer, topic: &str, partition: i32) -> Result<(i64, i64)> {
    consumer
        .fetch_watermarks(topic, partition, CALL_TIMEOUT)
        .map_err(|e| map_err(e, "reading the partition's watermarks"))
}

fn read(
    consumer: &BaseConsumer,
    name: &str,
    dlq: &str,
    topic: &str,
    group: &str,
) -> Result<Backlog> {
    let unknown = || Error::UnknownGroup {
        backend: SCHEME,
        topic: topic.to_string(),
        group: group.to_string(),
    };
    let parts = partitions(consumer, name)?;
    if parts.is_empty() {
        return Err(unknown());
    }
    let mut asked = TopicPartitionList::new();
    for p in &parts {
        asked.add_partition(name, *p);
    }
    let committed = consumer
        .committed_offsets(asked, CALL_TIMEOUT)
        .map_err(|e| map_err(e, "reading the group's committed offsets"))?;
    let mut behind = Vec::new();
    for elem in committed.elements_for_topic(name) {
        let Offset::Offset(at) = elem.offset() else {
            continue;
        };
        let (_, high) = watermarks(consumer, name, elem.partition())?;
        behind.push((at, high));
    }
    if behind.is_empty() {
        return Err(unknown());
    }
    let mut held = Vec::new();
    for p in partitions(consumer, dlq)? {
        held.push(watermarks(consumer, dlq, p)?);
    }
    Ok(Backlog::new(
        Some(total(&behind, Start::Committed)?),
        None,
        Some(total(&held, Start::LowWatermark)?),
    ))
}

/// Where a partition's count starts.
#[derive(Clone, Copy, PartialEq)]
enum Start {
    /// The group's committed offset (lag).
    Committed,
    /// The partition's low watermark (records retained).
    LowWatermark,
}

/// The sum over partitions of `high − start`.
/// A committed offset past the high watermark (the topic was truncated or recreated) is 0 behind; offsets
/// a broker never sends (negative, a low watermark above the high one) or a sum past `u64` are an error
/// naming both numbers — never a panic or a wrapped count.
fn total(pairs: &[(i64, i64)], from: Start) -> Result<u64> {
    let mut sum: u64 = 0;
    for &(start, high) in pairs {
        let bad = || Error::Backend {
            backend: SCHEME,
            reason: format!(
                "the broker answered offsets that cannot be: {} {start}, high watermark {high}",
                match from {
                    Start::Committed => "committed offset",
                    Start::LowWatermark => "low watermark",
                }
            ),
            source: None,
        };
        if start < 0 || high < 0 || (from == Start::LowWatermark && start > high) {
            return Err(bad());
        }
        // Both are non-negative, so the difference cannot overflow.
        let n = u64::try_from(high - start).unwrap_or(0);
        sum = sum.checked_add(n).ok_or_else(bad)?;
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::{Start, total};

    #[test]
    fn sums_what_each_partition_is_behind() {
        assert_eq!(
            total(&[(3, 10), (0, 0), (12, 10)], Start::Committed).unwrap(),
            7
        );
        assert_eq!(total(&[(2, 5), (0, 1)], Start::LowWatermark).unwrap(), 4);
        assert_eq!(total(&[], Start::Committed).unwrap(), 0);
    }

    #[test]
    fn offsets_a_broker_never_sends_are_errors() {
        for pairs in [
            vec![(-5, 10)],
            vec![(0, -1)],
            vec![(i64::MIN, i64::MAX)],
            vec![(0, i64::MAX), (0, i64::MAX), (0, i64::MAX)],
        ] {
            let err = total(&pairs, Start::Committed).unwrap_err();
            assert!(err.to_string().contains("cannot be"), "{err}");
        }
        assert!(total(&[(6, 5)], Start::LowWatermark).is_err());
    }

    proptest::proptest! {
        /// Any offsets at all: a count or an error, never a panic.
        #[test]
        fn any_offsets_are_read_without_panicking(
            pairs in proptest::collection::vec(proptest::prelude::any::<(i64, i64)>(), 0..8),
        ) {
            let _ = total(&pairs, Start::Committed);
            let _ = total(&pairs, Start::LowWatermark);
        }
    }
}
