//! The bookkeeping of one group consumer: records read and not settled, per partition, and what a commit
//! carries (the lowest unsettled offset, and the attempt counts in its metadata); the consumer's context,
//! which commits and forgets revoked partitions and restores attempt counts of assigned ones.

use crate::Message;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::{ClientContext, Offset, Statistics, TopicPartitionList};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

use super::join::CALL_TIMEOUT;

/// Prefix of the commit metadata that carries attempt counts (`avb1 <offset>=<attempts>,…`).
const METADATA_PREFIX: &str = "avb1 ";
/// Kafka's default `offset.metadata.max.bytes` is 4096: stay below it.
const METADATA_MAX: usize = 3500;

/// A hasher for the integer keys of the per-record maps (hand-out tags, partitions): one multiply
/// instead of SipHash on every hand-out and ack. The keys are this process's counters and the broker's
/// partition numbers, never an outsider's choice, so flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub(super) struct IntHasher(u64);

impl std::hash::Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_i32(&mut self, i: i32) {
        self.write_u64(u64::from(i as u32));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map with integer keys hashed by [`IntHasher`].
pub(super) type IntMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IntHasher>>;

/// A record this process read and has not settled.
#[derive(Clone)]
pub(super) struct Entry {
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) message: Arc<Message>,
    /// Hand-outs so far (also those of earlier consumers, from the commit metadata).
    pub(super) attempts: u32,
}

pub(super) struct Out {
    pub(super) entry: Entry,
    pub(super) deadline: Instant,
}

#[derive(Default)]
pub(super) struct Part {
    /// The offset after the last record read.
    pub(super) next: i64,
    /// Offsets read and not settled.
    pub(super) unsettled: Unsettled,
    pub(super) dirty: bool,
}

/// The offsets of one partition read and not settled: a ring in offset order whose front is the lowest
/// unsettled offset (what a commit carries). Records arrive in offset order, so a read is a push at the
/// back and a settle a binary search and a flag; settled offsets leave from the front as soon as nothing
/// below them is open, and the whole ring is swept when a long-held record keeps more settled offsets
/// behind it than there are open ones (memory stays proportional to the records in flight).
#[derive(Default)]
pub(super) struct Unsettled {
    /// `(offset, settled)`, ascending offsets; the front is never settled.
    ring: VecDeque<(i64, bool)>,
    /// Entries of `ring` not settled.
    open: usize,
}

/// Below this many entries the ring is never swept.
const UNSETTLED_SWEEP_MIN: usize = 1024;

impl Unsettled {
    /// `offset` was read and is not settled (again, if it was settled before).
    pub(super) fn insert(&mut self, offset: i64) {
        if self.ring.back().is_none_or(|&(last, _)| last < offset) {
            self.ring.push_back((offset, false));
            self.open += 1;
            return;
        }
        // Out of order (a partition read again): keep the ring sorted.
        match self.ring.binary_search_by_key(&offset, |&(o, _)| o) {
            Ok(at) => {
                if std::mem::replace(&mut self.ring[at].1, false) {
                    self.open += 1;
                }
            }
            Err(at) => {
                self.ring.insert(at, (offset, false));
                self.open += 1;
            }
        }
    }

    /// `offset` is settled; `false` when it was not open.
    pub(super) fn remove(&mut self, offset: i64) -> bool {
        let Ok(at) = self.ring.binary_search_by_key(&offset, |&(o, _)| o) else {
            return false;
        };
        if std::mem::replace(&mut self.ring[at].1, true) {
            return false;
        }
        self.open -= 1;
        while self.ring.front().is_some_and(|&(_, settled)| settled) {
            self.ring.pop_front();
        }
        if self.ring.len() >= UNSETTLED_SWEEP_MIN && self.open * 2 < self.ring.len() {
            self.ring.retain(|&(_, settled)| !settled);
        }
        true
    }

    /// The lowest offset not settled.
    pub(super) fn first(&self) -> Option<i64> {
        self.ring.front().map(|&(o, _)| o)
    }

    /// Offsets open.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.open
    }
}

