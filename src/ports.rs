//! [`Ports`]: every implemented port, built once from the resolved [`Config`].
//!
//! Each port crate turns its own configuration into a backend (`avb_event_bus::open`, `avb_auth::open`,
//! `avb_object_store::open`, `avb_catalog::open`, `avb_llm::open`) with one exhaustive `match`; a backend left out of this build by its cargo
//! feature is that port's `NotCompiled` error, naming the feature. `Ports` holds the instances, so a
//! `/health` endpoint probed every few seconds asks the live backends ([`Ports::health`]) instead of
//! building new ones.
//!
//! Only the ports of [`Config::uses`] are opened (every port unless the configuration was resolved for a
//! [`crate::Platform::builder`] that named the ports it uses). An unused port is absent: `try_event_bus()`
//! and its siblings answer [`Unused`]; `event_bus()` and its siblings panic naming the port and the fix
//! (asking for a port the service said it does not use is a bug in the service, like an index out of
//! bounds); [`Ports::health`] reports the used ports only.

use crate::config::Config;
use crate::health::Report;
use avb_auth::Authenticator;
use avb_catalog::Catalog;
use avb_event_bus::EventBus;
use avb_llm::LlmClient;
use avb_object_store::ObjectStore;
use std::fmt;
use std::sync::Arc;

mod capabilities;
mod port;
pub use capabilities::{Capability, capability_names};
pub use port::{Port, PortSet, Unused};

/// The ports a service uses, built once. Cheap to clone (every port is an `Arc`).
#[derive(Clone)]
pub struct Ports {
    config: Arc<Config>,
    event_bus: Option<Arc<dyn EventBus>>,
    auth: Option<Arc<dyn Authenticator>>,
    object_store: Option<Arc<dyn ObjectStore>>,
    catalog: Option<Arc<dyn Catalog>>,
    llm: Option<Arc<dyn LlmClient>>,
    /// The EventBus without layers, for `close` (set once layers wrap `event_bus`).
    closable_bus: Option<Arc<dyn EventBus>>,
}

/// `Some(open)` when `port` is used, else `None` (nothing is built).
async fn used<T, F: std::future::Future<Output = T>>(
    uses: PortSet,
    port: Port,
    open: F,
) -> Option<T> {
    if uses.contains(port) {
        Some(open.await)
    } else {
        None
    }
}

fn present<T: ?Sized>(slot: &Option<Arc<T>>, port: Port) -> Result<&Arc<T>, Unused> {
    slot.as_ref().ok_or(Unused(port))
}

#[track_caller]
fn expect_used<T: ?Sized>(slot: &Option<Arc<T>>, port: Port) -> &Arc<T> {
    match slot {
        Some(p) => p,
        None => panic!("{}", Unused(port)),
    }
}

/// A port that could not be built, and why.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// The EventBus (`EVENT_BUS`).
    EventBus(avb_event_bus::Error),
    /// Auth (`AUTH_MODE`); for Keycloak an unreachable issuer is retryable.
    Auth(avb_auth::Error),
    /// The ObjectStore (`OBJECT_STORE`).
    ObjectStore(avb_object_store::Error),
    /// The Catalog (`DATA_CATALOG`): a malformed catalog file fails here, naming the file and JSON path.
    Catalog(avb_catalog::Error),
    /// The LLM client (`LLM_PROVIDER`): a backend not compiled in fails here, naming its feature.
    Llm(avb_llm::Error),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::EventBus(e) => write!(f, "event bus: {e}"),
            OpenError::Auth(e) => write!(f, "auth: {e}"),
            OpenError::ObjectStore(e) => write!(f, "object store: {e}"),
            OpenError::Catalog(e) => write!(f, "catalog: {e}"),
            OpenError::Llm(e) => write!(f, "llm: {e}"),
        }
    }
}

// The message already carries the port's error, so the chain continues with *its* cause (a cause listed
// twice would print the same line twice under `avb::MainError`).
impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::EventBus(e) => std::error::Error::source(e),
            OpenError::Auth(e) => std::error::Error::source(e),
            OpenError::ObjectStore(e) => std::error::Error::source(e),
            OpenError::Catalog(e) => std::error::Error::source(e),
            OpenError::Llm(e) => std::error::Error::source(e),
        }
    }
}

