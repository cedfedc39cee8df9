//! In-memory backend (feature `memory`, the sandbox default): one process, no persistence, the same delivery
//! semantics as the durable backends — groups, fan-out, redelivery with attempts, dead-letter, per-key order.
//!
//! How it works: each topic keeps a log of its last `max_len` messages (for groups that start at
//! [`StartPosition::Earliest`]); publishing appends to it and to the queue of every group of the topic. A
//! keyed message is held back while an earlier message with the same key is in flight in that group, so
//! same-key messages reach the group's consumers one at a time, in publish order. A group's queue is not
//! trimmed: a group whose consumers went away keeps its messages until the bus is dropped.

use crate::{
    Capabilities, Delivery, Error, EventBus, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR,
    HEADER_ORIGINAL_TOPIC, Message, MessageId, Receipt, Result, Settings, Settle, Source,
    StartPosition, Subscription, Topic, check_group,
};
use avb_core::Health;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The backend's name.
pub const SCHEME: &str = "memory";

const MAX_NACK_DELAY: Duration = Duration::from_secs(24 * 3600);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data here (every critical section is panic-free
    // plain bookkeeping), so a poisoned lock is used as is.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Builds a [`MemoryBus`]: `with_*` setters, `with_config(key, value)`, then `build()` validates.
#[derive(Debug, Default)]
pub struct MemoryBusBuilder {
    settings: Settings,
    pairs: Vec<(String, String)>,
}

impl MemoryBusBuilder {
    /// Default settings ([`Settings`]).
    pub fn new() -> Self {
        Self::default()
    }
    /// All delivery settings at once.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
    /// Redelivery after this long without `ack`/`nack`.
    pub fn with_ack_timeout(mut self, timeout: Duration) -> Self {
        self.settings.ack_timeout = timeout;
        self
    }
    /// Deliveries before dead-lettering.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.settings.max_attempts = attempts;
        self
    }
    /// Messages retained per topic for new `Earliest` groups (`None`: all).
    pub fn with_max_len(mut self, max_len: Option<usize>) -> Self {
        self.settings.max_len = max_len;
        self
    }
    /// Largest accepted [`Message::size`].
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_message_bytes = bytes;
        self
    }
    /// A setting by name (see [`Settings::apply`]); checked by `build`.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.push((key.into(), value.into()));
        self
    }
    /// Settings from `(key, value)` pairs.
    #[allow(clippy::should_implement_trait)] // the house builder shape: `XBuilder::from_iter(pairs)`
    pub fn from_iter<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        pairs
            .into_iter()
            .fold(Self::new(), |b, (k, v)| b.with_config(k, v))
    }
    /// Validates the settings and builds the bus.
    pub fn build(self) -> Result<MemoryBus> {
        let mut settings = self.settings;
        for (key, value) in &self.pairs {
            settings.apply(key, value)?;
        }
        settings.validate()?;
        Ok(MemoryBus {
            shared: Arc::new(Shared {
                settings,
                topics: Mutex::new(FastMap::default()),
                closed: AtomicBool::new(false),
            }),
        })
    }
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
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
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
    topics: Mutex<FastMap<Topic, Arc<TopicState>>>,
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
}

#[derive(Clone)]
struct Entry {
    message: Arc<Message>,
    /// Deliveries so far.
    attempts: u32,
    last_error: Option<String>,
    /// This entry holds its key: later same-key entries wait behind it.
    owns_key: bool,
}

impl Entry {
    fn new(message: Arc<Message>) -> Self {
        Self {
            message,
            attempts: 0,
            last_error: None,
            owns_key: false,
        }
    }
}

struct InFlight {
    entry: Entry,
    deadline: Instant,
}

#[derive(Default)]
struct GroupInner {
    ready: VecDeque<Entry>,
    delayed: Vec<(Instant, Entry)>,
    /// By delivery tag; tags grow with time and the ack timeout is fixed, so the first entry has the
    /// earliest deadline.
    in_flight: BTreeMap<u64, InFlight>,
    /// Keys with an entry in flight (or waiting for redelivery), and the later entries held behind it.
    busy_keys: HashMap<String, VecDeque<Entry>>,
    next_tag: u64,
}

struct Group {
    topic: Arc<Topic>,
    name: Arc<str>,
    shared: Weak<Shared>,
    settings: Settings,
    inner: Mutex<GroupInner>,
    notify: Notify,
    waiting: AtomicUsize,
}

enum Poll {
    Ready(Entry, u64),
    Wait(Option<Instant>),
}

