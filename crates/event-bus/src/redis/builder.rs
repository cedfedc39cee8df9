//! [`RedisBusBuilder`]: settings in, a validated [`RedisBus`] out.

use super::{RedisBus, SCHEME, Shared};
use crate::{Error, Result, Settings};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Builds a [`RedisBus`].
///
/// | key (`with_config`) | default | meaning |
/// |---|---|---|
/// | `url` | required | `redis://`, `rediss://`, `redis+unix://` or `unix://` URL |
/// | `ack_timeout_ms`, `max_attempts`, `max_len`, `max_message_bytes` | see [`Settings`] | delivery settings; `max_len` is the `XADD MAXLEN ~` trim |
/// | `claim_interval_ms` | 100 | how often a consumer looks for idle or nacked entries (XAUTOCLAIM); also its XREADGROUP BLOCK |
/// | `read_count` | 32 | entries fetched per XREADGROUP / XAUTOCLAIM: a subscription's read-ahead (given back untouched when not taken; `docs/event-bus-redis.md`) |
/// | `response_timeout_ms` | 10000 | a command without an answer after this long fails as unavailable |
#[derive(Debug)]
pub struct RedisBusBuilder {
    url: Option<String>,
    settings: Settings,
    claim_interval: Duration,
    read_count: usize,
    response_timeout: Duration,
    pairs: Vec<(String, String)>,
}

impl Default for RedisBusBuilder {
    fn default() -> Self {
        Self {
            url: None,
            settings: Settings::default(),
            claim_interval: Duration::from_millis(100),
            read_count: 32,
            response_timeout: Duration::from_secs(10),
            pairs: Vec::new(),
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

fn millis(key: &str, value: &str) -> Result<Duration> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms >= 1)
        .map(Duration::from_millis)
        .ok_or_else(|| invalid(key, value, "milliseconds (an integer >= 1)"))
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
    /// How often consumers claim idle or nacked entries.
    pub fn with_claim_interval(mut self, interval: Duration) -> Self {
        self.claim_interval = interval;
        self
    }
    /// A setting by name (see the table); checked by `build`.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.push((key.into(), value.into()));
        self
    }
    /// Settings from `(key, value)` pairs.
    #[allow(clippy::should_implement_trait)] // the house builder shape: `XBuilder::from_iter(pairs)`
    pub fn from_iter<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        pairs
            .into_iter()
            .fold(Self::new(), |b, (k, v)| b.with_config(k, v))
    }

    /// Validates the settings and prepares the client. Connects lazily: a server that is down now is not an
    /// error here (`health()` reports it; operations fail with a retryable [`Error::Unavailable`]).
    /// Must be called inside a Tokio runtime.
    pub fn build(self) -> Result<RedisBus> {
        let mut b = self;
        for (key, value) in std::mem::take(&mut b.pairs) {
            match key.as_str() {
                "url" => b.url = Some(value),
                "claim_interval_ms" => b.claim_interval = millis(&key, &value)?,
                "response_timeout_ms" => b.response_timeout = millis(&key, &value)?,
                "read_count" => {
                    b.read_count = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| invalid(&key, &value, "an integer >= 1"))?
                }
                _ => b.settings.apply(&key, &value).map_err(|e| match e {
                    Error::InvalidConfig { expected, .. } if expected.starts_with("a known key") => {
                        invalid(
                            &key,
                            &value,
                            "a known key: url, ack_timeout_ms, max_attempts, max_len, max_message_bytes, claim_interval_ms, read_count, response_timeout_ms",
                        )
                    }
                    e => e,
                })?,
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
                client,
                config,
                conn,
                settings: b.settings,
                claim_interval: b.claim_interval,
                read_count: b.read_count,
                closed: AtomicBool::new(false),
                closing: tokio::sync::Notify::new(),
            }),
        })
    }
}
