//! One consumer per (bus, topic, group): the [`Reader`] task reads records into an in-process queue,
//! subscriptions (members) take deliveries from it in turn, and settlement moves the committed offset.
//! The design and its costs are in the module docs of [`super`].

use super::{SCHEME, Shared, map_err, wire};
use crate::backend::{Origin, Receipt, Settle, Source};
use crate::{
    Delivery, Error, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC,
    Message, Result, Settings, StartPosition, Subscription, Topic,
};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::{ClientContext, Message as _, Offset, Statistics, TopicPartitionList};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Records read but not yet handed out, above which the reader stops fetching until members catch up.
const READ_AHEAD: usize = 1000;
/// Prefix of the commit metadata that carries attempt counts (`avb1 <offset>=<attempts>,…`).
const METADATA_PREFIX: &str = "avb1 ";
/// Kafka's default `offset.metadata.max.bytes` is 4096: stay below it.
const METADATA_MAX: usize = 3500;
/// Time for blocking librdkafka calls (metadata, committed offsets, watermarks).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A record this process read and has not settled.
#[derive(Clone)]
struct Entry {
    partition: i32,
    offset: i64,
    message: Arc<Message>,
    /// Hand-outs so far (also those of earlier consumers, from the commit metadata).
    attempts: u32,
}

struct Out {
    entry: Entry,
    deadline: Instant,
}

#[derive(Default)]
struct Part {
    /// The offset after the last record read.
    next: i64,
    /// Offsets read and not settled.
    unsettled: BTreeSet<i64>,
    dirty: bool,
}

#[derive(Default)]
struct State {
    ready: VecDeque<Entry>,
    delayed: Vec<(Instant, Entry)>,
    out: HashMap<(i32, i64), Out>,
    /// Keys with a record handed out, nacked or waiting for its redelivery: the key's next record waits.
    busy: HashMap<String, (i32, i64)>,
    parts: HashMap<i32, Part>,
    /// Attempt counts from the committed metadata of partitions this consumer was assigned.
    restored: HashMap<i32, HashMap<i64, u32>>,
    /// Records to dead-letter (from a drop or an ack timeout), with the last error.
    dead: Vec<(Entry, String)>,
}

impl State {
    fn key_free(&self, entry: &Entry) -> bool {
        match &entry.message.key {
            None => true,
            Some(k) => self
                .busy
                .get(k)
                .is_none_or(|at| *at == (entry.partition, entry.offset)),
        }
    }

    fn settle(&mut self, partition: i32, offset: i64, key: Option<&String>) {
        if let Some(part) = self.parts.get_mut(&partition) {
            part.unsettled.remove(&offset);
            part.dirty = true;
        }
        if let Some(k) = key
            && self.busy.get(k) == Some(&(partition, offset))
        {
            self.busy.remove(k);
        }
    }

    /// The offsets to commit (lowest unsettled, or the next to read) with the attempt counts of the
    /// handed-out records above them; marks the partitions clean.
    fn commits(&mut self, topic: &str, all: bool) -> Option<TopicPartitionList> {
        let mut attempts: HashMap<i32, Vec<(i64, u32)>> = HashMap::new();
        let entries = self
            .ready
            .iter()
            .chain(self.delayed.iter().map(|(_, e)| e))
            .chain(self.out.values().map(|o| &o.entry))
            .chain(self.dead.iter().map(|(e, _)| e));
        for e in entries {
            if e.attempts > 0 {
                attempts
                    .entry(e.partition)
                    .or_default()
                    .push((e.offset, e.attempts));
            }
        }
        let mut tpl = TopicPartitionList::new();
        for (p, part) in &mut self.parts {
            if !(part.dirty || all) {
                continue;
            }
            part.dirty = false;
            let at = part.unsettled.first().copied().unwrap_or(part.next);
            let mut meta = String::from(METADATA_PREFIX);
            if let Some(list) = attempts.get_mut(p) {
                list.sort_unstable();
                for (o, n) in list {
                    let item = format!("{o}={n},");
                    if meta.len() + item.len() > METADATA_MAX {
                        break;
                    }
                    meta.push_str(&item);
                }
            }
            let mut elem = tpl.add_partition(topic, *p);
            if elem.set_offset(Offset::Offset(at)).is_err() {
                continue;
            }
            elem.set_metadata(meta);
        }
        (tpl.count() > 0).then_some(tpl)
    }

