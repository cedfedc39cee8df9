//! [`EventBus::backlog`](crate::EventBus::backlog) on Pulsar, from the admin REST API's topic stats
//! (`GET /admin/v2/persistent/<namespace>/<topic>/stats`) of the topic, the group's retry topic and the
//! dead-letter topic, asked at once.
//!
//! `lag`: the subscription `<group>`'s `msgBacklog` on the topic plus on its retry topic (a nacked message
//! waits there for its backoff); `in_flight`: their `unackedMessages` (dispatched to a consumer — handed
//! out or in a receiver queue — and not acked); `dead_letters`: the dead-letter topic's `msgInCounter`,
//! the messages published to it since the topic was last loaded by its broker (0 when it does not exist).
//! A DLQ subscription's backlog would depend on who reads the DLQ, and the topic's retained size is in
//! bytes, so the counter is the best count Pulsar keeps; after a broker restart or a topic unload it
//! counts from 0 again. The topic, or its subscription `<group>`, missing is [`Error::UnknownGroup`].

use super::{SCHEME, Shared};
use crate::{Backlog, Error, Result, Topic, backend::check_group};
use serde_json::Value;

/// The admin API path of the stats of a topic URL (`persistent://<tenant>/<ns>/<name>`).
fn stats_path(topic_url: &str) -> String {
    let rest = topic_url.strip_prefix("persistent://").unwrap_or(topic_url);
    format!("/admin/v2/persistent/{rest}/stats")
}

fn count(v: &Value, field: &str) -> Result<u64> {
    v.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Backend {
            backend: SCHEME,
            reason: format!("the topic stats have no count {field:?}"),
            source: None,
        })
}

/// The subscription `group` in `stats` (a topic's stats), if any.
fn subscription<'a>(stats: &'a Value, group: &str) -> Option<&'a Value> {
    stats.get("subscriptions")?.get(group)
}

pub(super) async fn backlog(shared: &Shared, topic: &Topic, group: &str) -> Result<Backlog> {
    check_group(group)?;
    let unknown = || Error::UnknownGroup {
        backend: SCHEME,
        topic: topic.name().to_string(),
        group: group.to_string(),
    };
    let main = stats_path(&shared.names.topic_url(topic));
    let retry = stats_path(&shared.names.retry_topic(topic, group));
    let dlq = stats_path(&shared.names.topic_url(&topic.dead_letter()));
    let (main, retry, dlq) = tokio::join!(
        shared
            .admin
            .get_json_if_found(&main, "reading the topic's stats"),
        shared
            .admin
            .get_json_if_found(&retry, "reading the retry topic's stats"),
        shared
            .admin
            .get_json_if_found(&dlq, "reading the dead-letter topic's stats"),
    );
    let main = main?.ok_or_else(unknown)?;
    let sub = subscription(&main, group).ok_or_else(unknown)?;
    let mut lag = count(sub, "msgBacklog")?;
    let mut in_flight = count(sub, "unackedMessages")?;
    if let Some(retry) = retry?
        && let Some(sub) = subscription(&retry, group)
    {
        lag += count(sub, "msgBacklog")?;
        in_flight += count(sub, "unackedMessages")?;
    }
    let dead = match dlq? {
        Some(stats) => count(&stats, "msgInCounter")?,
        None => 0,
    };
    Ok(Backlog::new(Some(lag), Some(in_flight), Some(dead)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_paths_and_counts() {
        assert_eq!(
            stats_path("persistent://avb/development.acme/orders~retry~g"),
            "/admin/v2/persistent/avb/development.acme/orders~retry~g/stats"
        );
        let stats = serde_json::json!({
            "msgInCounter": 3,
            "subscriptions": {"g": {"msgBacklog": 5, "unackedMessages": 2}}
        });
        let sub = subscription(&stats, "g").unwrap();
        assert_eq!(count(sub, "msgBacklog").unwrap(), 5);
        assert!(subscription(&stats, "h").is_none());
        assert!(count(sub, "missing").is_err());
    }
}
