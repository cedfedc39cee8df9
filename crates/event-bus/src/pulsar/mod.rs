//! Apache Pulsar backend (feature `pulsar`, on the `pulsar` crate with tokio): a workspace is a namespace,
//! a group a Shared subscription.
//!
//! | operation | Pulsar |
//! |---|---|
//! | workspace | namespace `<tenant>/<scope>.<workspace>` (the environment scope, `docs/isolation.md`; [`wire::Names`]), created through the admin REST API on first use with its retention, backlog quota and topic auto-creation policies ([`admin`]) |
//! | publish / batch | one producer per topic, kept by the bus; a batch hands every message to the producer before awaiting any receipt (one pipelined stream, in order); `publish` returns once the broker's receipt says the message is stored |
//! | subscribe | a consumer of the Shared subscription `<group>` on the topic and on the group's retry topic `<topic>~retry~<group>`; one consumer per [`Subscription`], its receiver queue the read-ahead |
//! | ack | an individual ack of the message (sent by the subscription's task; `close` flushes them) |
//! | nack(delay), dropped delivery, lapsed lease | a copy (same id, key, payload and properties, plus `avb-attempt` = attempt + 1) is published to the group's retry topic with Pulsar's delayed delivery (`deliver_at` = now + the delay, or the backoff [`Settings::retry_delay`]), then the original is acked |
//! | extend | moves the in-process lease's deadline (at most the ack timeout per call); [`Error::LeaseLost`] once it lapsed |
//! | close | drains: nothing more is handed out, deliveries in flight may settle until `drain_timeout`, their acks are sent, then each consumer closes (the broker gives its read-ahead back untouched) |
//! | dead letter | after `max_attempts` hand-outs: published to `<topic>.dlq` in the same namespace (same id, key, payload and properties, plus the `avb-dlq-*` headers), then acked |
//! | backlog | admin topic stats: the subscription's `msgBacklog` / `unackedMessages` on the topic and its retry topic; the DLQ's `msgInCounter` (see `backlog`) |
//!
//! **Attempts** travel with the message (`avb-attempt` on the retry copy), because the `pulsar` crate does
//! not hand the broker's redelivery count to the application. A consumer that dies holding a delivery
//! gives it back through the broker (its unacked messages go to the other members of the Shared
//! subscription) *unchanged*: the other member sees the attempt the dead one saw, not one more. That
//! redelivery is prompt (the broker notices the closed connection), never lost.
//!
//! **Per-key order**: not declared. A Shared subscription spreads a key's messages over the members, and a
//! redelivery is a new message on the retry topic.
//!
//! **Idempotent publish**: not declared. Broker deduplication drops a message whose producer name and
//! sequence id it has seen; a `publish` retried by the application is a new send with a new sequence id, so
//! the broker keeps both (consumers dedupe on the stable `avb-id`). `dedupe_window` is not used.
//!
//! **Wire format**: [`wire`] and `docs/event-bus-pulsar.md`. **Retention**: the namespace's
//! ([`NamespacePolicies`]); `max_len` is not used.

mod admin;
mod backlog;
mod builder;
mod consumer;
pub mod wire;

pub use admin::NamespacePolicies;
pub use builder::PulsarBusBuilder;

use crate::{
    Backlog, Capabilities, Error, EventBus, Message, MessageId, Result, Settings, StartPosition,
    Subscription, Topic, backend::check_group,
};
use avb_core::Health;
use pulsar::{Pulsar, TokioExecutor, producer::Producer};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The backend's name.
pub const SCHEME: &str = "pulsar";

/// How often `close()` looks whether the deliveries in flight have settled.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// How long `health()` waits for the broker.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// How long creating a producer or a subscription may take, lookups, reconnects and the client's retries
/// included. The broker answers `ServiceNotReady` while it cannot load a topic — a bookie that turned
/// read-only on a full disk, a topic being moved — and the `pulsar` crate retries that (and each attempt's
/// 30 s timeout) for as long as it is allowed to; without this bound a publish or a subscribe waited for
/// ever (measured against a broker whose bookie was read-only: no answer after 40 s, the client still
/// retrying). A broker restart (≈ 15 s here) fits inside.
pub(crate) const SETUP_TIMEOUT: Duration = Duration::from_secs(45);

/// How many times the client retries an operation the broker answered `ServiceNotReady`, `ProducerBusy`,
/// `ConsumerBusy` or a quota refusal to (200 ms apart): about 10 s of immediate refusals, after which the
/// call fails with the broker's own words ("Topic creation encountered an exception … Not enough
/// non-faulty bookies available").
const OPERATION_RETRIES: u32 = 50;

/// Runs `setup` (a producer's or a consumer's creation) within [`SETUP_TIMEOUT`]; past it, a retryable
/// [`Error::Unavailable`] naming what was being set up.
pub(crate) async fn within_setup_timeout<T>(
    what: &str,
    setup: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(SETUP_TIMEOUT, setup).await {
        Ok(answer) => answer,
        Err(_) => Err(Error::Unavailable {
            backend: SCHEME,
            reason: format!(
                "{what}: the broker did not accept it within {SETUP_TIMEOUT:?} (it kept refusing or not \
                 answering — ServiceNotReady while it cannot load the topic, e.g. its bookie is read-only \
                 on a full disk; the broker's log says which)"
            ),
            source: None,
        }),
    }
}

