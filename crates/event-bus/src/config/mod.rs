//! The EventBus's configuration: which backend `EVENT_BUS` chose and its settings, read and checked here
//! (once), shown as the startup summary's line, and turned into a bus by [`open`](crate::open).
//!
//! | variable | default | allowed |
//! |---|---|---|
//! | `EVENT_BUS` | sandbox `memory`, live `pulsar` | `memory` (sandbox only), `redis`, `kafka`, `pulsar` |
//! | `REDIS_URL` | required for `redis` | `redis://`, `rediss://`, `redis+unix://`, `unix://` URL |
//! | `EVENT_BUS_ACK_TIMEOUT_MS` | 30000 | an integer >= 10 |
//! | `EVENT_BUS_MAX_ATTEMPTS` | 5 | an integer >= 1 |
//! | `EVENT_BUS_MAX_LEN` | 100000 | an integer >= 1, or `none` |
//! | `EVENT_BUS_RETRY_MIN_MS` | 100 | an integer >= 1 |
//! | `EVENT_BUS_RETRY_MAX_MS` | 10000 | an integer >= `EVENT_BUS_RETRY_MIN_MS` |
//! | `EVENT_BUS_DEDUPE_WINDOW_MS` | 300000 | an integer >= 0 (0: no dedupe) |
//! | `EVENT_BUS_DRAIN_TIMEOUT_MS` | 10000 | an integer >= 0 |
//! | `KAFKA_BOOTSTRAP_SERVERS` | required for `kafka` | `host:port[,host:port…]` |
//! | `PULSAR_URL` | required for `pulsar` | `pulsar://`/`pulsar+ssl://` URL |
//! | `PULSAR_ADMIN_URL` | `http://<PULSAR_URL's host>:8080` | `http://`/`https://` URL of the admin REST API |
//! | `PULSAR_TENANT` | `public` | 1-100 characters of `A-Z a-z 0-9 _ - .` |
//! | `PULSAR_TOKEN` | none | secret |
//! | `PULSAR_RETENTION_MINUTES`, `PULSAR_RETENTION_MB`, `PULSAR_BACKLOG_QUOTA_MB` | 10080, 1024, 512 | an integer >= -1 (-1: unlimited) |
//! | `PULSAR_RECEIVER_QUEUE` | 1 | an integer 1-10000 |
//!
//! ```
//! use avb_core::config::PortConfig;
//! use avb_event_bus::config::EventBusConfig;
//! let port = EventBusConfig::from_pairs([("EVENT_BUS", "redis"), ("REDIS_URL", "redis://:pw@127.0.0.1:6379")]).unwrap();
//! assert!(matches!(port.backend, EventBusConfig::Redis { .. }));
//! assert!(!port.backend.to_string().contains("pw"));
//! ```

use crate::Settings;
use avb_core::ResourceScope;
use avb_core::config::keys::{Key, key, secret};
use avb_core::config::{PortConfig, Reader, Scrubber, Secret, ServiceUrl};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

avb_core::choice! {
    /// EventBus backend (`EVENT_BUS`).
    EventBusKind { /** In-process bus. */ Memory = "memory", /** Redis Streams. */ Redis = "redis", /** Apache Kafka. */ Kafka = "kafka", /** Apache Pulsar. */ Pulsar = "pulsar" }
}
avb_core::backend_kind!(EventBusKind, EVENT_BUS, sandbox: Memory, live: Pulsar, sandbox_only: [Memory]);

// The port's variables: each described once (the registry, `avb vars` and the README table are made
// from these constants).

/// `EVENT_BUS`.
pub const EVENT_BUS: Key = key(
    "EVENT_BUS",
    "event bus",
    "`memory`, `redis`, `kafka`, `pulsar`",
    "sandbox: `memory`; live: `pulsar`",
    "EventBus backend. `memory` is sandbox-only.",
);

/// `REDIS_URL`.
pub const REDIS_URL: Key = key(
    "REDIS_URL",
    "event bus",
    "`redis://`, `rediss://`, `redis+unix://`, `unix://` URL",
    "required for `EVENT_BUS=redis`",
    "Redis server for the Streams backend. Userinfo is redacted everywhere.",
);

