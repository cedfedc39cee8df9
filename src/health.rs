//! Health of every used port (every port unless the configuration was resolved for a set of used ports,
//! [`Config::uses`]): what `avb health` prints, and the body a service's `/health` serves.
//!
//! Two entry points, one report:
//! - [`Ports::health`](crate::Ports::health) asks the instances a service holds — what a `/health` route
//!   probed every few seconds serves (nothing is rebuilt).
//! - [`check`] builds each implemented port from a [`Config`] and asks it: what the one-shot `avb health`
//!   command runs. A port that cannot even be built (a backend not compiled in, not implemented yet, or a
//!   server refusing at construction) is reported down with that error.
//!
//! Each component is asked with a time limit ([`COMPONENT_TIMEOUT`]), so one unreachable server cannot hang
//! the report; every reason has the configuration's secrets scrubbed ([`Config::scrub`]). Overall:
//! `healthy` when every component is up, `unhealthy` when none is, else `degraded`.

use crate::config::{Config, PortConfig};
use avb_core::{Health, Status};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// How long one component's health check may take before it counts as down.
pub const COMPONENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Overall status, as DESIGN §4's `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    /// Every component is up.
    Healthy,
    /// Some components are down.
    Degraded,
    /// No component is up.
    Unhealthy,
}

impl Overall {
    /// `healthy`, `degraded` or `unhealthy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Healthy => "healthy",
            Overall::Degraded => "degraded",
            Overall::Unhealthy => "unhealthy",
        }
    }
}

/// The health report: overall status, mode, environment and one entry per port.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Overall status.
    pub status: Overall,
    /// `sandbox` or `live`.
    pub mode: String,
    /// `development`, `staging` or `production`.
    pub environment: String,
    /// Each used port's health, by port name (`event_bus`, `auth`, `object_store`, `catalog`, `llm`); an
    /// unused port is absent and never affects `status`.
    pub components: BTreeMap<&'static str, Health>,
}

impl Report {
    /// Whether every component is up.
    pub fn is_healthy(&self) -> bool {
        self.status == Overall::Healthy
    }
}

/// A component's health, asked with [`COMPONENT_TIMEOUT`].
pub(crate) async fn probe(backend: &'static str, health: impl Future<Output = Health>) -> Health {
    match tokio::time::timeout(COMPONENT_TIMEOUT, health).await {
        Ok(h) => h,
        Err(_) => Health::down(
            backend,
            format!("no answer within {} s", COMPONENT_TIMEOUT.as_secs()),
        ),
    }
}

/// `None` (nothing built) when `skip`: the port is not used.
async fn component<T, E, B, H, F>(
    skip: bool,
    backend: &'static str,
    build: B,
    health: H,
) -> Option<Health>
where
    E: std::fmt::Display,
    B: Future<Output = Result<T, E>>,
    H: FnOnce(T) -> F,
    F: Future<Output = Health>,
{
    if skip {
        return None;
    }
    let work = async {
        match build.await {
            Ok(port) => health(port).await,
            Err(e) => Health::down(backend, e.to_string()),
        }
    };
    Some(probe(backend, work).await)
}

/// The report over the `components` given (the ports used), reasons scrubbed of `config`'s secrets.
pub(crate) fn report(
    config: &Config,
    components: impl IntoIterator<Item = (crate::Port, Health)>,
) -> Report {
    // A backend's reason is a client library's text, which may quote a URL or key it was given: the
    // configuration's own secrets are scrubbed from it before it is reported.
    let components = components
        .into_iter()
        .map(|(port, mut health)| {
            health.reason = health.reason.map(|r| config.scrub(&r));
            (port.name(), health)
        })
        .collect::<BTreeMap<_, _>>();
    let up = components
        .values()
        .filter(|h| h.status == Status::Up)
        .count();
    let status = match up {
        n if n == components.len() => Overall::Healthy,
        0 => Overall::Unhealthy,
        _ => Overall::Degraded,
    };
    Report {
        status,
        mode: config.mode.to_string(),
        environment: config.environment.to_string(),
        components,
    }
}

/// Builds every used port from `config` and collects its health. For a one-shot check; a running service asks the ports it holds
/// ([`Ports::health`](crate::Ports::health)).
pub async fn check(config: &Config) -> Report {
    use crate::Port;
    let uses = config.uses;
    let skip = |port: Port| !uses.contains(port);
    let (event_bus, auth, object_store, catalog, llm) = tokio::join!(
        component(
            skip(Port::EventBus),
            config.event_bus.backend.kind().as_str(),
            avb_event_bus::open(&config.event_bus.backend),
            |bus| async move { bus.health().await },
        ),
        component(
            skip(Port::Auth),
            config.auth.backend.kind().as_str(),
            avb_auth::open(&config.auth.backend),
            |auth| async move { auth.health().await },
        ),
        component(
            skip(Port::ObjectStore),
            config.object_store.backend.kind().as_str(),
            avb_object_store::open(&config.object_store.backend),
            |store| async move { store.health().await },
        ),
        component(
            skip(Port::Catalog),
            config.catalog.backend.kind().as_str(),
            avb_catalog::open(&config.catalog.backend),
            |catalog| async move { catalog.health().await },
        ),
        component(
            skip(Port::Llm),
            config.llm.backend.kind().as_str(),
            async { avb_llm::open(&config.llm.backend) },
            |llm| async move { llm.health().await },
        ),
    );
    let all = [
        (Port::EventBus, event_bus),
        (Port::Auth, auth),
        (Port::ObjectStore, object_store),
        (Port::Catalog, catalog),
        (Port::Llm, llm),
    ];
    report(config, all.into_iter().filter_map(|(p, h)| Some((p, h?))))
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = serde_json::to_value(self.status).unwrap_or_default();
        writeln!(
            f,
            "avb health: {} ({} mode, {})",
            status.as_str().unwrap_or("?"),
            self.mode,
            self.environment
        )?;
        for (name, h) in &self.components {
            let state = if h.is_up() { "up" } else { "DOWN" };
            write!(f, "  {name:<13} {:<9} {state}", h.backend)?;
            if let Some(reason) = &h.reason {
                write!(f, ": {reason}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sandbox_default_is_healthy() {
        let config = Config::from_iter(Vec::<(String, String)>::new()).unwrap();
        let report = check(&config).await;
        assert_eq!(report.status, Overall::Healthy, "{report}");
        assert_eq!(report.components.len(), 5);
        assert_eq!(report.components["llm"].backend, "mock");
        assert_eq!(report.components["catalog"].backend, "json");
        assert_eq!(report.components["event_bus"].backend, "memory");
    }

    #[tokio::test]
    /// A backend that cannot be built or reached (nothing listens on port 9) is down with the reason.
    async fn an_unreachable_backend_is_down_with_the_reason() {
        let config = Config::from_iter([
            ("EVENT_BUS", "pulsar"),
            ("PULSAR_URL", "pulsar://127.0.0.1:9"),
        ])
        .unwrap();
        let report = check(&config).await;
        assert_eq!(report.status, Overall::Degraded, "{report}");
        let bus = &report.components["event_bus"];
        assert_eq!((bus.backend, bus.status), ("pulsar", Status::Down));
        assert!(
            bus.reason.as_deref().unwrap_or_default().contains("pulsar"),
            "{report}"
        );
    }
}
