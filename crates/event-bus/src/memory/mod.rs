//! In-memory backend (feature `memory`, the sandbox default): one process, no persistence, the same delivery
//! semantics as the durable backends — groups, fan-out, redelivery with attempts, dead-letter, per-key order.
//!
//! How it works: each topic keeps a log of its last `max_len` messages (for groups that start at
//! [`StartPosition::Earliest`]); publishing appends to it and to the queue of every group of the topic. A
//! keyed message is held back while an earlier message with the same key is in flight in that group, so
//! same-key messages reach the group's consumers one at a time, in publish order. A group's queue is not
//! trimmed: a group whose consumers went away keeps its messages until the bus is dropped. Ack deadlines
//! come from a coarse clock on the fast path: never early, at most a few milliseconds late (see `clock`).

mod builder;
mod clock;
mod group;
mod ring;

pub use builder::MemoryBusBuilder;

use crate::{
    Capabilities, Error, EventBus, Message, MessageId, Result, Settings, StartPosition,
    Subscription, Topic, backend::check_group,
};
use avb_core::Health;
use group::{Entry, Group, GroupInner, MemorySource};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// The backend's name.
pub const SCHEME: &str = "memory";

const MAX_NACK_DELAY: Duration = Duration::from_secs(24 * 3600);

/// How often `close` looks whether the in-flight deliveries are settled.
const DRAIN_POLL: Duration = Duration::from_millis(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data here (every critical section is panic-free
    // plain bookkeeping), so a poisoned lock is used as is.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

/// The in-memory bus. Cheap to clone; clones share the topics.
#[derive(Clone)]
pub struct MemoryBus {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

impl MemoryBus {
    /// A builder with default settings.
    pub fn builder() -> MemoryBusBuilder {
        MemoryBusBuilder::new()
    }
}

/// A fast non-cryptographic hasher for the topic table (multiply-rotate per 8 bytes). The in-memory bus is
/// sandbox-only, so hash flooding by hostile topic names is not a concern here.
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if rest.is_empty() {
            return;
        }
        // The tail as one word: the last 8 bytes (overlapping the previous word) when there are that many,
        // else the bytes one by one — no variable-length copy (a `memcpy` call) on this hot path.
        let word = if bytes.len() >= 8 {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[bytes.len() - 8..]);
            u64::from_le_bytes(word)
        } else {
            rest.iter()
                .rev()
                .fold(0u64, |word, &b| (word << 8) | u64::from(b))
        };
        self.add(word);
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

struct Shared {
    settings: Settings,
    /// Read-locked by publishers (no `Arc` clone per publish), write-locked to add a topic.
    topics: RwLock<FastMap<Topic, Arc<TopicState>>>,
    closed: AtomicBool,
}

#[derive(Default)]
struct TopicState {
    inner: Mutex<TopicInner>,
}

#[derive(Default)]
struct TopicInner {
    log: VecDeque<Arc<Message>>,
    groups: HashMap<String, Arc<Group>>,
    recent: Recent,
}

/// A message remembered by its id (for idempotent publish): equal and hashed by [`Message::id`].
struct ById(Arc<Message>);

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for ById {}
impl std::hash::Hash for ById {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}
impl std::borrow::Borrow<MessageId> for ById {
    fn borrow(&self) -> &MessageId {
        &self.0.id
    }
}

/// The ids published to a topic within the dedupe window (at most `max_len` of them, the newest), so a
/// publish retried with the same id is one message.
#[derive(Default)]
struct Recent {
    ids: std::collections::HashSet<ById, std::hash::BuildHasherDefault<FastHasher>>,
    /// In publish order, with when each was published.
    order: VecDeque<(tokio::time::Instant, Arc<Message>)>,
}

impl Recent {
    /// `true` (and remembered) when `message`'s id was not published within the window; `false` for a
    /// retried publish.
    fn first(&mut self, message: &Arc<Message>, settings: &Settings) -> bool {
        if settings.dedupe_window.is_zero() {
            return true;
        }
        let now = clock::Now::coarse();
        while let Some((at, m)) = self.order.front() {
            let full = settings.max_len.is_some_and(|max| self.order.len() >= max);
            if !full && *at + settings.dedupe_window > now.early {
                break;
            }
            self.ids.remove(&m.id);
            self.order.pop_front();
        }
        if self.ids.contains(&message.id) {
            return false;
        }
        self.ids.insert(ById(message.clone()));
        self.order.push_back((now.late, message.clone()));
        true
    }
}

impl Shared {
    fn topic(&self, topic: &Topic) -> Arc<TopicState> {
        if let Some(state) = read(&self.topics).get(topic) {
            return state.clone();
        }
        write(&self.topics)
            .entry(topic.clone())
            .or_default()
            .clone()
    }

    /// Runs `f` on the topic's state (created if new), under the topic table's read lock.
    fn with_topic<R>(&self, topic: &Topic, f: impl FnOnce(&TopicState) -> R) -> R {
        if let Some(state) = read(&self.topics).get(topic) {
            return f(state);
        }
        f(&self.topic(topic))
    }

    /// Appends to the topic's log and every group's queue; no size or closed checks.
    fn append(&self, topic: &Topic, mut messages: Vec<Arc<Message>>) {
        let state = self.topic(topic);
        let mut t = lock(&state.inner);
        let recent = &mut t.recent;
        messages.retain(|m| recent.first(m, &self.settings));
        for group in t.groups.values() {
            lock(&group.inner)
                .ready
                .extend(messages.iter().cloned().map(Entry::new));
            group.wake();
        }
        t.log.extend(messages);
        if let Some(max) = self.settings.max_len {
            let excess = t.log.len().saturating_sub(max);
            t.log.drain(..excess);
        }
    }

    /// [`Shared::append`] for one message, without the batch's allocations.
    fn append_one(&self, topic: &Topic, message: Arc<Message>) {
        self.with_topic(topic, |state| {
            let mut t = lock(&state.inner);
            if !t.recent.first(&message, &self.settings) {
                return; // a retried publish: already there
            }
            for group in t.groups.values() {
                lock(&group.inner)
                    .ready
                    .push_back(Entry::new(message.clone()));
                group.wake();
            }
            t.log.push_back(message);
            if let Some(max) = self.settings.max_len
                && t.log.len() > max
            {
                t.log.pop_front();
            }
        });
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed { backend: SCHEME });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl EventBus for MemoryBus {
    fn backend(&self) -> &'static str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ordering_per_key: true,
            persistent: false,
            dead_letter: true,
            redeliver_on_drop: true,
            max_message_bytes: self.shared.settings.max_message_bytes,
            max_nack_delay: MAX_NACK_DELAY,
            extend_lease: true,
            max_lease_extension: MAX_NACK_DELAY,
            idempotent_publish: !self.shared.settings.dedupe_window.is_zero(),
        }
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.shared.check_open()?;
        self.shared.settings.check_size(&message, SCHEME)?;
        let id = message.id.clone();
        self.shared.append_one(topic, Arc::new(message));
        Ok(id)
    }

    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        self.shared.check_open()?;
        for m in &messages {
            self.shared.settings.check_size(m, SCHEME)?;
        }
        let ids = messages.iter().map(|m| m.id.clone()).collect();
        self.shared
            .append(topic, messages.into_iter().map(Arc::new).collect());
        Ok(ids)
    }

    async fn subscribe(
        &self,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<Subscription> {
        check_group(group)?;
        self.shared.check_open()?;
        let state = self.shared.topic(topic);
        let group = {
            let mut t = lock(&state.inner);
            if let Some(g) = t.groups.get(group) {
                g.clone()
            } else {
                let mut inner = GroupInner::default();
                if start == StartPosition::Earliest {
                    inner.ready = t.log.iter().cloned().map(Entry::new).collect();
                }
                let g = Arc::new(Group {
                    topic: Arc::new(topic.clone()),
                    name: Arc::from(group),
                    shared: Arc::downgrade(&self.shared),
                    settings: self.shared.settings.clone(),
                    inner: Mutex::new(inner),
                    notify: Notify::new(),
                    waiting: AtomicUsize::new(0),
                });
                t.groups.insert(group.to_string(), g.clone());
                g
            }
        };
        Ok(Subscription::new(Box::new(MemorySource {
            group,
            shared: self.shared.clone(),
        })))
    }

    /// Stops hand-outs, then waits (up to `drain_timeout`) until no group has a delivery in flight. Nothing
    /// is read ahead here, so nothing needs giving back; acks are synchronous, so nothing needs flushing.
    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::SeqCst);
        let topics: Vec<Arc<TopicState>> = read(&self.shared.topics).values().cloned().collect();
        let mut groups = Vec::new();
        for t in topics {
            groups.extend(lock(&t.inner).groups.values().cloned());
        }
        for g in &groups {
            g.notify.notify_waiters();
        }
        let deadline = tokio::time::Instant::now() + self.shared.settings.drain_timeout;
        while groups.iter().any(|g| lock(&g.inner).in_flight.len() > 0) {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break;
            }
            tokio::time::sleep(DRAIN_POLL.min(deadline - now)).await;
        }
        Ok(())
    }

    async fn health(&self) -> Health {
        if self.shared.closed.load(Ordering::SeqCst) {
            Health::down(SCHEME, "closed")
        } else {
            Health::up(SCHEME)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{self, Harness};

    struct Memory;

    #[async_trait::async_trait]
    impl Harness for Memory {
        fn settings(&self) -> Settings {
            Settings {
                ack_timeout: Duration::from_secs(1),
                max_attempts: 3,
                retry_min: Duration::from_millis(100),
                retry_max: Duration::from_millis(400),
                drain_timeout: Duration::from_secs(1),
                ..Settings::default()
            }
        }
        async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
            Ok(Arc::new(
                MemoryBus::builder()
                    .with_settings(self.settings())
                    .build()?,
            ))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_conformance_suite_with_no_skips() {
        conformance::run_all(&Memory)
            .await
            .assert_exact(&avb_conformance::Expect::all());
    }

    #[test]
    fn builder_rejects_bad_settings_by_name() {
        let err = MemoryBus::builder()
            .with_max_attempts(0)
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "max_attempts=\"0\" is invalid: expected an integer >= 1"
        );
        let err = MemoryBus::builder()
            .with_max_len(Some(0))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("max_len=\"0\""), "{err}");
        let err = MemoryBus::builder()
            .with_ack_timeout(std::time::Duration::from_millis(9))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("ack_timeout"), "{err}");
    }

    #[tokio::test]
    async fn trims_the_log_to_max_len_for_new_earliest_groups() {
        let bus = MemoryBus::builder().with_max_len(Some(2)).build().unwrap();
        let topic = conformance::unique_topic("trim");
        for i in 0..5u8 {
            bus.publish(&topic, Message::new(vec![i])).await.unwrap();
        }
        let mut sub = bus
            .subscribe(&topic, "late", StartPosition::Earliest)
            .await
            .unwrap();
        let first = sub.next().await.unwrap().unwrap();
        assert_eq!(first.message().payload.as_ref(), &[3u8]);
    }

    #[tokio::test]
    async fn a_cancelled_next_does_not_stay_counted_as_waiting() {
        let bus = MemoryBus::builder().build().unwrap();
        let topic = conformance::unique_topic("cancelled_wait");
        let mut sub = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        for _ in 0..5 {
            let waited = tokio::time::timeout(Duration::from_millis(1), sub.next()).await;
            assert!(waited.is_err(), "nothing was published");
        }
        let group = bus.shared.topic(&topic);
        let waiting = lock(&group.inner).groups["g"]
            .waiting
            .load(Ordering::SeqCst);
        assert_eq!(waiting, 0, "dropped waits are not counted as waiting");
        bus.publish(&topic, Message::new(&b"x"[..])).await.unwrap();
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!(d.attempt(), 1);
    }

    #[tokio::test]
    async fn a_dead_lettered_keyed_message_releases_its_key() {
        let bus = MemoryBus::builder().with_max_attempts(2).build().unwrap();
        let topic = conformance::unique_topic("key_release");
        let mut sub = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        for i in 1..=2u8 {
            bus.publish(&topic, Message::new(vec![i]).with_key("k"))
                .await
                .unwrap();
        }
        for attempt in 1..=2 {
            let d = sub.next().await.unwrap().unwrap();
            assert_eq!((d.message().payload[0], d.attempt()), (1, attempt));
            d.nack(Duration::ZERO, "bad").await.unwrap();
        }
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!((d.message().payload[0], d.attempt()), (2, 1));
    }

    #[tokio::test]
    async fn ack_timeouts_count_as_attempts_and_dead_letter_with_that_reason() {
        let bus = MemoryBus::builder()
            .with_max_attempts(1)
            .with_ack_timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let topic = conformance::unique_topic("timeout_dlq");
        let mut sub = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let mut dlq = bus
            .subscribe(&topic.dead_letter(), "g", StartPosition::Earliest)
            .await
            .unwrap();
        bus.publish(&topic, Message::new(&b"slow"[..]))
            .await
            .unwrap();
        let held = sub.next().await.unwrap().unwrap();
        let none = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
        assert!(none.is_err(), "not redelivered after its last attempt");
        let dead = dlq.next().await.unwrap().unwrap();
        assert_eq!(
            dead.message()
                .headers
                .get(crate::HEADER_LAST_ERROR)
                .map(String::as_str),
            Some("ack timeout")
        );
        held.ack().await.unwrap();
        assert!(bus.health().await.is_up());
        bus.close().await.unwrap();
        assert_eq!(bus.health().await.reason.as_deref(), Some("closed"));
    }
}