/// `EVENT_BUS_ACK_TIMEOUT_MS`.
pub const EVENT_BUS_ACK_TIMEOUT_MS: Key = key(
    "EVENT_BUS_ACK_TIMEOUT_MS",
    "event bus",
    "milliseconds, an integer >= 10",
    "`30000`",
    "A delivery neither acked nor nacked within this time is delivered again (`memory`, `redis`, `kafka`, `pulsar`).",
);

/// `EVENT_BUS_MAX_ATTEMPTS`.
pub const EVENT_BUS_MAX_ATTEMPTS: Key = key(
    "EVENT_BUS_MAX_ATTEMPTS",
    "event bus",
    "an integer >= 1",
    "`5`",
    "Hand-outs of a message to the application within a consumer group (read-ahead never counts) before it moves to the dead-letter topic `<topic>.dlq` (`memory`, `redis`, `kafka`, `pulsar`).",
);

/// `EVENT_BUS_MAX_LEN`.
pub const EVENT_BUS_MAX_LEN: Key = key(
    "EVENT_BUS_MAX_LEN",
    "event bus",
    "an integer >= 1, or `none`",
    "`100000`",
    "Messages retained per topic: Redis trims each stream with `XADD MAXLEN ~` (a group lagging further loses the oldest); memory keeps this many for new `earliest` groups. `none` keeps everything. Not used by `kafka` (the topic's retention trims) nor `pulsar` (the namespace's retention policy).",
);

/// `EVENT_BUS_RETRY_MIN_MS`.
pub const EVENT_BUS_RETRY_MIN_MS: Key = key(
    "EVENT_BUS_RETRY_MIN_MS",
    "event bus",
    "milliseconds, an integer >= 1",
    "`100`",
    "Redelivery backoff after a nack without a delay, a dropped delivery or a lapsed lease: the wait before the 2nd attempt, doubling per attempt (plus up to 25% jitter) up to `EVENT_BUS_RETRY_MAX_MS` (`memory`, `redis`, `kafka`, `pulsar`; Redis and Kafka cap it at the ack timeout).",
);

/// `EVENT_BUS_RETRY_MAX_MS`.
pub const EVENT_BUS_RETRY_MAX_MS: Key = key(
    "EVENT_BUS_RETRY_MAX_MS",
    "event bus",
    "milliseconds, an integer >= `EVENT_BUS_RETRY_MIN_MS`",
    "`10000`",
    "The longest redelivery backoff (`memory`, `redis`, `kafka`, `pulsar`); when unset and `EVENT_BUS_RETRY_MIN_MS` is larger, that minimum.",
);

/// `EVENT_BUS_DEDUPE_WINDOW_MS`.
pub const EVENT_BUS_DEDUPE_WINDOW_MS: Key = key(
    "EVENT_BUS_DEDUPE_WINDOW_MS",
    "event bus",
    "milliseconds, an integer >= 0",
    "`300000`",
    "Idempotent publish: a message published again with the same id within this window is not added again (`redis`: a `…:dedupe:<id>` key per message with this expiry; `memory`: at most `EVENT_BUS_MAX_LEN` ids; not `kafka`, whose idempotent producer dedupes only its own retries, nor `pulsar`). `0` turns dedupe off.",
);

/// `EVENT_BUS_DRAIN_TIMEOUT_MS`.
pub const EVENT_BUS_DRAIN_TIMEOUT_MS: Key = key(
    "EVENT_BUS_DRAIN_TIMEOUT_MS",
    "event bus",
    "milliseconds, an integer >= 0",
    "`10000`",
    "How long `close()` waits for in-flight deliveries to be settled and acks flushed before it returns (`memory`, `redis`, `kafka`, `pulsar`).",
);

/// `KAFKA_BOOTSTRAP_SERVERS`.
pub const KAFKA_BOOTSTRAP_SERVERS: Key = key(
    "KAFKA_BOOTSTRAP_SERVERS",
    "event bus",
    "`host:port[,host:port…]`",
    "required for `EVENT_BUS=kafka`",
    "Kafka bootstrap brokers (`event-bus-kafka`; wire format and redelivery: `docs/event-bus-kafka.md`).",
);

/// `PULSAR_URL`.
pub const PULSAR_URL: Key = key(
    "PULSAR_URL",
    "event bus",
    "`pulsar://` or `pulsar+ssl://` URL",
    "required for `EVENT_BUS=pulsar`",
    "Pulsar broker service URL (`event-bus-pulsar`; wire format and redelivery: `docs/event-bus-pulsar.md`).",
);