impl Ports {
    /// Builds every implemented port of `config`, concurrently. Call it inside a Tokio runtime. Fails with
    /// the first port that cannot be built (a service should not start half-wired); for Keycloak an
    /// unreachable issuer fails here, not at the first request.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = avb::config::Config::from_iter([("OBJECT_STORE", "memory")])?;
    /// let ports = avb::Ports::open(config).await?;
    /// assert_eq!(ports.object_store().backend(), "memory");
    /// assert!(ports.health().await.is_healthy());
    /// # Ok(()) }
    /// ```
    pub async fn open(config: Config) -> Result<Ports, OpenError> {
        let uses = config.uses;
        let (event_bus, auth, object_store, catalog) = tokio::join!(
            used(
                uses,
                Port::EventBus,
                avb_event_bus::open(&config.event_bus.backend)
            ),
            used(uses, Port::Auth, avb_auth::open(&config.auth.backend)),
            used(
                uses,
                Port::ObjectStore,
                avb_object_store::open(&config.object_store.backend)
            ),
            used(
                uses,
                Port::Catalog,
                avb_catalog::open(&config.catalog.backend)
            ),
        );
        let llm = uses
            .contains(Port::Llm)
            .then(|| avb_llm::open(&config.llm.backend));
        Ok(Ports {
            event_bus: event_bus.transpose().map_err(OpenError::EventBus)?,
            auth: auth.transpose().map_err(OpenError::Auth)?,
            object_store: object_store.transpose().map_err(OpenError::ObjectStore)?,
            catalog: catalog.transpose().map_err(OpenError::Catalog)?,
            llm: llm.transpose().map_err(OpenError::Llm)?,
            closable_bus: None,
            config: Arc::new(config),
        })
    }

    /// The configuration the ports were built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The ports held (the configuration's [`Config::uses`]).
    pub fn uses(&self) -> PortSet {
        self.config.uses
    }

    /// The EventBus.
    ///
    /// # Panics
    /// When the service did not name it among the ports it uses ([`Ports::try_event_bus`] answers
    /// [`Unused`] instead).
    #[track_caller]
    pub fn event_bus(&self) -> &Arc<dyn EventBus> {
        expect_used(&self.event_bus, Port::EventBus)
    }

    /// The EventBus, or [`Unused`] when the service does not use it.
    pub fn try_event_bus(&self) -> Result<&Arc<dyn EventBus>, Unused> {
        present(&self.event_bus, Port::EventBus)
    }

    /// The Auth port.
    ///
    /// # Panics
    /// When unused ([`Ports::try_auth`] answers [`Unused`] instead).
    #[track_caller]
    pub fn auth(&self) -> &Arc<dyn Authenticator> {
        expect_used(&self.auth, Port::Auth)
    }

    /// The Auth port, or [`Unused`].
    pub fn try_auth(&self) -> Result<&Arc<dyn Authenticator>, Unused> {
        present(&self.auth, Port::Auth)
    }

