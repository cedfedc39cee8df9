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