#[derive(Default)]
pub(super) struct State {
    pub(super) ready: VecDeque<Entry>,
    pub(super) delayed: Vec<(Instant, Entry)>,
    /// Handed-out records by hand-out tag (a new one per hand-out, so a receipt of an earlier hand-out of
    /// the same record finds nothing).
    pub(super) out: IntMap<u64, Out>,
    /// The tag of the next hand-out.
    pub(super) next_tag: u64,
    /// Keys with a record handed out, nacked or waiting for its redelivery: the key's next record waits.
    pub(super) busy: HashMap<String, (i32, i64)>,
    pub(super) parts: IntMap<i32, Part>,
    /// Attempt counts from the committed metadata of partitions this consumer was assigned.
    pub(super) restored: HashMap<i32, HashMap<i64, u32>>,
    /// Records to dead-letter (from a drop or an ack timeout), with the last error.
    pub(super) dead: Vec<(Entry, String)>,
    /// The consumer's last error (broker unreachable, topic gone …) not yet reported: the next member
    /// whose `next` finds no delivery returns it (one report per error; a newer one replaces it).
    pub(super) error: Option<crate::Error>,
}

impl State {
    pub(super) fn key_free(&self, entry: &Entry) -> bool {
        match &entry.message.key {
            None => true,
            Some(k) => self
                .busy
                .get(k)
                .is_none_or(|at| *at == (entry.partition, entry.offset)),
        }
    }

    /// Settles a record: its offset may be committed past, its key is free again. `true` when a key was
    /// freed (a member waiting for that key's next record may go on).
    pub(super) fn settle(&mut self, partition: i32, offset: i64, key: Option<&String>) -> bool {
        if let Some(part) = self.parts.get_mut(&partition) {
            part.unsettled.remove(offset);
            part.dirty = true;
        }
        if let Some(k) = key
            && self.busy.get(k) == Some(&(partition, offset))
        {
            self.busy.remove(k);
            return true;
        }
        false
    }

    /// The offsets to commit (lowest unsettled, or the next to read) with the attempt counts of the
    /// handed-out records above them; marks the partitions clean.
    pub(super) fn commits(&mut self, topic: &str, all: bool) -> Option<TopicPartitionList> {
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
            let at = part.unsettled.first().unwrap_or(part.next);
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
    pub(super) fn revoke(&mut self, partition: i32) {
        self.ready.retain(|e| e.partition != partition);
        self.delayed.retain(|(_, e)| e.partition != partition);
        self.dead.retain(|(e, _)| e.partition != partition);
        self.out.retain(|_, o| o.entry.partition != partition);
        self.busy.retain(|_, (p, _)| *p != partition);
        self.parts.remove(&partition);
        self.restored.remove(&partition);
    }
}

pub(super) fn parse_metadata(meta: &str) -> HashMap<i64, u32> {
    meta.strip_prefix(METADATA_PREFIX)
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| {
            let (o, n) = item.split_once('=')?;
            Some((o.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The consumer's context: commits and forgets revoked partitions, restores attempt counts of assigned
/// ones, keeps the lag from librdkafka's statistics.
pub(super) struct Ctx {
    pub(super) topic: String,
    pub(super) state: Arc<Mutex<State>>,
    pub(super) lag: Arc<AtomicI64>,
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

pub(super) type Kafka = StreamConsumer<Ctx>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// The ring answers as the ordered set it replaces, for any reads (in order, repeated or out of
        /// order) and settlements (of open, settled or unknown offsets).
        #[test]
        fn unsettled_offsets_behave_as_an_ordered_set(
            ops in proptest::collection::vec((any::<bool>(), 0i64..3000), 0..4000)
        ) {
            let (mut ring, mut model) = (Unsettled::default(), BTreeSet::new());
            let mut next = 0i64;
            for (read, n) in ops {
                if read {
                    // Mostly the next offset (as a partition is read), sometimes an earlier one again.
                    let offset = if n % 7 == 0 { n % (next + 1) } else { next };
                    next = next.max(offset + 1);
                    ring.insert(offset);
                    model.insert(offset);
                } else {
                    let offset = n % (next + 1);
                    let settled = ring.remove(offset);
                    prop_assert_eq!(settled, model.remove(&offset));
                    // After a settle, settled offsets kept behind a held one are at most as many as the
                    // open ones (or the ring is small).
                    prop_assert!(
                        !settled || ring.ring.len() <= (2 * model.len()).max(UNSETTLED_SWEEP_MIN),
                        "ring {} open {}", ring.ring.len(), model.len()
                    );
                }
                prop_assert_eq!(ring.first(), model.first().copied());
                prop_assert_eq!(ring.len(), model.len());
            }
        }
    }

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
