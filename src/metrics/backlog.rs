//! The backlog gauges: `avb_event_bus_consumer_lag{backend,topic,group}` and
//! `avb_event_bus_dead_letter_depth{backend,topic}`, read through [`EventBus::backlog`] at scrape time.
//!
//! Which pairs: every (topic, group) a metered [`crate::instrument::InstrumentedBus`] subscribed (the
//! Platform's subscriptions), at most [`MAX_WATCHES`] of them (later ones are not watched), held weakly —
//! a bus dropped (a dev-mode switch replaced it) stops being asked.
//!
//! When: [`Metrics::refresh_backlog`], which `GET /metrics` awaits before encoding, asks every pair at
//! once and waits at most its `timeout` ([`BACKLOG_TIMEOUT`] for `/metrics`): a pair whose backend did
//! not answer in time, answered an error or cannot tell the count (`None`) has no sample in this scrape —
//! absent means unknown, never a made-up zero — and the rest answer as usual. So a dead broker costs a
//! scrape at most the timeout. Labels are bounded like the other topic metrics (topic names without the
//! workspace, at most [`super::MAX_TOPICS`]; groups at most [`MAX_GROUPS`], then `other`); pairs that
//! share labels (the same topic name in two workspaces) are summed.

use super::{Bounded, Metrics, TopicLabels};
use avb_event_bus::{EventBus, Topic};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// The most (bus, topic, group) pairs watched.
pub const MAX_WATCHES: usize = 256;
/// The most distinct `group` label values; later groups share `group="other"`.
pub const MAX_GROUPS: usize = 64;
/// How long `GET /metrics` waits for the backlog answers.
pub const BACKLOG_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct GroupLabels {
    backend: String,
    topic: String,
    group: String,
}

struct Watch {
    bus: Weak<dyn EventBus>,
    backend: &'static str,
    topic: Topic,
    group: String,
}

