//! In-memory backend (feature `memory`, the sandbox default): one process, no persistence, the same delivery
//! semantics as the durable backends — groups, fan-out, redelivery with attempts, dead-letter, per-key order.
//!
//! How it works: each topic keeps a log of its last `max_len` messages (for groups that start at
//! [`StartPosition::Earliest`]); publishing appends to it and to an incoming queue per group of the topic,
//! all under the topic's one lock; a consumer whose group queue ran dry takes the group's incoming queue
//! whole (one lock of the topic for everything published since). A
//! keyed message is held back while an earlier message with the same key is in flight in that group, so
//! same-key messages reach the group's consumers one at a time, in publish order. A group's queue is not
//! trimmed: a group whose consumers went away keeps its messages until the bus is dropped. Ack deadlines
//! come from a coarse clock on the fast path: never early, at most a few milliseconds late (see `clock`).
//! [`MemoryBus::publisher`] gives a topic handle ([`MemoryPublisher`]) that publishes without the lookup
//! by name and without a boxed future.
//!
//! Leases: [`Delivery::extend`](crate::Delivery::extend) moves a delivery's deadline (up to 24 h at a time).
//! Redelivery after a `nack` without a delay, a drop or a lapsed lease waits the backoff
//! ([`Settings::retry_delay`]). Idempotent publish: each topic remembers the ids published
//! recently (the last 2,048–4,096 ids still in its log; `dedupe_window` zero turns this off); a publish of a
//! remembered id adds nothing.
//! Backlog ([`EventBus::backlog`]): counted from the group's queues (see `backlog`).
//! `close` waits up to `drain_timeout` until no group has a delivery in flight.
//! Batches: [`Subscription::next_batch`](crate::Subscription::next_batch) takes up to `max` entries under one
//! lock of the group (one wake-up); [`Delivery::ack_all`](crate::Delivery::ack_all) settles them under one,
//! taking their consecutive delivery tags out of the in-flight ring as one run.

mod backlog;
mod builder;
mod clock;
mod group;
mod publisher;
mod ring;

pub use builder::MemoryBusBuilder;
pub use publisher::MemoryPublisher;

use crate::{
    Backlog, Capabilities, Error, EventBus, Message, MessageId, PublishNow, Result, Settings,
    StartPosition, Subscription, Topic, backend::check_group,
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

/// Ids per generation of a topic's idempotent-publish filter: a retried publish is recognised while its
/// id is among the last 2,048–4,096 ids published to the topic and still in the topic's log (`max_len`). A
/// publish to the in-memory bus cannot time out half-done, so a retry follows its first try closely; a
/// bounded filter keeps the publish path cheap.
const DEDUPE_GENERATION: usize = 2048;

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
    /// The index in `members` of each group, by name.
    groups: HashMap<String, usize>,
    /// Every group of the topic ([`Group::slot`] is its index), with what was published to it since its
    /// consumers last looked: a publish appends here under the topic's lock alone (no lock per group), and
    /// a consumer whose queue ran dry takes all of it at once (see `Group::take_ready`).
    members: Vec<Member>,
    recent: Recent,
}

struct Member {
    group: Arc<Group>,
    incoming: VecDeque<Entry>,
}

/// Recently published ids of one topic, for idempotent publish: a two-generation blocked Bloom filter over
/// the ids (each generation [`DEDUPE_GENERATION`] ids, 2 × 8 KiB, three bits of one 64-bit word per id), so
/// a new id costs a hash and one word per generation. A possible hit is checked against the 64-bit hashes of
/// the last 2 × [`DEDUPE_GENERATION`] ids (a filter false positive, at most about 1 in 700 publishes, stops there), and a
/// hash match is confirmed by comparing ids against the newest entries of the topic's log, so neither a
/// filter false positive nor a hash collision ever drops a message.
#[derive(Default)]
struct Recent {
    generations: Option<Box<[[u64; FILTER_WORDS]; 2]>>,
    current: usize,
    in_current: usize,
    /// The hashes of the ids remembered last (at most 2 × [`DEDUPE_GENERATION`]), oldest first.
    hashes: VecDeque<u64>,
}

const FILTER_WORDS: usize = 1024;

/// The id's hash, mixed (a 64-bit finalizer) so that any of its bit ranges can pick a filter bit.
fn id_hash(id: &MessageId) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = FastHasher::default();
    id.hash(&mut h);
    let mut x = h.finish();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

