//! [`Platform`]: the ports a service uses, resolved once from the configuration, with the development-only
//! mode switch of the dev-mode API (`POST /api/v2/system/dev-mode`, feature `http`).
//!
//! A switch resolves the configuration again with `AVB_DEV_MODE` set to the new mode and builds the new
//! ports **first**: an invalid configuration for the new mode (a live backend whose settings are missing, a
//! server that refuses) is refused with its problems and nothing changes. Only then is the new set swapped
//! in, atomically: [`Platform::ports`] hands out an `Arc` snapshot, so a request that took the old ports
//! finishes on them while the next one gets the new ones. Switches are allowed in the `development`
//! environment only ([`SwitchError::NotDevelopment`] elsewhere) and are serialised.
//!
//! The platform's ports record into [`Platform::metrics`] and run behind the default resilience layers
//! ([`Ports::layered`], [`crate::layers::defaults`]).
//!
//! [`Platform::builder`] names the ports a service uses and the capabilities it requires (see
//! [`PlatformBuilder`]); `from_env`/`from_pairs` use every port. [`Platform::shutdown`] drains (see
//! [`drain`](self#drain)).
//!
//! # Drain
//! Work is counted: [`Platform::begin`] hands out a [`Work`] (the ports snapshot plus a guard) and refuses
//! once [`Platform::shutdown`] has started. `shutdown(deadline)` stops handing out work, waits for the
//! work in flight, then closes the ports (the EventBus drains: new publishes and subscriptions refuse,
//! deliveries handed out are waited for and their acks flushed) and reports what was still in flight when
//! the deadline passed.

mod builder;
mod drain;
mod unread;

pub use builder::PlatformBuilder;
pub use drain::{ShutdownReport, ShuttingDown, Work, parse_duration};

use crate::config::{Config, ConfigError, Environment, Mode};
use crate::health::Report;
use crate::metrics::Metrics;
use crate::{OpenError, PortSet, Ports};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// Where the configuration comes from, and how to resolve it again (a mode switch) or with one variable
/// changed (the unread-variable probe).
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// The process environment ([`crate::from_env`]).
    Env,
    /// Given pairs.
    Pairs(Vec<(String, String)>),
}

impl Origin {
    /// The configuration for `uses`, in `mode` when given, with `extra` pairs over the others.
    pub(crate) fn resolve(
        &self,
        mode: Option<Mode>,
        uses: PortSet,
        extra: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let tweak = |b: crate::config::ConfigBuilder| b.uses(uses).from_iter(extra.to_vec());
        match self {
            Origin::Env => crate::env::from_env_in_mode(mode, tweak),
            Origin::Pairs(pairs) => {
                let mut builder = crate::config::ConfigBuilder::new().from_iter(pairs.clone());
                if let Some(mode) = mode {
                    builder = builder.with_config("AVB_DEV_MODE", mode.as_str());
                }
                tweak(builder).build()
            }
        }
    }

    /// The names of the variables set.
    pub(crate) fn keys(&self) -> Vec<String> {
        match self {
            Origin::Env => crate::env::process_keys(),
            Origin::Pairs(pairs) => pairs.iter().map(|(k, _)| k.clone()).collect(),
        }
    }
}

/// The ports of a service and how to resolve them again (see the module docs).
pub struct Platform {
    current: RwLock<Arc<Ports>>,
    metrics: Arc<Metrics>,
    origin: Origin,
    uses: PortSet,
    layers: builder::Layering,
    switching: tokio::sync::Mutex<()>,
    changes: tokio::sync::watch::Sender<u64>,
    drain: drain::Drain,
}

/// Why the platform could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlatformError {
    /// The configuration is invalid (every problem listed).
    Config(ConfigError),
    /// A port could not be built.
    Open(OpenError),
    /// The resolved backend of a port lacks a capability the service requires.
    Lacks {
        /// The port.
        port: crate::Port,
        /// The capability (its field name in the port's `Capabilities`).
        capability: &'static str,
        /// The backend resolved for the port.
        backend: &'static str,
    },
    /// A required capability is not one the port declares (a mistake in the service's code).
    UnknownCapability {
        /// The port.
        port: crate::Port,
        /// The name given.
        name: String,
    },
    /// A capability was required of a port the service does not use.
    RequiresUnused {
        /// The port.
        port: crate::Port,
        /// The capability.
        capability: String,
    },
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformError::Config(e) => write!(f, "{e}"),
            PlatformError::Open(e) => write!(f, "{e}"),
            PlatformError::Lacks {
                port,
                capability,
                backend,
            } => write!(
                f,
                "the service requires {port} capability `{capability}`, which the {backend} backend ({}={backend}) lacks: \
                 choose a backend that provides it (`avb check --parity` lists what each backend lacks)",
                port.variable()
            ),
            PlatformError::UnknownCapability { port, name } => write!(
                f,
                "{name:?} is not a capability of the {port} port; expected one of {}",
                crate::ports::capability_names(*port).join(", ")
            ),
            PlatformError::RequiresUnused { port, capability } => write!(
                f,
                "capability `{capability}` is required of the {port} port, which the service does not use: \
                 add Port::{port:?} to uses(..)"
            ),
        }
    }
}

