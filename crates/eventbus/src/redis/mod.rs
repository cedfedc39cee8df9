//! Redis Streams backend (feature `redis`): one stream per topic, one consumer group per group.
//!
//! | operation | Redis |
//! |---|---|
//! | publish / batch | `XADD <stream> MAXLEN ~ <max_len> * i <id> p <payload> [k <key>] [h:<name> <value>]…` (a batch is one pipeline) |
//! | subscribe | `XGROUP CREATE <stream> <group> 0\|$ MKSTREAM` (an existing group resumes), then `XREADGROUP … >` |
//! | ack | `XACK` |
//! | nack(delay) | `XCLAIM … IDLE <ack_timeout - delay> JUSTID` (due again after `delay`), last error kept in a hash |
//! | redelivery | `XAUTOCLAIM <min-idle = ack_timeout>` every `claim_interval`; the attempt is the entry's delivery counter (`XPENDING`) |
//! | dead letter | after `max_attempts` deliveries: `MULTI; XADD <stream>.dlq …; XACK; HDEL; EXEC` |
//!
//! **Workspace scoping**: the stream of topic `t` in workspace `w` is the key `avb:{w}:t` (the `{w}` hash
//! tag keeps a workspace on one cluster slot); a topic's failure reasons live in `avb:{w}:t:errors:<group>`.
//! Topic names cannot contain `:`, so no two scopes share a key.
//!
//! **Durability**: `publish` returns when Redis answered `XADD`; it is durable across a server restart when
//! the server runs with `appendonly yes` and `appendfsync always` (as `scripts/services` starts it).
//!
//! **Trimming policy**: every `XADD` trims the stream to about `max_len` entries (`MAXLEN ~`, default
//! 100,000; `None` keeps everything). Trimming does not wait for consumer groups: a group that lags more
//! than `max_len` entries behind loses the oldest ones, and a pending entry that was trimmed away is
//! dropped from the pending list when a consumer next claims it. Size `max_len` above the worst lag you
//! expect, or disable trimming and trim with your own policy.
//!
//! **Not provided**: per-key order ([`Capabilities::ordering_per_key`] is false: Redis consumer groups hand
//! entries to whichever member reads next).

mod builder;
mod subscription;

pub use builder::RedisBusBuilder;

use crate::{
    Capabilities, Error, EventBus, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR,
    HEADER_ORIGINAL_TOPIC, Message, MessageId, Result, Settings, StartPosition, Subscription,
    Topic, check_group,
};
use avb_core::Health;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The backend's name and URL scheme.
pub const SCHEME: &str = "redis";

const FIELD_ID: &str = "i";
const FIELD_PAYLOAD: &str = "p";
const FIELD_KEY: &str = "k";
const HEADER_PREFIX: &str = "h:";

/// The Redis Streams bus. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RedisBus {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("settings", &self.shared.settings)
            .field("claim_interval", &self.shared.claim_interval)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// A builder with default settings.
    pub fn builder() -> RedisBusBuilder {
        RedisBusBuilder::new()
    }
}

pub(crate) struct Shared {
    client: redis::Client,
    config: ConnectionManagerConfig,
    conn: ConnectionManager,
    settings: Settings,
    claim_interval: Duration,
    read_count: usize,
    closed: AtomicBool,
}

/// The stream key of a topic.
pub fn stream_key(topic: &Topic) -> String {
    format!("avb:{{{}}}:{}", topic.workspace(), topic.name())
}

fn errors_key(topic: &Topic, group: &str) -> String {
    format!("{}:errors:{group}", stream_key(topic))
}

/// Maps a Redis error: connection trouble and "try again" answers are [`Error::Unavailable`] (retryable).
pub(crate) fn map_err(e: redis::RedisError, what: &str) -> Error {
    let retryable = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.code(),
            Some("LOADING" | "TRYAGAIN" | "BUSY" | "MASTERDOWN" | "CLUSTERDOWN")
        )
        || !matches!(e.retry_method(), redis::RetryMethod::NoRetry);
    let reason = format!("{what}: {e}");
    if retryable {
        Error::Unavailable {
            backend: SCHEME,
            reason,
            source: Some(Box::new(e)),
        }
    } else {
        Error::Backend {
            backend: SCHEME,
            reason,
            source: Some(Box::new(e)),
        }
    }
}

fn xadd(settings: &Settings, key: &str, fields: &[(String, Vec<u8>)]) -> redis::Cmd {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(key);
    if let Some(max) = settings.max_len {
        cmd.arg("MAXLEN").arg("~").arg(max);
    }
    cmd.arg("*");
    for (f, v) in fields {
        cmd.arg(f).arg(v.as_slice());
    }
    cmd
}

fn encode(m: &Message) -> Result<Vec<(String, Vec<u8>)>> {
    let mut fields = Vec::with_capacity(3 + m.headers.len());
    fields.push((FIELD_ID.to_string(), m.id.as_str().as_bytes().to_vec()));
    fields.push((FIELD_PAYLOAD.to_string(), m.payload.to_vec()));
    if let Some(k) = &m.key {
        fields.push((FIELD_KEY.to_string(), k.as_bytes().to_vec()));
    }
    for (name, value) in &m.headers {
        fields.push((format!("{HEADER_PREFIX}{name}"), value.as_bytes().to_vec()));
    }
    Ok(fields)
}

fn bytes_of(v: &redis::Value) -> Option<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Some(b.clone()),
        redis::Value::SimpleString(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn into_bytes(v: redis::Value) -> Option<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Some(b),
        redis::Value::SimpleString(s) => Some(s.into_bytes()),
        _ => None,
    }
}

fn into_text(v: redis::Value) -> Option<String> {
    into_bytes(v).and_then(|b| String::from_utf8(b).ok())
}

