//! [`RedisBusBuilder`]: settings in, a validated [`RedisBus`] out.

use super::{RedisBus, SCHEME, Shared};
use crate::{Error, Result, Settings};
use avb_core::ResourceScope;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Builds a [`RedisBus`].
///
/// | setter | default | meaning |
/// |---|---|---|
/// | `with_url` | required | `redis://`, `rediss://`, `redis+unix://` or `unix://` URL |
/// | `with_scope` | `development` | the environment scope of every key (`avb-<scope>:{<workspace>}:<topic>`; `docs/isolation.md`) |
/// | `with_settings`, `with_ack_timeout`, `with_max_attempts`, `with_max_len`, `with_retry_backoff`, `with_dedupe_window`, `with_drain_timeout` | see [`Settings`] | delivery settings; `max_len` is the `XADD MAXLEN ~` trim; the backoff is capped at the ack timeout; `dedupe_window` is the life of the `…:dedupe:<id>` keys |
/// | `with_claim_interval` | 100 ms | how often a consumer looks for idle or nacked entries (XAUTOCLAIM); also its XREADGROUP BLOCK (≥ 1 ms) |
/// | `with_read_count` | 32 | entries fetched per XREADGROUP / XAUTOCLAIM: a subscription's read-ahead (given back untouched when not taken; `docs/event-bus-redis.md`) (≥ 1) |
/// | `with_response_timeout` | 10 s | a command without an answer after this long fails as unavailable (≥ 1 ms) |
#[derive(Debug)]
pub struct RedisBusBuilder {
    url: Option<String>,
    scope: ResourceScope,
    settings: Settings,
    claim_interval: Duration,
    read_count: usize,
    response_timeout: Duration,
}

impl Default for RedisBusBuilder {
    fn default() -> Self {
        Self {
            url: None,
            scope: ResourceScope::default(),
            settings: Settings::default(),
            claim_interval: Duration::from_millis(100),
            read_count: 32,
            response_timeout: Duration::from_secs(10),
        }
    }
}

fn invalid(key: &str, value: &str, expected: &str) -> Error {
    Error::InvalidConfig {
        key: key.into(),
        value: avb_core::config::redact_raw(value),
        expected: expected.into(),
    }
}

impl RedisBusBuilder {
    /// Defaults; the URL must be set.
    pub fn new() -> Self {
        Self::default()
    }
    /// The server URL.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
    /// The environment scope of every key ([`super::key_root`]).
    pub fn with_scope(mut self, scope: ResourceScope) -> Self {
        self.scope = scope;
        self
    }
    /// All delivery settings at once.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
    /// Redelivery of entries pending longer than this (XAUTOCLAIM min-idle-time).
    pub fn with_ack_timeout(mut self, timeout: Duration) -> Self {
        self.settings.ack_timeout = timeout;
        self
    }
    /// Deliveries before dead-lettering.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.settings.max_attempts = attempts;
        self
    }
    /// Approximate stream length kept by `XADD MAXLEN ~` (`None`: no trimming).
    pub fn with_max_len(mut self, max_len: Option<usize>) -> Self {
        self.settings.max_len = max_len;
        self
    }
    /// The redelivery backoff: `min` before the 2nd attempt, doubling (with jitter) up to `max`
    /// ([`Settings::retry_delay`]).
    pub fn with_retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.settings.retry_min = min;
        self.settings.retry_max = max;
        self
    }
    /// How long a publish retried with the same message id is recognised (zero: no dedupe).
    pub fn with_dedupe_window(mut self, window: Duration) -> Self {
        self.settings.dedupe_window = window;
        self
    }
    /// How long `close` waits for in-flight deliveries to settle.
    pub fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.settings.drain_timeout = timeout;
        self
    }
    /// How often consumers claim idle or nacked entries.
    pub fn with_claim_interval(mut self, interval: Duration) -> Self {
        self.claim_interval = interval;
        self
    }
    /// Entries fetched per XREADGROUP / XAUTOCLAIM (a subscription's read-ahead).
    pub fn with_read_count(mut self, count: usize) -> Self {
        self.read_count = count;
        self
    }
    /// A command without an answer after this long fails as unavailable.
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Validates the settings and prepares the client. Connects lazily: a server that is down now is not an
    /// error here (`health()` reports it; operations fail with a retryable [`Error::Unavailable`]).
    /// Must be called inside a Tokio runtime.
    pub fn build(self) -> Result<RedisBus> {
        let b = self;
        if b.read_count == 0 {
            return Err(invalid("read_count", "0", "an integer >= 1"));
        }
        for (key, d) in [
            ("claim_interval", b.claim_interval),
            ("response_timeout", b.response_timeout),
        ] {
            if d.is_zero() {
                return Err(invalid(key, "0ms", "a duration >= 1ms"));
            }
        }
        b.settings.validate()?;
        let url = b
            .url
            .ok_or_else(|| invalid("url", "", "a redis:// URL (required)"))?;
        let client = redis::Client::open(url.as_str())
            .map_err(|e| invalid("url", &url, &format!("a valid redis:// URL ({e})")))?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::NotSupported {
                operation: "building the redis event bus outside a Tokio runtime".into(),
                backend: SCHEME,
                hint: "call build() from within a Tokio runtime".into(),
            });
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(b.response_timeout + b.claim_interval))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .map_err(|e| super::map_err(e, "preparing the connection"))?;
        Ok(RedisBus {
            shared: Arc::new(Shared {
                root: super::key_root(&b.scope),
                client,
                config,
                conn,
                settings: b.settings,
                claim_interval: b.claim_interval,
                read_count: b.read_count,
                closed: AtomicBool::new(false),
                closing: tokio::sync::Notify::new(),
                in_flight: std::sync::atomic::AtomicUsize::new(0),
                readers: std::sync::atomic::AtomicUsize::new(0),
            }),
        })
    }
}
