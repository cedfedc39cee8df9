//! A consumer group of the in-memory bus: its queue, in-flight deliveries, per-key holds, redelivery and
//! dead-lettering, and the [`Source`]/[`Settle`] its subscriptions use.

use super::clock::Now;
use super::{MAX_NACK_DELAY, SCHEME, Shared, lock};
use crate::{
    Delivery, Error, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC,
    Message, Result, Settings, Topic,
    backend::{Origin, Receipt, Settle, Source},
};
use std::collections::{BTreeMap, HashMap, VecDeque};
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

pub(super) struct InFlight {
    pub(super) entry: Entry,
    pub(super) deadline: Instant,
}

/// The deliveries in flight, by delivery tag: a ring indexed by `tag - base`, where a settled delivery
/// leaves a hole until everything older is settled too. Tags are handed out in order and deadlines never
/// go down (see [`InFlightRing::push`]), so the front holds the earliest deadline; the ring never starts
/// with a hole. A delivery held long at the front while later ones are settled would keep all their holes
/// alive, so once the ring is mostly holes its front moves to `stragglers` (older tags and deadlines than
/// anything in the ring): memory stays proportional to the deliveries actually in flight.
#[derive(Default)]
pub(super) struct InFlightRing {
    slots: VecDeque<Option<InFlight>>,
    /// The tag of `slots[0]`.
    base: u64,
    /// Deliveries in `slots` (not holes).
    live: usize,
    /// Long-held deliveries moved out of the ring's front, by tag (all below `base`).
    stragglers: BTreeMap<u64, InFlight>,
    /// The deadline of the last push.
    last_deadline: Option<Instant>,
}

/// Below this many slots the ring is never compacted.
const RING_COMPACT_MIN: usize = 1024;

impl InFlightRing {
    /// Adds a delivery; its tag, and the deadline actually used (never earlier than the previous one's, so
    /// the front stays the earliest).
    fn push(&mut self, entry: Entry, deadline: Instant) -> u64 {
        let deadline = self
            .last_deadline
            .map_or(deadline, |last| last.max(deadline));
        self.last_deadline = Some(deadline);
        let tag = self.base + self.slots.len() as u64;
        self.slots.push_back(Some(InFlight { entry, deadline }));
        self.live += 1;
        if self.slots.len() >= RING_COMPACT_MIN && self.live * 2 < self.slots.len() {
            self.compact();
        }
        tag
    }

    /// Moves front deliveries to `stragglers` until the ring is at least half full.
    fn compact(&mut self) {
        while self.live * 2 < self.slots.len() {
            let Some(Some(front)) = self.slots.pop_front() else {
                break; // unreachable: the front is never a hole
            };
            self.stragglers.insert(self.base, front);
            self.base += 1;
            self.live -= 1;
            self.trim();
        }
    }

    /// Takes the delivery with this tag out, if it is still in flight.
    pub(super) fn remove(&mut self, tag: u64) -> Option<InFlight> {
        let Some(offset) = tag.checked_sub(self.base) else {
            return self.stragglers.remove(&tag);
        };
        let index = usize::try_from(offset).ok()?;
        let taken = self.slots.get_mut(index)?.take();
        if taken.is_some() {
            self.live -= 1;
        }
        if index == 0 {
            self.trim();
        }
        taken
    }

    /// Takes the earliest delivery out if its deadline is at or before `now`.
    fn pop_expired(&mut self, now: Instant) -> Option<InFlight> {
        if let Some(entry) = self.stragglers.first_entry() {
            return (entry.get().deadline <= now).then(|| entry.remove());
        }
        match self.slots.front() {
            Some(Some(f)) if f.deadline <= now => {}
            _ => return None,
        }
        let taken = self.slots.pop_front().flatten();
        self.base += 1;
        self.live -= 1;
        self.trim();
        taken
    }

    fn first_deadline(&self) -> Option<Instant> {
        if let Some((_, f)) = self.stragglers.first_key_value() {
            return Some(f.deadline);
        }
        self.slots
            .front()
            .and_then(|f| f.as_ref().map(|f| f.deadline))
    }

