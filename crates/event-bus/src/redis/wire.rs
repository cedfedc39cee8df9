//! The Redis wire format of an avb message (`docs/event-bus-redis.md` describes it for other programs) and
//! the parsing of Redis replies into stream entries.
//!
//! Nothing a server sends can panic here: a reply of an unexpected shape is an error, and an entry avb cannot
//! read as a message is dead-lettered in a shape avb can read ([`dead_letter_fields`]).
//!
//! | field | value | required |
//! |---|---|---|
//! | `i` | the message id, UTF-8 | yes |
//! | `p` | the payload, any bytes | yes |
//! | `k` | the ordering key, UTF-8 | no |
//! | `h:<name>` | header `<name>`, name and value UTF-8 | no |
//!
//! Other fields are ignored. An entry without `i` or `p`, with a non-UTF-8 `i`, `k` or header, or with one
//! of these fields twice is not an avb message: it goes to the dead-letter stream, wrapped (see
//! [`dead_letter_fields`]).

use crate::{
    HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC, Message, MessageId,
};
use redis::Value;
use std::collections::BTreeMap;

const FIELD_ID: &[u8] = b"i";
const FIELD_PAYLOAD: &[u8] = b"p";
const FIELD_KEY: &[u8] = b"k";
const HEADER_PREFIX: &[u8] = b"h:";
const DLQ_HEADER_PREFIX: &[u8] = b"h:avb-dlq-";

/// Header of a dead-lettered entry that was not an avb message: its stream entry id. Its payload is then the
/// original entry's fields, in order, as a RESP array of bulk strings (`*<2n>\r\n$<len>\r\n<field>\r\n…`).
pub const HEADER_FOREIGN_ENTRY: &str = "avb-dlq-foreign-entry";

/// One stream entry as Redis sent it: its id and its fields in order, values as raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawEntry {
    /// The stream entry id (`<ms>-<seq>`).
    pub(crate) id: String,
    /// The fields in the order Redis sent them.
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// Why the entry's shape is broken beyond its fields (a value that is not a string, an odd field list).
    pub(crate) broken: Option<&'static str>,
}

/// A field list for `XADD`, built by [`encode`] or [`dead_letter_fields`].
pub(crate) type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// The fields of `m`, in the order `i`, `p`, `k`, `h:*`.
pub(crate) fn encode(m: &Message) -> Fields {
    let mut fields = Vec::with_capacity(3 + m.headers.len());
    fields.push((FIELD_ID.to_vec(), m.id.as_str().as_bytes().to_vec()));
    fields.push((FIELD_PAYLOAD.to_vec(), m.payload.to_vec()));
    if let Some(k) = &m.key {
        fields.push((FIELD_KEY.to_vec(), k.as_bytes().to_vec()));
    }
    for (name, value) in &m.headers {
        fields.push((header_field(name), value.as_bytes().to_vec()));
    }
    fields
}

fn header_field(name: &str) -> Vec<u8> {
    let mut f = HEADER_PREFIX.to_vec();
    f.extend_from_slice(name.as_bytes());
    f
}

/// Why `entry` is not an avb message, if it is not.
fn shape_problem(entry: &RawEntry) -> Option<&'static str> {
    if let Some(broken) = entry.broken {
        return Some(broken);
    }
    let (mut id, mut payload, mut key) = (0, 0, 0);
    let mut headers = std::collections::HashSet::new();
    for (f, v) in &entry.fields {
        match f.as_slice() {
            FIELD_ID if std::str::from_utf8(v).is_err() => return Some("field i is not UTF-8"),
            FIELD_ID => id += 1,
            FIELD_PAYLOAD => payload += 1,
            FIELD_KEY if std::str::from_utf8(v).is_err() => return Some("field k is not UTF-8"),
            FIELD_KEY => key += 1,
            f if f.starts_with(HEADER_PREFIX) => {
                if std::str::from_utf8(f).is_err() || std::str::from_utf8(v).is_err() {
                    return Some("a header (h:*) name or value is not UTF-8");
                }
                if !headers.insert(f) {
                    return Some("a header (h:*) appears twice");
                }
            }
            _ => {}
        }
    }
    match (id, payload, key) {
        (0, _, _) | (_, 0, _) => Some("fields i (id) and p (payload) are required"),
        (1, 1, 0 | 1) => None,
        _ => Some("field i, p or k appears twice"),
    }
}

