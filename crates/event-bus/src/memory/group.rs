//! A consumer group of the in-memory bus: its queue, in-flight deliveries, per-key holds, redelivery and
//! dead-lettering, and the [`Source`]/[`Settle`] its subscriptions use.

use super::clock::Now;
use super::ring::InFlightRing;
use super::{MAX_NACK_DELAY, SCHEME, Shared, TopicState, lock};
use crate::{
    Delivery, Error, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC,
    Message, Result, Settings, Topic,
    backend::{Origin, Receipt, Settle, Source},
};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// A message waiting in (or delivered from) one group's queue. Kept small (24 bytes): a group's queue holds
/// one per published message, so its size is what the hot path moves and caches.
pub(super) struct Entry {
    pub(super) message: Arc<Message>,
    /// Deliveries so far.
    pub(super) attempts: u32,
    /// Boxed: only failed deliveries have one.
    pub(super) last_error: Option<Box<LastError>>,
    /// This entry holds its key: later same-key entries wait behind it.
    pub(super) owns_key: bool,
}

/// Why the last delivery of an [`Entry`] failed.
pub(super) struct LastError(String);

impl Entry {
    pub(super) fn new(message: Arc<Message>) -> Self {
        Self {
            message,
            attempts: 0,
            last_error: None,
            owns_key: false,
        }
    }
}

#[derive(Default)]
pub(super) struct GroupInner {
    pub(super) ready: VecDeque<Entry>,
    pub(super) delayed: Vec<(Instant, Entry)>,
    pub(super) in_flight: InFlightRing,
    /// Keys with an entry in flight (or waiting for redelivery), and the later entries held behind it.
    pub(super) busy_keys: HashMap<String, VecDeque<Entry>>,
}

pub(super) struct Group {
    pub(super) topic: Arc<Topic>,
    pub(super) name: Arc<str>,
    pub(super) shared: Weak<Shared>,
    pub(super) settings: Settings,
    pub(super) inner: Mutex<GroupInner>,
    pub(super) notify: Notify,
    pub(super) waiting: AtomicUsize,
    /// This group's index in its topic's `members`.
    pub(super) slot: usize,
}

pub(super) enum Poll {
    /// The message, its attempt, its delivery tag.
    Ready(Arc<Message>, u32, u64),
    Wait(Option<Instant>),
}

impl Group {
    pub(super) fn wake(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }

    /// Expired deliveries are failed, due delays released, and the next deliverable entry taken.
    pub(super) fn poll(&self, topic: &TopicState, now: Now, dead: &mut Vec<Entry>) -> Poll {
        let mut g = lock(&self.inner);
        self.release_due(&mut g, now, dead);
        match self.take_ready(&mut g, topic, now.late + self.settings.ack_timeout) {
            Some((message, attempt, tag)) => Poll::Ready(message, attempt, tag),
            None => Poll::Wait(Self::next_due(&g)),
        }
    }

    /// [`Group::poll`] for up to `max` entries under one lock, handed out as deliveries settled through
    /// `origin` (this group): `Ok` with the count taken (≥ 1, pushed to `out` in hand-out order), or `Err`
    /// with when to look again.
    pub(super) fn poll_batch(
        &self,
        topic: &TopicState,
        now: Now,
        dead: &mut Vec<Entry>,
        max: usize,
        origin: &Arc<dyn Origin>,
        out: &mut Vec<Delivery>,
    ) -> std::result::Result<usize, Option<Instant>> {
        let mut g = lock(&self.inner);
        self.release_due(&mut g, now, dead);
        let deadline = now.late + self.settings.ack_timeout;
        let mut taken = 0;
        while taken < max {
            let Some((message, attempt, tag)) = self.take_ready(&mut g, topic, deadline) else {
                break;
            };
            let receipt = Receipt {
                tag,
                id: String::new(),
                attempt,
            };
            out.push(Delivery::from_origin(message, receipt, origin.clone()));
            taken += 1;
        }
        if taken == 0 {
            Err(Self::next_due(&g))
        } else {
            Ok(taken)
        }
    }

    /// Fails the expired deliveries and moves the due delayed ones to the front of the queue.
    fn release_due(&self, g: &mut GroupInner, now: Now, dead: &mut Vec<Entry>) {
        while let Some(f) = g.in_flight.pop_expired(now.early) {
            Self::fail(g, &self.settings, f.entry, now.late, dead);
        }
        if !g.delayed.is_empty() {
            let (mut due, later): (Vec<_>, Vec<_>) =
                g.delayed.drain(..).partition(|(at, _)| *at <= now.early);
            g.delayed = later;
            due.sort_by_key(|(at, _)| *at);
            for (_, e) in due.into_iter().rev() {
                g.ready.push_front(e);
            }
        }
    }

