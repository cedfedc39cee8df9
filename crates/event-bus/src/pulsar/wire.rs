//! The wire format: how a [`Message`] is a Pulsar message, and how a message written by any client reads
//! back.
//!
//! | avb | Pulsar |
//! |---|---|
//! | workspace `w` in environment scope `e` | namespace `<tenant>/e.w` (`<tenant>/w` unscoped; [`Names::namespace`]) |
//! | topic `t` of workspace `w` | `persistent://<tenant>/e.w/t` ([`Names::topic_url`]) |
//! | [`Message::key`] | the partition key (UTF-8, not base64) |
//! | [`Message::payload`] | the payload, byte for byte (no schema: raw bytes) |
//! | [`Message::headers`] | one message property each, same name |
//! | [`Message::id`] | the property [`PROPERTY_ID`] |
//! | a redelivery of group `g` | a copy in `persistent://<tenant>/e.w/t~retry~g` ([`Names::retry_topic`]) with the property [`PROPERTY_ATTEMPT`] |
//!
//! A message another client wrote reads back with its key and properties; without a [`PROPERTY_ID`]
//! property its id is `<ledger>:<entry>:<partition>:<batch index>` of the message id, stable across
//! redeliveries. Properties named `avb-id` or `avb-attempt` are reserved.

use crate::{Error, Message, MessageId, Result, Topic};
use avb_core::ResourceScope;
use std::collections::{BTreeMap, HashMap};

/// The message property carrying the message id.
pub const PROPERTY_ID: &str = "avb-id";
/// The message property carrying the attempt a retry copy is (2 = the first redelivery); only read on a
/// group's retry topic.
pub const PROPERTY_ATTEMPT: &str = "avb-attempt";
/// What separates a topic's name from its group's in the retry topic's name (no avb name contains it).
pub const RETRY_SEPARATOR: &str = "~retry~";

/// Where a bus's topics live: the tenant (`PULSAR_TENANT`) and the environment scope. The scope is part of
/// the namespace, not the tenant: namespaces are what the bus already creates (with their retention and
/// backlog policies) through the admin API with a tenant admin's rights, whereas a tenant is an operator's
/// object (creating one needs a super-user on a secured cluster) — see `docs/isolation.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `PULSAR_TENANT`.
    pub tenant: String,
    /// The environment scope.
    pub scope: ResourceScope,
}

impl Names {
    /// The namespace of `topic`'s workspace: `<tenant>/<scope>.<workspace>` (`<tenant>/<workspace>`
    /// unscoped). Neither scopes nor workspace ids contain `.`, so no two (scope, workspace) pairs share a
    /// namespace, and a scoped namespace never equals an unscoped one.
    pub fn namespace(&self, topic: &Topic) -> String {
        match self.scope.as_str() {
            Some(scope) => format!("{}/{scope}.{}", self.tenant, topic.workspace()),
            None => format!("{}/{}", self.tenant, topic.workspace()),
        }
    }

    /// The full Pulsar topic of `topic`: `persistent://<namespace>/<name>`.
    pub fn topic_url(&self, topic: &Topic) -> String {
        format!("persistent://{}/{}", self.namespace(topic), topic.name())
    }

    /// The retry topic of `group` on `topic`: `persistent://<namespace>/<name>~retry~<group>`. Only this
    /// group subscribes to it, so a redelivery reaches no other group.
    pub fn retry_topic(&self, topic: &Topic, group: &str) -> String {
        format!("{}{RETRY_SEPARATOR}{group}", self.topic_url(topic))
    }
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
    fn topics_are_scoped_by_tenant_environment_and_workspace() {
        let t = Topic::new(&WorkspaceId::new("acme").unwrap(), "orders").unwrap();
        let names = Names {
            tenant: "avb".into(),
            scope: ResourceScope::default(),
        };
        assert_eq!(names.namespace(&t), "avb/development.acme");
        assert_eq!(
            names.topic_url(&t),
            "persistent://avb/development.acme/orders"
        );
        assert_eq!(
            names.topic_url(&t.dead_letter()),
            "persistent://avb/development.acme/orders.dlq"
        );
        assert_eq!(
            names.retry_topic(&t, "billing"),
            "persistent://avb/development.acme/orders~retry~billing"
        );
        let unscoped = Names {
            tenant: "avb".into(),
            scope: ResourceScope::unscoped(),
        };
        assert_eq!(unscoped.topic_url(&t), "persistent://avb/acme/orders");
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
