//! The port's value types: [`Topic`], [`Message`], [`StartPosition`], [`Capabilities`], [`Settings`].

use crate::{Error, Result};
use avb_core::WorkspaceId;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

const NAME_SHAPE: &str =
    "1-200 characters of A-Z, a-z, 0-9, '.', '_', '-', starting with a letter or digit";
const MAX_NAME: usize = 200;

/// Suffix of a topic's dead-letter topic (`orders` → `orders.dlq`).
pub const DEAD_LETTER_SUFFIX: &str = ".dlq";

/// Header of a dead-lettered message: the topic it was published to.
pub const HEADER_ORIGINAL_TOPIC: &str = "avb-dlq-original-topic";
/// Header of a dead-lettered message: the consumer group that gave up on it.
pub const HEADER_GROUP: &str = "avb-dlq-group";
/// Header of a dead-lettered message: the last error (the `nack` reason, or `ack timeout`).
pub const HEADER_LAST_ERROR: &str = "avb-dlq-last-error";
/// Header of a dead-lettered message: how many deliveries were attempted.
pub const HEADER_ATTEMPTS: &str = "avb-dlq-attempts";

fn check_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name.len() > MAX_NAME {
        Err("it is longer than 200 characters")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Err("it must start with a letter or digit")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Err("it contains a character outside A-Z, a-z, 0-9, '.', '_', '-'")
    } else {
        Ok(())
    }
}

/// A topic inside one workspace (tenant). The same name in two workspaces is two topics that never mix;
/// each backend maps the scope natively (Redis: key prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic {
    workspace: WorkspaceId,
    name: String,
}

impl Topic {
    /// Validates `name` (1-200 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit).
    ///
    /// ```
    /// use avb_event_bus::Topic;
    /// let ws = avb_core::WorkspaceId::new("acme").unwrap();
    /// assert_eq!(Topic::new(&ws, "orders").unwrap().name(), "orders");
    /// assert!(Topic::new(&ws, "").is_err());
    /// assert!(Topic::new(&ws, "a b").is_err());
    /// ```
    pub fn new(workspace: &WorkspaceId, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        match check_name(&name) {
            Ok(()) => Ok(Self {
                workspace: workspace.clone(),
                name,
            }),
            Err(reason) => Err(Error::InvalidTopic {
                name,
                reason,
                expected: NAME_SHAPE,
            }),
        }
    }

    /// The workspace the topic belongs to.
    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }

    /// The topic's name inside its workspace.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The topic's dead-letter topic: same workspace, name + [`DEAD_LETTER_SUFFIX`].
    pub fn dead_letter(&self) -> Topic {
        Topic {
            workspace: self.workspace.clone(),
            name: format!("{}{DEAD_LETTER_SUFFIX}", self.name),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.workspace, self.name)
    }
}

/// Validates a consumer-group name (same shape as a topic name).
pub fn check_group(group: &str) -> Result<()> {
    check_name(group).map_err(|reason| Error::InvalidGroup {
        name: group.to_string(),
        reason,
        expected: NAME_SHAPE,
    })
}

/// A message id: assigned by [`Message::new`] (a UUID), kept through publish, delivery and dead-lettering.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
    /// An id chosen by the caller (e.g. for idempotency on the consumer side).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message: payload bytes (any bytes, not only UTF-8), an optional ordering key, string headers and an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The id (kept across redeliveries and dead-lettering).
    pub id: MessageId,
    /// Messages with the same key are delivered in publish order (see [`Capabilities::ordering_per_key`]).
    pub key: Option<String>,
    /// String headers (e.g. W3C `traceparent`).
    pub headers: BTreeMap<String, String>,
    /// The payload, byte for byte.
    pub payload: Bytes,
}

