//! Apache Kafka backend (feature `kafka`, on rdkafka with its bundled librdkafka): one Kafka topic per
//! topic, one Kafka consumer group per (topic, group).
//!
//! | operation | Kafka |
//! |---|---|
//! | publish / batch | the idempotent producer (`enable.idempotence`, `acks=all`, `linger.ms` 5): a batch hands every record to librdkafka before awaiting any delivery report, so it is one pipelined stream |
//! | topics | created through the admin client on first use (partitions and replication from the builder; `max.message.bytes` fitted to [`Settings::max_message_bytes`]); the broker may refuse auto-creation |
//! | subscribe | one consumer per (bus, topic, group) in consumer group `<kafka topic>.<group>`, shared by the subscriptions of that process, which take deliveries from it in turn; a new group's start offsets are committed before it joins |
//! | ack | settles the record in memory; the committed offset moves up to the lowest unsettled record of its partition |
//! | nack(delay), dropped delivery, ack timeout | the record goes back to this process's queue after `delay` (a zero delay, a drop and a lapsed lease: after the backoff [`Settings::retry_delay`], capped at the ack timeout), its attempt count one more; nothing is re-published |
//! | extend | moves the in-process lease's deadline (at most the ack timeout per call); [`Error::LeaseLost`] once the lease lapsed, the record was handed out again, its partition was revoked (a rebalance gave it to another member), or the consumer left the group |
//! | close | drains: nothing more is handed out, deliveries in flight may settle until `drain_timeout`, then the group commits what settled and leaves; the read-ahead and the unsettled are not committed (they come again to the group), the producer is flushed |
//! | dead letter | after `max_attempts` hand-outs: produced to `<topic>.dlq` (same key, payload and headers, plus the `avb-dlq-*` headers), then settled |
//! | backlog | high watermark − committed offset per partition, summed; the DLQ topic's high − low watermarks (see `backlog`) |
//!
//! **Redelivery design** (the issue leaves the choice open): *in-process queue*. A nacked or timed-out
//! record stays with the consumer that read it and is handed out again from memory; the partition's
//! committed offset never passes it (at-least-once). Its attempt count lives in memory and in the commit's
//! metadata (`offset=attempts` for each handed-out, unsettled record), so a consumer that takes the
//! partition over — after a crash or a rebalance — reads it from the committed offset and counts on.
//! Costs: a record nacked forever holds its partition's committed offset back (bounded by `max_attempts`);
//! a crash re-delivers everything above the committed offset (duplicates, never loss); an attempt handed
//! out after the last commit (every 100 ms) and then lost with the process is not counted.
//!
//! **Idempotent publish**: not declared. The idempotent producer (`enable.idempotence`) dedupes its own
//! retries of one send (per producer session and partition); an application's `publish` retried with the
//! same message id is a second record (consumers dedupe on the stable `avb-id`). Deduping that would need an
//! id index shared by every producer (a compacted topic, or transactions); `dedupe_window` is not used.
//!
//! **Per-key order**: a key maps to one partition (librdkafka's default partitioner), a partition to one
//! consumer of the group, and that consumer hands out a key's next record only once the previous one is
//! acked or dead-lettered — a redelivery comes back in its place.
//!
//! **Environment and workspace scoping**: topic `t` of workspace `w` under the environment scope `e` is
//! the Kafka topic `avb-e.w.t` (`avb.w.t` unscoped; scopes and workspace ids contain no `.`; names longer
//! than Kafka's 249 characters are refused; `docs/isolation.md`). Kafka refuses to create two topics
//! whose names differ only in `.` versus `_` (their metric names collide), e.g. `avb-e.a_b.c` and
//! `avb-e.a.b_c`: the second fails with a clear error. Scopes contain neither, so this never happens
//! across two scopes.
//!
//! **Wire format**: [`wire`] and `docs/event-bus-kafka.md`. **Retention**: the topic's (`retention.ms`,
//! broker default 7 days); `max_len` is not used. **Metrics**: [`KafkaBus::publish_failures`] and
//! [`KafkaBus::consumer_lag`].

mod backlog;
mod builder;
mod group;
mod join;
mod state;
pub mod wire;

pub use builder::KafkaBusBuilder;

use crate::{
    Backlog, Capabilities, Error, EventBus, Message, MessageId, Result, Settings, StartPosition,
    Subscription, Topic, backend::check_group,
};
use avb_core::Health;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The backend's name.
pub const SCHEME: &str = "kafka";

/// How often `close()` looks whether the deliveries in flight have settled.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// The Kafka bus. Cheap to clone; clones share the producer and the consumers.
#[derive(Clone)]
pub struct KafkaBus {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBus")
            .field("settings", &self.shared.settings)
            .field("partitions", &self.shared.partitions)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    /// [`wire::topic_root`] of the bus's scope.
    pub(crate) root: String,
    consumer_config: ClientConfig,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    settings: Settings,
    partitions: i32,
    replication: i32,
    max_bytes: usize,
    /// Kafka topics known to exist (created or found by this bus).
    created: Mutex<HashSet<String>>,
    /// The consumer of each (Kafka topic, group) in this bus.
    readers: Mutex<HashMap<(String, String), Arc<group::Reader>>>,
    /// The consumers `backlog` reads offsets with, by consumer group (see `backlog`).
    backlog_readers: backlog::Readers,
    closed: AtomicBool,
    publish_failures: AtomicU64,
}

