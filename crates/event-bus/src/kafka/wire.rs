//! The wire format: how a [`Message`] is a Kafka record, and how a record written by any client reads back.
//!
//! | avb | Kafka record |
//! |---|---|
//! | topic `t` of workspace `w`, environment scope `e` | topic `avb-e.w.t` (`avb.w.t` unscoped; [`kafka_topic`]) |
//! | [`Message::key`] | the record key (UTF-8); no key: a null key |
//! | [`Message::payload`] | the record value, byte for byte (an empty payload is an empty value) |
//! | [`Message::headers`] | one record header each, same name, UTF-8 value |
//! | [`Message::id`] | the record header [`HEADER_ID`] |
//!
//! A record another client wrote reads back with its key and headers (bytes that are not UTF-8 are
//! replaced, lossily, by U+FFFD); without an [`HEADER_ID`] header its id is `<kafka topic>/<partition>/<offset>`,
//! stable across redeliveries.

use crate::{Error, Message, MessageId, Result, Topic};
use avb_core::ResourceScope;
use rdkafka::Message as _;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use std::collections::BTreeMap;

/// The record header carrying the message id.
pub const HEADER_ID: &str = "avb-id";

/// Kafka's longest topic name.
const MAX_KAFKA_TOPIC: usize = 249;

/// The root of every topic in `scope`: `avb-<scope>` (`avb` unscoped).
pub fn topic_root(scope: &ResourceScope) -> String {
    scope.qualify("avb")
}

/// The Kafka topic of `topic` under `root` ([`topic_root`]): `<root>.<workspace>.<name>`. Neither scopes
/// nor workspace ids contain `.`, so the first two `.` separate root, workspace and name, and no two
/// (scope, workspace, name) triples share a topic. Fails for a name too long for Kafka (249 characters in
/// all).
pub fn kafka_topic(root: &str, topic: &Topic) -> Result<String> {
    let name = format!("{root}.{}.{}", topic.workspace(), topic.name());
    if name.len() > MAX_KAFKA_TOPIC {
        return Err(Error::InvalidTopic {
            name: topic.name().to_string(),
            reason: "with its scope and workspace it is longer than Kafka's 249 characters",
            expected: "avb-<scope>.<workspace>.<name> of at most 249 characters",
        });
    }
    Ok(name)
}

/// The record headers of `message` (its own headers and [`HEADER_ID`]). A header named [`HEADER_ID`] is
/// refused: it would be read back as the id.
pub fn headers(message: &Message) -> Result<OwnedHeaders> {
    let mut out = OwnedHeaders::new_with_capacity(message.headers.len() + 1);
    for (name, value) in &message.headers {
        if name == HEADER_ID {
            return Err(Error::InvalidMessage {
                reason: format!("the header name {HEADER_ID:?} is reserved by the Kafka backend"),
            });
        }
        out = out.insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
    }
    Ok(out.insert(Header {
        key: HEADER_ID,
        value: Some(message.id.as_str().as_bytes()),
    }))
}

/// The [`Message`] a record carries (see the module docs for records other clients wrote).
pub fn decode(record: &BorrowedMessage<'_>) -> Message {
    let mut headers = BTreeMap::new();
    let mut id = None;
    if let Some(hs) = record.headers() {
        for h in hs.iter() {
            let value = h.value.map(String::from_utf8_lossy).unwrap_or_default();
            if h.key == HEADER_ID {
                // Straight into the shared id: no intermediate `String`.
                id = Some(MessageId::from(&*value));
            } else {
                headers.insert(h.key.to_string(), value.into_owned());
            }
        }
    }
    let id = id.unwrap_or_else(|| {
        MessageId::new(format!(
            "{}/{}/{}",
            record.topic(),
            record.partition(),
            record.offset()
        ))
    });
    Message {
        id,
        key: record
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        headers,
        payload: bytes::Bytes::copy_from_slice(record.payload().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::WorkspaceId;

    #[test]
    fn topics_are_scoped_by_workspace_and_bounded() {
        let ws = WorkspaceId::new("acme").unwrap();
        let t = Topic::new(&ws, "orders").unwrap();
        let root = topic_root(&ResourceScope::default());
        assert_eq!(
            kafka_topic(&root, &t).unwrap(),
            "avb-development.acme.orders"
        );
        assert_eq!(
            kafka_topic(&root, &t.dead_letter()).unwrap(),
            "avb-development.acme.orders.dlq"
        );
        let unscoped = topic_root(&ResourceScope::unscoped());
        assert_eq!(kafka_topic(&unscoped, &t).unwrap(), "avb.acme.orders");
        let long = Topic::new(&WorkspaceId::new("w".repeat(63)).unwrap(), "x".repeat(200)).unwrap();
        assert!(matches!(
            kafka_topic(&root, &long),
            Err(Error::InvalidTopic { .. })
        ));
    }

    #[test]
    fn the_id_header_is_reserved() {
        let m = Message::new(&b"x"[..]).with_header(HEADER_ID, "forged");
        assert!(matches!(headers(&m), Err(Error::InvalidMessage { .. })));
        let m = Message::new(&b"x"[..]).with_header("traceparent", "00-1");
        assert_eq!(headers(&m).unwrap().count(), 2);
    }
}