impl Message {
    /// A message with a fresh id, no key and no headers.
    pub fn new(payload: impl Into<Bytes>) -> Self {
        Self {
            id: MessageId::random(),
            key: None,
            headers: BTreeMap::new(),
            payload: payload.into(),
        }
    }
    /// Sets the ordering key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
    /// Sets the id.
    pub fn with_id(mut self, id: MessageId) -> Self {
        self.id = id;
        self
    }
    /// The size counted against [`Capabilities::max_message_bytes`]: payload, key, id and headers.
    pub fn size(&self) -> usize {
        self.payload.len()
            + self.key.as_ref().map_or(0, String::len)
            + self.id.0.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// Where a new consumer group starts. An existing group resumes where it is, whatever is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    /// The oldest retained message.
    Earliest,
    /// Only messages published after the group is created.
    Latest,
}

/// What a backend provides. Code and tests branch on these, never on the backend's name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Messages with the same key reach a group's consumers in publish order, even across redeliveries.
    pub ordering_per_key: bool,
    /// Accepted messages survive a restart of the broker.
    pub persistent: bool,
    /// Failed messages go to a dead-letter topic after `max_attempts`.
    pub dead_letter: bool,
    /// A dropped (not acked, not nacked) delivery is redelivered without waiting for the ack timeout.
    pub redeliver_on_drop: bool,
    /// Largest accepted [`Message::size`].
    pub max_message_bytes: usize,
    /// Longest accepted `nack` delay.
    pub max_nack_delay: Duration,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            ordering_per_key: false,
            persistent: false,
            dead_letter: false,
            redeliver_on_drop: false,
            max_message_bytes: 1024 * 1024,
            max_nack_delay: Duration::ZERO,
        }
    }
}

/// Delivery settings shared by every backend.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `ack_timeout` | 30 s | an un-acked delivery is redelivered after this long |
/// | `max_attempts` | 5 | deliveries before a message goes to the dead-letter topic (≥ 1) |
/// | `max_len` | 100,000 | messages retained per topic (older ones are trimmed; `None`: no trimming) |
/// | `max_message_bytes` | 8 MiB | largest accepted [`Message::size`] |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// See the table.
    pub ack_timeout: Duration,
    /// See the table.
    pub max_attempts: u32,
    /// See the table.
    pub max_len: Option<usize>,
    /// See the table.
    pub max_message_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(30),
            max_attempts: 5,
            max_len: Some(100_000),
            max_message_bytes: 8 * 1024 * 1024,
        }
    }
}

impl Settings {
    /// The shortest accepted `ack_timeout` (`EVENT_BUS_ACK_TIMEOUT_MS` has the same bound).
    pub const MIN_ACK_TIMEOUT: Duration = Duration::from_millis(10);

    /// Checks the settings (called by each backend's `build`).
    pub fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::InvalidConfig {
                key: "max_attempts".into(),
                value: "0".into(),
                expected: "an integer >= 1".into(),
            });
        }
        if self.ack_timeout < Self::MIN_ACK_TIMEOUT {
            return Err(Error::InvalidConfig {
                key: "ack_timeout".into(),
                value: format!("{:?}", self.ack_timeout),
                expected: "a duration >= 10ms".into(),
            });
        }
        if self.max_len == Some(0) {
            return Err(Error::InvalidConfig {
                key: "max_len".into(),
                value: "0".into(),
                expected: "a count >= 1, or no trimming".into(),
            });
        }
        Ok(())
    }

    /// Fails with [`Error::TooLarge`] when `message` exceeds `max_message_bytes`.
    pub fn check_size(&self, message: &Message, backend: &'static str) -> Result<()> {
        let size = message.size();
        if size > self.max_message_bytes {
            return Err(Error::TooLarge {
                size,
                limit: self.max_message_bytes,
                backend,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_are_validated_with_reasons() {
        let ws = WorkspaceId::new("w").unwrap();
        for (bad, reason) in [
            ("", "it is empty"),
            (".x", "it must start with a letter or digit"),
            (
                "a:b",
                "it contains a character outside A-Z, a-z, 0-9, '.', '_', '-'",
            ),
            (
                "a b",
                "it contains a character outside A-Z, a-z, 0-9, '.', '_', '-'",
            ),
        ] {
            match Topic::new(&ws, bad) {
                Err(Error::InvalidTopic { reason: r, .. }) => assert_eq!(r, reason, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(Topic::new(&ws, "x".repeat(201)).is_err());
        assert!(Topic::new(&ws, "x".repeat(200)).is_ok());
        assert_eq!(
            Topic::new(&ws, "orders").unwrap().dead_letter().name(),
            "orders.dlq"
        );
        assert!(check_group("").is_err());
        assert!(check_group("workers-1").is_ok());
    }

    #[test]
    fn settings_reject_zero_attempts() {
        let s = Settings {
            max_attempts: 0,
            ..Settings::default()
        };
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("max_attempts")
        );
        assert!(Settings::default().validate().is_ok());
    }
}