    /// Forgets a partition this consumer no longer owns: its records go to the new owner.
    fn revoke(&mut self, partition: i32) {
        self.ready.retain(|e| e.partition != partition);
        self.delayed.retain(|(_, e)| e.partition != partition);
        self.dead.retain(|(e, _)| e.partition != partition);
        self.out.retain(|(p, _), _| *p != partition);
        self.busy.retain(|_, (p, _)| *p != partition);
        self.parts.remove(&partition);
        self.restored.remove(&partition);
    }
}

fn parse_metadata(meta: &str) -> HashMap<i64, u32> {
    meta.strip_prefix(METADATA_PREFIX)
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| {
            let (o, n) = item.split_once('=')?;
            Some((o.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The consumer's context: commits and forgets revoked partitions, restores attempt counts of assigned
/// ones, keeps the lag from librdkafka's statistics.
struct Ctx {
    topic: String,
    state: Arc<Mutex<State>>,
    lag: Arc<AtomicI64>,
}

impl ClientContext for Ctx {
    fn stats(&self, statistics: Statistics) {
        if let Some(t) = statistics.topics.get(&self.topic) {
            let lag = t
                .partitions
                .values()
                .filter(|p| p.partition >= 0 && p.committed_offset >= 0)
                .map(|p| (p.hi_offset - p.committed_offset).max(0))
                .sum();
            self.lag.store(lag, Ordering::Relaxed);
        }
    }
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let mut state = lock(&self.state);
            if let Some(commits) = state.commits(&self.topic, true) {
                // Best effort: what is not committed comes again to the next owner (at-least-once).
                let _ = consumer.commit(&commits, CommitMode::Sync);
            }
            for elem in tpl.elements_for_topic(&self.topic) {
                state.revoke(elem.partition());
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance
            && let Ok(committed) = consumer.committed_offsets((*tpl).clone(), CALL_TIMEOUT)
        {
            let mut state = lock(&self.state);
            for elem in committed.elements_for_topic(&self.topic) {
                state
                    .restored
                    .insert(elem.partition(), parse_metadata(elem.metadata()));
            }
        }
    }
}

type Kafka = StreamConsumer<Ctx>;

/// The consumer of one (topic, group) in one bus, shared by that group's subscriptions in this process.
pub(crate) struct Reader {
    topic: Topic,
    group: String,
    kafka_topic: String,
    settings: Settings,
    bus: Weak<Shared>,
    state: Arc<Mutex<State>>,
    lag: Arc<AtomicI64>,
    /// Members waiting for a delivery.
    wake: Notify,
    /// The reader, waiting for room in a full read-ahead queue.
    room: Notify,
    members: AtomicUsize,
    stopping: AtomicBool,
    stop: Notify,
    done: AtomicBool,
    finished: Notify,
}

impl Reader {
    pub(crate) fn topic(&self) -> &Topic {
        &self.topic
    }
    pub(crate) fn group(&self) -> &str {
        &self.group
    }
    pub(crate) fn lag(&self) -> i64 {
        self.lag.load(Ordering::Relaxed)
    }

    /// Asks the reader to commit and leave the group; members then see the end of their subscription.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.notify_one();
        self.wake.notify_waiters();
    }

    /// Waits until the reader committed and left the group.
    pub(crate) async fn stopped(&self) {
        loop {
            let finished = self.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            if self.done.load(Ordering::SeqCst) {
                return;
            }
            finished.await;
        }
    }

    /// Hands out the first ready record whose key is free (cancel-safe: no await).
    fn take(self: &Arc<Self>) -> Option<Delivery> {
        let mut state = lock(&self.state);
        let at = (0..state.ready.len()).find(|i| state.key_free(&state.ready[*i]))?;
        let mut entry = state.ready.remove(at)?;
        if state.ready.len() + 1 == READ_AHEAD {
            self.room.notify_one();
        }
        entry.attempts += 1;
        // The next commit carries the new attempt count in its metadata.
        if let Some(part) = state.parts.get_mut(&entry.partition) {
            part.dirty = true;
        }
        if let Some(k) = &entry.message.key {
            state
                .busy
                .insert(k.clone(), (entry.partition, entry.offset));
        }
        let receipt = Receipt {
            tag: u64::try_from(entry.offset).unwrap_or_default(),
            id: entry.partition.to_string(),
            attempt: entry.attempts,
        };
        let message = entry.message.clone();
        state.out.insert(
            (entry.partition, entry.offset),
            Out {
                entry,
                deadline: Instant::now() + self.settings.ack_timeout,
            },
        );
        drop(state);
        Some(Delivery::from_origin(message, receipt, self.clone()))
    }

    /// Takes the handed-out record of `receipt` back, if it is still out with that attempt (a stale
    /// receipt — the record was redelivered meanwhile, or its partition went to another consumer — is
    /// `None`).
    fn take_back(&self, receipt: &Receipt) -> Option<Entry> {
        let partition: i32 = receipt.id.parse().ok()?;
        let offset = i64::try_from(receipt.tag).ok()?;
        let mut state = lock(&self.state);
        match state.out.get(&(partition, offset)) {
            Some(out) if out.entry.attempts == receipt.attempt => {
                state.out.remove(&(partition, offset)).map(|o| o.entry)
            }
            _ => None,
        }
    }

    fn requeue(&self, entry: Entry, delay: Duration) {
        let mut state = lock(&self.state);
        if delay.is_zero() {
            state.ready.push_front(entry);
        } else {
            state.delayed.push((Instant::now() + delay, entry));
        }
        drop(state);
        self.wake.notify_waiters();
    }

    fn settled(&self, entry: &Entry) {
        lock(&self.state).settle(entry.partition, entry.offset, entry.message.key.as_ref());
        self.wake.notify_waiters();
    }

    /// Produces `entry` to the dead-letter topic with the `avb-dlq-*` headers.
    async fn dead_letter(&self, entry: &Entry, last_error: &str) -> Result<()> {
        let Some(bus) = self.bus.upgrade() else {
            return Err(Error::Closed { backend: SCHEME });
        };
        let name = wire::kafka_topic(&self.topic.dead_letter())?;
        bus.ensure_topic(&name).await?;
        let mut m = (*entry.message).clone();
        m.headers
            .insert(HEADER_ORIGINAL_TOPIC.into(), self.topic.name().into());
        m.headers.insert(HEADER_GROUP.into(), self.group.clone());
        m.headers
            .insert(HEADER_LAST_ERROR.into(), last_error.into());
        m.headers
            .insert(HEADER_ATTEMPTS.into(), entry.attempts.to_string());
        let report = bus.send(&name, &m)?;
        bus.delivered(report).await
    }

    /// Redelivers due delayed records, times out handed-out ones, dead-letters what must go.
    async fn housekeeping(&self) {
        let now = Instant::now();
        let (woke, dead) = {
            let mut state = lock(&self.state);
            let mut woke = false;
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut state.delayed)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            state.delayed = later;
            for (_, e) in due.into_iter().rev() {
                state.ready.push_front(e);
                woke = true;
            }
            let expired: Vec<(i32, i64)> = state
                .out
                .iter()
                .filter(|(_, o)| o.deadline <= now)
                .map(|(k, _)| *k)
                .collect();
            for k in expired {
                if let Some(out) = state.out.remove(&k) {
                    if out.entry.attempts >= self.settings.max_attempts {
                        state.dead.push((out.entry, "ack timeout".into()));
                    } else {
                        state.ready.push_front(out.entry);
                        woke = true;
                    }
                }
            }
            (woke, std::mem::take(&mut state.dead))
        };
        if woke {
            self.wake.notify_waiters();
        }
        for (entry, why) in dead {
            match self.dead_letter(&entry, &why).await {
                Ok(()) => self.settled(&entry),
                Err(_) => lock(&self.state).dead.push((entry, why)),
            }
        }
    }

    fn on_record(&self, record: &rdkafka::message::BorrowedMessage<'_>) {
        let (partition, offset) = (record.partition(), record.offset());
        let message = Arc::new(wire::decode(record));
        let mut state = lock(&self.state);
        let attempts = state
            .restored
            .get_mut(&partition)
            .and_then(|r| r.remove(&offset))
            .unwrap_or(0);
        let part = state.parts.entry(partition).or_default();
        part.next = offset + 1;
        part.unsettled.insert(offset);
        state.ready.push_back(Entry {
            partition,
            offset,
            message,
            attempts,
        });
        drop(state);
        self.wake.notify_waiters();
    }

    async fn run(self: Arc<Self>, consumer: Arc<Kafka>) {
        let tick = (self.settings.ack_timeout / 4)
            .clamp(Duration::from_millis(5), Duration::from_millis(100));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.stopping.load(Ordering::SeqCst) {
            let full = lock(&self.state).ready.len() >= READ_AHEAD;
            tokio::select! {
                _ = self.stop.notified() => break,
                _ = self.room.notified(), if full => {}
                record = consumer.recv(), if !full => match record {
                    Ok(record) => self.on_record(&record),
                    // Broker trouble: librdkafka reconnects by itself; health() reports it.
                    Err(_) => tokio::time::sleep(tick).await,
                },
                _ = interval.tick() => {
                    self.housekeeping().await;
                    let commits = lock(&self.state).commits(&self.kafka_topic, false);
                    if let Some(commits) = commits {
                        let _ = consumer.commit(&commits, CommitMode::Async);
                    }
                }
            }
        }
        // Settle what can be settled, commit, and leave the group (closing the consumer blocks).
        self.housekeeping().await;
        let commits = lock(&self.state).commits(&self.kafka_topic, true);
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(commits) = commits {
                let _ = consumer.commit(&commits, CommitMode::Sync);
            }
            consumer.unsubscribe();
            drop(consumer);
        })
        .await;
        if let Some(bus) = self.bus.upgrade()
            && let Ok(mut readers) = bus.readers.lock()
        {
            let key = (self.kafka_topic.clone(), self.group.clone());
            if readers.get(&key).is_some_and(|r| Arc::ptr_eq(r, &self)) {
                readers.remove(&key);
            }
        }
        self.done.store(true, Ordering::SeqCst);
        self.finished.notify_waiters();
        self.wake.notify_waiters();
    }
}