impl KafkaBus {
    /// A builder with default settings.
    pub fn builder() -> KafkaBusBuilder {
        KafkaBusBuilder::new()
    }

    /// `publish` / `publish_batch` calls that failed at the broker since the bus was built (the topic could
    /// not be created, librdkafka refused a record, or a delivery report came back with an error; a batch
    /// counts once; bad input does not count), for the metrics of a later issue.
    pub fn publish_failures(&self) -> u64 {
        self.shared.publish_failures.load(Ordering::Relaxed)
    }

    /// Consumer lag of this bus's group consumers: per (topic, group), the records of the partitions they
    /// own between the committed offset and the end of the log, as of their last commit.
    pub fn consumer_lag(&self) -> Vec<(Topic, String, i64)> {
        let readers: Vec<Arc<group::Reader>> = match self.shared.readers.lock() {
            Ok(r) => r.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
        };
        readers
            .iter()
            .map(|r| (r.topic().clone(), r.group().to_string(), r.lag()))
            .collect()
    }
}

/// Maps a librdkafka error: broker trouble and timeouts are [`Error::Unavailable`] (retryable).
pub(crate) fn map_err(e: KafkaError, what: &str) -> Error {
    // rdkafka names no code for admin errors; their code classifies like any other.
    let code = match &e {
        KafkaError::AdminOp(code) => Some(*code),
        other => other.rdkafka_error_code(),
    };
    let retryable = match code {
        Some(code) => matches!(
            code,
            RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::NotEnoughReplicas
                | RDKafkaErrorCode::NotEnoughReplicasAfterAppend
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::CoordinatorLoadInProgress
                | RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::QueueFull
                | RDKafkaErrorCode::KafkaStorageError
        ),
        None => matches!(e, KafkaError::Canceled),
    };
    let reason = format!("{what}: {e}");
    Error::from_client(SCHEME, retryable, reason, e)
}

impl Shared {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed { backend: SCHEME });
        }
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Creates the Kafka topic `name` unless this bus already knows it exists.
    async fn ensure_topic(&self, name: &str) -> Result<()> {
        if self
            .created
            .lock()
            .map(|c| c.contains(name))
            .unwrap_or(false)
        {
            return Ok(());
        }
        let max_bytes = self.max_bytes.to_string();
        let topic = NewTopic::new(
            name,
            self.partitions,
            TopicReplication::Fixed(self.replication),
        )
        .set("max.message.bytes", &max_bytes);
        let options = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(30)))
            .request_timeout(Some(Duration::from_secs(10)));
        let results = self
            .admin
            .create_topics([&topic], &options)
            .await
            .map_err(|e| map_err(e, "creating the topic"))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(map_err(
                        KafkaError::AdminOp(code),
                        &format!("creating the topic {topic}"),
                    ));
                }
            }
        }
        if let Ok(mut created) = self.created.lock() {
            created.insert(name.to_string());
        }
        Ok(())
    }

    /// Hands one record to the producer; the returned future is its delivery report.
    fn send(
        &self,
        kafka_topic: &str,
        message: &Message,
    ) -> Result<rdkafka::producer::DeliveryFuture> {
        let headers = wire::headers(message)?;
        let mut record = FutureRecord::to(kafka_topic)
            .payload(message.payload.as_ref())
            .headers(headers);
        if let Some(key) = &message.key {
            record = record.key(key.as_bytes());
        }
        self.producer
            .send_result(record)
            .map_err(|(e, _)| map_err(e, "handing the record to the producer"))
    }

    /// Awaits one delivery report.
    async fn delivered(&self, report: rdkafka::producer::DeliveryFuture) -> Result<()> {
        match report.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((e, _))) => Err(map_err(e, "publishing")),
            Err(_) => Err(Error::Unavailable {
                backend: SCHEME,
                reason: "publishing: the producer went away before the delivery report".into(),
                source: None,
            }),
        }
    }

    fn count_failure(&self) {
        self.publish_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Publishes `messages` in order to the Kafka topic `name` (created if needed). Every record goes to
    /// the producer before the first report is awaited: one pipelined stream, in order (the idempotent
    /// producer keeps a partition's order across retries).
    async fn publish_all(&self, name: &str, messages: &[Message]) -> Result<()> {
        self.ensure_topic(name).await?;
        let mut reports = Vec::with_capacity(messages.len());
        for m in messages {
            reports.push(self.send(name, m)?);
        }
        for report in reports {
            self.delivered(report).await?;
        }
        Ok(())
    }

    /// Publishes `message` to `topic` (created if needed) and awaits its delivery report.
    async fn publish_one(&self, topic: &Topic, message: &Message) -> Result<()> {
        let name = wire::kafka_topic(&self.root, topic)?;
        self.ensure_topic(&name).await?;
        let report = self.send(&name, message)?;
        self.delivered(report).await
    }
}