/// Decodes an entry written by [`encode`]. On `Err` (with the reason) the entry is given back untouched,
/// for the dead-letter stream.
pub(crate) fn decode(entry: RawEntry) -> Result<(String, Message), (RawEntry, String)> {
    if let Some(problem) = shape_problem(&entry) {
        return Err((entry, format!("not an avb message: {problem}")));
    }
    let mut message = Message {
        id: MessageId::new(String::new()),
        key: None,
        headers: BTreeMap::new(),
        payload: bytes::Bytes::new(),
    };
    for (f, v) in entry.fields {
        match f.as_slice() {
            FIELD_ID => message.id = MessageId::new(String::from_utf8(v).unwrap_or_default()),
            FIELD_PAYLOAD => message.payload = v.into(),
            FIELD_KEY => message.key = String::from_utf8(v).ok(),
            f if f.starts_with(HEADER_PREFIX) => {
                let name = String::from_utf8_lossy(&f[HEADER_PREFIX.len()..]).into_owned();
                message
                    .headers
                    .insert(name, String::from_utf8(v).unwrap_or_default());
            }
            _ => {}
        }
    }
    Ok((entry.id, message))
}

/// Why an entry went to the dead-letter stream, for the headers [`dead_letter_fields`] adds.
pub(crate) struct DeadLetter<'a> {
    pub(crate) topic: &'a str,
    pub(crate) group: &'a str,
    pub(crate) last_error: &'a str,
    pub(crate) attempts: u32,
}

/// The fields of the dead-letter entry for `entry`; always an avb message ([`decode`] reads it).
///
/// - An avb message keeps its fields, minus earlier `h:avb-dlq-*` headers, plus the four dead-letter headers.
/// - Anything else (a foreign entry, or one trimmed away: no fields) is wrapped: `i` is its own `i` when that
///   is UTF-8, else its stream entry id; `p` is its fields as a RESP array; header [`HEADER_FOREIGN_ENTRY`]
///   names its stream entry id; plus the four dead-letter headers.
pub(crate) fn dead_letter_fields(entry: &RawEntry, why: &DeadLetter<'_>) -> Fields {
    let mut out: Fields = if shape_problem(entry).is_none() {
        entry
            .fields
            .iter()
            .filter(|(f, _)| !f.starts_with(DLQ_HEADER_PREFIX))
            .cloned()
            .collect()
    } else {
        let id = entry
            .fields
            .iter()
            .find(|(f, v)| f == FIELD_ID && std::str::from_utf8(v).is_ok())
            .map_or_else(|| entry.id.as_bytes().to_vec(), |(_, v)| v.clone());
        vec![
            (FIELD_ID.to_vec(), id),
            (FIELD_PAYLOAD.to_vec(), resp_fields(&entry.fields)),
            (
                header_field(HEADER_FOREIGN_ENTRY),
                entry.id.as_bytes().to_vec(),
            ),
        ]
    };
    for (name, value) in [
        (HEADER_ORIGINAL_TOPIC, why.topic.to_string()),
        (HEADER_GROUP, why.group.to_string()),
        (HEADER_LAST_ERROR, why.last_error.to_string()),
        (HEADER_ATTEMPTS, why.attempts.to_string()),
    ] {
        out.push((header_field(name), value.into_bytes()));
    }
    out
}

/// `fields` as a RESP array of bulk strings: field, value, field, value …
fn resp_fields(fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", fields.len() * 2).into_bytes();
    for part in fields.iter().flat_map(|(f, v)| [f, v]) {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A reply that is not what the command returns.
fn unexpected(command: &str, what: &str, v: &Value) -> String {
    let shape = match v {
        Value::Nil => "nil",
        Value::Int(_) => "an integer",
        Value::BulkString(_) => "a bulk string",
        Value::Array(_) => "an array",
        Value::SimpleString(_) => "a simple string",
        Value::Okay => "OK",
        Value::Map(_) => "a map",
        Value::Attribute { .. } => "an attribute",
        Value::Set(_) => "a set",
        Value::Double(_) => "a double",
        Value::Boolean(_) => "a boolean",
        Value::VerbatimString { .. } => "a verbatim string",
        Value::Push { .. } => "a push message",
        Value::ServerError(_) => "an error",
        _ => "an unknown value",
    };
    format!("unexpected reply to {command}: expected {what}, got {shape}")
}

/// A RESP3 attribute carries its data inside; everything else is itself.
fn data(v: Value) -> Value {
    match v {
        Value::Attribute { data, .. } => *data,
        v => v,
    }
}

/// The bytes of a scalar (what Redis sends for stream ids, field names and values).
fn scalar(v: Value) -> Option<Vec<u8>> {
    match data(v) {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        _ => None,
    }
}

fn text(v: Value) -> Option<String> {
    scalar(v).and_then(|b| String::from_utf8(b).ok())
}

/// A list (array or set); `None` for anything else.
fn list(v: Value) -> Option<Vec<Value>> {
    match data(v) {
        Value::Array(items) | Value::Set(items) => Some(items),
        _ => None,
    }
}

/// One entry: `[id, [field, value, …]]` (or a field map). `Ok(None)`: a deleted entry (nil).
fn entry(command: &str, v: Value) -> Result<Option<RawEntry>, String> {
    let v = data(v);
    if v == Value::Nil {
        return Ok(None);
    }
    let Some(parts) = list(v.clone()) else {
        return Err(unexpected(command, "an entry [id, fields]", &v));
    };
    let mut parts = parts.into_iter();
    let (Some(id), fields, None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "unexpected reply to {command}: an entry is not [id, fields]"
        ));
    };
    let Some(id) = text(id) else {
        return Err(format!(
            "unexpected reply to {command}: an entry id is not a string"
        ));
    };
    let mut entry = RawEntry {
        id,
        ..RawEntry::default()
    };
    let pairs: Vec<(Value, Value)> = match fields.map(data) {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::Map(pairs)) => pairs,
        Some(other) => match list(other) {
            Some(flat) => {
                if flat.len() % 2 == 1 {
                    entry.broken = Some("its field list has an odd length");
                }
                let mut it = flat.into_iter();
                std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect()
            }
            None => {
                entry.broken = Some("its fields are not a list");
                Vec::new()
            }
        },
    };
    for (f, v) in pairs {
        match (scalar(f), scalar(v)) {
            (Some(f), Some(v)) => entry.fields.push((f, v)),
            _ => entry.broken = Some("a field name or value is not a string"),
        }
    }
    Ok(Some(entry))
}

