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
    let mut lag: u64 = 0;
    let mut any = false;
    for elem in committed.elements_for_topic(name) {
        let Offset::Offset(at) = elem.offset() else {
            continue;
        };
        any = true;
        let (_, high) = watermarks(consumer, name, elem.partition())?;
        lag += u64::try_from(high - at).unwrap_or(0);
    }
    if !any {
        return Err(unknown());
    }
    let mut dead: u64 = 0;
    for p in partitions(consumer, dlq)? {
        let (low, high) = watermarks(consumer, dlq, p)?;
        dead += u64::try_from(high - low).unwrap_or(0);
    }
    Ok(Backlog::new(Some(lag), None, Some(dead)))
}