/// `PULSAR_ADMIN_URL`.
pub const PULSAR_ADMIN_URL: Key = key(
    "PULSAR_ADMIN_URL",
    "event bus",
    "`http://` or `https://` URL",
    "`http://<host of PULSAR_URL>:8080`",
    "Pulsar admin REST API: each workspace's namespace is created there on first use, with its policies.",
);

/// `PULSAR_TENANT`.
pub const PULSAR_TENANT: Key = key(
    "PULSAR_TENANT",
    "event bus",
    "1-100 characters of `A-Z a-z 0-9 _ - .`",
    "`public`",
    "Pulsar tenant whose namespaces are the environment scope and workspace (`persistent://<tenant>/<scope>.<workspace>/<topic>`, see `AVB_RESOURCE_SCOPE`); created if missing.",
);

/// `PULSAR_RETENTION_MINUTES`.
pub const PULSAR_RETENTION_MINUTES: Key = key(
    "PULSAR_RETENTION_MINUTES",
    "event bus",
    "an integer >= -1 (-1: forever)",
    "`10080`",
    "Retention policy of each workspace's namespace: acknowledged messages are kept this long (`pulsar`).",
);

/// `PULSAR_RETENTION_MB`.
pub const PULSAR_RETENTION_MB: Key = key(
    "PULSAR_RETENTION_MB",
    "event bus",
    "an integer >= -1 (-1: unlimited)",
    "`1024`",
    "Retention policy of each workspace's namespace: acknowledged messages are kept up to this size per topic (`pulsar`).",
);

/// `PULSAR_BACKLOG_QUOTA_MB`.
pub const PULSAR_BACKLOG_QUOTA_MB: Key = key(
    "PULSAR_BACKLOG_QUOTA_MB",
    "event bus",
    "an integer >= -1 (-1: none), below `PULSAR_RETENTION_MB`",
    "`512`",
    "Backlog quota of each workspace's namespace per topic: over it a publish fails (`producer_exception`), nothing is dropped (`pulsar`).",
);

/// `PULSAR_RECEIVER_QUEUE`.
pub const PULSAR_RECEIVER_QUEUE: Key = key(
    "PULSAR_RECEIVER_QUEUE",
    "event bus",
    "an integer 1-10000",
    "`1`",
    "Flow permits of each subscription's Pulsar consumer (its read-ahead from the broker). 1 keeps the members of a group fair; more makes one consumer faster (about one broker round trip per message at 1) and lets it hold messages other members could take, so the bus then declares `shares_read_ahead` false (`pulsar`; `docs/event-bus-pulsar.md`).",
);

/// The largest `PULSAR_RECEIVER_QUEUE` (Pulsar's own default is 1000).
pub const MAX_PULSAR_RECEIVER_QUEUE: u32 = 10_000;

/// `PULSAR_TOKEN`.
pub const PULSAR_TOKEN: Key = secret(
    "PULSAR_TOKEN",
    "event bus",
    "token",
    "Pulsar authentication token (optional).",
);

/// Every variable of the port, in documentation order.
pub const VARS: &[Key] = &[
    EVENT_BUS,
    REDIS_URL,
    EVENT_BUS_ACK_TIMEOUT_MS,
    EVENT_BUS_MAX_ATTEMPTS,
    EVENT_BUS_MAX_LEN,
    EVENT_BUS_RETRY_MIN_MS,
    EVENT_BUS_RETRY_MAX_MS,
    EVENT_BUS_DEDUPE_WINDOW_MS,
    EVENT_BUS_DRAIN_TIMEOUT_MS,
    KAFKA_BOOTSTRAP_SERVERS,
    PULSAR_URL,
    PULSAR_ADMIN_URL,
    PULSAR_TENANT,
    PULSAR_TOKEN,
    PULSAR_RETENTION_MINUTES,
    PULSAR_RETENTION_MB,
    PULSAR_BACKLOG_QUOTA_MB,
    PULSAR_RECEIVER_QUEUE,
];