/// Decodes an entry written by [`encode`], taking its fields; on `Err` (what is missing or malformed)
/// the fields are given back untouched for the dead-letter stream.
fn decode(
    mut map: HashMap<String, redis::Value>,
) -> std::result::Result<Message, (String, HashMap<String, redis::Value>)> {
    let ok_shape = matches!(map.get(FIELD_ID), Some(redis::Value::BulkString(b)) if std::str::from_utf8(b).is_ok())
        && matches!(map.get(FIELD_PAYLOAD), Some(redis::Value::BulkString(_)))
        && map.get(FIELD_KEY).is_none_or(
            |v| matches!(v, redis::Value::BulkString(b) if std::str::from_utf8(b).is_ok()),
        )
        && map.iter().all(|(f, v)| {
            !f.starts_with(HEADER_PREFIX)
                || matches!(v, redis::Value::BulkString(b) if std::str::from_utf8(b).is_ok())
        });
    if !ok_shape {
        return Err((
            "not an avb message: fields i (id) and p (payload) are required; i, k and h:* must be UTF-8"
                .to_string(),
            map,
        ));
    }
    let id = map.remove(FIELD_ID).and_then(into_text).unwrap_or_default();
    let payload = map
        .remove(FIELD_PAYLOAD)
        .and_then(into_bytes)
        .unwrap_or_default();
    let key = map.remove(FIELD_KEY).and_then(into_text);
    let headers = map
        .into_iter()
        .filter_map(|(f, v)| {
            let name = f.strip_prefix(HEADER_PREFIX)?.to_string();
            Some((name, into_text(v)?))
        })
        .collect();
    Ok(Message {
        id: MessageId::new(id),
        key,
        headers,
        payload: payload.into(),
    })
}

impl Shared {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed { backend: SCHEME });
        }
        Ok(())
    }

    /// Moves one entry to the dead-letter stream and acks it, atomically.
    async fn dead_letter(
        &self,
        topic: &Topic,
        group: &str,
        entry_id: &str,
        fields: &HashMap<String, redis::Value>,
        attempts: u32,
        last_error: &str,
    ) -> Result<()> {
        let mut out: Vec<(String, Vec<u8>)> = fields
            .iter()
            .filter(|(f, _)| !f.starts_with("h:avb-dlq-"))
            .filter_map(|(f, v)| bytes_of(v).map(|b| (f.clone(), b)))
            .collect();
        for (name, value) in [
            (HEADER_ORIGINAL_TOPIC, topic.name().to_string()),
            (HEADER_GROUP, group.to_string()),
            (HEADER_LAST_ERROR, last_error.to_string()),
            (HEADER_ATTEMPTS, attempts.to_string()),
        ] {
            out.push((format!("{HEADER_PREFIX}{name}"), value.into_bytes()));
        }
        out.sort();
        let key = stream_key(topic);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .add_command(xadd(
                &self.settings,
                &stream_key(&topic.dead_letter()),
                &out,
            ))
            .ignore()
            .cmd("XACK")
            .arg(&key)
            .arg(group)
            .arg(entry_id)
            .ignore()
            .cmd("HDEL")
            .arg(errors_key(topic, group))
            .arg(entry_id)
            .ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| map_err(e, "dead-lettering"))
    }
}

#[async_trait::async_trait]
impl EventBus for RedisBus {
    fn backend(&self) -> &'static str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ordering_per_key: false,
            persistent: true,
            dead_letter: true,
            redeliver_on_drop: true,
            max_message_bytes: self.shared.settings.max_message_bytes,
            max_nack_delay: self.shared.settings.ack_timeout,
        }
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.shared.check_open()?;
        self.shared.settings.check_size(&message, SCHEME)?;
        let fields = encode(&message)?;
        let mut conn = self.shared.conn.clone();
        xadd(&self.shared.settings, &stream_key(topic), &fields)
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| map_err(e, "XADD"))?;
        Ok(message.id)
    }

    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        self.shared.check_open()?;
        for m in &messages {
            self.shared.settings.check_size(m, SCHEME)?;
        }
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let key = stream_key(topic);
        let mut pipe = redis::pipe();
        for m in &messages {
            pipe.add_command(xadd(&self.shared.settings, &key, &encode(m)?))
                .ignore();
        }
        let mut conn = self.shared.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| map_err(e, "XADD (batch)"))?;
        Ok(messages.into_iter().map(|m| m.id).collect())
    }

    async fn subscribe(
        &self,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<Subscription> {
        check_group(group)?;
        self.shared.check_open()?;
        let key = stream_key(topic);
        let mut conn = self.shared.conn.clone();
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&key)
            .arg(group)
            .arg(match start {
                StartPosition::Earliest => "0",
                StartPosition::Latest => "$",
            })
            .arg("MKSTREAM")
            .query_async::<()>(&mut conn)
            .await;
        match created {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(map_err(e, "XGROUP CREATE")),
        }
        let own = ConnectionManager::new_lazy_with_config(
            self.shared.client.clone(),
            self.shared.config.clone(),
        )
        .map_err(|e| map_err(e, "preparing the consumer's connection"))?;
        Ok(Subscription::new(Box::new(subscription::RedisSource::new(
            self.shared.clone(),
            own,
            topic.clone(),
            group.to_string(),
        ))))
    }

    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn health(&self) -> Health {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Health::down(SCHEME, "closed");
        }
        let mut conn = self.shared.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(Duration::from_secs(3), ping).await {
            Ok(Ok(_)) => Health::up(SCHEME),
            Ok(Err(e)) => Health::down(SCHEME, map_err(e, "PING").to_string()),
            Err(_) => Health::down(SCHEME, "PING: no answer within 3s"),
        }
    }
}
