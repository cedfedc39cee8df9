//! [`InFlightRing`]: the deliveries of one in-memory consumer group that are in flight, by delivery tag.

use super::group::Entry;
use std::collections::{BTreeMap, VecDeque};
use tokio::time::Instant;

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
    /// Deliveries whose lease was extended ([`InFlightRing::extend`]), by tag: out of the ring's deadline
    /// order, so searched in full (a handful: only long handlers extend).
    extended: BTreeMap<u64, InFlight>,
}

/// Below this many slots the ring is never compacted.
const RING_COMPACT_MIN: usize = 1024;

impl InFlightRing {
    /// Adds a delivery; its tag, and the deadline actually used (never earlier than the previous one's, so
    /// the front stays the earliest).
    #[inline]
    pub(super) fn push(&mut self, entry: Entry, deadline: Instant) -> u64 {
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
        match self.remove_ordered(tag) {
            Some(taken) => Some(taken),
            None if !self.extended.is_empty() => self.extended.remove(&tag),
            None => None,
        }
    }

    /// Takes out the deliveries with tags `first .. first + count` that are still in flight, oldest first,
    /// handing each to `each`: the acks of one batch in one pass over the ring's front (a batch's tags are
    /// consecutive), else one [`InFlightRing::remove`] per tag.
    pub(super) fn remove_run(&mut self, first: u64, count: usize, mut each: impl FnMut(InFlight)) {
        if first != self.base || count > self.slots.len() {
            for tag in (0..count as u64).map_while(|i| first.checked_add(i)) {
                if let Some(f) = self.remove(tag) {
                    each(f);
                }
            }
            return;
        }
        for (tag, slot) in (first..).zip(self.slots.drain(..count)) {
            match slot {
                Some(f) => {
                    self.live -= 1;
                    each(f);
                }
                // A hole: settled already, or extended (then it is in `extended`).
                None => {
                    if !self.extended.is_empty()
                        && let Some(f) = self.extended.remove(&tag)
                    {
                        each(f);
                    }
                }
            }
        }
        self.base += count as u64;
        self.trim();
    }

    fn remove_ordered(&mut self, tag: u64) -> Option<InFlight> {
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

    /// Moves the deadline of the delivery with this tag to `deadline`; `false` when it is not in flight
    /// (settled, or its lease lapsed already).
    pub(super) fn extend(&mut self, tag: u64, deadline: Instant) -> bool {
        match self.remove(tag) {
            Some(mut f) => {
                f.deadline = deadline;
                self.extended.insert(tag, f);
                true
            }
            None => false,
        }
    }

    /// Deliveries in flight.
    pub(super) fn len(&self) -> usize {
        self.live + self.stragglers.len() + self.extended.len()
    }

    /// The extended delivery with the earliest deadline: its tag and deadline.
    fn first_extended(&self) -> Option<(u64, Instant)> {
        self.extended
            .iter()
            .map(|(tag, f)| (*tag, f.deadline))
            .min_by_key(|(_, deadline)| *deadline)
    }

    /// Takes the earliest delivery out if its deadline is at or before `now`.
    pub(super) fn pop_expired(&mut self, now: Instant) -> Option<InFlight> {
        if !self.extended.is_empty()
            && let Some((tag, deadline)) = self.first_extended()
            && deadline <= now
        {
            return self.extended.remove(&tag);
        }
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

    pub(super) fn first_deadline(&self) -> Option<Instant> {
        let ordered = match self.stragglers.first_key_value() {
            Some((_, f)) => Some(f.deadline),
            None => self
                .slots
                .front()
                .and_then(|f| f.as_ref().map(|f| f.deadline)),
        };
        match (ordered, self.first_extended()) {
            (Some(a), Some((_, b))) => Some(a.min(b)),
            (a, b) => a.or(b.map(|(_, deadline)| deadline)),
        }
    }

    /// Drops the holes at the front.
    fn trim(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use std::sync::Arc;
    use std::time::Duration;

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
    fn an_extended_delivery_expires_at_its_new_deadline_and_can_still_be_settled() {
        let now = Instant::now();
        let mut ring = InFlightRing::default();
        let held = ring.push(entry(), now + Duration::from_secs(1));
        let other = ring.push(entry(), now + Duration::from_secs(2));
        assert!(ring.extend(held, now + Duration::from_secs(10)));
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.first_deadline(), Some(now + Duration::from_secs(2)));
        assert!(
            ring.pop_expired(now + Duration::from_secs(5)).is_some(),
            "the other one"
        );
        assert!(ring.remove(other).is_none(), "it expired");
        assert!(
            ring.pop_expired(now + Duration::from_secs(5)).is_none(),
            "held: extended"
        );
        assert_eq!(ring.first_deadline(), Some(now + Duration::from_secs(10)));
        assert!(
            ring.extend(held, now + Duration::from_secs(20)),
            "extended again"
        );
        assert!(ring.remove(held).is_some(), "acked");
        assert!(!ring.extend(held, now), "settled: nothing to extend");
        let lapsed = ring.push(entry(), now);
        let later = now + Duration::from_secs(30);
        assert!(
            ring.pop_expired(later).is_some(),
            "its deadline kept monotonic"
        );
        assert!(!ring.extend(lapsed, now + Duration::from_secs(1)), "lapsed");
        assert_eq!((ring.len(), ring.first_deadline()), (0, None));
    }

    #[test]
    fn a_run_of_tags_is_removed_in_one_pass_and_skips_what_is_settled() {
        let now = Instant::now();
        let mut ring = InFlightRing::default();
        let tags: Vec<u64> = (0..6u64)
            .map(|i| ring.push(entry(), now + Duration::from_secs(i)))
            .collect();
        assert!(ring.remove(tags[1]).is_some(), "acked on its own");
        assert!(ring.extend(tags[2], now + Duration::from_secs(60)));
        let mut taken = Vec::new();
        ring.remove_run(tags[0], 4, |f| taken.push(f.deadline));
        let secs = |s| now + Duration::from_secs(s);
        assert_eq!(taken, vec![secs(0), secs(60), secs(3)], "0, extended 2, 3");
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.first_deadline(), Some(secs(4)));
        // Not at the front (5 before 4): tag by tag, the same result.
        taken.clear();
        ring.remove_run(tags[5], 1, |f| taken.push(f.deadline));
        ring.remove_run(tags[3], 3, |f| taken.push(f.deadline));
        assert_eq!(taken, vec![secs(5), secs(4)]);
        assert_eq!((ring.len(), ring.first_deadline()), (0, None));
        ring.remove_run(tags[0], 6, |_| panic!("nothing left in flight"));
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