    /// The ObjectStore.
    ///
    /// # Panics
    /// When unused ([`Ports::try_object_store`] answers [`Unused`] instead).
    #[track_caller]
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        expect_used(&self.object_store, Port::ObjectStore)
    }

    /// The ObjectStore, or [`Unused`].
    pub fn try_object_store(&self) -> Result<&Arc<dyn ObjectStore>, Unused> {
        present(&self.object_store, Port::ObjectStore)
    }

    /// The Catalog.
    ///
    /// # Panics
    /// When unused ([`Ports::try_catalog`] answers [`Unused`] instead).
    #[track_caller]
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        expect_used(&self.catalog, Port::Catalog)
    }

    /// The Catalog, or [`Unused`].
    pub fn try_catalog(&self) -> Result<&Arc<dyn Catalog>, Unused> {
        present(&self.catalog, Port::Catalog)
    }

    /// The LLM client.
    ///
    /// # Panics
    /// When unused ([`Ports::try_llm`] answers [`Unused`] instead).
    #[track_caller]
    pub fn llm(&self) -> &Arc<dyn LlmClient> {
        expect_used(&self.llm, Port::Llm)
    }

    /// The LLM client, or [`Unused`].
    pub fn try_llm(&self) -> Result<&Arc<dyn LlmClient>, Unused> {
        present(&self.llm, Port::Llm)
    }

    /// The backend name of `port` (`memory`, `redis`, …), or `None` when unused.
    pub fn backend(&self, port: Port) -> Option<&'static str> {
        match port {
            Port::EventBus => self.event_bus.as_ref().map(|p| p.backend()),
            Port::Auth => self.auth.as_ref().map(|p| p.backend()),
            Port::ObjectStore => self.object_store.as_ref().map(|p| p.backend()),
            Port::Catalog => self.catalog.as_ref().map(|p| p.backend()),
            Port::Llm => self.llm.as_ref().map(|p| p.backend()),
        }
    }

    /// The configuration summary line of `port`'s backend (secrets redacted), or `None` when unused.
    pub fn summary(&self, port: Port) -> Option<String> {
        let c = &self.config;
        self.uses().contains(port).then(|| match port {
            Port::EventBus => c.event_bus.backend.to_string(),
            Port::Auth => c.auth.backend.to_string(),
            Port::ObjectStore => c.object_store.backend.to_string(),
            Port::Catalog => c.catalog.backend.to_string(),
            Port::Llm => c.llm.backend.to_string(),
        })
    }

    /// The same ports, each behind the metered layer only, recording into `metrics` (see
    /// [`crate::metrics`]).
    pub fn instrumented(self, metrics: &Arc<crate::metrics::Metrics>) -> Self {
        self.layered(metrics, |_| crate::layers::defaults::PortLayers::NONE)
    }

    /// The same ports, each behind metered → retry → breaker → timeout as `layers(port)` sets them (what
    /// [`crate::Platform`] builds: [`PortLayers::default_for`](crate::layers::defaults::PortLayers::default_for)
    /// unless the builder says otherwise), recording into `metrics`. The EventBus's `close` (the drain)
    /// is called on the bus itself, bounded by the shutdown deadline rather than a per-call timeout.
    pub fn layered(
        mut self,
        metrics: &Arc<crate::metrics::Metrics>,
        layers: impl Fn(Port) -> crate::layers::defaults::PortLayers,
    ) -> Self {
        use crate::layers::{Direct, Layer, metered::MeteredLayer};
        let stack = |port: Port, backend: &'static str| {
            MeteredLayer::new(metrics.clone(), port.name(), backend).layer(
                layers(port)
                    .stack(Direct)
                    .count_retries(metrics.retry_counter(port.name(), backend)),
            )
        };
        if let Some(bus) = self.event_bus.take() {
            self.closable_bus.get_or_insert_with(|| bus.clone());
            let s = stack(Port::EventBus, bus.backend());
            let mut bus =
                crate::instrument::InstrumentedBus::new(bus, s).with_metrics(metrics.clone());
            if let Some(d) = self.config.event_bus.backend.clone().delivery_mut() {
                bus = bus.with_max_attempts(d.max_attempts);
            }
            self.event_bus = Some(Arc::new(bus));
        }
        if let Some(auth) = self.auth.take() {
            let s = stack(Port::Auth, auth.backend());
            self.auth = Some(Arc::new(crate::instrument::InstrumentedAuth::new(auth, s)));
        }
        if let Some(store) = self.object_store.take() {
            let s = stack(Port::ObjectStore, store.backend());
            self.object_store = Some(Arc::new(crate::instrument::InstrumentedStore::new(
                store, s,
            )));
        }
        if let Some(catalog) = self.catalog.take() {
            let s = stack(Port::Catalog, catalog.backend());
            self.catalog = Some(Arc::new(crate::instrument::InstrumentedCatalog::new(
                catalog, s,
            )));
        }
        if let Some(llm) = self.llm.take() {
            let s = stack(Port::Llm, llm.backend());
            self.llm = Some(Arc::new(
                crate::instrument::InstrumentedLlm::new(llm, s).with_metrics(metrics.clone()),
            ));
        }
        self
    }

    /// The health of the ports held (see [`crate::health`]): each asked with a time limit, concurrently,
    /// reasons scrubbed of the configuration's secrets.
    pub async fn health(&self) -> Report {
        use crate::health::probe;
        let (event_bus, auth, object_store, catalog, llm) = tokio::join!(
            opt(&self.event_bus, |p| probe(p.backend(), p.health())),
            opt(&self.auth, |p| probe(p.backend(), p.health())),
            opt(&self.object_store, |p| probe(p.backend(), p.health())),
            opt(&self.catalog, |p| probe(p.backend(), p.health())),
            opt(&self.llm, |p| probe(p.backend(), p.health())),
        );
        let components = [
            (Port::EventBus, event_bus),
            (Port::Auth, auth),
            (Port::ObjectStore, object_store),
            (Port::Catalog, catalog),
            (Port::Llm, llm),
        ]
        .into_iter()
        .filter_map(|(port, h)| Some((port, h?)));
        crate::health::report(&self.config, components)
    }

    /// Closes the ports that hold work: the EventBus drains (`EventBus::close`: new publishes and
    /// subscriptions refuse with `Closed`, deliveries handed out are waited for and their acks flushed).
    /// Auth, the ObjectStore, the Catalog and the LLM client have no `close` (nothing to flush: their
    /// clients close their connections when dropped). The ports whose close failed, with the error text
    /// (scrubbed of the configuration's secrets).
    pub async fn close(&self) -> Vec<(Port, String)> {
        let mut failed = Vec::new();
        if let Some(bus) = self.closable_bus.as_ref().or(self.event_bus.as_ref())
            && let Err(e) = bus.close().await
        {
            failed.push((Port::EventBus, self.config.scrub(&e.to_string())));
        }
        failed
    }
}