/// Delivery settings of the event bus backends that honour them (`memory`, `redis`, `kafka`, `pulsar`), as configured:
/// `EVENT_BUS_ACK_TIMEOUT_MS`, `EVENT_BUS_MAX_ATTEMPTS`, `EVENT_BUS_MAX_LEN`, `EVENT_BUS_RETRY_MIN_MS`,
/// `EVENT_BUS_RETRY_MAX_MS`, `EVENT_BUS_DEDUPE_WINDOW_MS`, `EVENT_BUS_DRAIN_TIMEOUT_MS`. Defaults are
/// [`Settings::default`]'s; [`EventBusDelivery::settings`] gives the port's [`Settings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EventBusDelivery {
    /// `EVENT_BUS_ACK_TIMEOUT_MS`: redelivery after this long without ack or nack.
    pub ack_timeout_ms: u64,
    /// `EVENT_BUS_MAX_ATTEMPTS`: deliveries before dead-lettering.
    pub max_attempts: u32,
    /// `EVENT_BUS_MAX_LEN`: messages retained per topic; `None` keeps everything.
    pub max_len: Option<u64>,
    /// `EVENT_BUS_RETRY_MIN_MS`: the redelivery backoff before the 2nd attempt.
    pub retry_min_ms: u64,
    /// `EVENT_BUS_RETRY_MAX_MS`: the longest redelivery backoff.
    pub retry_max_ms: u64,
    /// `EVENT_BUS_DEDUPE_WINDOW_MS`: idempotent publish window (0: off).
    pub dedupe_window_ms: u64,
    /// `EVENT_BUS_DRAIN_TIMEOUT_MS`: how long `close()` waits for in-flight deliveries.
    pub drain_timeout_ms: u64,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for EventBusDelivery {
    fn default() -> Self {
        Self::from_settings(&Settings::default())
    }
}

impl EventBusDelivery {
    /// These values from the port's [`Settings`] (the inverse of [`EventBusDelivery::settings`]).
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            ack_timeout_ms: millis(s.ack_timeout),
            max_attempts: s.max_attempts,
            max_len: s.max_len.map(|n| n as u64),
            retry_min_ms: millis(s.retry_min),
            retry_max_ms: millis(s.retry_max),
            dedupe_window_ms: millis(s.dedupe_window),
            drain_timeout_ms: millis(s.drain_timeout),
        }
    }

    /// The port's [`Settings`] with these values (the others at their defaults).
    pub fn settings(&self) -> Settings {
        Settings {
            ack_timeout: Duration::from_millis(self.ack_timeout_ms),
            max_attempts: self.max_attempts,
            max_len: self
                .max_len
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            retry_min: Duration::from_millis(self.retry_min_ms),
            retry_max: Duration::from_millis(self.retry_max_ms),
            dedupe_window: Duration::from_millis(self.dedupe_window_ms),
            drain_timeout: Duration::from_millis(self.drain_timeout_ms),
            ..Settings::default()
        }
    }
}

/// The policies of each workspace's Pulsar namespace (`PULSAR_RETENTION_MINUTES`, `PULSAR_RETENTION_MB`,
/// `PULSAR_BACKLOG_QUOTA_MB`; -1: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PulsarPolicies {
    /// `PULSAR_RETENTION_MINUTES`.
    pub retention_minutes: i64,
    /// `PULSAR_RETENTION_MB`.
    pub retention_mb: i64,
    /// `PULSAR_BACKLOG_QUOTA_MB`.
    pub backlog_quota_mb: i64,
}

impl Default for PulsarPolicies {
    fn default() -> Self {
        Self {
            retention_minutes: 7 * 24 * 60,
            retention_mb: 1024,
            backlog_quota_mb: 512,
        }
    }
}

fn pulsar_policies(r: &mut Reader<'_>) -> Option<PulsarPolicies> {
    let d = PulsarPolicies::default();
    let parse = |v: &str| v.trim().parse::<i64>().ok().filter(|n| *n >= -1);
    let minutes = r.number(&PULSAR_RETENTION_MINUTES, "an integer >= -1", parse);
    let mb = r.number(&PULSAR_RETENTION_MB, "an integer >= -1", parse);
    let retention_mb = mb.flatten().unwrap_or(d.retention_mb);
    let expected = if retention_mb < 0 {
        "an integer >= -1".to_string()
    } else {
        format!("an integer >= -1 and below PULSAR_RETENTION_MB ({retention_mb})")
    };
    let quota = r.number(&PULSAR_BACKLOG_QUOTA_MB, &expected, |v| {
        parse(v).filter(|q| retention_mb < 0 || *q < retention_mb)
    });
    Some(PulsarPolicies {
        retention_minutes: minutes?.unwrap_or(d.retention_minutes),
        retention_mb: mb?.unwrap_or(d.retention_mb),
        backlog_quota_mb: quota?.unwrap_or(d.backlog_quota_mb),
    })
}