#[async_trait::async_trait]
impl EventBus for KafkaBus {
    fn backend(&self) -> &'static str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ordering_per_key: true,
            persistent: true,
            dead_letter: true,
            redeliver_on_drop: true,
            max_message_bytes: self.shared.settings.max_message_bytes,
            max_nack_delay: self.shared.settings.ack_timeout,
            // A lease is this process's (the in-process queue): extend moves its deadline.
            extend_lease: true,
            max_lease_extension: self.shared.settings.ack_timeout,
            // The idempotent producer dedupes only its own retries of a send; an application's publish
            // retried with the same message id is a second record (see the module docs).
            idempotent_publish: false,
            backlog_lag: true,
            // In-flight records live in the members' processes (see `backlog`).
            backlog_in_flight: false,
            backlog_dead_letters: true,
            shares_read_ahead: true,
        }
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.shared.check_open()?;
        self.shared.settings.check_size(&message, SCHEME)?;
        wire::headers(&message)?;
        self.shared
            .publish_one(topic, &message)
            .await
            .inspect_err(|_| self.shared.count_failure())?;
        Ok(message.id)
    }

    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        self.shared.check_open()?;
        for m in &messages {
            self.shared.settings.check_size(m, SCHEME)?;
            wire::headers(m)?;
        }
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let name = wire::kafka_topic(&self.shared.root, topic)?;
        self.shared
            .publish_all(&name, &messages)
            .await
            .inspect_err(|_| self.shared.count_failure())?;
        Ok(messages.into_iter().map(|m| m.id).collect())
    }

    async fn subscribe(
        &self,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<Subscription> {
        check_group(group)?;
        self.shared.check_open()?;
        let name = wire::kafka_topic(&self.shared.root, topic)?;
        self.shared.ensure_topic(&name).await?;
        wire::kafka_topic(&self.shared.root, &topic.dead_letter())?;
        group::subscribe(&self.shared, topic, &name, group, start).await
    }

    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::SeqCst);
        let readers: Vec<Arc<group::Reader>> = match self.shared.readers.lock() {
            Ok(mut r) => r.drain().map(|(_, v)| v).collect(),
            Err(poisoned) => poisoned.into_inner().drain().map(|(_, v)| v).collect(),
        };
        // Drain: nothing more is handed out; deliveries in flight may settle until the drain timeout.
        for r in &readers {
            r.drain();
        }
        crate::backend::drain_wait(self.shared.settings.drain_timeout, DRAIN_POLL, || {
            readers.iter().any(|r| r.in_flight() > 0)
        })
        .await;
        // Commit what settled (never past what did not: the read-ahead and the unsettled come again to
        // the group) and leave.
        for r in &readers {
            r.stop();
        }
        for r in &readers {
            r.stopped().await;
        }
        let producer = self.shared.producer.clone();
        // Whatever is still queued in the producer goes out before close returns.
        let flushed = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(10)))
            .await
            .map_err(|e| Error::Backend {
                backend: SCHEME,
                reason: format!("flushing the producer: {e}"),
                source: None,
            })?;
        flushed.map_err(|e| map_err(e, "flushing the producer"))
    }

    async fn backlog(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        backlog::backlog(&self.shared, topic, group).await
    }

    async fn health(&self) -> Health {
        if self.shared.is_closed() {
            return Health::down(SCHEME, "closed");
        }
        let producer = self.shared.producer.clone();
        let metadata = tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, Duration::from_secs(3))
                .map(|m| m.brokers().len())
        })
        .await;
        match metadata {
            Ok(Ok(n)) if n > 0 => Health::up(SCHEME),
            Ok(Ok(_)) => Health::down(SCHEME, "the cluster reported no brokers"),
            Ok(Err(e)) => Health::down(SCHEME, map_err(e, "fetching metadata").to_string()),
            Err(e) => Health::down(SCHEME, format!("fetching metadata: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::WorkspaceId;

    #[tokio::test]
    async fn a_publish_to_an_unreachable_broker_is_retryable_and_counted() {
        let bus = KafkaBus::builder()
            .with_bootstrap_servers(["127.0.0.1:1"])
            .build()
            .unwrap();
        assert_eq!(bus.publish_failures(), 0);
        let topic = Topic::new(&WorkspaceId::new("w").unwrap(), "t").unwrap();
        let err = bus
            .publish(&topic, Message::new(&b"x"[..]))
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(bus.publish_failures(), 1);
        // Bad input is refused before any I/O and is not a publish failure.
        let bad = Message::new(&b"x"[..]).with_header(wire::HEADER_ID, "forged");
        assert!(matches!(
            bus.publish(&topic, bad).await,
            Err(Error::InvalidMessage { .. })
        ));
        assert_eq!(bus.publish_failures(), 1);
    }
}
