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
//! The platform's ports record into [`Platform::metrics`] ([`Ports::instrumented`]).

use crate::config::{Config, ConfigError, Environment, Mode};
use crate::health::Report;
use crate::metrics::Metrics;
use crate::{OpenError, Ports};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

type Resolve = dyn Fn(Option<Mode>) -> Result<Config, ConfigError> + Send + Sync;

/// The ports of a service and how to resolve them again (see the module docs).
pub struct Platform {
    current: RwLock<Arc<Ports>>,
    metrics: Arc<Metrics>,
    resolve: Box<Resolve>,
    switching: tokio::sync::Mutex<()>,
    changes: tokio::sync::watch::Sender<u64>,
}

/// Why the platform could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlatformError {
    /// The configuration is invalid (every problem listed).
    Config(ConfigError),
    /// A port could not be built.
    Open(OpenError),
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformError::Config(e) => write!(f, "{e}"),
            PlatformError::Open(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PlatformError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlatformError::Config(e) => std::error::Error::source(e),
            PlatformError::Open(e) => std::error::Error::source(e),
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
        }
    }
}

impl std::error::Error for SwitchError {}

impl Platform {
    /// Resolves the configuration from the process environment ([`crate::from_env`]) and builds every port.
    pub async fn from_env() -> Result<Self, PlatformError> {
        Self::with_resolver(Box::new(crate::env::from_env_in_mode)).await
    }

    /// Resolves the configuration from `pairs` (as [`Config::from_iter`] does) and builds every port; a
    /// switch re-resolves the same pairs with `AVB_DEV_MODE` set.
    pub async fn from_pairs<I, K, V>(pairs: I) -> Result<Self, PlatformError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::with_resolver(Box::new(move |mode: Option<Mode>| {
            let mut builder = crate::config::ConfigBuilder::new().from_iter(pairs.clone());
            if let Some(mode) = mode {
                builder = builder.with_config("AVB_DEV_MODE", mode.as_str());
            }
            builder.build()
        }))
        .await
    }

    async fn with_resolver(resolve: Box<Resolve>) -> Result<Self, PlatformError> {
        let config = resolve(None).map_err(PlatformError::Config)?;
        let metrics = Arc::new(Metrics::new());
        let ports = Ports::open(config)
            .await
            .map_err(PlatformError::Open)?
            .instrumented(&metrics);
        Ok(Self {
            current: RwLock::new(Arc::new(ports)),
            metrics,
            resolve,
            switching: tokio::sync::Mutex::new(()),
            changes: tokio::sync::watch::channel(0).0,
        })
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

    /// The health of the current ports (see [`Ports::health`]).
    pub async fn health(&self) -> Report {
        self.ports().health().await
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
        let current = self.ports();
        let environment = current.config().environment;
        if environment != Environment::Development {
            return Err(SwitchError::NotDevelopment { environment });
        }
        if current.config().mode == mode {
            return Ok(current);
        }
        let config = (self.resolve)(Some(mode)).map_err(SwitchError::Config)?;
        let ports = Arc::new(
            Ports::open(config)
                .await
                .map_err(SwitchError::Open)?
                .instrumented(&self.metrics),
        );
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = ports.clone();
        self.changes.send_modify(|n| *n += 1);
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
