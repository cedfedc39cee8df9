//! [`MemoryBusBuilder`]: settings in, a validated [`MemoryBus`] out.

use super::{FastMap, MemoryBus, Shared};
use crate::{Result, Settings};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Builds a [`MemoryBus`]: typed `with_*` setters, then `build()` validates.
#[derive(Debug, Default)]
pub struct MemoryBusBuilder {
    settings: Settings,
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
    /// Largest accepted [`crate::Message::size`].
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_message_bytes = bytes;
        self
    }
    /// Validates the settings and builds the bus.
    pub fn build(self) -> Result<MemoryBus> {
        let settings = self.settings;
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
