//! The port's value types: [`Topic`], [`Message`], [`StartPosition`], [`Capabilities`], [`Settings`].

pub use crate::message_id::MessageId;
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
            + self.id.len()
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
    /// A dropped (not acked, not nacked) delivery is redelivered without waiting for the ack timeout (after
    /// the backoff, like a `nack` without a delay).
    pub redeliver_on_drop: bool,
    /// Largest accepted [`Message::size`].
    pub max_message_bytes: usize,
    /// Longest accepted `nack` delay.
    pub max_nack_delay: Duration,
    /// [`crate::Delivery::extend`] moves a delivery's lease forward (no other member receives it meanwhile).
    pub extend_lease: bool,
    /// Longest accepted [`crate::Delivery::extend`] duration (extend again to hold longer).
    pub max_lease_extension: Duration,
    /// A publish retried with the same [`MessageId`] within [`Settings::dedupe_window`] does not create a
    /// second message (the retry returns the id and delivers nothing new).
    pub idempotent_publish: bool,
    /// [`crate::EventBus::backlog`] reports [`crate::Backlog::lag`] (the group's unsettled messages) —
    /// `None` only for a call where the broker itself cannot count it (Redis after another program
    /// deleted an unread entry; see the backend's docs).
    pub backlog_lag: bool,
    /// [`crate::EventBus::backlog`] reports [`crate::Backlog::in_flight`].
    pub backlog_in_flight: bool,
    /// [`crate::EventBus::backlog`] reports [`crate::Backlog::dead_letters`] (the dead-letter topic's depth).
    pub backlog_dead_letters: bool,
    /// A message that one member of a group has read ahead (or that the broker pushed to it) but not
    /// handed out still reaches another member of the group that waits for one, before the ack timeout: a
    /// member holding a delivery does not keep its idle peers waiting. Memory: nothing is read ahead; Redis:
    /// a read-ahead goes back to the group once it is half an ack timeout old; Kafka: one read-ahead per
    /// group and process, shared by its members (members in other processes get the partitions assigned to
    /// them); Pulsar: only with a receiver queue of 1 (`PULSAR_RECEIVER_QUEUE`, the default).
    pub shares_read_ahead: bool,
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
            extend_lease: false,
            max_lease_extension: Duration::ZERO,
            idempotent_publish: false,
            backlog_lag: false,
            backlog_in_flight: false,
            backlog_dead_letters: false,
            shares_read_ahead: false,
        }
    }
}

/// Delivery settings shared by every backend.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `ack_timeout` | 30 s | an un-acked delivery is redelivered after this long (its lease; see [`crate::Delivery::extend`]) |
/// | `max_attempts` | 5 | deliveries before a message goes to the dead-letter topic (≥ 1) |
/// | `max_len` | 100,000 | messages retained per topic (older ones are trimmed; `None`: no trimming) |
/// | `max_message_bytes` | 8 MiB | largest accepted [`Message::size`] |
/// | `retry_min` | [`Settings::DEFAULT_RETRY_MIN`] (100 ms) | the backoff before the 2nd attempt (≥ 1 ms) |
/// | `retry_max` | [`Settings::DEFAULT_RETRY_MAX`] (10 s) | the longest backoff (≥ `retry_min`) |
/// | `dedupe_window` | [`Settings::DEFAULT_DEDUPE_WINDOW`] (5 min) | a publish retried with the same id within this long is one message (backends with [`Capabilities::idempotent_publish`]; zero: no dedupe) |
/// | `drain_timeout` | [`Settings::DEFAULT_DRAIN_TIMEOUT`] (10 s) | how long `close` waits for in-flight deliveries to settle |
///
/// **Redelivery backoff.** After a `nack` without an explicit delay (a zero delay), a delivery dropped
/// without `ack`/`nack`, or a lapsed lease (ack timeout), attempt `n + 1` waits [`Settings::retry_delay`]`(n)`:
/// `retry_min · 2^(n-1)` capped at `retry_max`, plus up to a quarter of that as random jitter (still capped
/// at `retry_max`) — never less than `retry_min`, so never a tight loop. A lapsed lease waits the backoff on
/// top of the ack timeout. A backend may cap it at its [`Capabilities::max_nack_delay`] (Redis: the ack
/// timeout). After `max_attempts` the message goes to the dead-letter topic.
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
    /// See the table.
    pub retry_min: Duration,
    /// See the table.
    pub retry_max: Duration,
    /// See the table.
    pub dedupe_window: Duration,
    /// See the table.
    pub drain_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(30),
            max_attempts: 5,
            max_len: Some(100_000),
            max_message_bytes: 8 * 1024 * 1024,
            retry_min: Self::DEFAULT_RETRY_MIN,
            retry_max: Self::DEFAULT_RETRY_MAX,
            dedupe_window: Self::DEFAULT_DEDUPE_WINDOW,
            drain_timeout: Self::DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