/// A Pulsar tenant name (needs no escaping in a URL path).
fn is_tenant(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// EventBus backend and its connection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EventBusConfig {
    /// In-process bus (sandbox only).
    Memory {
        /// `EVENT_BUS_ACK_TIMEOUT_MS`, `EVENT_BUS_MAX_ATTEMPTS`, `EVENT_BUS_MAX_LEN`, `EVENT_BUS_RETRY_*_MS`,
        /// `EVENT_BUS_DEDUPE_WINDOW_MS`, `EVENT_BUS_DRAIN_TIMEOUT_MS`.
        delivery: EventBusDelivery,
    },
    /// Redis Streams at `REDIS_URL`.
    Redis {
        /// `REDIS_URL`.
        url: ServiceUrl,
        /// The environment scope of every key (`AVB_RESOURCE_SCOPE`, default the environment).
        scope: ResourceScope,
        /// `EVENT_BUS_ACK_TIMEOUT_MS`, `EVENT_BUS_MAX_ATTEMPTS`, `EVENT_BUS_MAX_LEN`, `EVENT_BUS_RETRY_*_MS`,
        /// `EVENT_BUS_DEDUPE_WINDOW_MS`, `EVENT_BUS_DRAIN_TIMEOUT_MS`.
        delivery: EventBusDelivery,
    },
    /// Kafka at `KAFKA_BOOTSTRAP_SERVERS`.
    Kafka {
        /// `host:port` entries.
        bootstrap_servers: Vec<String>,
        /// The environment scope of every topic (`AVB_RESOURCE_SCOPE`, default the environment).
        scope: ResourceScope,
        /// `EVENT_BUS_ACK_TIMEOUT_MS`, `EVENT_BUS_MAX_ATTEMPTS`, `EVENT_BUS_RETRY_MIN_MS`,
        /// `EVENT_BUS_RETRY_MAX_MS`, `EVENT_BUS_DRAIN_TIMEOUT_MS` (`EVENT_BUS_MAX_LEN` is not used: Kafka's
        /// retention trims; nor `EVENT_BUS_DEDUPE_WINDOW_MS`: no idempotent publish of an application retry).
        delivery: EventBusDelivery,
    },
    /// Pulsar at `PULSAR_URL`.
    Pulsar {
        /// `PULSAR_URL`.
        url: ServiceUrl,
        /// `PULSAR_ADMIN_URL` (default `http://<host of PULSAR_URL>:8080`).
        admin_url: ServiceUrl,
        /// `PULSAR_TENANT`.
        tenant: String,
        /// The environment scope of every namespace (`AVB_RESOURCE_SCOPE`, default the environment).
        scope: ResourceScope,
        /// `PULSAR_TOKEN`.
        token: Option<Secret>,
        /// `PULSAR_RETENTION_MINUTES`, `PULSAR_RETENTION_MB`, `PULSAR_BACKLOG_QUOTA_MB`.
        policies: PulsarPolicies,
        /// `PULSAR_RECEIVER_QUEUE`: each subscription consumer's flow permits (default 1).
        receiver_queue: u32,
        /// `EVENT_BUS_ACK_TIMEOUT_MS`, `EVENT_BUS_MAX_ATTEMPTS`, `EVENT_BUS_RETRY_MIN_MS`,
        /// `EVENT_BUS_RETRY_MAX_MS`, `EVENT_BUS_DRAIN_TIMEOUT_MS` (`EVENT_BUS_MAX_LEN` is not used: the
        /// namespace's retention trims; nor `EVENT_BUS_DEDUPE_WINDOW_MS`).
        delivery: EventBusDelivery,
    },
}