#[async_trait::async_trait]
impl Settle for Reader {
    async fn ack(&self, receipt: &Receipt) -> Result<()> {
        if let Some(entry) = self.take_back(receipt) {
            self.settled(&entry);
        }
        Ok(())
    }

    async fn nack(&self, receipt: &Receipt, delay: Duration, reason: &str) -> Result<()> {
        if delay > self.settings.ack_timeout {
            return Err(Error::DelayTooLong {
                delay,
                max: self.settings.ack_timeout,
                backend: SCHEME,
            });
        }
        let Some(entry) = self.take_back(receipt) else {
            return Ok(());
        };
        if entry.attempts < self.settings.max_attempts {
            self.requeue(entry, delay);
            return Ok(());
        }
        match self.dead_letter(&entry, reason).await {
            Ok(()) => {
                self.settled(&entry);
                Ok(())
            }
            Err(e) => {
                // Still out: the caller may nack again, or the ack timeout takes it.
                lock(&self.state).out.insert(
                    (entry.partition, entry.offset),
                    Out {
                        entry,
                        deadline: Instant::now() + self.settings.ack_timeout,
                    },
                );
                Err(e)
            }
        }
    }

    fn dropped(&self, receipt: &Receipt) {
        if let Some(entry) = self.take_back(receipt) {
            if entry.attempts >= self.settings.max_attempts {
                lock(&self.state)
                    .dead
                    .push((entry, "dropped without ack or nack".into()));
            } else {
                self.requeue(entry, Duration::ZERO);
            }
        }
    }
}