impl Settings {
    /// The shortest accepted `ack_timeout` (`EVENT_BUS_ACK_TIMEOUT_MS` has the same bound).
    pub const MIN_ACK_TIMEOUT: Duration = Duration::from_millis(10);
    /// Default `retry_min` (`EVENT_BUS_RETRY_MIN_MS`).
    pub const DEFAULT_RETRY_MIN: Duration = Duration::from_millis(100);
    /// Default `retry_max` (`EVENT_BUS_RETRY_MAX_MS`).
    pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(10);
    /// The shortest accepted `retry_min`: a redelivery never follows in a tight loop.
    pub const MIN_RETRY: Duration = Duration::from_millis(1);
    /// Default `dedupe_window` (`EVENT_BUS_DEDUPE_WINDOW_MS`).
    pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(300);
    /// Default `drain_timeout` (`EVENT_BUS_DRAIN_TIMEOUT_MS`).
    pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

    /// The backoff before the attempt after attempt `attempt` (1 = after the first delivery), with random
    /// jitter (see the type's docs). Always within `retry_min ..= retry_max`.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        self.retry_delay_with(attempt, jitter())
    }

    /// [`Settings::retry_delay`] with the jitter given as a fraction in `0.0 ..= 1.0` of its maximum (a
    /// quarter of the exponential step).
    pub fn retry_delay_with(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let base = self
            .retry_min
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(self.retry_max)
            .min(self.retry_max);
        let extra = base.mul_f64(jitter.clamp(0.0, 1.0) / 4.0);
        (base + extra).min(self.retry_max).max(self.retry_min)
    }

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
        if self.retry_min < Self::MIN_RETRY {
            return Err(Error::InvalidConfig {
                key: "retry_min".into(),
                value: format!("{:?}", self.retry_min),
                expected: "a duration >= 1ms".into(),
            });
        }
        if self.retry_max < self.retry_min {
            return Err(Error::InvalidConfig {
                key: "retry_max".into(),
                value: format!("{:?}", self.retry_max),
                expected: format!("a duration >= retry_min ({:?})", self.retry_min),
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

/// A random fraction in `0.0 ..= 1.0` for backoff jitter (not for anything secret).
fn jitter() -> f64 {
    let bits = (uuid::Uuid::new_v4().as_u128() as u64) >> 11;
    bits as f64 / (1u64 << 53) as f64
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

    #[test]
    fn retry_delay_doubles_within_min_and_max_with_bounded_jitter() {
        let s = Settings {
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_millis(1000),
            ..Settings::default()
        };
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(s.retry_delay_with(1, 0.0)), 100);
        assert_eq!(ms(s.retry_delay_with(1, 1.0)), 125);
        assert_eq!(ms(s.retry_delay_with(2, 0.0)), 200);
        assert_eq!(ms(s.retry_delay_with(3, 0.0)), 400);
        assert_eq!(ms(s.retry_delay_with(4, 1.0)), 1000, "capped at retry_max");
        assert_eq!(ms(s.retry_delay_with(u32::MAX, 0.5)), 1000);
        assert_eq!(ms(s.retry_delay_with(0, 0.0)), 100);
        for attempt in 0..40 {
            let d = s.retry_delay(attempt);
            assert!(d >= s.retry_min && d <= s.retry_max, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn settings_reject_a_tight_loop_and_an_inverted_backoff() {
        let zero = Settings {
            retry_min: Duration::ZERO,
            ..Settings::default()
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .to_string()
                .contains("retry_min")
        );
        let inverted = Settings {
            retry_min: Duration::from_secs(2),
            retry_max: Duration::from_secs(1),
            ..Settings::default()
        };
        let err = inverted.validate().unwrap_err().to_string();
        assert!(err.contains("retry_max") && err.contains("2s"), "{err}");
    }
}
