//! The avb **EventBus** port: at-least-once publish/subscribe with consumer groups, redelivery with attempt
//! counts, dead-letter topics and per-key order, scoped by workspace (tenant).
//!
//! | backend | module | cargo feature | notes |
//! |---|---|---|---|
//! | in-memory | [`memory`] | `memory` (default) | sandbox only; same semantics as the durable backends |
//! | Redis Streams | `redis` | `redis` | XADD / XREADGROUP / XACK / XAUTOCLAIM, key prefix per workspace |
//! | Apache Kafka | `kafka` | `kafka` | idempotent producer, one consumer group per (topic, group), attempts in commit metadata |
//! | Apache Pulsar | `pulsar` | `pulsar` | a namespace per workspace, a Shared subscription per group, redeliveries through a per-group retry topic with delayed delivery |
//!
//! Backend authors also need [`backend`] (the traits a backend implements); services do not.
//!
//! The feature `conformance` adds `conformance`: the behaviour every backend must show, as one
//! `pub async fn` per case on the conformance kit (`avb-conformance`), to run against any [`EventBus`]
//! (also your own).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> avb_event_bus::Result<()> {
//! use avb_event_bus::{EventBus, Message, StartPosition, Topic, memory::MemoryBus};
//! use std::time::Duration;
//! let bus = MemoryBus::builder().build()?;
//! let ws = avb_core::WorkspaceId::new("acme").expect("a valid id");
//! let topic = Topic::new(&ws, "orders")?;
//! let mut sub = bus.subscribe(&topic, "billing", StartPosition::Earliest).await?;
//! bus.publish(&topic, Message::new(&b"order 1"[..]).with_key("customer-7")).await?;
//! let delivery = sub.next().await.expect("open")?;
//! assert_eq!(&delivery.message().payload[..], b"order 1");
//! delivery.ack().await?;
//! bus.close().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod backend;
mod backlog;
pub mod config;
mod dedupe;
mod delivery;
mod error;
mod forward;
mod message_id;
mod open;
mod types;

#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "pulsar")]
pub mod pulsar;
#[cfg(feature = "redis")]
pub mod redis;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use avb_core::{Classify, ErrorClass, Health, NotCompiled, WorkspaceId};
pub use backlog::Backlog;
pub use config::{EventBusConfig, EventBusKind};
pub use dedupe::Dedupe;
pub use delivery::{Delivery, Ended, Subscription, Watch};
pub use error::{BoxError, Error, Result};
pub use open::open;
pub use types::{
    Capabilities, DEAD_LETTER_SUFFIX, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR,
    HEADER_ORIGINAL_TOPIC, Message, MessageId, Settings, StartPosition, Topic,
};

/// The EventBus port. Every backend shows the behaviour of DESIGN §3 (checked by `conformance`):
///
/// - `publish` returns once the backend has accepted the message (durably, for persistent backends).
/// - Within one group each message goes to one member; every group gets every message.
/// - An un-acked delivery (nack, dropped, ack timeout) is delivered again with its attempt count; after
///   `max_attempts` it goes to [`Topic::dead_letter`] with the [`HEADER_ORIGINAL_TOPIC`] and
///   [`HEADER_LAST_ERROR`] headers. Nothing is dropped silently (retention: see each backend's trimming).
/// - An attempt counts a hand-out to the application ([`Subscription::next`] returning it), never a
///   read-ahead buffer; dropping a subscription gives back what it read ahead untouched.
/// - [`Subscription::next`] is cancel-safe: dropping a pending `next()` (a timeout, a losing `select!`
///   branch) loses nothing and changes no attempt count.
/// - [`Subscription::next_batch`] takes up to `max` deliveries at once (cancel-safe too) and
///   [`Delivery::ack_all`] settles many with one backend call; every promise above holds per delivery.
/// - A long handler keeps its delivery with [`Delivery::extend`] (where [`Capabilities::extend_lease`]);
///   redelivery after a nack, a drop or a lapsed lease follows the backoff policy
///   ([`Settings::retry_delay`]), never a tight loop.
/// - Where [`Capabilities::idempotent_publish`], a publish retried with the same [`MessageId`] within
///   [`Settings::dedupe_window`] is one message; every delivery carries the stable
///   [`Delivery::message_id`] to dedupe on ([`Dedupe`]).
/// - `close` drains: no new deliveries are handed out, in-flight ones may settle until
///   [`Settings::drain_timeout`], pending acks are flushed, read-ahead goes back untouched; acks of
///   in-flight deliveries still work afterwards; publishing after close is [`Error::Closed`].
#[async_trait::async_trait]
pub trait EventBus: Send + Sync + std::fmt::Debug {
    /// The backend's name (`memory`, `redis`, …), for health and logs — never for branching.
    fn backend(&self) -> &'static str;

    /// What this backend provides.
    fn capabilities(&self) -> Capabilities;

    /// Publishes one message; returns its id once accepted.
    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId>;

    /// [`publish`](Self::publish) without a future, for a backend that never waits to publish (the
    /// memory bus): [`PublishNow::Published`] or [`PublishNow::Failed`] is the whole call — exactly what
    /// `publish` would have answered — and [`PublishNow::Wait`] hands the message back untouched, nothing
    /// published, for `publish` to do the work. The default: always `Wait`.
    ///
    /// For wrappers (the Platform's layers), which call it from inside their own future, on its first
    /// poll — so a wrapped `publish` stays lazy: nothing happens before its future is awaited, on any
    /// backend. A service calls `publish`.
    fn publish_now(&self, topic: &Topic, message: Message) -> PublishNow {
        let _ = topic;
        PublishNow::Wait(message)
    }

    /// Publishes messages in order; returns their ids. Every message is checked before any is sent.
    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>>;

    /// Joins consumer group `group` of `topic`, creating the group at `start` when it does not exist.
    async fn subscribe(
        &self,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<Subscription>;

    /// Drains and closes: publishing fails with [`Error::Closed`] from now on, subscriptions hand out
    /// nothing more (their `next` returns `None`) and give back what they read ahead, and the call
    /// returns once the deliveries handed out so far are settled (acked, nacked or dropped) and their
    /// acks flushed, or [`Settings::drain_timeout`] has passed (those still open keep their lease: acking
    /// them later still works, or the ack timeout redelivers them).
    async fn close(&self) -> Result<()>;

    /// Up, or down with the reason.
    async fn health(&self) -> Health;

    /// How far consumer group `group` is behind on `topic`, and the depth of the topic's dead-letter
    /// topic ([`Backlog`]; what each backend reads is in its module docs). A count the backend cannot tell
    /// is `None` and its [`Capabilities`] flag (`backlog_lag`, `backlog_in_flight`,
    /// `backlog_dead_letters`) is `false`. A group that does not exist on the topic (never subscribed, or
    /// the topic does not exist) is [`Error::UnknownGroup`] on every backend; a topic without dead letters
    /// yet has `dead_letters` zero. Works after `close` where the broker still answers.
    ///
    /// The default (for backends that keep no such counts): every count `None` — after checking the
    /// group name like `subscribe` does.
    async fn backlog(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        let _ = topic;
        backend::check_group(group)?;
        Ok(Backlog::default())
    }
}

/// The answer of [`EventBus::publish_now`].
#[derive(Debug)]
pub enum PublishNow {
    /// Published: what `publish` answers `Ok` with.
    Published(MessageId),
    /// Refused (the bus is closed, the message too large, …): what `publish` answers `Err` with, and
    /// the message back, so that a retry need not have copied it beforehand.
    Failed(Error, Message),
    /// This backend has to wait to publish: the message back, untouched; nothing was published.
    Wait(Message),
}