    /// The next deliverable entry (same-key entries behind one in flight are held back), put in flight
    /// until `deadline`.
    /// When the group's queue runs dry, everything published to the group since is taken from the topic
    /// at once (one lock of the topic, the group's lock held: the lock order is group, then topic).
    fn take_ready(
        &self,
        g: &mut GroupInner,
        topic: &TopicState,
        deadline: Instant,
    ) -> Option<(Arc<Message>, u32, u64)> {
        loop {
            let mut e = match g.ready.pop_front() {
                Some(e) => e,
                None => {
                    let mut t = lock(&topic.inner);
                    let incoming = &mut t.members.get_mut(self.slot)?.incoming;
                    if incoming.is_empty() {
                        return None;
                    }
                    // `ready` is empty: swapping moves every entry at once and keeps both buffers.
                    std::mem::swap(&mut g.ready, incoming);
                    drop(t);
                    g.ready.pop_front()?
                }
            };
            if let (Some(key), false) = (&e.message.key, e.owns_key) {
                if let Some(held) = g.busy_keys.get_mut(key) {
                    held.push_back(e);
                    continue;
                }
                g.busy_keys.insert(key.clone(), VecDeque::new());
                e.owns_key = true;
            }
            e.attempts += 1;
            let (message, attempt) = (e.message.clone(), e.attempts);
            let tag = g.in_flight.push(e, deadline);
            return Some((message, attempt, tag));
        }
    }