/// The longest accepted `nack` delay (Pulsar's delayed delivery has no limit of its own).
pub const MAX_NACK_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The Pulsar bus. Cheap to clone; clones share the client, the producers and the subscriptions.
#[derive(Clone)]
pub struct PulsarBus {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PulsarBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulsarBus")
            .field("names", &self.shared.names)
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

type SharedProducer = Arc<tokio::sync::Mutex<Producer<TokioExecutor>>>;

pub(crate) struct Shared {
    url: String,
    token: Option<String>,
    names: wire::Names,
    admin: admin::Admin,
    policies: NamespacePolicies,
    settings: Settings,
    receiver_queue: u32,
    client: tokio::sync::OnceCell<Pulsar<TokioExecutor>>,
    /// Namespaces known to exist with their policies (created or found by this bus).
    namespaces: tokio::sync::Mutex<HashSet<String>>,
    tenant_ready: tokio::sync::OnceCell<()>,
    producers: tokio::sync::Mutex<HashMap<String, SharedProducer>>,
    subscriptions: Mutex<Vec<Weak<consumer::Group>>>,
    closed: AtomicBool,
    closing: tokio::sync::watch::Sender<bool>,
    publish_failures: AtomicU64,
}

impl PulsarBus {
    /// A builder with default settings.
    pub fn builder() -> PulsarBusBuilder {
        PulsarBusBuilder::new()
    }

