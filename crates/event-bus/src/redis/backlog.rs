//! [`EventBus::backlog`](crate::EventBus::backlog) on Redis Streams: one pipeline of `XINFO GROUPS
//! <stream>` and `XLEN <stream>.dlq`.
//!
//! `lag`: the group's `lag` (entries not yet read by the group, Redis ≥ 7.0) plus its `pending` (the
//! pending entries list: read and not acked); `in_flight`: `pending` — what the group's consumers hold,
//! handed out or read ahead into a reader's buffer, and nacked entries waiting for their backoff;
//! `dead_letters`: `XLEN` of the dead-letter stream (0 when it does not exist). Redis answers a nil `lag`
//! when it cannot compute it (entries in the group's unread range were deleted with `XDEL`, or a consumer
//! group was moved with `XGROUP SETID` without `ENTRIESREAD`): `lag` is then `None` for that call. Once the
//! group has read past such an entry the lag is known again, but Redis (7.0, measured) may still count the
//! deleted entry in it — avb never deletes entries, so only another program's `XDEL` does this
//! (`tests/event_bus_backlog.rs`).
//! A stream or group that does not exist is [`Error::UnknownGroup`].

use super::{RedisBus, SCHEME, map_err, stream_key};
use crate::{Backlog, Error, Result, Topic, backend::check_group};
use redis::Value;

impl RedisBus {
    pub(super) async fn backlog_now(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        check_group(group)?;
        let unknown = || Error::UnknownGroup {
            backend: SCHEME,
            topic: topic.name().to_string(),
            group: group.to_string(),
        };
        let key = stream_key(&self.shared.root, topic);
        let dlq = stream_key(&self.shared.root, &topic.dead_letter());
        let mut conn = self.shared.conn.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN")
            .arg(&dlq)
            .cmd("XINFO")
            .arg("GROUPS")
            .arg(&key);
        let answer: std::result::Result<(u64, Vec<Value>), redis::RedisError> =
            pipe.query_async(&mut conn).await;
        let (dead, groups) = match answer {
            Ok(a) => a,
            // XINFO on a key that does not exist: `ERR no such key`.
            Err(e) if e.to_string().contains("no such key") => {
                return Err(unknown());
            }
            Err(e) => return Err(map_err(e, "XINFO GROUPS")),
        };
        group_backlog(&groups, group, dead)?.ok_or_else(unknown)
    }
}

/// The backlog of `group` from the answer to `XINFO GROUPS` and the dead-letter stream's length; `None`
/// when the group is not in the answer. A field Redis answered in a shape it never sends is an error, not
/// a guess: only an absent or nil `lag` (Redis < 7.0, or a lag it cannot compute) is an unknown lag.
fn group_backlog(groups: &[Value], group: &str, dead: u64) -> Result<Option<Backlog>> {
    for g in groups {
        let fields = fields(g)?;
        if field_str(&fields, "name").as_deref() != Some(group) {
            continue;
        }
        let pending = field_u64(&fields, "pending")?.ok_or_else(|| bad("pending"))?;
        let lag = match field_u64(&fields, "lag")? {
            Some(unread) => Some(unread.checked_add(pending).ok_or_else(|| bad("lag"))?),
            None => None,
        };
        return Ok(Some(Backlog::new(lag, Some(pending), Some(dead))));
    }
    Ok(None)
}

fn bad(what: &str) -> Error {
    Error::Backend {
        backend: SCHEME,
        reason: format!("XINFO GROUPS answered a group without a valid {what:?} field"),
        source: None,
    }
}