fn delivery(r: &mut Reader<'_>) -> Option<EventBusDelivery> {
    let defaults = EventBusDelivery::default();
    let min_ack = u64::try_from(Settings::MIN_ACK_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
    let ack = r.number(
        &EVENT_BUS_ACK_TIMEOUT_MS,
        &format!("milliseconds, an integer >= {min_ack}"),
        |v| v.parse::<u64>().ok().filter(|ms| *ms >= min_ack),
    );
    let attempts = r.number(&EVENT_BUS_MAX_ATTEMPTS, "an integer >= 1", |v| {
        v.parse::<u32>().ok().filter(|n| *n >= 1)
    });
    let max_len = r.number(
        &EVENT_BUS_MAX_LEN,
        "an integer >= 1, or none",
        |v| match v {
            "none" => Some(None),
            n => n.parse::<u64>().ok().filter(|n| *n >= 1).map(Some),
        },
    );
    let min_retry = millis(Settings::MIN_RETRY);
    let retry_min = r.number(
        &EVENT_BUS_RETRY_MIN_MS,
        &format!("milliseconds, an integer >= {min_retry}"),
        |v| v.parse::<u64>().ok().filter(|ms| *ms >= min_retry),
    );
    let retry_min_ms = retry_min.flatten().unwrap_or(defaults.retry_min_ms);
    let retry_max = r.number(
        &EVENT_BUS_RETRY_MAX_MS,
        &format!("milliseconds, an integer >= EVENT_BUS_RETRY_MIN_MS ({retry_min_ms})"),
        |v| v.parse::<u64>().ok().filter(|ms| *ms >= retry_min_ms),
    );
    let any_ms = |v: &str| v.parse::<u64>().ok();
    let dedupe = r.number(
        &EVENT_BUS_DEDUPE_WINDOW_MS,
        "milliseconds, an integer >= 0",
        any_ms,
    );
    let drain = r.number(
        &EVENT_BUS_DRAIN_TIMEOUT_MS,
        "milliseconds, an integer >= 0",
        any_ms,
    );
    let retry_max_default = defaults.retry_max_ms.max(retry_min_ms);
    Some(EventBusDelivery {
        ack_timeout_ms: ack?.unwrap_or(defaults.ack_timeout_ms),
        max_attempts: attempts?.unwrap_or(defaults.max_attempts),
        max_len: max_len?.unwrap_or(defaults.max_len),
        retry_min_ms: retry_min?.unwrap_or(defaults.retry_min_ms),
        retry_max_ms: retry_max?.unwrap_or(retry_max_default),
        dedupe_window_ms: dedupe?.unwrap_or(defaults.dedupe_window_ms),
        drain_timeout_ms: drain?.unwrap_or(defaults.drain_timeout_ms),
    })
}

impl PortConfig for EventBusConfig {
    type Kind = EventBusKind;
    const NAME: &'static str = "event_bus";
    const VARS: &'static [Key] = VARS;

    fn read(kind: EventBusKind, r: &mut Reader<'_>, needed_by: &str) -> Option<Self> {
        Some(match kind {
            EventBusKind::Memory => EventBusConfig::Memory {
                delivery: delivery(r)?,
            },
            EventBusKind::Redis => {
                let delivery = delivery(r);
                let url = r.url(
                    &REDIS_URL,
                    needed_by,
                    &["redis", "rediss", "redis+unix", "unix"],
                    "redis://127.0.0.1:6379",
                );
                let scope = r.resource_scope();
                EventBusConfig::Redis {
                    url: url?,
                    scope: scope?,
                    delivery: delivery?,
                }
            }
            EventBusKind::Kafka => {
                let delivery = delivery(r);
                let scope = r.resource_scope();
                let value = r.required(&KAFKA_BOOTSTRAP_SERVERS, needed_by, "127.0.0.1:9092")?;
                let servers: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = servers.iter().position(|s| !is_host_port(s)) {
                    r.invalid(
                        &KAFKA_BOOTSTRAP_SERVERS,
                        value,
                        format!(
                            "host:port[,host:port…] (entry {} is not host:port)",
                            bad + 1
                        ),
                    );
                    return None;
                }
                EventBusConfig::Kafka {
                    bootstrap_servers: servers,
                    scope: scope?,
                    delivery: delivery?,
                }
            }
            EventBusKind::Pulsar => {
                let delivery = delivery(r);
                let url = r.url(
                    &PULSAR_URL,
                    needed_by,
                    &["pulsar", "pulsar+ssl"],
                    "pulsar://127.0.0.1:6650",
                );
                let admin = r.optional_url(&PULSAR_ADMIN_URL, &["http", "https"]);
                let tenant = r.with_default(&PULSAR_TENANT, "public");
                let tenant = match tenant {
                    Some(t) if !is_tenant(&t) => {
                        r.invalid(&PULSAR_TENANT, &t, "1-100 characters of A-Z a-z 0-9 _ - .");
                        None
                    }
                    other => other,
                };
                let scope = r.resource_scope();
                let token = r.optional_secret(&PULSAR_TOKEN);
                let policies = pulsar_policies(r);
                let receiver_queue = r.number(
                    &PULSAR_RECEIVER_QUEUE,
                    &format!("an integer 1-{MAX_PULSAR_RECEIVER_QUEUE}"),
                    |v| {
                        v.parse::<u32>()
                            .ok()
                            .filter(|n| (1..=MAX_PULSAR_RECEIVER_QUEUE).contains(n))
                    },
                );
                let url = url?;
                let admin_url = match admin? {
                    Some(a) => a,
                    None => {
                        let host = url.expose().host_str().unwrap_or("127.0.0.1").to_string();
                        let derived = format!("http://{host}:8080");
                        r.parse_url(&PULSAR_ADMIN_URL, &derived, &["http"])?
                    }
                };
                EventBusConfig::Pulsar {
                    url,
                    admin_url,
                    tenant: tenant?,
                    scope: scope?,
                    token: token?,
                    policies: policies?,
                    receiver_queue: receiver_queue?.unwrap_or(1),
                    delivery: delivery?,
                }
            }
        })
    }

    fn kind(&self) -> EventBusKind {
        match self {
            EventBusConfig::Memory { .. } => EventBusKind::Memory,
            EventBusConfig::Redis { .. } => EventBusKind::Redis,
            EventBusConfig::Kafka { .. } => EventBusKind::Kafka,
            EventBusConfig::Pulsar { .. } => EventBusKind::Pulsar,
        }
    }

    fn secrets<'a>(&'a self, out: &mut Scrubber<'a>) {
        match self {
            EventBusConfig::Memory { .. } | EventBusConfig::Kafka { .. } => {}
            EventBusConfig::Redis { url, .. } => {
                out.url(url);
            }
            EventBusConfig::Pulsar {
                url,
                admin_url,
                token,
                ..
            } => {
                out.url(url);
                out.url(admin_url);
                if let Some(token) = token {
                    out.secret(token);
                }
            }
        }
    }
}

