//! [`KafkaBusBuilder`]: bootstrap servers, delivery settings, topic layout, extra client properties.

use super::{KafkaBus, Shared};
use crate::{Error, Result, Settings};
use avb_core::ResourceScope;
use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::FutureProducer;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

/// Builds a [`KafkaBus`]. Nothing connects here: librdkafka connects in the background, and an
/// unreachable broker shows in `health()` and as retryable errors.
#[derive(Debug, Clone)]
pub struct KafkaBusBuilder {
    bootstrap: Vec<String>,
    scope: ResourceScope,
    settings: Settings,
    partitions: i32,
    replication: i32,
    linger_ms: u32,
    properties: BTreeMap<String, String>,
}

impl Default for KafkaBusBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl KafkaBusBuilder {
    /// Defaults: no bootstrap servers yet, [`Settings::default`], topics of 1 partition with the broker's
    /// default replication factor, linger 5 ms.
    pub fn new() -> Self {
        Self {
            bootstrap: Vec::new(),
            scope: ResourceScope::default(),
            settings: Settings::default(),
            partitions: 1,
            replication: -1,
            linger_ms: 5,
            properties: BTreeMap::new(),
        }
    }

    /// The brokers to bootstrap from (`host:port`, as `KAFKA_BOOTSTRAP_SERVERS` lists them).
    pub fn with_bootstrap_servers<S: AsRef<str>>(
        mut self,
        servers: impl IntoIterator<Item = S>,
    ) -> Self {
        self.bootstrap = servers
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .collect();
        self
    }

    /// The environment scope of every topic (default `development`): `avb-<scope>.<workspace>.<name>`
    /// ([`super::wire::topic_root`], `docs/isolation.md`).
    pub fn with_scope(mut self, scope: ResourceScope) -> Self {
        self.scope = scope;
        self
    }

    /// Delivery settings (`max_len` is not used: the topic's retention trims).
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Partitions of the topics this bus creates (default 1). More partitions let more processes share a
    /// group's work; per-key order holds either way (a key always maps to one partition).
    pub fn with_partitions(mut self, partitions: i32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Replication factor of the topics this bus creates (default -1: the broker's
    /// `default.replication.factor`).
    pub fn with_replication(mut self, replication: i32) -> Self {
        self.replication = replication;
        self
    }

    /// The producer's `linger.ms` (default 5): how long it waits to fill a batch.
    pub fn with_linger_ms(mut self, linger_ms: u32) -> Self {
        self.linger_ms = linger_ms;
        self
    }

    /// An extra librdkafka property for every client of the bus (e.g. `security.protocol`). The properties
    /// the backend's guarantees rest on (idempotence, acks, commits) are set after these and win.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    fn invalid(key: &str, value: impl ToString, expected: &str) -> Error {
        Error::InvalidConfig {
            key: key.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// The common client configuration (bootstrap servers and the extra properties).
    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (k, v) in &self.properties {
            config.set(k, v);
        }
        config.set("bootstrap.servers", self.bootstrap.join(","));
        config
    }

    /// Checks the settings and creates the producer and the admin client.
    pub fn build(self) -> Result<KafkaBus> {
        self.settings.validate()?;
        if self.bootstrap.is_empty() {
            return Err(Self::invalid(
                "bootstrap_servers",
                "",
                "at least one host:port",
            ));
        }
        if self.partitions < 1 {
            return Err(Self::invalid(
                "partitions",
                self.partitions,
                "an integer >= 1",
            ));
        }
        if self.replication == 0 || self.replication < -1 {
            return Err(Self::invalid(
                "replication",
                self.replication,
                "an integer >= 1, or -1 for the broker's default",
            ));
        }
        // Room for the key, the headers and the record overhead above the largest accepted message.
        let max_bytes = self.settings.max_message_bytes.saturating_add(64 * 1024);
        let mut producer = self.client_config();
        producer
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", self.linger_ms.to_string())
            .set("message.max.bytes", max_bytes.to_string());
        let producer: FutureProducer = producer
            .create()
            .map_err(|e| Self::invalid("kafka producer", e, "a valid librdkafka configuration"))?;
        let admin: AdminClient<DefaultClientContext> =
            self.client_config().create().map_err(|e| {
                Self::invalid("kafka admin client", e, "a valid librdkafka configuration")
            })?;
        Ok(KafkaBus {
            shared: Arc::new(Shared {
                root: super::wire::topic_root(&self.scope),
                consumer_config: self.client_config(),
                producer,
                admin,
                settings: self.settings,
                partitions: self.partitions,
                replication: self.replication,
                max_bytes,
                created: Mutex::new(HashSet::new()),
                readers: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                publish_failures: AtomicU64::new(0),
                backlog_readers: Default::default(),
            }),
        })
    }
}