    /// Drops the holes at the front.
    fn trim(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
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
    pub(super) fn poll(&self, now: Now, dead: &mut Vec<Entry>) -> Poll {
        let mut g = lock(&self.inner);
        while let Some(f) = g.in_flight.pop_expired(now.early) {
            Self::fail(&mut g, &self.settings, f.entry, "ack timeout", dead);
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
            let (message, attempt) = (e.message.clone(), e.attempts);
            let tag = g.in_flight.push(e, now.late + self.settings.ack_timeout);
            return Poll::Ready(message, attempt, tag);
        }
        let next_deadline = g.in_flight.first_deadline();
        let next_delay = g.delayed.iter().map(|(at, _)| *at).min();
        Poll::Wait(match (next_deadline, next_delay) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// A delivery failed: redeliver it (after `delay`), or dead-letter it after `max_attempts`.
    pub(super) fn fail(
        g: &mut GroupInner,
        settings: &Settings,
        mut entry: Entry,
        reason: &str,
        dead: &mut Vec<Entry>,
    ) {
        entry.last_error = Some(Box::new(LastError(reason.to_string())));
        if entry.attempts >= settings.max_attempts {
            Self::release_key(g, &entry);
            dead.push(entry);
        } else {
            g.ready.push_front(entry);
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
            } else if delay.is_zero() {
                g.ready.push_front(entry);
            } else {
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
        shared.append(&dlq, messages);
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

pub(super) struct MemorySource {
    pub(super) group: Arc<Group>,
    pub(super) shared: Arc<Shared>,
}

impl MemorySource {
    /// One poll of the group: `now` from [`Now::coarse`] on the fast path, [`Now::precise`] when about to
    /// wait (so a consumer woken at a deadline sees it expired).
    pub(super) fn poll_once(&self, now: Now) -> std::result::Result<Delivery, Option<Instant>> {
        let mut dead = Vec::new();
        let poll = self.group.poll(now, &mut dead);
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry::new(Arc::new(Message::new(&b"x"[..])))
    }

    #[test]
    fn in_flight_ring_settles_out_of_order_and_expires_in_deadline_order() {
        let now = Instant::now();
        let mut ring = InFlightRing::default();
        let tags: Vec<u64> = (0..4u64)
            .map(|i| ring.push(entry(), now + Duration::from_secs(i)))
            .collect();
        assert_eq!(tags, vec![0, 1, 2, 3]);
        assert!(ring.remove(2).is_some());
        assert!(ring.remove(2).is_none(), "settled once");
        assert!(ring.remove(0).is_some());
        assert_eq!(ring.first_deadline(), Some(now + Duration::from_secs(1)));
        assert!(ring.pop_expired(now).is_none());
        let f = ring
            .pop_expired(now + Duration::from_secs(1))
            .map(|f| f.deadline);
        assert_eq!(f, Some(now + Duration::from_secs(1)));
        // Tag 2 was settled, so tag 3 is next; a later push never gets an earlier deadline.
        assert_eq!(ring.first_deadline(), Some(now + Duration::from_secs(3)));
        let tag = ring.push(entry(), now);
        assert_eq!(tag, 4);
        assert!(ring.remove(3).is_some());
        assert_eq!(ring.first_deadline(), Some(now + Duration::from_secs(3)));
        assert!(ring.remove(4).is_some());
        assert!(ring.remove(0).is_none() && ring.remove(99).is_none());
        assert_eq!(ring.first_deadline(), None);
    }

    #[test]
    fn a_long_held_delivery_does_not_keep_the_holes_behind_it() {
        let now = Instant::now();
        let mut ring = InFlightRing::default();
        let held = ring.push(entry(), now);
        for i in 1..100_000u64 {
            let tag = ring.push(entry(), now + Duration::from_millis(i));
            assert!(ring.remove(tag).is_some());
        }
        assert!(ring.slots.len() < RING_COMPACT_MIN, "{}", ring.slots.len());
        assert_eq!(
            ring.first_deadline(),
            Some(now),
            "the straggler is still the earliest"
        );
        let later = ring.push(entry(), now);
        assert!(
            ring.remove(held).is_some(),
            "a straggler can still be acked"
        );
        assert!(ring.remove(held).is_none());
        let f = ring
            .pop_expired(now + Duration::from_secs(1000))
            .map(|f| f.deadline);
        let never_earlier = now + Duration::from_millis(99_999);
        assert_eq!(
            f,
            Some(never_earlier),
            "the ring's front expires, its deadline kept monotonic"
        );
        assert!(ring.remove(later).is_none(), "it expired");
        assert_eq!(ring.first_deadline(), None);
    }

    #[test]
    fn an_expired_straggler_goes_first() {
        let now = Instant::now();
        let mut ring = InFlightRing::default();
        let held = ring.push(entry(), now);
        for _ in 1..RING_COMPACT_MIN * 2 {
            let tag = ring.push(entry(), now + Duration::from_secs(5));
            assert!(ring.remove(tag).is_some());
        }
        let kept = ring.push(entry(), now + Duration::from_secs(5));
        assert!(!ring.stragglers.is_empty());
        assert!(ring.pop_expired(now).is_some());
        assert!(ring.remove(held).is_none(), "expired already");
        assert!(ring.pop_expired(now).is_none());
        assert!(ring.remove(kept).is_some());
    }
}

#[cfg(test)]
mod size {
    #[test]
    fn a_queue_entry_stays_small() {
        assert_eq!(std::mem::size_of::<super::Entry>(), 24);
    }
}
