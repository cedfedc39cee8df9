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
    from_stats(main?, retry?, dlq?, group)?.ok_or_else(unknown)
}

/// The backlog of subscription `group` from the stats of the topic, of its retry topic and of its
/// dead-letter topic (`None`: the topic does not exist); `None` when the topic or its subscription is
/// missing. A count the broker answered in a shape it never sends — absent, negative, not a number, or
/// sums past `u64` — is an error, never a panic or a 0.
fn from_stats(
    main: Option<Value>,
    retry: Option<Value>,
    dlq: Option<Value>,
    group: &str,
) -> Result<Option<Backlog>> {
    let Some(sub) = main.as_ref().and_then(|m| subscription(m, group)) else {
        return Ok(None);
    };
    let mut lag = count(sub, "msgBacklog")?;
    let mut in_flight = count(sub, "unackedMessages")?;
    if let Some(sub) = retry.as_ref().and_then(|r| subscription(r, group)) {
        lag = sum(lag, count(sub, "msgBacklog")?, "msgBacklog")?;
        in_flight = sum(in_flight, count(sub, "unackedMessages")?, "unackedMessages")?;
    }
    let dead = match &dlq {
        Some(stats) => count(stats, "msgInCounter")?,
        None => 0,
    };
    Ok(Some(Backlog::new(Some(lag), Some(in_flight), Some(dead))))
}

fn sum(a: u64, b: u64, field: &str) -> Result<u64> {
    a.checked_add(b).ok_or_else(|| Error::Backend {
        backend: SCHEME,
        reason: format!(
            "the topic stats' {field:?} of the topic and its retry topic add up past 2^64"
        ),
        source: None,
    })
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

    #[test]
    fn backlog_from_stats_and_garbled_stats_are_errors() {
        let stats = |backlog: Value, unacked: Value| serde_json::json!({"subscriptions": {"g": {"msgBacklog": backlog, "unackedMessages": unacked}}});
        let b = from_stats(
            Some(stats(5.into(), 2.into())),
            Some(stats(1.into(), 1.into())),
            Some(serde_json::json!({"msgInCounter": 4})),
            "g",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (b.lag, b.in_flight, b.dead_letters),
            (Some(6), Some(3), Some(4))
        );
        assert!(from_stats(None, None, None, "g").unwrap().is_none());
        assert!(
            from_stats(Some(stats(1.into(), 1.into())), None, None, "h")
                .unwrap()
                .is_none()
        );
        for (backlog, unacked) in [
            (Value::from(-1), Value::from(0)),
            (Value::from("5"), Value::from(0)),
            (Value::from(1.5), Value::from(0)),
            (Value::Null, Value::from(0)),
            (Value::from(0), Value::from(u64::MAX)),
        ] {
            let garbled = Some(stats(backlog, unacked));
            let retry = Some(stats(0.into(), 1.into()));
            assert!(from_stats(garbled, retry, None, "g").is_err());
        }
        let no_counter = Some(serde_json::json!({"msgInCounter": "many"}));
        assert!(from_stats(Some(stats(0.into(), 0.into())), None, no_counter, "g").is_err());
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            let key = prop_oneof![
                Just("subscriptions".to_string()),
                Just("g".to_string()),
                Just("msgBacklog".to_string()),
                Just("unackedMessages".to_string()),
                Just("msgInCounter".to_string()),
                "[a-z]{1,4}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(key, inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever the admin API answers as stats, reading them is a backlog, "no such group" or an
        /// error — never a panic (overflow included).
        #[test]
        fn any_stats_answer_is_read_without_panicking(
            main in proptest::option::of(json()),
            retry in proptest::option::of(json()),
            dlq in proptest::option::of(json()),
        ) {
            let _ = from_stats(main, retry, dlq, "g");
        }
    }
}