impl Group {
    fn wake(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }

    /// Expired deliveries are failed, due delays released, and the next deliverable entry taken.
    fn poll(&self, now: Instant, dead: &mut Vec<Entry>) -> Poll {
        let mut g = lock(&self.inner);
        while let Some(entry) = g.in_flight.first_entry() {
            if entry.get().deadline > now {
                break;
            }
            let f = entry.remove();
            Self::fail(&mut g, &self.settings, f.entry, "ack timeout", dead);
        }
        if !g.delayed.is_empty() {
            let (mut due, later): (Vec<_>, Vec<_>) =
                g.delayed.drain(..).partition(|(at, _)| *at <= now);
            g.delayed = later;
            due.sort_by_key(|(at, _)| *at);
            for (_, e) in due.into_iter().rev() {
                g.ready.push_front(e);
            }
        }
        while let Some(mut e) = g.ready.pop_front() {
            if let (Some(key), false) = (&e.message.key, e.owns_key) {
                if let Some(held) = g.busy_keys.get_mut(key) {
                    held.push_back(e);
                    continue;
                }
                g.busy_keys.insert(key.clone(), VecDeque::new());
                e.owns_key = true;
            }
            e.attempts += 1;
            let tag = g.next_tag;
            g.next_tag += 1;
            g.in_flight.insert(
                tag,
                InFlight {
                    entry: e.clone(),
                    deadline: now + self.settings.ack_timeout,
                },
            );
            return Poll::Ready(e, tag);
        }
        let next_deadline = g.in_flight.first_key_value().map(|(_, f)| f.deadline);
        let next_delay = g.delayed.iter().map(|(at, _)| *at).min();
        Poll::Wait(match (next_deadline, next_delay) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// A delivery failed: redeliver it (after `delay`), or dead-letter it after `max_attempts`.
    fn fail(
        g: &mut GroupInner,
        settings: &Settings,
        mut entry: Entry,
        reason: &str,
        dead: &mut Vec<Entry>,
    ) {
        entry.last_error = Some(reason.to_string());
        if entry.attempts >= settings.max_attempts {
            Self::release_key(g, &entry);
            dead.push(entry);
        } else {
            g.ready.push_front(entry);
        }
    }

    fn release_key(g: &mut GroupInner, entry: &Entry) {
        if !entry.owns_key {
            return;
        }
        if let Some(key) = &entry.message.key {
            match g.busy_keys.get_mut(key).and_then(VecDeque::pop_front) {
                Some(mut next) => {
                    next.owns_key = true;
                    g.ready.push_front(next);
                }
                None => {
                    g.busy_keys.remove(key);
                }
            }
        }
    }

    fn ack(&self, tag: u64) {
        let released = {
            let mut g = lock(&self.inner);
            match g.in_flight.remove(&tag) {
                Some(f) if f.entry.owns_key => {
                    Self::release_key(&mut g, &f.entry);
                    true
                }
                // Not in flight any more: the ack timeout already gave it back (at-least-once allows the
                // duplicate that follows).
                _ => false,
            }
        };
        if released {
            self.wake();
        }
    }

    fn nack(&self, tag: u64, delay: Duration, reason: &str) {
        let mut dead = Vec::new();
        {
            let mut g = lock(&self.inner);
            let Some(f) = g.in_flight.remove(&tag) else {
                return;
            };
            let mut entry = f.entry;
            entry.last_error = Some(reason.to_string());
            if entry.attempts >= self.settings.max_attempts {
                Self::release_key(&mut g, &entry);
                dead.push(entry);
            } else if delay.is_zero() {
                g.ready.push_front(entry);
            } else {
                g.delayed.push((Instant::now() + delay, entry));
            }
        }
        self.dead_letter(dead);
        self.wake();
    }

    fn dead_letter(&self, dead: Vec<Entry>) {
        if dead.is_empty() {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let dlq = self.topic.dead_letter();
        let messages = dead
            .into_iter()
            .map(|e| {
                let mut m = (*e.message).clone();
                m.headers
                    .insert(HEADER_ORIGINAL_TOPIC.into(), self.topic.name().into());
                m.headers.insert(HEADER_GROUP.into(), self.name.to_string());
                m.headers.insert(
                    HEADER_LAST_ERROR.into(),
                    e.last_error.unwrap_or_else(|| "unknown".into()),
                );
                m.headers
                    .insert(HEADER_ATTEMPTS.into(), e.attempts.to_string());
                Arc::new(m)
            })
            .collect();
        shared.append(&dlq, messages);
    }
}

impl Shared {
    fn topic(&self, topic: &Topic) -> Arc<TopicState> {
        let mut topics = lock(&self.topics);
        if let Some(state) = topics.get(topic) {
            return state.clone();
        }
        topics.entry(topic.clone()).or_default().clone()
    }

    /// Appends to the topic's log and every group's queue; no size or closed checks.
    fn append(&self, topic: &Topic, messages: Vec<Arc<Message>>) {
        let state = self.topic(topic);
        let mut t = lock(&state.inner);
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

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed { backend: SCHEME });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Settle for Group {
    async fn ack(&self, receipt: &Receipt) -> Result<()> {
        Group::ack(self, receipt.tag);
        Ok(())
    }
    async fn nack(&self, receipt: &Receipt, delay: Duration, reason: &str) -> Result<()> {
        if delay > MAX_NACK_DELAY {
            return Err(Error::DelayTooLong {
                delay,
                max: MAX_NACK_DELAY,
                backend: SCHEME,
            });
        }
        Group::nack(self, receipt.tag, delay, reason);
        Ok(())
    }
    fn try_ack(&self, receipt: &Receipt) -> Option<Result<()>> {
        Group::ack(self, receipt.tag);
        Some(Ok(()))
    }
    fn dropped(&self, receipt: &Receipt) {
        Group::nack(
            self,
            receipt.tag,
            Duration::ZERO,
            "delivery dropped without ack or nack",
        );
    }
}

struct MemorySource {
    group: Arc<Group>,
    shared: Arc<Shared>,
}

impl MemorySource {
    fn poll_once(&self) -> std::result::Result<Delivery, Option<Instant>> {
        let mut dead = Vec::new();
        let poll = self.group.poll(Instant::now(), &mut dead);
        self.group.dead_letter(dead);
        match poll {
            Poll::Ready(entry, tag) => Ok(Delivery::new(
                entry.message,
                self.group.topic.clone(),
                self.group.name.clone(),
                Receipt {
                    tag,
                    id: String::new(),
                    attempt: entry.attempts,
                },
                self.group.clone(),
            )),
            Poll::Wait(until) => Err(until),
        }
    }
}

#[async_trait::async_trait]
impl Source for MemorySource {
    fn try_next(&mut self) -> Option<Result<Delivery>> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return None;
        }
        self.poll_once().ok().map(Ok)
    }

    async fn next(&mut self) -> Option<Result<Delivery>> {
        loop {
            if self.shared.closed.load(Ordering::SeqCst) {
                return None;
            }
            if let Ok(d) = self.poll_once() {
                return Some(Ok(d));
            }
            self.group.waiting.fetch_add(1, Ordering::SeqCst);
            let notified = self.group.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let until = match self.poll_once() {
                Ok(d) => {
                    self.group.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Some(Ok(d));
                }
                Err(until) => until,
            };
            if !self.shared.closed.load(Ordering::SeqCst) {
                match until {
                    Some(at) => {
                        tokio::select! {
                            _ = &mut notified => {}
                            _ = tokio::time::sleep_until(at) => {}
                        }
                    }
                    None => notified.await,
                }
            }
            self.group.waiting.fetch_sub(1, Ordering::SeqCst);
        }
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
        }
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.shared.check_open()?;
        self.shared.settings.check_size(&message, SCHEME)?;
        let id = message.id.clone();
        self.shared.append(topic, vec![Arc::new(message)]);
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

    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::SeqCst);
        let topics: Vec<Arc<TopicState>> = lock(&self.shared.topics).values().cloned().collect();
        for t in topics {
            let groups: Vec<Arc<Group>> = lock(&t.inner).groups.values().cloned().collect();
            for g in groups {
                g.notify.notify_waiters();
            }
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
        let report = conformance::run_all(&Memory).await;
        assert_eq!(report.skipped, Vec::<String>::new());
        assert_eq!(report.passed.len(), conformance::CASES.len());
    }

    #[test]
    fn builder_rejects_bad_settings_by_name() {
        let err = MemoryBus::builder()
            .with_config("max_attempts", "zero")
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "max_attempts=\"zero\" is invalid: expected an integer >= 1"
        );
        let err = MemoryBusBuilder::from_iter([("max_len", "0")])
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("max_len=\"0\""), "{err}");
        let err = MemoryBus::builder()
            .with_config("nope", "1")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("a known key"), "{err}");
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
}