/// A group's fields: a map (RESP3) or a flat list of name, value pairs (RESP2).
fn fields(v: &Value) -> Result<Vec<(&Value, &Value)>> {
    match v {
        Value::Map(pairs) => Ok(pairs.iter().map(|(k, v)| (k, v)).collect()),
        Value::Array(items) if items.len() % 2 == 0 => Ok(items
            .chunks_exact(2)
            .map(|pair| (&pair[0], &pair[1]))
            .collect()),
        _ => Err(bad("shape")),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn field<'a>(fields: &[(&'a Value, &'a Value)], name: &str) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(k, _)| text(k).as_deref() == Some(name))
        .map(|(_, v)| *v)
}

fn field_str(fields: &[(&Value, &Value)], name: &str) -> Option<String> {
    field(fields, name).and_then(text)
}

/// An integer field: `None` when absent or nil, an error when it is anything but a non-negative integer.
fn field_u64(fields: &[(&Value, &Value)], name: &str) -> Result<Option<u64>> {
    let parsed = match field(fields, name) {
        None | Some(Value::Nil) => return Ok(None),
        Some(Value::Int(n)) => u64::try_from(*n).ok(),
        Some(other) => text(other).and_then(|s| s.parse().ok()),
    };
    parsed.map(Some).ok_or_else(|| bad(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_resp2_and_resp3_group_entries() {
        let resp2 = Value::Array(vec![
            bulk("name"),
            bulk("g"),
            bulk("pending"),
            Value::Int(2),
            bulk("lag"),
            Value::Nil,
        ]);
        let f = fields(&resp2).unwrap();
        assert_eq!(field_str(&f, "name").as_deref(), Some("g"));
        assert_eq!(field_u64(&f, "pending").unwrap(), Some(2));
        assert_eq!(field_u64(&f, "lag").unwrap(), None);
        let resp3 = Value::Map(vec![(bulk("lag"), Value::Int(4))]);
        assert_eq!(field_u64(&fields(&resp3).unwrap(), "lag").unwrap(), Some(4));
        assert!(fields(&Value::Int(1)).is_err());
        assert_eq!(field_u64(&f, "missing").unwrap(), None);
    }

    fn group(name: &str, pending: Value, lag: Value) -> Value {
        Value::Array(vec![
            bulk("name"),
            bulk(name),
            bulk("pending"),
            pending,
            bulk("lag"),
            lag,
        ])
    }

    #[test]
    fn the_named_group_counts_and_garbled_counts_are_errors() {
        let groups = [
            group("other", Value::Int(9), Value::Int(9)),
            group("g", Value::Int(2), Value::Int(3)),
        ];
        let b = group_backlog(&groups, "g", 7).unwrap().unwrap();
        assert_eq!(
            (b.lag, b.in_flight, b.dead_letters),
            (Some(5), Some(2), Some(7))
        );
        assert!(group_backlog(&groups, "absent", 0).unwrap().is_none());
        // Redis never sends these: each is an error naming the field, not a count of 0 or "unknown".
        for (pending, lag) in [
            (Value::Int(-1), Value::Int(0)),
            (bulk("many"), Value::Int(0)),
            (Value::Int(1), Value::Int(-3)),
            (Value::Int(1), bulk("x")),
            (bulk("18446744073709551615"), Value::Int(1)),
            (Value::Int(i64::MAX), bulk("18446744073709551615")),
        ] {
            let err = group_backlog(&[group("g", pending, lag)], "g", 0).unwrap_err();
            assert!(err.to_string().contains("XINFO GROUPS"), "{err}");
        }
        // A nil lag is Redis saying it cannot tell: unknown, not an error.
        let b = group_backlog(&[group("g", Value::Int(1), Value::Nil)], "g", 0)
            .unwrap()
            .unwrap();
        assert_eq!((b.lag, b.in_flight), (None, Some(1)));
    }

    fn value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<i64>().prop_map(Value::Int),
            "[a-z]{0,8}".prop_map(|s| Value::BulkString(s.into_bytes())),
            prop_oneof![Just("name"), Just("pending"), Just("lag"), Just("g")]
                .prop_map(|s| Value::BulkString(s.as_bytes().to_vec())),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::BulkString),
            "[0-9]{1,22}".prop_map(Value::SimpleString),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever a server answers to `XINFO GROUPS`, reading it is a backlog, "no such group" or an
        /// error — never a panic (overflow included).
        #[test]
        fn any_xinfo_answer_is_read_without_panicking(
            groups in proptest::collection::vec(value(), 0..4),
            dead in proptest::prelude::any::<u64>(),
        ) {
            let _ = group_backlog(&groups, "g", dead);
        }
    }
}
