//! [`Backlog`]: what [`crate::EventBus::backlog`] reports for one consumer group of a topic.

/// How far a consumer group is behind on a topic, and the depth of the topic's dead-letter topic.
///
/// A count the backend cannot tell is `None` (and its [`crate::Capabilities`] flag is `false`) — never a
/// made-up zero. Counts come from the broker where it keeps them (Redis `XINFO GROUPS`, Kafka watermarks
/// and committed offsets, Pulsar topic stats), so they may lag a settle by the backend's commit interval
/// and, on a live broker, count what every process of the group holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backlog {
    /// The consumer lag: messages published to the topic that the group has not settled yet (not acked,
    /// not dead-lettered) — the ones waiting plus the ones in flight
    /// ([`crate::Capabilities::backlog_lag`]). Where the broker tracks a position rather than each message
    /// (Kafka's committed offset), a message settled above an unsettled one still counts until the
    /// position passes it.
    pub lag: Option<u64>,
    /// Of the lag, the messages a consumer of the group holds: handed to the application or read ahead by
    /// its client, and not settled ([`crate::Capabilities::backlog_in_flight`]).
    pub in_flight: Option<u64>,
    /// Messages on the topic's dead-letter topic ([`crate::Topic::dead_letter`]), whichever group put
    /// them there ([`crate::Capabilities::backlog_dead_letters`]).
    pub dead_letters: Option<u64>,
}

impl Backlog {
    /// A backlog with every count given.
    pub fn new(lag: Option<u64>, in_flight: Option<u64>, dead_letters: Option<u64>) -> Self {
        Self {
            lag,
            in_flight,
            dead_letters,
        }
    }

    /// The messages waiting to be handed out (`lag − in_flight`), when both are known.
    pub fn waiting(&self) -> Option<u64> {
        Some(self.lag?.saturating_sub(self.in_flight?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_needs_both_counts() {
        assert_eq!(Backlog::new(Some(7), Some(2), None).waiting(), Some(5));
        assert_eq!(Backlog::new(Some(7), None, Some(1)).waiting(), None);
        assert_eq!(Backlog::default(), Backlog::new(None, None, None));
    }
}