impl Recent {
    /// `true` (and remembered) unless `message`'s id is among the ids recently appended to `log`; `false`
    /// for a retried publish.
    fn first(
        &mut self,
        message: &Message,
        log: &VecDeque<Arc<Message>>,
        settings: &Settings,
    ) -> bool {
        if settings.dedupe_window.is_zero() {
            return true;
        }
        let filters = self
            .generations
            .get_or_insert_with(|| Box::new([[0; FILTER_WORDS]; 2]));
        let h = id_hash(&message.id);
        // A blocked filter: the three bits are in one word, so a look-up touches one cache line per
        // generation (three random words missed the cache on the publish path).
        let word = h as usize % FILTER_WORDS;
        let mask = (1u64 << ((h >> 20) & 63)) | (1 << ((h >> 26) & 63)) | (1 << ((h >> 32) & 63));
        let has = |f: &[u64; FILTER_WORDS]| f[word] & mask == mask;
        if (has(&filters[0]) || has(&filters[1]))
            && self.hashes.iter().any(|&x| x == h)
            && log
                .iter()
                .rev()
                .take(DEDUPE_GENERATION * 2)
                .any(|m| m.id == message.id)
        {
            return false;
        }
        if self.in_current == DEDUPE_GENERATION {
            self.current ^= 1;
            filters[self.current] = [0; FILTER_WORDS];
            self.in_current = 0;
        }
        filters[self.current][word] |= mask;
        self.in_current += 1;
        if self.hashes.len() == DEDUPE_GENERATION * 2 {
            self.hashes.pop_front();
        }
        self.hashes.push_back(h);
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

    /// Appends to the topic's log and every group's queue (with `dedupe`, skipping ids published
    /// recently: see [`Recent`]); no size or closed checks.
    fn append(&self, topic: &Topic, messages: Vec<Arc<Message>>, dedupe: bool) {
        self.append_to(&self.topic(topic), messages, dedupe);
    }

    /// [`Shared::append`] to a topic already looked up.
    fn append_to(&self, state: &TopicState, messages: Vec<Arc<Message>>, dedupe: bool) {
        let mut guard = lock(&state.inner);
        let t = &mut *guard;
        let mut accepted = Vec::with_capacity(messages.len());
        for m in messages {
            if !dedupe || t.recent.first(&m, &t.log, &self.settings) {
                t.log.push_back(m.clone());
                accepted.push(m);
            }
        }
        for member in &mut t.members {
            member
                .incoming
                .extend(accepted.iter().cloned().map(Entry::new));
            member.group.wake();
        }
        if let Some(max) = self.settings.max_len {
            let excess = t.log.len().saturating_sub(max);
            t.log.drain(..excess);
        }
    }

    /// [`Shared::append`] for one message (deduped), without the batch's allocations.
    fn append_one(&self, topic: &Topic, message: Arc<Message>) {
        self.with_topic(topic, |state| self.append_one_to(state, message));
    }

    /// [`Shared::append_one`] to a topic already looked up (also the path of [`MemoryPublisher`]).
    fn append_one_to(&self, state: &TopicState, message: Arc<Message>) {
        let mut guard = lock(&state.inner);
        let t = &mut *guard;
        if !t.recent.first(&message, &t.log, &self.settings) {
            return; // a retried publish: already there
        }
        for member in &mut t.members {
            member.incoming.push_back(Entry::new(message.clone()));
            member.group.wake();
        }
        t.log.push_back(message);
        if let Some(max) = self.settings.max_len
            && t.log.len() > max
        {
            t.log.pop_front();
        }
    }

    /// A publish: checked, then appended; a refused message comes back with the error.
    #[allow(
        clippy::result_large_err,
        reason = "the refused message comes back by value, on the rare refused path only"
    )]
    fn publish_one(
        &self,
        topic: &Topic,
        message: Message,
    ) -> std::result::Result<MessageId, (Error, Message)> {
        if let Err(e) = self
            .check_open()
            .and_then(|()| self.settings.check_size(&message, SCHEME))
        {
            return Err((e, message));
        }
        let id = message.id.clone();
        self.append_one(topic, Arc::new(message));
        Ok(id)
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
            backlog_lag: true,
            backlog_in_flight: true,
            backlog_dead_letters: true,
            shares_read_ahead: true,
        }
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.shared.publish_one(topic, message).map_err(|(e, _)| e)
    }

    /// The memory bus never waits: always `Published` or `Failed`.
    fn publish_now(&self, topic: &Topic, message: Message) -> PublishNow {
        match self.shared.publish_one(topic, message) {
            Ok(id) => PublishNow::Published(id),
            Err((e, message)) => PublishNow::Failed(e, message),
        }
    }

    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        self.shared.check_open()?;
        for m in &messages {
            self.shared.settings.check_size(m, SCHEME)?;
        }
        let ids = messages.iter().map(|m| m.id.clone()).collect();
        self.shared
            .append(topic, messages.into_iter().map(Arc::new).collect(), true);
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
            if let Some(&slot) = t.groups.get(group) {
                t.members[slot].group.clone()
            } else {
                let slot = t.members.len();
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
                    slot,
                });
                t.groups.insert(group.to_string(), slot);
                t.members.push(Member {
                    group: g.clone(),
                    incoming: VecDeque::new(),
                });
                g
            }
        };
        Ok(Subscription::new(Box::new(MemorySource {
            group,
            topic: state,
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
            groups.extend(lock(&t.inner).members.iter().map(|m| m.group.clone()));
        }
        for g in &groups {
            g.notify.notify_waiters();
        }
        crate::backend::drain_wait(self.shared.settings.drain_timeout, DRAIN_POLL, || {
            groups.iter().any(|g| lock(&g.inner).in_flight.len() > 0)
        })
        .await;
        Ok(())
    }

    async fn backlog(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        self.backlog_now(topic, group)
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
mod plain_tests;
#[cfg(test)]
mod tests;