    /// `publish` / `publish_batch` calls that failed at the broker since the bus was built (a batch counts
    /// once; bad input does not count), for the metrics of a later issue.
    pub fn publish_failures(&self) -> u64 {
        self.shared.publish_failures.load(Ordering::Relaxed)
    }
}

/// Maps a `pulsar` crate error: connection trouble and timeouts are [`Error::Unavailable`] (retryable).
pub(crate) fn map_err(e: pulsar::Error, what: &str) -> Error {
    use pulsar::error::ProducerError;
    let retryable = match &e {
        pulsar::Error::Connection(_) | pulsar::Error::ServiceDiscovery(_) => true,
        pulsar::Error::Producer(ProducerError::Connection(_)) => true,
        pulsar::Error::Producer(ProducerError::Custom(_)) => true,
        pulsar::Error::Consumer(pulsar::error::ConsumerError::Connection(_)) => true,
        pulsar::Error::Authentication(_) => false,
        _ => false,
    };
    let reason = format!("{what}: {e}");
    Error::from_client(SCHEME, retryable, reason, e)
}

impl Shared {
    fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed { backend: SCHEME });
        }
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The client, connected on first use (a failed connect is retried by the next call).
    async fn client(&self) -> Result<&Pulsar<TokioExecutor>> {
        self.client
            .get_or_try_init(|| async {
                let mut b = Pulsar::builder(self.url.clone(), TokioExecutor)
                    .with_connection_retry_options(pulsar::ConnectionRetryOptions {
                        min_backoff: Duration::from_millis(50),
                        max_backoff: Duration::from_secs(2),
                        max_retries: 30,
                        connection_timeout: Duration::from_secs(5),
                        ..Default::default()
                    })
                    .with_operation_retry_options(pulsar::OperationRetryOptions {
                        operation_timeout: Duration::from_secs(30),
                        retry_delay: Duration::from_millis(200),
                        max_retries: Some(OPERATION_RETRIES),
                    });
                if let Some(token) = &self.token {
                    b = b.with_auth(pulsar::Authentication {
                        name: "token".into(),
                        data: token.clone().into_bytes(),
                    });
                }
                b.build()
                    .await
                    .map_err(|e| map_err(e, "connecting to the broker"))
            })
            .await
    }

    /// Creates `topic`'s namespace (and the tenant) unless this bus already did.
    async fn ensure_namespace(&self, topic: &Topic) -> Result<()> {
        let ns = self.names.namespace(topic);
        let mut known = self.namespaces.lock().await;
        if known.contains(&ns) {
            return Ok(());
        }
        self.tenant_ready
            .get_or_try_init(|| self.admin.ensure_tenant(&self.names.tenant))
            .await?;
        self.admin.ensure_namespace(&ns, self.policies).await?;
        known.insert(ns);
        Ok(())
    }

    /// The producer of the Pulsar topic `url` (built on first use).
    async fn producer(&self, url: &str) -> Result<SharedProducer> {
        let mut producers = self.producers.lock().await;
        if let Some(p) = producers.get(url) {
            return Ok(p.clone());
        }
        let producer = within_setup_timeout("creating the producer", async {
            self.client()
                .await?
                .producer()
                .with_topic(url)
                .with_options(pulsar::producer::ProducerOptions {
                    block_queue_if_full: true,
                    ..Default::default()
                })
                .build()
                .await
                .map_err(|e| map_err(e, "creating the producer"))
        })
        .await?;
        let producer = Arc::new(tokio::sync::Mutex::new(producer));
        producers.insert(url.to_string(), producer.clone());
        Ok(producer)
    }

    /// Forgets the producer of `url` after a failure, so the next publish builds a fresh one.
    async fn forget_producer(&self, url: &str) {
        self.producers.lock().await.remove(url);
    }

    /// Sends `messages` in order to the Pulsar topic `url` and awaits every receipt: each is handed to
    /// the producer before the first receipt is awaited.
    async fn send_all(&self, url: &str, messages: Vec<pulsar::producer::Message>) -> Result<()> {
        let producer = self.producer(url).await?;
        let mut receipts = Vec::with_capacity(messages.len());
        {
            let mut p = producer.lock().await;
            for m in messages {
                match p.send_non_blocking(m).await {
                    Ok(r) => receipts.push(r),
                    Err(e) => {
                        drop(p);
                        self.forget_producer(url).await;
                        return Err(map_err(e, "publishing"));
                    }
                }
            }
        }
        for r in receipts {
            if let Err(e) = r.await {
                self.forget_producer(url).await;
                return Err(map_err(e, "publishing"));
            }
        }
        Ok(())
    }

    fn count_failure(&self) {
        self.publish_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Deliveries handed out and not yet settled, over every subscription of this bus.
    fn in_flight(&self) -> usize {
        self.groups().iter().map(|g| g.in_flight()).sum()
    }

    fn groups(&self) -> Vec<Arc<consumer::Group>> {
        match self.subscriptions.lock() {
            Ok(mut subs) => {
                subs.retain(|w| w.strong_count() > 0);
                subs.iter().filter_map(Weak::upgrade).collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

#[async_trait::async_trait]
impl EventBus for PulsarBus {
    fn backend(&self) -> &'static str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // A Shared subscription spreads a key over the members; redeliveries are new messages.
            ordering_per_key: false,
            persistent: true,
            dead_letter: true,
            redeliver_on_drop: true,
            max_message_bytes: self.shared.settings.max_message_bytes,
            max_nack_delay: MAX_NACK_DELAY,
            // A lease is this process's: extend moves its deadline.
            extend_lease: true,
            max_lease_extension: self.shared.settings.ack_timeout,
            // Broker deduplication keys on (producer, sequence id), not on the message id (module docs).
            idempotent_publish: false,
            backlog_lag: true,
            backlog_in_flight: true,
            backlog_dead_letters: true,
            // With more flow permits the broker pushes messages to one member that idle peers could take.
            shares_read_ahead: self.shared.receiver_queue == 1,
        }
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.publish_batch(topic, vec![message])
            .await
            .and_then(|mut ids| {
                ids.pop().ok_or_else(|| Error::Backend {
                    backend: SCHEME,
                    reason: "publishing: no id came back".into(),
                    source: None,
                })
            })
    }

    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        self.shared.check_open()?;
        for m in &messages {
            self.shared.settings.check_size(m, SCHEME)?;
            wire::check(m)?;
        }
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.shared.names.topic_url(topic);
        let raw = messages.iter().map(|m| wire::encode(m, &[])).collect();
        let sent = async {
            self.shared.ensure_namespace(topic).await?;
            self.shared.send_all(&url, raw).await
        };
        sent.await.inspect_err(|_| self.shared.count_failure())?;
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
        self.shared.ensure_namespace(topic).await?;
        let (group, source) =
            consumer::Group::start(self.shared.clone(), topic, group, start).await?;
        if let Ok(mut subs) = self.shared.subscriptions.lock() {
            subs.push(Arc::downgrade(&group));
        }
        Ok(Subscription::new(Box::new(source)))
    }

    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.closing.send_replace(true);
        let shared = self.shared.clone();
        crate::backend::drain_wait(self.shared.settings.drain_timeout, DRAIN_POLL, move || {
            shared.in_flight() > 0
        })
        .await;
        for g in self.shared.groups() {
            g.flush().await;
        }
        Ok(())
    }

    async fn backlog(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        backlog::backlog(&self.shared, topic, group).await
    }

    async fn health(&self) -> Health {
        if self.shared.is_closed() {
            return Health::down(SCHEME, "closed");
        }
        // The client retries a refused connection for a while (it is what reconnects after a broker
        // restart); health answers within a few seconds.
        match tokio::time::timeout(HEALTH_TIMEOUT, self.shared.client()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Health::down(SCHEME, e.to_string()),
            Err(_) => {
                return Health::down(
                    SCHEME,
                    format!("no connection to the pulsar broker within {HEALTH_TIMEOUT:?}"),
                );
            }
        }
        match self
            .shared
            .admin
            .get_json("/admin/v2/clusters", "listing the clusters")
            .await
        {
            Ok(_) => Health::up(SCHEME),
            Err(e) => Health::down(SCHEME, e.to_string()),
        }
    }
}

impl Shared {
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }
    pub(crate) fn names(&self) -> &wire::Names {
        &self.names
    }
}
