//! [`EventBus::backlog`](crate::EventBus::backlog) of the in-memory bus, from the group's own queues.
//!
//! `lag`: what was published to the group and not taken yet, plus its queue (ready, held behind a busy
//! key, waiting for a redelivery's backoff) and its deliveries in flight; `in_flight`: the deliveries handed
//! out and not settled (nothing is read ahead here); `dead_letters`: the messages retained in the
//! dead-letter topic's log (at most `max_len`).

use super::{MemoryBus, SCHEME, lock, read};
use crate::{Backlog, Error, Result, Topic, backend::check_group};

impl MemoryBus {
    pub(super) fn backlog_now(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        check_group(group)?;
        let unknown = || Error::UnknownGroup {
            backend: SCHEME,
            topic: topic.name().to_string(),
            group: group.to_string(),
        };
        let state = read(&self.shared.topics).get(topic).cloned();
        let state = state.ok_or_else(unknown)?;
        let (waiting, g) = {
            let t = lock(&state.inner);
            let slot = *t.groups.get(group).ok_or_else(unknown)?;
            let member = &t.members[slot];
            (member.incoming.len(), member.group.clone())
        };
        let (lag, in_flight) = {
            let inner = lock(&g.inner);
            let held: usize = inner.busy_keys.values().map(|q| q.len()).sum();
            let in_flight = inner.in_flight.len();
            (
                waiting + inner.ready.len() + inner.delayed.len() + held + in_flight,
                in_flight,
            )
        };
        let dead = read(&self.shared.topics)
            .get(&topic.dead_letter())
            .map_or(0, |s| lock(&s.inner).log.len());
        Ok(Backlog::new(
            Some(lag as u64),
            Some(in_flight as u64),
            Some(dead as u64),
        ))
    }
}