/// `f(port)` when the port is held.
async fn opt<'a, T: ?Sized, F, Fut, R>(slot: &'a Option<Arc<T>>, f: F) -> Option<R>
where
    F: FnOnce(&'a Arc<T>) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    match slot {
        Some(p) => Some(f(p).await),
        None => None,
    }
}

impl fmt::Debug for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ports")
            .field("event_bus", &self.backend(Port::EventBus))
            .field("auth", &self.backend(Port::Auth))
            .field("object_store", &self.backend(Port::ObjectStore))
            .field("catalog", &self.backend(Port::Catalog))
            .field("llm", &self.backend(Port::Llm))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Without `event-bus-pulsar` the Pulsar bus cannot be built (with it, it builds and connects lazily).
    #[cfg(not(feature = "event-bus-pulsar"))]
    #[tokio::test]
    async fn a_port_that_cannot_be_built_names_itself() {
        let config = Config::from_iter([
            ("EVENT_BUS", "pulsar"),
            ("PULSAR_URL", "pulsar://127.0.0.1:9"),
        ])
        .unwrap();
        let err = Ports::open(config).await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("event bus: "), "{text}");
        assert!(text.contains("pulsar"), "{text}");
        // What `avb::MainError` prints: the message once, not again as its own cause.
        let main = format!("{:?}", crate::MainError::from(err));
        assert_eq!(main.matches("`event-bus-pulsar`").count(), 1, "{main}");
    }

    #[cfg(not(feature = "llm-openai"))]
    #[tokio::test]
    async fn an_llm_backend_not_compiled_in_names_its_feature() {
        let config = Config::from_iter([
            ("LLM_PROVIDER", "openai"),
            ("LLM_API_URL", "http://127.0.0.1:9/v1"),
            ("LLM_MODEL", "m"),
        ])
        .unwrap();
        let text = Ports::open(config).await.unwrap_err().to_string();
        assert!(text.starts_with("llm: "), "{text}");
        assert!(text.contains("llm-openai"), "{text}");
    }

    #[tokio::test]
    async fn health_probes_the_instances_held() {
        let ports = Ports::open(Config::from_iter(Vec::<(String, String)>::new()).unwrap())
            .await
            .unwrap();
        let report = ports.health().await;
        assert!(report.is_healthy(), "{report}");
        assert_eq!(report.components["llm"].backend, "mock");
        assert_eq!(ports.llm().backend(), "mock");
        // The same instance: what one handle wrote, a clone of `Ports` reads.
        let copy = ports.clone();
        ports
            .object_store()
            .put("k", bytes::Bytes::from_static(b"v"), Default::default())
            .await
            .unwrap();
        let got = copy.object_store().get_bytes("k").await.unwrap();
        assert_eq!(got.as_ref(), b"v");
    }
}
