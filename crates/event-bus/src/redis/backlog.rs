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
        for g in &groups {
            let fields = fields(g)?;
            if field_str(&fields, "name").as_deref() != Some(group) {
                continue;
            }
            let pending = field_u64(&fields, "pending").ok_or_else(|| bad("pending"))?;
            let unread = field_u64(&fields, "lag");
            return Ok(Backlog::new(
                unread.map(|n| n + pending),
                Some(pending),
                Some(dead),
            ));
        }
        Err(unknown())
    }
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

/// An integer field; `None` when absent, nil or not a non-negative integer.
fn field_u64(fields: &[(&Value, &Value)], name: &str) -> Option<u64> {
    match field(fields, name)? {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => text(other).and_then(|s| s.parse().ok()),
    }
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
        assert_eq!(field_u64(&f, "pending"), Some(2));
        assert_eq!(field_u64(&f, "lag"), None);
        let resp3 = Value::Map(vec![(bulk("lag"), Value::Int(4))]);
        assert_eq!(field_u64(&fields(&resp3).unwrap(), "lag"), Some(4));
        assert!(fields(&Value::Int(1)).is_err());
        assert_eq!(field_u64(&f, "missing"), None);
    }
}
