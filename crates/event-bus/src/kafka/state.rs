//! The bookkeeping of one group consumer: records read and not settled, per partition, and what a commit
//! carries (the lowest unsettled offset, and the attempt counts in its metadata); the consumer's context,
//! which commits and forgets revoked partitions and restores attempt counts of assigned ones.

use crate::Message;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::{ClientContext, Offset, Statistics, TopicPartitionList};
use std::collections::{BTreeSet, HashMap, VecDeque};
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
    pub(super) unsettled: BTreeSet<i64>,
    pub(super) dirty: bool,
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
            part.unsettled.remove(&offset);
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
