//! [`MemoryBusBuilder`]: settings in, a validated [`MemoryBus`] out.

use super::{FastMap, MemoryBus, Shared};
use crate::{Result, Settings};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Builds a [`MemoryBus`]: `with_*` setters, `with_config(key, value)`, then `build()` validates.
#[derive(Debug, Default)]
pub struct MemoryBusBuilder {
    settings: Settings,
    pairs: Vec<(String, String)>,
}

impl MemoryBusBuilder {
    /// Default settings ([`Settings`]).
    pub fn new() -> Self {
        Self::default()
    }
    /// All delivery settings at once.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }
    /// Redelivery after this long without `ack`/`nack`.
    pub fn with_ack_timeout(mut self, timeout: Duration) -> Self {
        self.settings.ack_timeout = timeout;
        self
    }
    /// Deliveries before dead-lettering.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.settings.max_attempts = attempts;
        self
    }
    /// Messages retained per topic for new `Earliest` groups (`None`: all).
    pub fn with_max_len(mut self, max_len: Option<usize>) -> Self {
        self.settings.max_len = max_len;
        self
    }
    /// Largest accepted [`crate::Message::size`].
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_message_bytes = bytes;
        self
    }
    /// A setting by name (see [`Settings::apply`]); checked by `build`.
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
    /// Validates the settings and builds the bus.
    pub fn build(self) -> Result<MemoryBus> {
        let mut settings = self.settings;
        for (key, value) in &self.pairs {
            settings.apply(key, value)?;
        }
        settings.validate()?;
        Ok(MemoryBus {
            shared: Arc::new(Shared {
                settings,
                topics: RwLock::new(FastMap::default()),
                closed: AtomicBool::new(false),
            }),
        })
    }
}