    /// When the next in-flight deadline or delayed entry falls due, if any.
    fn next_due(g: &GroupInner) -> Option<Instant> {
        let next_deadline = g.in_flight.first_deadline();
        let next_delay = g.delayed.iter().map(|(at, _)| *at).min();
        match (next_deadline, next_delay) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A lease lapsed (ack timeout): redeliver after the backoff, or dead-letter it after `max_attempts`.
    pub(super) fn fail(
        g: &mut GroupInner,
        settings: &Settings,
        mut entry: Entry,
        now: Instant,
        dead: &mut Vec<Entry>,
    ) {
        entry.last_error = Some(Box::new(LastError("ack timeout".to_string())));
        if entry.attempts >= settings.max_attempts {
            Self::release_key(g, &entry);
            dead.push(entry);
        } else {
            let backoff = settings.retry_delay(entry.attempts);
            g.delayed.push((now + backoff, entry));
        }
    }

    pub(super) fn release_key(g: &mut GroupInner, entry: &Entry) {
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

    pub(super) fn ack(&self, tag: u64) {
        let released = {
            let mut g = lock(&self.inner);
            match g.in_flight.remove(tag) {
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

    /// [`Group::ack`] for many tags under one lock, with one wake-up. Consecutive tags (a batch from
    /// `next_batch`, acked with `ack_all`) are taken out of the in-flight ring as one run.
    pub(super) fn ack_many(&self, tags: impl Iterator<Item = u64>) {
        let mut keyed = Vec::new();
        {
            let mut g = lock(&self.inner);
            let mut settle = |first: u64, count: usize| {
                g.in_flight.remove_run(first, count, |f| {
                    // Entries without a key are dropped here; the few holding a key are released below.
                    if f.entry.owns_key {
                        keyed.push(f.entry);
                    }
                });
            };
            let mut run: Option<(u64, usize)> = None;
            for tag in tags {
                run = match run {
                    Some((first, count)) if first.checked_add(count as u64) == Some(tag) => {
                        Some((first, count + 1))
                    }
                    Some((first, count)) => {
                        settle(first, count);
                        Some((tag, 1))
                    }
                    None => Some((tag, 1)),
                };
            }
            if let Some((first, count)) = run {
                settle(first, count);
            }
            for entry in &keyed {
                Self::release_key(&mut g, entry);
            }
        }
        if !keyed.is_empty() {
            self.wake();
        }
    }

    pub(super) fn nack(&self, tag: u64, delay: Duration, reason: &str) {
        let mut dead = Vec::new();
        {
            let mut g = lock(&self.inner);
            let Some(f) = g.in_flight.remove(tag) else {
                return;
            };
            let mut entry = f.entry;
            entry.last_error = Some(Box::new(LastError(reason.to_string())));
            if entry.attempts >= self.settings.max_attempts {
                Self::release_key(&mut g, &entry);
                dead.push(entry);
            } else {
                // No explicit delay: the backoff policy's (never a tight loop).
                let delay = if delay.is_zero() {
                    self.settings.retry_delay(entry.attempts)
                } else {
                    delay
                };
                g.delayed.push((Instant::now() + delay, entry));
            }
        }
        self.dead_letter(dead);
        self.wake();
    }

    pub(super) fn dead_letter(&self, dead: Vec<Entry>) {
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
                    e.last_error
                        .map_or_else(|| "unknown".into(), |reason| reason.0),
                );
                m.headers
                    .insert(HEADER_ATTEMPTS.into(), e.attempts.to_string());
                Arc::new(m)
            })
            .collect();
        // Never deduped: the same message dead-lettered by two groups is two dead letters.
        shared.append(&dlq, messages, false);
    }
}

impl Origin for Group {
    fn topic(&self) -> &Topic {
        &self.topic
    }
    fn group(&self) -> &str {
        &self.name
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
    async fn extend(&self, receipt: &Receipt, duration: Duration) -> Result<()> {
        if duration > MAX_NACK_DELAY {
            return Err(Error::DelayTooLong {
                delay: duration,
                max: MAX_NACK_DELAY,
                backend: SCHEME,
            });
        }
        let deadline = Instant::now() + duration;
        if lock(&self.inner).in_flight.extend(receipt.tag, deadline) {
            Ok(())
        } else {
            Err(Error::LeaseLost {
                message_id: String::new(),
                backend: SCHEME,
            })
        }
    }
    fn try_ack(&self, receipt: &Receipt) -> Option<Result<()>> {
        Group::ack(self, receipt.tag);
        Some(Ok(()))
    }
    async fn ack_batch(&self, receipts: &[&Receipt]) -> Result<()> {
        self.ack_many(receipts.iter().map(|r| r.tag));
        Ok(())
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

pub(super) struct MemorySource {
    pub(super) group: Arc<Group>,
    pub(super) topic: Arc<TopicState>,
    pub(super) shared: Arc<Shared>,
}

impl MemorySource {
    /// One poll of the group: `now` from [`Now::coarse`] on the fast path, [`Now::precise`] when about to
    /// wait (so a consumer woken at a deadline sees it expired).
    pub(super) fn poll_once(&self, now: Now) -> std::result::Result<Delivery, Option<Instant>> {
        let mut dead = Vec::new();
        let poll = self.group.poll(&self.topic, now, &mut dead);
        if !dead.is_empty() {
            self.group.dead_letter(dead);
        }
        match poll {
            Poll::Ready(message, attempt, tag) => Ok(Delivery::from_origin(
                message,
                Receipt {
                    tag,
                    id: String::new(),
                    attempt,
                },
                self.group.clone(),
            )),
            Poll::Wait(until) => Err(until),
        }
    }

    /// [`MemorySource::poll_once`] for up to `max` deliveries (one lock).
    fn poll_batch(
        &self,
        now: Now,
        max: usize,
    ) -> std::result::Result<Vec<Delivery>, Option<Instant>> {
        let mut dead = Vec::new();
        let mut taken = Vec::with_capacity(max.min(256));
        // One reference for the batch here; each delivery takes its own from it.
        let origin: Arc<dyn Origin> = self.group.clone();
        let polled = self
            .group
            .poll_batch(&self.topic, now, &mut dead, max, &origin, &mut taken);
        if !dead.is_empty() {
            self.group.dead_letter(dead);
        }
        polled?;
        Ok(taken)
    }
}

/// One consumer waiting on a group, counted in [`Group::waiting`] until dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Source for MemorySource {
    fn try_next(&mut self) -> Option<Result<Delivery>> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return None;
        }
        self.poll_once(Now::coarse()).ok().map(Ok)
    }

    /// Cancel-safe: a delivery is taken and returned without waiting in between; only the waits can be
    /// dropped.
    async fn next(&mut self) -> Option<Result<Delivery>> {
        loop {
            if self.shared.closed.load(Ordering::SeqCst) {
                return None;
            }
            if let Ok(d) = self.poll_once(Now::precise()) {
                return Some(Ok(d));
            }
            // Counted while waiting, also when this future is dropped mid-wait (cancel safety).
            let _waiting = Waiting::new(&self.group.waiting);
            let notified = self.group.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let until = match self.poll_once(Now::precise()) {
                Ok(d) => return Some(Ok(d)),
                Err(until) => until,
            };
            self.wait(until, notified).await;
        }
    }

    /// Cancel-safe like `next`: the deliveries are taken and returned without waiting in between.
    async fn next_batch(&mut self, max: usize) -> Option<Result<Vec<Delivery>>> {
        loop {
            if self.shared.closed.load(Ordering::SeqCst) {
                return None;
            }
            // The coarse clock on the fast path, as `try_next`; the precise one before waiting.
            if let Ok(batch) = self.poll_batch(Now::coarse(), max) {
                return Some(Ok(batch));
            }
            let _waiting = Waiting::new(&self.group.waiting);
            let notified = self.group.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let until = match self.poll_batch(Now::precise(), max) {
                Ok(batch) => return Some(Ok(batch)),
                Err(until) => until,
            };
            self.wait(until, notified).await;
        }
    }
}

impl MemorySource {
    /// Waits for `notified` or until `until`; returns at once when the bus is closed.
    async fn wait(
        &self,
        until: Option<Instant>,
        mut notified: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    ) {
        if self.shared.closed.load(Ordering::SeqCst) {
            return;
        }
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
}

#[cfg(test)]
mod size {
    #[test]
    fn a_queue_entry_stays_small() {
        assert_eq!(std::mem::size_of::<super::Entry>(), 24);
    }
}
