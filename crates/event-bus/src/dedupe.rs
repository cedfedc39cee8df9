//! [`Dedupe`]: a small consumer-side helper that remembers the last N message ids a handler processed.

use crate::MessageId;
use std::collections::{HashSet, VecDeque};

/// Remembers the ids of the last `capacity` messages a handler processed, so a redelivered duplicate
/// (at-least-once) can be skipped. In memory and per process: for dedupe across restarts, keep the ids
/// where the handler keeps its results (e.g. a unique column written in the same transaction).
///
/// ```
/// use avb_event_bus::{Dedupe, MessageId};
/// let mut seen = Dedupe::new(1000);
/// let id = MessageId::new("order-7");
/// assert!(seen.first_time(&id));
/// assert!(!seen.first_time(&id), "a redelivery of the same message");
/// ```
#[derive(Debug, Clone)]
pub struct Dedupe {
    capacity: usize,
    order: VecDeque<MessageId>,
    seen: HashSet<MessageId>,
}

impl Dedupe {
    /// Remembers up to `capacity` ids (at least 1); the oldest is forgotten first.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// `true` the first time `id` is seen (it is then remembered), `false` for a remembered id.
    pub fn first_time(&mut self, id: &MessageId) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.order.push_back(id.clone());
        self.seen.insert(id.clone());
        true
    }

    /// Whether `id` is remembered.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.seen.contains(id)
    }

    /// Forgets `id` (e.g. its handling failed and a redelivery should run it again).
    pub fn forget(&mut self, id: &MessageId) {
        if self.seen.remove(id) {
            self.order.retain(|kept| kept != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_capacity_ids_and_forgets_on_request() {
        let mut d = Dedupe::new(2);
        let (a, b, c) = (
            MessageId::new("a"),
            MessageId::new("b"),
            MessageId::new("c"),
        );
        assert!(d.first_time(&a) && d.first_time(&b));
        assert!(!d.first_time(&a));
        assert!(d.first_time(&c), "new");
        assert!(!d.contains(&a), "the oldest was forgotten");
        assert!(d.contains(&b) && d.contains(&c));
        d.forget(&c);
        assert!(d.first_time(&c), "forgotten on request");
        assert!(Dedupe::new(0).first_time(&a), "capacity at least 1");
    }
}
