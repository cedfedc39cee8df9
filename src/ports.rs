//! [`Ports`]: every implemented port, built once from the resolved [`Config`].
//!
//! Each port crate turns its own configuration into a backend (`avb_event_bus::open`, `avb_auth::open`,
//! `avb_object_store::open`, `avb_catalog::open`, `avb_llm::open`) with one exhaustive `match`; a backend left out of this build by its cargo
//! feature is that port's `NotCompiled` error, naming the feature. `Ports` holds the instances, so a
//! `/health` endpoint probed every few seconds asks the live backends ([`Ports::health`]) instead of
//! building new ones.

use crate::config::Config;
use crate::health::Report;
use avb_auth::Authenticator;
use avb_catalog::Catalog;
use avb_event_bus::EventBus;
use avb_llm::LlmClient;
use avb_object_store::ObjectStore;
use std::fmt;
use std::sync::Arc;

/// The ports a service uses, built once. Cheap to clone (every port is an `Arc`).
#[derive(Clone)]
pub struct Ports {
    config: Arc<Config>,
    event_bus: Arc<dyn EventBus>,
    auth: Arc<dyn Authenticator>,
    object_store: Arc<dyn ObjectStore>,
    catalog: Arc<dyn Catalog>,
    llm: Arc<dyn LlmClient>,
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
        let (event_bus, auth, object_store, catalog) = tokio::join!(
            avb_event_bus::open(&config.event_bus.backend),
            avb_auth::open(&config.auth.backend),
            avb_object_store::open(&config.object_store.backend),
            avb_catalog::open(&config.catalog.backend),
        );
        Ok(Ports {
            event_bus: event_bus.map_err(OpenError::EventBus)?,
            auth: auth.map_err(OpenError::Auth)?,
            object_store: object_store.map_err(OpenError::ObjectStore)?,
            catalog: catalog.map_err(OpenError::Catalog)?,
            llm: avb_llm::open(&config.llm.backend).map_err(OpenError::Llm)?,
            config: Arc::new(config),
        })
    }

    /// The configuration the ports were built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The EventBus.
    pub fn event_bus(&self) -> &Arc<dyn EventBus> {
        &self.event_bus
    }

    /// The Auth port.
    pub fn auth(&self) -> &Arc<dyn Authenticator> {
        &self.auth
    }

    /// The ObjectStore.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.object_store
    }

    /// The Catalog.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// The LLM client.
    pub fn llm(&self) -> &Arc<dyn LlmClient> {
        &self.llm
    }

    /// The same ports, each behind the metered layer, recording into `metrics` (what
    /// [`crate::Platform`] builds; see [`crate::metrics`]).
    pub fn instrumented(mut self, metrics: &Arc<crate::metrics::Metrics>) -> Self {
        use crate::layers::{Direct, Layer, metered::MeteredLayer};
        let bus = self.event_bus.clone();
        let layer = MeteredLayer::new(metrics.clone(), "event_bus", bus.backend());
        let mut bus = crate::instrument::InstrumentedBus::new(bus, layer.layer(Direct))
            .with_metrics(metrics.clone());
        if let Some(d) = self.config.event_bus.backend.clone().delivery_mut() {
            bus = bus.with_max_attempts(d.max_attempts);
        }
        self.event_bus = Arc::new(bus);
        let auth = self.auth.clone();
        let layer = MeteredLayer::new(metrics.clone(), "auth", auth.backend());
        self.auth = Arc::new(crate::instrument::InstrumentedAuth::new(
            auth,
            layer.layer(Direct),
        ));
        let store = self.object_store.clone();
        let layer = MeteredLayer::new(metrics.clone(), "object_store", store.backend());
        self.object_store = Arc::new(crate::instrument::InstrumentedStore::new(
            store,
            layer.layer(Direct),
        ));
        let catalog = self.catalog.clone();
        let layer = MeteredLayer::new(metrics.clone(), "catalog", catalog.backend());
        self.catalog = Arc::new(crate::instrument::InstrumentedCatalog::new(
            catalog,
            layer.layer(Direct),
        ));
        let llm = self.llm.clone();
        let layer = MeteredLayer::new(metrics.clone(), "llm", llm.backend());
        self.llm = Arc::new(
            crate::instrument::InstrumentedLlm::new(llm, layer.layer(Direct))
                .with_metrics(metrics.clone()),
        );
        self
    }

    /// The health of the ports held (see [`crate::health`]): each asked with a time limit, concurrently,
    /// reasons scrubbed of the configuration's secrets.
    pub async fn health(&self) -> Report {
        let (event_bus, auth, object_store, catalog, llm) = tokio::join!(
            crate::health::probe(self.event_bus.backend(), self.event_bus.health()),
            crate::health::probe(self.auth.backend(), self.auth.health()),
            crate::health::probe(self.object_store.backend(), self.object_store.health()),
            crate::health::probe(self.catalog.backend(), self.catalog.health()),
            crate::health::probe(self.llm.backend(), self.llm.health()),
        );
        crate::health::report(&self.config, [event_bus, auth, object_store, catalog, llm])
    }
}

impl fmt::Debug for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ports")
            .field("event_bus", &self.event_bus.backend())
            .field("auth", &self.auth.backend())
            .field("object_store", &self.object_store.backend())
            .field("catalog", &self.catalog.backend())
            .field("llm", &self.llm.backend())
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