impl Origin for Reader {
    fn topic(&self) -> &Topic {
        &self.topic
    }
    fn group(&self) -> &str {
        &self.group
    }
}

/// One subscription: a member of the reader's group in this process.
struct Member {
    reader: Arc<Reader>,
}

impl Member {
    fn ended(&self) -> bool {
        self.reader.stopping.load(Ordering::SeqCst) || self.reader.done.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Source for Member {
    async fn next(&mut self) -> Option<Result<Delivery>> {
        loop {
            let woken = self.reader.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.ended() {
                return None;
            }
            if let Some(d) = self.reader.take() {
                return Some(Ok(d));
            }
            woken.await;
        }
    }

    fn try_next(&mut self) -> Option<Result<Delivery>> {
        if self.ended() {
            return None;
        }
        self.reader.take().map(Ok)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(bus) = self.reader.bus.upgrade() else {
            self.reader.stop();
            return;
        };
        let _readers = bus.readers.lock();
        if self.reader.members.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.reader.stop();
        }
    }
}

/// Joins `group` of `topic` in this bus: the existing reader, or a new consumer.
pub(crate) async fn subscribe(
    bus: &Arc<Shared>,
    topic: &Topic,
    kafka_topic: &str,
    group: &str,
    start: StartPosition,
) -> Result<Subscription> {
    let key = (kafka_topic.to_string(), group.to_string());
    loop {
        let existing = {
            let readers = bus.readers.lock().map_err(|_| poisoned())?;
            match readers.get(&key) {
                Some(r) if !r.stopping.load(Ordering::SeqCst) => {
                    r.members.fetch_add(1, Ordering::SeqCst);
                    return Ok(member(r.clone()));
                }
                other => other.cloned(),
            }
        };
        match existing {
            // A reader of this group is leaving: its commit must land before a new consumer reads.
            Some(old) => old.stopped().await,
            None => break,
        }
    }
    let reader = start_reader(bus, topic, kafka_topic, group, start).await?;
    let mut readers = bus.readers.lock().map_err(|_| poisoned())?;
    reader.members.fetch_add(1, Ordering::SeqCst);
    readers.insert(key, reader.clone());
    Ok(member(reader))
}

fn member(reader: Arc<Reader>) -> Subscription {
    Subscription::new(Box::new(Member { reader }))
}

fn poisoned() -> Error {
    Error::Backend {
        backend: SCHEME,
        reason: "an internal lock was poisoned by a panic".into(),
        source: None,
    }
}

async fn start_reader(
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
    let reader = Arc::new(Reader {
        topic: topic.clone(),
        group: group.to_string(),
        kafka_topic: kafka_topic.to_string(),
        settings: bus.settings.clone(),
        bus: Arc::downgrade(bus),
        state,
        lag,
        wake: Notify::new(),
        room: Notify::new(),
        members: AtomicUsize::new(0),
        stopping: AtomicBool::new(false),
        stop: Notify::new(),
        done: AtomicBool::new(false),
        finished: Notify::new(),
    });
    tokio::spawn(reader.clone().run(consumer));
    Ok(reader)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_metadata_round_trips_attempts() {
        assert_eq!(
            parse_metadata("avb1 5=2,9=1,"),
            HashMap::from([(5, 2), (9, 1)])
        );
        assert!(parse_metadata("").is_empty());
        assert!(parse_metadata("written by another client").is_empty());
        assert!(parse_metadata("avb1 x=1,5=y,7=3").len() == 1);
    }
}