/// The watched pairs and the gauges they set.
pub(super) struct BacklogGauges {
    watches: Mutex<Vec<Watch>>,
    pub(super) lag: Family<GroupLabels, Gauge>,
    pub(super) dead_letters: Family<TopicLabels, Gauge>,
    groups: Bounded,
    last_lag: Mutex<HashSet<GroupLabels>>,
    last_dead: Mutex<HashSet<TopicLabels>>,
    /// Serialises refreshes (two scrapes at once would race on which series to remove).
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for BacklogGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BacklogGauges")
            .field("watches", &lock(&self.watches).len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl BacklogGauges {
    pub(super) fn new() -> Self {
        Self {
            watches: Mutex::new(Vec::new()),
            lag: Family::default(),
            dead_letters: Family::default(),
            groups: Bounded::new(MAX_GROUPS),
            last_lag: Mutex::default(),
            last_dead: Mutex::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }
}

impl Metrics {
    /// Watches the backlog of `group` on `topic` of `bus` (see the module docs); a pair already watched
    /// (or one beyond [`MAX_WATCHES`]) changes nothing.
    pub fn watch_backlog(&self, bus: &Arc<dyn EventBus>, topic: &Topic, group: &str) {
        let mut watches = lock(&self.backlog.watches);
        watches.retain(|w| w.bus.strong_count() > 0);
        let weak = Arc::downgrade(bus);
        let known = watches
            .iter()
            .any(|w| Weak::ptr_eq(&w.bus, &weak) && &w.topic == topic && w.group == group);
        if known || watches.len() >= MAX_WATCHES {
            return;
        }
        watches.push(Watch {
            bus: weak,
            backend: bus.backend(),
            topic: topic.clone(),
            group: group.to_string(),
        });
    }

    /// Asks every watched pair for its backlog (all at once, waiting at most `timeout`) and sets the
    /// gauges from the answers; a pair without an answer has no sample until it answers again.
    pub async fn refresh_backlog(&self, timeout: Duration) {
        let _one_at_a_time = self.backlog.refreshing.lock().await;
        let asks: Vec<(Arc<dyn EventBus>, &'static str, Topic, String)> = {
            let mut watches = lock(&self.backlog.watches);
            watches.retain(|w| w.bus.strong_count() > 0);
            watches
                .iter()
                .filter_map(|w| {
                    let bus = w.bus.upgrade()?;
                    Some((bus, w.backend, w.topic.clone(), w.group.clone()))
                })
                .collect()
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let answers = futures::future::join_all(asks.iter().map(|(bus, _, topic, group)| {
            tokio::time::timeout_at(deadline, bus.backlog(topic, group))
        }))
        .await;
        let mut lag: HashMap<GroupLabels, i64> = HashMap::new();
        let mut dead_by_topic: HashMap<(&'static str, &Topic), u64> = HashMap::new();
        for ((_, backend, topic, group), answer) in asks.iter().zip(answers) {
            let Ok(Ok(backlog)) = answer else { continue };
            let topic_label = self.topics.label(topic.name());
            if let Some(n) = backlog.lag {
                let labels = GroupLabels {
                    backend: backend.to_string(),
                    topic: topic_label,
                    group: self.backlog.groups.label(group),
                };
                *lag.entry(labels).or_default() += i64::try_from(n).unwrap_or(i64::MAX);
            }
            if let Some(n) = backlog.dead_letters {
                dead_by_topic.insert((*backend, topic), n);
            }
        }
        let mut dead: HashMap<TopicLabels, i64> = HashMap::new();
        for ((backend, topic), n) in dead_by_topic {
            let labels = TopicLabels {
                backend: backend.to_string(),
                topic: self.topics.label(topic.name()),
            };
            *dead.entry(labels).or_default() += i64::try_from(n).unwrap_or(i64::MAX);
        }
        set_all(&self.backlog.lag, &self.backlog.last_lag, lag);
        set_all(&self.backlog.dead_letters, &self.backlog.last_dead, dead);
    }
}

/// Sets `family` to exactly `values`: the series set last time (`last`) and not among them are removed.
fn set_all<L>(family: &Family<L, Gauge>, last: &Mutex<HashSet<L>>, values: HashMap<L, i64>)
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug,
{
    let mut last = lock(last);
    for labels in last.iter() {
        if !values.contains_key(labels) {
            family.remove(labels);
        }
    }
    for (labels, n) in &values {
        family.get_or_create(labels).set(*n);
    }
    *last = values.into_keys().collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_event_bus::{
        Backlog, Capabilities, Error, Health, Message, MessageId, Result, StartPosition,
        Subscription,
    };

    /// A bus whose backlog answers `lag` — or never, when `hang`.
    #[derive(Debug)]
    struct Fixed {
        lag: Option<u64>,
        hang: bool,
    }

    #[async_trait::async_trait]
    impl EventBus for Fixed {
        fn backend(&self) -> &'static str {
            if self.hang { "dead" } else { "fixed" }
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        async fn publish(&self, _: &Topic, m: Message) -> Result<MessageId> {
            Ok(m.id)
        }
        async fn publish_batch(&self, _: &Topic, m: Vec<Message>) -> Result<Vec<MessageId>> {
            Ok(m.into_iter().map(|m| m.id).collect())
        }
        async fn subscribe(&self, _: &Topic, _: &str, _: StartPosition) -> Result<Subscription> {
            Err(Error::Closed { backend: "fixed" })
        }
        async fn close(&self) -> Result<()> {
            Ok(())
        }
        async fn health(&self) -> Health {
            Health::up("fixed")
        }
        async fn backlog(&self, _: &Topic, _: &str) -> Result<Backlog> {
            if self.hang {
                futures::future::pending::<()>().await;
            }
            Ok(Backlog::new(self.lag, None, Some(4)))
        }
    }

    fn topic(name: &str) -> Topic {
        Topic::new(&avb_core::WorkspaceId::new("w").unwrap(), name).unwrap()
    }

    #[tokio::test]
    async fn a_hanging_backend_costs_the_timeout_and_leaves_no_sample() {
        let metrics = Metrics::new();
        let live: Arc<dyn EventBus> = Arc::new(Fixed {
            lag: Some(7),
            hang: false,
        });
        let dead: Arc<dyn EventBus> = Arc::new(Fixed {
            lag: Some(9),
            hang: true,
        });
        metrics.watch_backlog(&live, &topic("t"), "g");
        metrics.watch_backlog(&live, &topic("t"), "g"); // watched once
        metrics.watch_backlog(&dead, &topic("t"), "g");
        metrics.refresh_backlog(Duration::from_millis(20)).await;
        let text = metrics.encode();
        assert!(
            text.contains(r#"avb_event_bus_consumer_lag{backend="fixed",topic="t",group="g"} 7"#),
            "{text}"
        );
        assert!(
            text.contains(r#"avb_event_bus_dead_letter_depth{backend="fixed",topic="t"} 4"#),
            "{text}"
        );
        assert!(!text.contains(r#"backend="dead""#), "{text}");
    }

    #[tokio::test]
    async fn an_unknown_count_or_a_dropped_bus_removes_the_sample() {
        let metrics = Metrics::new();
        let known: Arc<dyn EventBus> = Arc::new(Fixed {
            lag: Some(2),
            hang: false,
        });
        metrics.watch_backlog(&known, &topic("a"), "g");
        metrics.refresh_backlog(Duration::from_secs(5)).await;
        assert!(metrics.encode().contains(r#"topic="a",group="g"} 2"#));
        drop(known);
        let unknown: Arc<dyn EventBus> = Arc::new(Fixed {
            lag: None,
            hang: false,
        });
        metrics.watch_backlog(&unknown, &topic("b"), "g");
        metrics.refresh_backlog(Duration::from_secs(5)).await;
        let text = metrics.encode();
        assert!(!text.contains("avb_event_bus_consumer_lag{"), "{text}");
        assert!(text.contains(r#"avb_event_bus_dead_letter_depth{backend="fixed",topic="b"} 4"#));
        assert!(!text.contains(r#"topic="a""#), "{text}");
    }
}