/// A list of entries (`XRANGE`, one stream of `XREADGROUP`, the claimed part of `XAUTOCLAIM`).
pub(crate) fn entries(command: &str, v: Value) -> Result<Vec<RawEntry>, String> {
    let v = data(v);
    let Some(items) = list(v.clone()) else {
        return Err(unexpected(command, "a list of entries", &v));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.extend(entry(command, item)?);
    }
    Ok(out)
}

/// An `XREADGROUP` reply: nil (nothing new), `[[stream, entries], …]` or a map stream → entries.
pub(crate) fn read_reply(v: Value) -> Result<Vec<RawEntry>, String> {
    const CMD: &str = "XREADGROUP";
    let streams: Vec<Value> = match data(v) {
        Value::Nil => return Ok(Vec::new()),
        Value::Map(pairs) => pairs.into_iter().map(|(_, entries)| entries).collect(),
        other => match list(other.clone()) {
            Some(items) => {
                let mut streams = Vec::with_capacity(items.len());
                for item in items {
                    match list(item)
                        .map(Vec::into_iter)
                        .as_mut()
                        .map(|it| (it.next(), it.next()))
                    {
                        Some((Some(_key), Some(entries))) => streams.push(entries),
                        _ => {
                            return Err(format!(
                                "unexpected reply to {CMD}: a stream is not [key, entries]"
                            ));
                        }
                    }
                }
                streams
            }
            None => return Err(unexpected(CMD, "nil or a list of streams", &other)),
        },
    };
    let mut out = Vec::new();
    for s in streams {
        out.extend(entries(CMD, s)?);
    }
    Ok(out)
}

/// An `XAUTOCLAIM` reply: `[next cursor, claimed entries, (deleted ids)]`.
pub(crate) fn autoclaim_reply(v: Value) -> Result<(String, Vec<RawEntry>), String> {
    const CMD: &str = "XAUTOCLAIM";
    let v = data(v);
    let Some(parts) = list(v.clone()) else {
        return Err(unexpected(CMD, "[cursor, entries, deleted]", &v));
    };
    let mut parts = parts.into_iter();
    let (Some(cursor), Some(claimed)) = (parts.next(), parts.next()) else {
        return Err(format!("unexpected reply to {CMD}: fewer than two parts"));
    };
    let Some(cursor) = text(cursor) else {
        return Err(format!(
            "unexpected reply to {CMD}: the cursor is not a string"
        ));
    };
    Ok((cursor, entries(CMD, claimed)?))
}

/// An `XPENDING <key> <group> <id> <id> 1` reply: the entry's delivery count, `None` when it is not pending.
pub(crate) fn pending_count(v: Value) -> Result<Option<u64>, String> {
    const CMD: &str = "XPENDING";
    let v = data(v);
    let Some(rows) = list(v.clone()) else {
        return Err(unexpected(CMD, "a list of pending entries", &v));
    };
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let count = list(row)
        .and_then(|r| r.into_iter().nth(3))
        .and_then(text)
        .and_then(|t| t.parse::<u64>().ok());
    match count {
        Some(n) => Ok(Some(n)),
        None => Err(format!(
            "unexpected reply to {CMD}: a row is not [id, consumer, idle, count]"
        )),
    }
}

/// The headers of a message as a map (for tests and docs).
#[cfg(test)]
pub(crate) fn headers_of(fields: &Fields) -> BTreeMap<String, String> {
    fields
        .iter()
        .filter_map(|(f, v)| {
            let name = f.strip_prefix(HEADER_PREFIX)?;
            Some((
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ))
        })
        .collect()
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
