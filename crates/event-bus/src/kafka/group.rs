//! One consumer per (bus, topic, group): the [`Reader`] task reads records into an in-process queue,
//! subscriptions (members) take deliveries from it in turn, and settlement moves the committed offset.
//! The design and its costs are in the module docs of [`super`].

use super::state::{Entry, Kafka, Out, State, lock};
use super::{SCHEME, Shared, wire};
use crate::backend::{Origin, Receipt, Settle};
use crate::{
    Delivery, Error, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC,
    Message, Result, Settings, Topic,
};
use rdkafka::Message as _;
use rdkafka::consumer::{CommitMode, Consumer};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

mod member;
pub(crate) use member::subscribe;

/// Records read but not yet handed out, above which the reader stops fetching until members catch up.
const READ_AHEAD: usize = 1000;
/// Records the reader queues at once (what librdkafka fetched already, up to this many).
const READ_BATCH: usize = 256;

/// A record read: partition, offset, message.
type Read = (i32, i64, Arc<Message>);

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
    /// `close()` began: nothing more is handed out; in-flight deliveries may still settle.
    draining: AtomicBool,
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

    /// Stops hand-outs (`close()` drains): members see the end of their subscription, while the reader
    /// keeps running so that deliveries in flight can still be acked, nacked or extended.
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    /// Deliveries handed out and not settled yet.
    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.state).out.len()
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

    /// Hands out up to `max` ready records whose keys are free, in queue order, under one lock of the
    /// state (cancel-safe: no await), each to `out`; how many (0 when none is ready). No list is built on
    /// the way: `next` takes one record with no allocation but the delivery's own.
    fn take_with(self: &Arc<Self>, max: usize, mut out: impl FnMut(Delivery)) -> usize {
        if self.draining.load(Ordering::SeqCst) {
            return 0;
        }
        let origin: Arc<dyn Origin> = self.clone();
        let mut taken = 0;
        let mut state = lock(&self.state);
        let was_full = state.ready.len() >= READ_AHEAD;
        let deadline = Instant::now() + self.settings.ack_timeout;
        let mut from = 0;
        while taken < max {
            let Some(at) = (from..state.ready.len()).find(|i| state.key_free(&state.ready[*i]))
            else {
                break;
            };
            let Some(mut entry) = state.ready.remove(at) else {
                break;
            };
            // Records before `at` wait for their keys; the next search starts where this one was.
            from = at;
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
            let tag = state.next_tag;
            state.next_tag += 1;
            let receipt = Receipt {
                tag,
                id: String::new(),
                attempt: entry.attempts,
            };
            let message = entry.message.clone();
            state.out.insert(tag, Out { entry, deadline });
            out(Delivery::from_origin(message, receipt, origin.clone()));
            taken += 1;
        }
        let room = was_full && state.ready.len() < READ_AHEAD;
        drop(state);
        if room {
            self.room.notify_one();
        }
        taken
    }

    /// A delivery, or else the consumer's unreported error (cancel-safe: no await).
    fn take_or_error(self: &Arc<Self>) -> Option<Result<Delivery>> {
        let mut one = None;
        if self.take_with(1, |d| one = Some(d)) > 0 {
            return one.map(Ok);
        }
        self.unreported_error()
    }

    /// Up to `max` deliveries (at least one), or else the consumer's unreported error; `None`: neither.
    fn take_many_or_error(self: &Arc<Self>, max: usize) -> Option<Result<Vec<Delivery>>> {
        let mut batch = Vec::new();
        let took = self.take_with(max, |d| {
            if batch.capacity() == 0 {
                batch.reserve(max.min(READ_BATCH));
            }
            batch.push(d);
        });
        if took > 0 {
            return Some(Ok(batch));
        }
        self.unreported_error()
    }

    /// The consumer's error not reported yet (none while draining).
    fn unreported_error<T>(&self) -> Option<Result<T>> {
        if self.draining.load(Ordering::SeqCst) {
            return None;
        }
        lock(&self.state).error.take().map(Err)
    }

    /// Takes the handed-out record of `receipt` back, if it is still out with that attempt (a stale
    /// receipt — the record was redelivered meanwhile, or its partition went to another consumer — is
    /// `None`).
    fn take_back(&self, receipt: &Receipt) -> Option<Entry> {
        Self::take_back_from(&mut lock(&self.state), receipt)
    }

    fn take_back_from(state: &mut State, receipt: &Receipt) -> Option<Entry> {
        match state.out.get(&receipt.tag) {
            Some(out) if out.entry.attempts == receipt.attempt => {
                state.out.remove(&receipt.tag).map(|o| o.entry)
            }
            _ => None,
        }
    }

    /// Acks under one lock of the state: each receipt still out is settled; a freed key wakes the members
    /// (one of them may have waited for that key's next record).
    fn ack_receipts<'a>(&self, receipts: impl IntoIterator<Item = &'a Receipt>) {
        let mut freed = false;
        {
            let mut state = lock(&self.state);
            for receipt in receipts {
                if let Some(entry) = Self::take_back_from(&mut state, receipt) {
                    freed |=
                        state.settle(entry.partition, entry.offset, entry.message.key.as_ref());
                }
            }
        }
        if freed {
            self.wake.notify_waiters();
        }
    }

    /// The redelivery backoff after attempt `attempts`, capped at the longest nack delay (the ack timeout).
    fn backoff(&self, attempts: u32) -> Duration {
        self.settings
            .retry_delay(attempts)
            .min(self.settings.ack_timeout)
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
        let name = wire::kafka_topic(&bus.root, &self.topic.dead_letter())?;
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
            let expired: Vec<u64> = state
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
                        // A lapsed lease waits the backoff on top of the ack timeout.
                        let at = now + self.backoff(out.entry.attempts);
                        state.delayed.push((at, out.entry));
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

    /// A record, decoded (outside the state's lock).
    fn read(record: &rdkafka::message::BorrowedMessage<'_>) -> Read {
        (
            record.partition(),
            record.offset(),
            Arc::new(wire::decode(record)),
        )
    }

    /// Takes what librdkafka already fetched, without waiting, until `batch` holds `max` records.
    async fn read_more(consumer: &Kafka, batch: &mut Vec<Read>, max: usize) {
        while batch.len() < max {
            // One poll of a fresh `recv`: a record if one is fetched already; dropping a pending `recv`
            // loses nothing (it takes no record until it returns one).
            let more = std::future::poll_fn(|cx| {
                let recv = std::pin::pin!(consumer.recv());
                std::task::Poll::Ready(match recv.poll(cx) {
                    std::task::Poll::Ready(Ok(record)) => Some(Self::read(&record)),
                    // An error is met again by the next `recv` of the reader's loop.
                    std::task::Poll::Ready(Err(_)) | std::task::Poll::Pending => None,
                })
            })
            .await;
            match more {
                Some(read) => batch.push(read),
                None => break,
            }
        }
    }

    /// Queues records read (one lock, one wake-up for the batch).
    fn on_records(&self, batch: Vec<Read>) {
        let mut state = lock(&self.state);
        for (partition, offset, message) in batch {
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
        }
        drop(state);
        self.wake.notify_waiters();
    }

    async fn run(self: Arc<Self>, consumer: Arc<Kafka>) {
        let tick = (self.settings.ack_timeout / 4)
            .clamp(Duration::from_millis(5), Duration::from_millis(100));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.stopping.load(Ordering::SeqCst) {
            let room = READ_AHEAD.saturating_sub(lock(&self.state).ready.len());
            let full = room == 0;
            tokio::select! {
                _ = self.stop.notified() => break,
                _ = self.room.notified(), if full => {}
                record = consumer.recv(), if !full => match record {
                    Ok(record) => {
                        // What else is fetched already goes in with it: one lock and one wake-up per
                        // batch, not per record.
                        let mut batch = Vec::with_capacity(room.min(READ_BATCH));
                        batch.push(Self::read(&record));
                        drop(record);
                        Self::read_more(&consumer, &mut batch, room.min(READ_BATCH)).await;
                        self.on_records(batch);
                    }
                    // Broker trouble: librdkafka reconnects by itself; a member's `next` reports it
                    // (retryable or not, see `map_err`), then the loop reads on after a pause.
                    Err(e) => {
                        lock(&self.state).error =
                            Some(super::map_err(e, "reading from the group's consumer"));
                        self.wake.notify_waiters();
                        tokio::time::sleep(tick).await;
                    }
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
        self.ack_receipts([receipt]);
        Ok(())
    }

    /// Acks need no I/O here (the commit follows on the reader's schedule): no future per ack.
    fn try_ack(&self, receipt: &Receipt) -> Option<Result<()>> {
        self.ack_receipts([receipt]);
        Some(Ok(()))
    }

    async fn ack_batch(&self, receipts: &[&Receipt]) -> Result<()> {
        self.ack_receipts(receipts.iter().copied());
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
            // No explicit delay: the backoff policy's (never a tight loop).
            let delay = if delay.is_zero() {
                self.backoff(entry.attempts)
            } else {
                delay
            };
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
                    receipt.tag,
                    Out {
                        entry,
                        deadline: Instant::now() + self.settings.ack_timeout,
                    },
                );
                Err(e)
            }
        }
    }

    async fn extend(&self, receipt: &Receipt, duration: Duration) -> Result<()> {
        if duration > self.settings.ack_timeout {
            return Err(Error::DelayTooLong {
                delay: duration,
                max: self.settings.ack_timeout,
                backend: SCHEME,
            });
        }
        let lost = || Error::LeaseLost {
            message_id: String::new(),
            backend: SCHEME,
        };
        // After the reader left the group its partitions belong to others: nothing is held any more.
        if self.done.load(Ordering::SeqCst) {
            return Err(lost());
        }
        let mut state = lock(&self.state);
        match state.out.get_mut(&receipt.tag) {
            // Still out with this attempt: the lease is this process's to move.
            Some(out) if out.entry.attempts == receipt.attempt => {
                out.deadline = Instant::now() + duration;
                Ok(())
            }
            // Lapsed (back in the queue, or handed out again), or its partition was revoked (rebalanced
            // to another member, which redelivers it).
            _ => Err(lost()),
        }
    }

    fn dropped(&self, receipt: &Receipt) {
        if let Some(entry) = self.take_back(receipt) {
            if entry.attempts >= self.settings.max_attempts {
                lock(&self.state)
                    .dead
                    .push((entry, "dropped without ack or nack".into()));
            } else {
                let delay = self.backoff(entry.attempts);
                self.requeue(entry, delay);
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

impl Reader {
    /// A reader of `consumer` (subscribed, its start committed), its task started.
    pub(super) fn start(
        bus: &Arc<Shared>,
        topic: &Topic,
        kafka_topic: &str,
        group: &str,
        state: Arc<Mutex<State>>,
        lag: Arc<AtomicI64>,
        consumer: Arc<Kafka>,
    ) -> Arc<Self> {
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
            draining: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
            done: AtomicBool::new(false),
            finished: Notify::new(),
        });
        tokio::spawn(reader.clone().run(consumer));
        reader
    }
}