impl std::error::Error for PlatformError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlatformError::Config(e) => std::error::Error::source(e),
            PlatformError::Open(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

/// Why a mode switch was refused; the running ports are unchanged in every case.
#[derive(Debug)]
#[non_exhaustive]
pub enum SwitchError {
    /// Switching is for development only.
    NotDevelopment {
        /// The environment the service runs in.
        environment: Environment,
    },
    /// The configuration does not resolve in the new mode (every problem listed).
    Config(ConfigError),
    /// A port of the new mode could not be built.
    Open(OpenError),
    /// The platform is shutting down.
    ShuttingDown,
}

impl fmt::Display for SwitchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchError::NotDevelopment { environment } => write!(
                f,
                "the mode can be switched in the development environment only (this is {environment})"
            ),
            SwitchError::Config(e) => write!(f, "the new mode's configuration is invalid: {e}"),
            SwitchError::Open(e) => write!(f, "the new mode's ports could not be built: {e}"),
            SwitchError::ShuttingDown => write!(f, "{ShuttingDown}"),
        }
    }
}

impl std::error::Error for SwitchError {}

impl Platform {
    /// A builder: the ports the service uses and the capabilities it requires (see [`PlatformBuilder`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use avb::{Platform, Port};
    /// let platform = Platform::builder()
    ///     .uses(&[Port::EventBus, Port::ObjectStore])
    ///     .requires(Port::ObjectStore, "conditional_create")
    ///     .from_pairs([("OBJECT_STORE", "memory")])
    ///     .build()
    ///     .await?;
    /// assert!(platform.ports().try_llm().is_err());
    /// assert_eq!(platform.health().await.components.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder::new()
    }

    /// Resolves the configuration from the process environment ([`crate::from_env`]) and builds every port.
    pub async fn from_env() -> Result<Self, PlatformError> {
        Self::builder().build().await
    }

    /// Resolves the configuration from `pairs` (as [`Config::from_iter`] does) and builds every port; a
    /// switch re-resolves the same pairs with `AVB_DEV_MODE` set.
    pub async fn from_pairs<I, K, V>(pairs: I) -> Result<Self, PlatformError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::builder().from_pairs(pairs).build().await
    }

    /// The ports the service uses.
    pub fn uses(&self) -> PortSet {
        self.uses
    }

    /// The ports now: a snapshot that stays valid (and keeps working) across a mode switch.
    pub fn ports(&self) -> Arc<Ports> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The metrics the platform's ports record (see [`crate::metrics`]); kept across mode switches.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The health of the current ports (see [`Ports::health`]): the used ports only.
    pub async fn health(&self) -> Report {
        self.ports().health().await
    }

    /// Readiness: true only while every used port is healthy and the platform is not shutting down
    /// (what `GET /ready` answers); with the health report.
    pub async fn ready(&self) -> (bool, Report) {
        let report = self.health().await;
        (report.is_healthy() && !self.is_shutting_down(), report)
    }

    /// Whether [`Platform::switch_mode`] is allowed here (the `development` environment).
    pub fn can_switch(&self) -> bool {
        self.ports().config().environment == Environment::Development
    }

    /// Counts switches: a receiver sees the count change on every switch (for pushing updates, e.g. the
    /// dev console's server-sent events).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Switches to `mode` (see the module docs): the new ports are built first; on any error nothing
    /// changes. Switching to the mode already running rebuilds nothing and answers the current ports.
    pub async fn switch_mode(&self, mode: Mode) -> Result<Arc<Ports>, SwitchError> {
        let _one_at_a_time = self.switching.lock().await;
        if self.is_shutting_down() {
            return Err(SwitchError::ShuttingDown);
        }
        let current = self.ports();
        let environment = current.config().environment;
        if environment != Environment::Development {
            return Err(SwitchError::NotDevelopment { environment });
        }
        if current.config().mode == mode {
            return Ok(current);
        }
        let config = self
            .origin
            .resolve(Some(mode), self.uses, &[])
            .map_err(SwitchError::Config)?;
        let ports = Arc::new(
            Ports::open(config)
                .await
                .map_err(SwitchError::Open)?
                .layered(&self.metrics, |p| builder::for_port(&self.layers, p)),
        );
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = ports.clone();
        self.changes.send_modify(|n| *n += 1);
        tracing::info!(target: "avb::platform", mode = %mode, "avb: switched mode\n{}", ports.config());
        Ok(ports)
    }
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Platform")
            .field("ports", &self.ports())
            .finish_non_exhaustive()
    }
}