impl EventBusConfig {
    /// The delivery settings, for a backend that takes them (`None` for one that does not).
    pub fn delivery_mut(&mut self) -> Option<&mut EventBusDelivery> {
        match self {
            EventBusConfig::Memory { delivery }
            | EventBusConfig::Redis { delivery, .. }
            | EventBusConfig::Kafka { delivery, .. }
            | EventBusConfig::Pulsar { delivery, .. } => Some(delivery),
        }
    }
}

impl fmt::Display for EventBusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventBusConfig::Memory { delivery } => write!(f, "memory (in-process), {delivery}"),
            EventBusConfig::Redis {
                url,
                scope,
                delivery,
            } => write!(f, "redis {url}, scope {scope}, {delivery}"),
            EventBusConfig::Kafka {
                bootstrap_servers,
                scope,
                delivery,
            } => {
                write!(
                    f,
                    "kafka {}, scope {scope}, {delivery}",
                    bootstrap_servers.join(",")
                )
            }
            EventBusConfig::Pulsar {
                url,
                admin_url,
                tenant,
                scope,
                token,
                policies,
                receiver_queue,
                delivery,
            } => write!(
                f,
                "pulsar {url} (admin {admin_url}, tenant {tenant}, scope {scope}{}, retention {} min / {} MB, backlog quota {} MB, receiver queue {receiver_queue}), {delivery}",
                if token.is_some() { ", token ***" } else { "" },
                policies.retention_minutes,
                policies.retention_mb,
                policies.backlog_quota_mb,
            ),
        }
    }
}

impl fmt::Display for EventBusDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ack timeout {} ms, max attempts {}, ",
            self.ack_timeout_ms, self.max_attempts
        )?;
        match self.max_len {
            Some(n) => write!(f, "max len {n}"),
            None => f.write_str("no trimming"),
        }?;
        write!(
            f,
            ", retry {}..{} ms, dedupe window {} ms, drain {} ms",
            self.retry_min_ms, self.retry_max_ms, self.dedupe_window_ms, self.drain_timeout_ms
        )
    }
}

/// `host:port`: a DNS name or IPv4 address (letters, digits, `.`, `-`, `_`) or a bracketed IPv6 address,
/// and a port 1-65535. Nothing else — in particular no `user:password@` and no `scheme://`.
fn is_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => {
            !v6.is_empty()
                && v6
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        }
        None => {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        }
    };
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod tests;
