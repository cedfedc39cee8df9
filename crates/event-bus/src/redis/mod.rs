//! Redis Streams backend (feature `redis`): one stream per topic, one consumer group per group.
//!
//! | operation | Redis |
//! |---|---|
//! | publish / batch | one Lua script call: per message, unless `<stream>:dedupe:<id>` exists, `XADD <stream> MAXLEN ~ <max_len> * i <id> p <payload> [k <key>] [h:<name> <value>]…` and `SET <stream>:dedupe:<id> <entry id> PX <dedupe_window>` |
//! | subscribe | `XGROUP CREATE <stream> <group> 0 MKSTREAM`, or for `Latest` a script running `XGROUP CREATE <stream> <group> $ MKSTREAM ENTRIESREAD <entries-added>` (so Redis can tell its lag before it first reads) (an existing group resumes); a reader task per subscription then runs `XREADGROUP … >` when `next` finds its buffer empty |
//! | ack | `XACK` |
//! | next_batch(max) / ack_all | up to `max` of what one `XREADGROUP COUNT <read_count>` buffered, under one lock / one pipeline: `XACK <id>…` for all, `HDEL` of the redelivered ones' last errors |
//! | nack(delay) | `XCLAIM … IDLE <ack_timeout - delay> JUSTID` (due again after `delay`; a zero delay: after the backoff), last error and backed-off attempt kept in a hash |
//! | extend(d) | Lua: if `XPENDING` shows the entry still ours at this attempt, `XCLAIM <same consumer> 0 <id> IDLE <ack_timeout - d> JUSTID` |
//! | redelivery | `XAUTOCLAIM <min-idle = ack_timeout>` every `claim_interval`; the attempt is the entry's delivery counter (`XPENDING`); a lapsed lease is first given back for the backoff (`XCLAIM … IDLE … RETRYCOUNT`) |
//! | close | readers stop and give back their buffers; waits up to `drain_timeout` for them and for in-flight deliveries' acks |
//! | give back (read, never handed out: subscription dropped, bus closed, buffered too long) | `XCLAIM … IDLE <ack_timeout> RETRYCOUNT <attempt - 1> JUSTID`: due at once, its counter restored |
//! | dead letter | after `max_attempts` hand-outs: `MULTI; XADD <stream>.dlq …; XACK; HDEL; EXEC` |
//! | backlog | `XLEN <stream>.dlq` and `XINFO GROUPS <stream>` in one pipeline (see `backlog`) |
//!
//! **Wire format** (fields `i`, `p`, `k`, `h:*`), what happens to entries other programs wrote, how attempts
//! count hand-outs, leases, backoff, the dedupe window, the drain and why `next` is cancel-safe:
//! `docs/event-bus-redis.md`, and the `wire`, `reader` and `scripts` modules.
//!
//! **Environment and workspace scoping**: the stream of topic `t` in workspace `w` under the environment
//! scope `e` ([`ResourceScope`], `docs/isolation.md`) is the key `avb-e:{w}:t` (`avb:{w}:t` unscoped); the
//! `{w}` hash tag keeps a workspace on one cluster slot; a topic's failure reasons live in
//! `avb-e:{w}:t:errors:<group>`. Neither scopes nor workspaces nor topic names contain `:`, so no two
//! (scope, workspace, topic) triples share a key.
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

mod backlog;
mod builder;
mod reader;
mod scripts;
mod subscription;
mod wire;

pub use builder::RedisBusBuilder;
pub use wire::HEADER_FOREIGN_ENTRY;

use crate::{
    Backlog, Capabilities, Error, EventBus, Message, MessageId, Result, Settings, StartPosition,
    Subscription, Topic, backend::check_group,
};
use avb_core::{Health, ResourceScope};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// The backend's name and URL scheme.
pub const SCHEME: &str = "redis";

/// How often `close` looks whether the drain is done.
const DRAIN_POLL: Duration = Duration::from_millis(5);

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
    /// [`key_root`] of the bus's scope.
    pub(crate) root: String,
    client: redis::Client,
    config: ConnectionManagerConfig,
    conn: ConnectionManager,
    settings: Settings,
    claim_interval: Duration,
    read_count: usize,
    closed: AtomicBool,
    /// Woken by `close`: readers stop and give back what they buffered.
    closing: tokio::sync::Notify,
    /// Deliveries handed out and not yet settled (acked, nacked, or dropped and given back): `close`
    /// waits for them.
    in_flight: AtomicUsize,
    /// Reader tasks still running (they give back their read-ahead before they end): `close` waits for
    /// them.
    pub(crate) readers: AtomicUsize,
}

/// The root of every key in `scope`: `avb-<scope>` (`avb` unscoped). Its `:` can occur in no scope.
pub fn key_root(scope: &ResourceScope) -> String {
    scope.qualify("avb")
}

/// The stream key of a topic under `root` ([`key_root`]): `<root>:{<workspace>}:<name>`.
pub fn stream_key(root: &str, topic: &Topic) -> String {
    format!("{root}:{{{}}}:{}", topic.workspace(), topic.name())
}

fn errors_key(root: &str, topic: &Topic, group: &str) -> String {
    format!("{}:errors:{group}", stream_key(root, topic))
}

/// The field of a topic's errors hash that records the attempt whose backoff was already applied (a nack,
/// a drop, or a lapse the reader delayed): an entry claimed with a higher counter lapsed.
fn backoff_field(entry_id: &str) -> String {
    format!("{entry_id}:backoff")
}

