//! [`PlatformBuilder`]: the ports a service uses, the capabilities it requires, where the configuration
//! comes from.

use super::{Origin, Platform, PlatformError};
use crate::layers::defaults::PortLayers;
use crate::metrics::Metrics;
use crate::{Port, PortSet, Ports};
use std::sync::{Arc, RwLock};

/// Builds a [`Platform`] (from [`Platform::builder`]).
///
/// - [`uses`](Self::uses): the ports the service uses (default: every port). Only these are resolved and
///   opened: live mode does not demand settings for the others, and an unused port is absent
///   ([`Ports::try_event_bus`] and its siblings answer [`crate::Unused`]; `/health` and readiness leave it
///   out).
/// - [`requires`](Self::requires): a capability the service relies on, by its field name in the port's
///   `Capabilities` (`persistent`, `ordering_per_key`, … — [`crate::ports::capability_names`]). `build`
///   fails naming port, capability and backend when the resolved backend lacks it.
/// - [`layers`](Self::layers): a port's retry/breaker/timeout (default
///   [`PortLayers::default_for`], the table in `docs/layers.md`); [`without_default_layers`](Self::without_default_layers)
///   opts out on every port.
/// - [`from_env`](Self::from_env) (the default) or [`from_pairs`](Self::from_pairs).
///
/// `build` logs the startup summary once (`tracing` `info`, target `avb::platform`; secrets redacted as
/// in the configuration's `Display`) and a `warn` for each set variable that the resolved backends do not
/// read (a variable of an unused port, or one the chosen backend ignores, e.g. `REDIS_URL` with
/// `EVENT_BUS=memory`). Variables set only in a `.env.*` file are not checked.
#[derive(Debug, Clone)]
pub struct PlatformBuilder {
    uses: PortSet,
    requires: Vec<(Port, String)>,
    origin: Origin,
    layers: Layering,
}

/// Each port's resilience layers, by [`Port`] index.
pub(super) type Layering = [PortLayers; 5];

/// `layers`' entry for `port`.
pub(super) fn for_port(layers: &Layering, port: Port) -> PortLayers {
    layers[port as usize]
}

impl PlatformBuilder {
    pub(super) fn new() -> Self {
        Self {
            uses: PortSet::ALL,
            requires: Vec::new(),
            origin: Origin::Env,
            layers: Port::ALL.map(PortLayers::default_for),
        }
    }

    /// `port`'s resilience layers (replacing [`PortLayers::default_for`]).
    pub fn layers(mut self, port: Port, layers: PortLayers) -> Self {
        self.layers[port as usize] = layers;
        self
    }

    /// No retry, breaker or timeout on any port (the metered layer remains): the opt-out.
    pub fn without_default_layers(mut self) -> Self {
        self.layers = [PortLayers::NONE; 5];
        self
    }

    /// The ports the service uses (replaces the default, every port).
    pub fn uses(mut self, ports: &[Port]) -> Self {
        self.uses = PortSet::of(ports);
        self
    }

    /// Requires capability `name` of `port` (its field name in the port's `Capabilities`).
    pub fn requires(mut self, port: Port, name: impl Into<String>) -> Self {
        self.requires.push((port, name.into()));
        self
    }

    /// Resolves from the process environment (the default).
    pub fn from_env(mut self) -> Self {
        self.origin = Origin::Env;
        self
    }

    /// Resolves from `pairs` (as [`crate::config::Config::from_iter`] does); a mode switch re-resolves
    /// the same pairs.
    pub fn from_pairs<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.origin = Origin::Pairs(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Resolves the used ports, opens them, checks the required capabilities, logs the summary.
    pub async fn build(self) -> Result<Platform, PlatformError> {
        // A mistake in the requirements is found before anything is opened.
        for (port, name) in &self.requires {
            if !self.uses.contains(*port) {
                return Err(PlatformError::RequiresUnused {
                    port: *port,
                    capability: name.clone(),
                });
            }
            if !crate::ports::capability_names(*port).contains(&name.as_str()) {
                return Err(PlatformError::UnknownCapability {
                    port: *port,
                    name: name.clone(),
                });
            }
        }
        let config = self
            .origin
            .resolve(None, self.uses, &[])
            .map_err(PlatformError::Config)?;
        let ports = Ports::open(config.clone())
            .await
            .map_err(PlatformError::Open)?;
        for (port, name) in &self.requires {
            if ports.has_capability(*port, name) == Some(false) {
                let backend = ports.backend(*port).unwrap_or("unused");
                let capability = crate::ports::capability_names(*port)
                    .iter()
                    .copied()
                    .find(|n| n == name)
                    .unwrap_or("?");
                // Nothing else holds the ports: the bus is closed before the refusal (no work was handed out).
                let _ = ports.close().await;
                return Err(PlatformError::Lacks {
                    port: *port,
                    capability,
                    backend,
                });
            }
        }
        tracing::info!(target: "avb::platform", uses = %self.uses, "avb: starting\n{config}");
        for unread in super::unread::unread(&self.origin, self.uses, &config) {
            tracing::warn!(target: "avb::platform", variable = %unread.key, "avb: {unread}");
        }
        let metrics = Arc::new(Metrics::new());
        let layers = self.layers;
        let ports = ports.layered(&metrics, |p| for_port(&layers, p));
        Ok(Platform {
            current: RwLock::new(Arc::new(ports)),
            metrics,
            origin: self.origin,
            uses: self.uses,
            layers: self.layers,
            switching: tokio::sync::Mutex::new(()),
            changes: tokio::sync::watch::channel(0).0,
            drain: super::drain::Drain::new(),
        })
    }
}
