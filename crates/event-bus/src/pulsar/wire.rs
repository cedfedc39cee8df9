//! The wire format: how a [`Message`] is a Pulsar message, and how a message written by any client reads
//! back.
//!
//! | avb | Pulsar |
//! |---|---|
//! | workspace `w` | namespace `<tenant>/w` ([`namespace`]) |
//! | topic `t` of workspace `w` | `persistent://<tenant>/w/t` ([`topic_url`]) |
//! | [`Message::key`] | the partition key (UTF-8, not base64) |
//! | [`Message::payload`] | the payload, byte for byte (no schema: raw bytes) |
//! | [`Message::headers`] | one message property each, same name |
//! | [`Message::id`] | the property [`PROPERTY_ID`] |
//! | a redelivery of group `g` | a copy in `persistent://<tenant>/w/t~retry~g` ([`retry_topic`]) with the property [`PROPERTY_ATTEMPT`] |
//!
//! A message another client wrote reads back with its key and properties; without a [`PROPERTY_ID`]
//! property its id is `<ledger>:<entry>:<partition>:<batch index>` of the message id, stable across
//! redeliveries. Properties named `avb-id` or `avb-attempt` are reserved.

use crate::{Error, Message, MessageId, Result, Topic};
use std::collections::{BTreeMap, HashMap};

/// The message property carrying the message id.
pub const PROPERTY_ID: &str = "avb-id";
/// The message property carrying the attempt a retry copy is (2 = the first redelivery); only read on a
/// group's retry topic.
pub const PROPERTY_ATTEMPT: &str = "avb-attempt";
/// What separates a topic's name from its group's in the retry topic's name (no avb name contains it).
pub const RETRY_SEPARATOR: &str = "~retry~";

/// The namespace of `topic`'s workspace under `tenant`: `<tenant>/<workspace>`.
pub fn namespace(tenant: &str, topic: &Topic) -> String {
    format!("{tenant}/{}", topic.workspace())
}

/// The full Pulsar topic of `topic`: `persistent://<tenant>/<workspace>/<name>`.
pub fn topic_url(tenant: &str, topic: &Topic) -> String {
    format!(
        "persistent://{tenant}/{}/{}",
        topic.workspace(),
        topic.name()
    )
}

/// The retry topic of `group` on `topic`: `persistent://<tenant>/<workspace>/<name>~retry~<group>`. Only
/// this group subscribes to it, so a redelivery reaches no other group.
pub fn retry_topic(tenant: &str, topic: &Topic, group: &str) -> String {
    format!("{}{RETRY_SEPARATOR}{group}", topic_url(tenant, topic))
}

/// Refuses headers the wire format reserves.
pub fn check(message: &Message) -> Result<()> {
    for reserved in [PROPERTY_ID, PROPERTY_ATTEMPT] {
        if message.headers.contains_key(reserved) {
            return Err(Error::InvalidMessage {
                reason: format!("the header name {reserved:?} is reserved by the Pulsar backend"),
            });
        }
    }
    Ok(())
}

/// The Pulsar message of `message` (its headers, [`PROPERTY_ID`], and `extra` properties).
pub fn encode(message: &Message, extra: &[(&str, String)]) -> pulsar::producer::Message {
    let mut properties: HashMap<String, String> = message
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    properties.insert(PROPERTY_ID.to_string(), message.id.as_str().to_string());
    for (k, v) in extra {
        properties.insert((*k).to_string(), v.clone());
    }
    pulsar::producer::Message {
        payload: message.payload.to_vec(),
        properties,
        partition_key: message.key.clone(),
        ..Default::default()
    }
}

/// The [`Message`] a Pulsar message carries, and the attempt it says it is (`None`: no valid
/// [`PROPERTY_ATTEMPT`]).
pub fn decode(raw: &pulsar::consumer::Message<Vec<u8>>) -> (Message, Option<u32>) {
    let metadata = raw.metadata();
    let mut headers = BTreeMap::new();
    let mut id = None;
    let mut attempt = None;
    for p in &metadata.properties {
        match p.key.as_str() {
            PROPERTY_ID => id = Some(p.value.clone()),
            PROPERTY_ATTEMPT => attempt = p.value.parse::<u32>().ok().filter(|n| *n >= 1),
            _ => {
                headers.insert(p.key.clone(), p.value.clone());
            }
        }
    }
    let id = id.unwrap_or_else(|| {
        let m = raw.message_id();
        format!(
            "{}:{}:{}:{}",
            m.ledger_id,
            m.entry_id,
            m.partition.unwrap_or(-1),
            m.batch_index.unwrap_or(-1)
        )
    });
    let key = match raw.key_bytes() {
        Ok(Some(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => metadata.partition_key.clone(),
    };
    let message = Message {
        id: MessageId::new(id),
        key,
        headers,
        payload: bytes::Bytes::from(raw.payload.data.clone()),
    };
    (message, attempt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::WorkspaceId;

    #[test]
    fn topics_are_scoped_by_tenant_and_workspace() {
        let t = Topic::new(&WorkspaceId::new("acme").unwrap(), "orders").unwrap();
        assert_eq!(namespace("avb", &t), "avb/acme");
        assert_eq!(topic_url("avb", &t), "persistent://avb/acme/orders");
        assert_eq!(
            topic_url("avb", &t.dead_letter()),
            "persistent://avb/acme/orders.dlq"
        );
        assert_eq!(
            retry_topic("avb", &t, "billing"),
            "persistent://avb/acme/orders~retry~billing"
        );
    }

    #[test]
    fn reserved_properties_are_refused_and_the_id_travels() {
        let m = Message::new(&b"x"[..]).with_header(PROPERTY_ID, "forged");
        assert!(matches!(check(&m), Err(Error::InvalidMessage { .. })));
        let m = Message::new(&b"x"[..]).with_header(PROPERTY_ATTEMPT, "9");
        assert!(matches!(check(&m), Err(Error::InvalidMessage { .. })));
        let m = Message::new(&b"x"[..])
            .with_key("k")
            .with_header("traceparent", "00-1");
        let raw = encode(&m, &[(PROPERTY_ATTEMPT, "2".into())]);
        assert_eq!(
            raw.properties.get(PROPERTY_ID).map(String::as_str),
            Some(m.id.as_str())
        );
        assert_eq!(
            raw.properties.get("traceparent").map(String::as_str),
            Some("00-1")
        );
        assert_eq!(
            raw.properties.get(PROPERTY_ATTEMPT).map(String::as_str),
            Some("2")
        );
        assert_eq!(raw.partition_key.as_deref(), Some("k"));
    }
}