/// The key that marks message `id` as published to `topic` within the dedupe window.
fn dedupe_key(root: &str, topic: &Topic, id: &MessageId) -> String {
    format!("{}:dedupe:{}", stream_key(root, topic), id.as_str())
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
    Error::from_client(SCHEME, retryable, reason, e)
}

impl Shared {
    /// Appends `messages` in order with one call of [`scripts::PUBLISH`] (skipping ids published within
    /// the dedupe window).
    async fn publish(&self, topic: &Topic, messages: &[Message]) -> Result<()> {
        let window = u64::try_from(self.settings.dedupe_window.as_millis()).unwrap_or(u64::MAX);
        let mut keys = Vec::with_capacity(1 + messages.len());
        keys.push(stream_key(&self.root, topic).into_bytes());
        let mut args = vec![
            window.to_string().into_bytes(),
            self.settings
                .max_len
                .map_or_else(Vec::new, |max| max.to_string().into_bytes()),
        ];
        for m in messages {
            keys.push(dedupe_key(&self.root, topic, &m.id).into_bytes());
            let fields = wire::encode(m);
            args.push((fields.len() * 2).to_string().into_bytes());
            for (f, v) in fields {
                args.push(f);
                args.push(v);
            }
        }
        let mut conn = self.conn.clone();
        scripts::PUBLISH.run::<()>(&mut conn, &keys, &args).await
    }

    fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed { backend: SCHEME });
        }
        Ok(())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// A delivery was handed to the application.
    pub(crate) fn handed_out(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// A delivery was settled (its ack, nack or give-back done).
    pub(crate) fn settled(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether deliveries are in flight or readers still run.
    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0 || self.readers.load(Ordering::SeqCst) > 0
    }

    /// Moves one entry to the dead-letter stream (as [`wire::dead_letter_fields`] shapes it) and acks it,
    /// atomically.
    /// Moves `entry` to the dead-letter stream (acked in its group, its errors forgotten) in one script
    /// call. With `holder` (consumer, attempt), only while that consumer still holds the entry at that
    /// attempt: `Ok(false)` when it does not (a stale receipt; nothing changed).
    async fn dead_letter(
        &self,
        topic: &Topic,
        group: &str,
        entry: &wire::RawEntry,
        why: &wire::DeadLetter<'_>,
        holder: Option<(&str, u32)>,
    ) -> Result<bool> {
        let out = wire::dead_letter_fields(entry, why);
        let keys = [
            stream_key(&self.root, topic).into_bytes(),
            stream_key(&self.root, &topic.dead_letter()).into_bytes(),
            errors_key(&self.root, topic, group).into_bytes(),
        ];
        let (consumer, attempt) = holder.unwrap_or(("", 0));
        let mut args = Vec::with_capacity(6 + 2 * out.len());
        args.push(group.as_bytes().to_vec());
        args.push(consumer.as_bytes().to_vec());
        args.push(entry.id.clone().into_bytes());
        args.push(attempt.to_string().into_bytes());
        args.push(
            self.settings
                .max_len
                .map_or_else(Vec::new, |max| max.to_string().into_bytes()),
        );
        args.push(backoff_field(&entry.id).into_bytes());
        for (f, v) in out {
            args.push(f);
            args.push(v);
        }
        let mut conn = self.conn.clone();
        let done: i64 = scripts::DEAD_LETTER.run(&mut conn, &keys, &args).await?;
        Ok(done == 1)
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
            extend_lease: true,
            max_lease_extension: self.shared.settings.ack_timeout,
            idempotent_publish: !self.shared.settings.dedupe_window.is_zero(),
            backlog_lag: true,
            backlog_in_flight: true,
            backlog_dead_letters: true,
            shares_read_ahead: true,
        }
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.shared.check_open()?;
        self.shared.settings.check_size(&message, SCHEME)?;
        self.shared
            .publish(topic, std::slice::from_ref(&message))
            .await?;
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
        self.shared.publish(topic, &messages).await?;
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
        let key = stream_key(&self.shared.root, topic);
        let mut conn = self.shared.conn.clone();
        match start {
            StartPosition::Earliest => {
                let created = redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(&key)
                    .arg(group)
                    .arg("0")
                    .arg("MKSTREAM")
                    .query_async::<()>(&mut conn)
                    .await;
                match created {
                    Ok(()) => {}
                    Err(e) if e.code() == Some("BUSYGROUP") => {}
                    Err(e) => return Err(map_err(e, "XGROUP CREATE")),
                }
            }
            StartPosition::Latest => {
                let keys = [key.clone().into_bytes()];
                let args = [group.as_bytes().to_vec()];
                scripts::CREATE_AT_END
                    .run::<i64>(&mut conn, &keys, &args)
                    .await?;
            }
        }
        let own = ConnectionManager::new_lazy_with_config(
            self.shared.client.clone(),
            self.shared.config.clone(),
        )
        .map_err(|e| map_err(e, "preparing the consumer's connection"))?;
        Ok(Subscription::new(Box::new(
            subscription::RedisSource::start(
                self.shared.clone(),
                own,
                topic.clone(),
                group.to_string(),
            ),
        )))
    }

    /// Stops hand-outs and readers (they give back their read-ahead), then waits up to `drain_timeout`
    /// for the readers to end and the in-flight deliveries to be settled (their XACK / give-back done).
    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.closing.notify_waiters();
        crate::backend::drain_wait(self.shared.settings.drain_timeout, DRAIN_POLL, || {
            self.shared.busy()
        })
        .await;
        Ok(())
    }

    async fn backlog(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        self.backlog_now(topic, group).await
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
