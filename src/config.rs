//! The whole configuration: the mode (resolved by [`avb_core::config`]) and the five ports, each read by
//! its own crate (`avb_event_bus::config`, `avb_auth::config`, …). Re-exports the toolkit and every port's
//! configuration types, so a service needs only `avb::config`.
//!
//! ```
//! use avb::config::{Config, EventBusConfig, Mode};
//! let config = Config::from_iter([("EVENT_BUS", "redis"), ("REDIS_URL", "redis://:pw@127.0.0.1:6379")]).unwrap();
//! assert_eq!(config.mode, Mode::Sandbox);
//! assert!(matches!(config.event_bus.backend, EventBusConfig::Redis { .. }));
//! assert!(!config.to_string().contains("pw"));
//! ```

pub use avb_auth::config::{AuthConfig, AuthKind, OidcIntrospection};
pub use avb_catalog::config::{CatalogConfig, CatalogKind};
pub use avb_core::config::*;
pub use avb_event_bus::config::{EventBusConfig, EventBusDelivery, EventBusKind};
pub use avb_llm::config::{LlmConfig, LlmKind};
pub use avb_object_store::config::{
    ObjectStoreConfig, ObjectStoreKind, S3_DEFAULT_REGION, S3Checksums, S3Credentials, S3Profile,
};

use avb_core::config::keys::key;
use serde::Serialize;
use std::fmt;
use std::sync::OnceLock;

/// `AVB_HTTP_ADDR`: where `avb serve` (and a service using [`Config::http_addr`]) listens.
pub const AVB_HTTP_ADDR: Key = key(
    "AVB_HTTP_ADDR",
    "http",
    "`ip:port`",
    "`127.0.0.1:65020`",
    "Where `avb serve` listens (`/health`, the dev-mode API, the dev console `/console`); a service may use `Config::http_addr` for its own router.",
);

/// `AVB_SHUTDOWN_TIMEOUT`: how long `avb serve` (and a service using [`Config::shutdown_timeout`]) drains
/// on SIGTERM before it stops (`Platform::shutdown`).
pub const AVB_SHUTDOWN_TIMEOUT: Key = key(
    "AVB_SHUTDOWN_TIMEOUT",
    "http",
    "duration: `30s`, `500ms`, `2m` or plain seconds",
    "`30s`",
    "How long `avb serve` drains on SIGTERM (in-flight requests, then the ports' in-flight deliveries and acks) before it stops; a service may use `Config::shutdown_timeout` for its own `Platform::shutdown`.",
);

/// The default of [`AVB_SHUTDOWN_TIMEOUT`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The facade's own variables (the HTTP surface, the drain).
pub const HTTP_KEYS: &[Key] = &[AVB_HTTP_ADDR, AVB_SHUTDOWN_TIMEOUT];

/// `OTEL_EXPORTER_OTLP_ENDPOINT`: where [`crate::trace::init_otlp`] sends spans (feature `otlp`).
pub const OTEL_EXPORTER_OTLP_ENDPOINT: Key = key(
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "traces",
    "`http://` or `https://` URL (no credentials, query or fragment)",
    "unset (no export)",
    "The OTLP/HTTP receiver for traces (spans go to `<url>/v1/traces`, protobuf); read into `Config::otlp_endpoint`, used by `avb::trace::init_otlp` (feature `otlp`). See docs/observability.md.",
);

/// The trace export's variables.
pub const TRACE_KEYS: &[Key] = &[OTEL_EXPORTER_OTLP_ENDPOINT];

/// The default of [`AVB_HTTP_ADDR`]: the requirements' API port, on loopback.
pub const DEFAULT_HTTP_ADDR: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 65020);

/// The test harness's variables (`scripts/services env`): documented here, ignored by the resolver, read
/// only through [`crate::testing`].
pub const TEST_KEYS: &[Key] = &[
    key(
        "AVB_TEST_REQUIRE_LIVE",
        "tests",
        "`1` or unset",
        "unset",
        "Tests only: a live test whose server is missing fails instead of skipping (`scripts/test` sets it).",
    ),
    key(
        "AVB_TEST_REDIS_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's Redis (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_OIDC_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's OIDC provider issuer, `http://127.0.0.1:18080/realms/avb` (`scripts/services env`); any `/realms/<name>` there is a separate realm with its own keys.",
    ),
    key(
        "AVB_TEST_S3_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's S3 server, s3s-fs (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_S3_ACCESS_KEY",
        "tests",
        "key id",
        "unset",
        "Tests only: access key of the harness's S3 server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_S3_SECRET_KEY",
        "tests",
        "secret key",
        "unset",
        "Tests only: secret key of the harness's S3 server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_S3_BUCKET",
        "tests",
        "bucket name",
        "unset",
        "Tests only: the bucket the harness's S3 server creates for tests.",
    ),
    key(
        "AVB_TEST_WEBDRIVER_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's chromedriver (W3C WebDriver), `http://127.0.0.1:19515` (`scripts/services env`), for the dev console's browser test.",
    ),
    key(
        "AVB_TEST_CHROMIUM_BIN",
        "tests",
        "path",
        "unset",
        "Tests only: the Chromium binary chromedriver starts headless (Debian `chromium`; `scripts/services env`).",
    ),
    key(
        "AVB_TEST_OTELCOL_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's OpenTelemetry Collector, OTLP/HTTP at `http://127.0.0.1:14318` (`scripts/services env`), for the OTLP export test.",
    ),
    key(
        "AVB_TEST_OTELCOL_TRACES",
        "tests",
        "path",
        "unset",
        "Tests only: the file the harness's collector appends received traces to, one OTLP/JSON request a line (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_MOTO_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's second S3 server, moto (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_MOTO_BUCKET",
        "tests",
        "bucket name",
        "unset",
        "Tests only: the bucket the harness's moto server creates for tests.",
    ),
    key(
        "AVB_TEST_KEYCLOAK_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: issuer of the harness's Keycloak realm `avb` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_KEYCLOAK_ADMIN",
        "tests",
        "user:password",
        "unset",
        "Tests only: the harness Keycloak's bootstrap admin, for admin REST calls (a loopback test credential).",
    ),
    key(
        "AVB_TEST_OPENMETADATA_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's OpenMetadata contract server, its API root `http://127.0.0.1:18585/api` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_OPENMETADATA_TOKEN",
        "tests",
        "token",
        "unset",
        "Tests only: the bearer token the OpenMetadata contract server accepts (a loopback test credential).",
    ),
    key(
        "AVB_TEST_MINIO_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the harness's MinIO server, built from its Go module (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_MINIO_ACCESS_KEY",
        "tests",
        "key id",
        "unset",
        "Tests only: root user of the harness's MinIO server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_MINIO_SECRET_KEY",
        "tests",
        "secret key",
        "unset",
        "Tests only: root password of the harness's MinIO server (a loopback test credential).",
    ),
    key(
        "AVB_TEST_MINIO_BUCKET",
        "tests",
        "bucket name",
        "unset",
        "Tests only: the bucket the harness's MinIO server creates for tests.",
    ),
    key(
        "AVB_TEST_REDIS_SERVER_BIN",
        "tests",
        "path",
        "unset",
        "Tests only: the `redis-server` binary for fault tests that run and restart a private server (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_KAFKA_BOOTSTRAP",
        "tests",
        "`host:port`",
        "unset",
        "Tests only: the harness's Apache Kafka broker, `127.0.0.1:19092` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_KAFKA_PYTHON",
        "tests",
        "path",
        "unset",
        "Tests only: a Python with PyPI `kafka-python` (a non-avb Kafka client) for the Kafka interop test (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_KAFKA_JAVA",
        "tests",
        "path",
        "unset",
        "Tests only: the `java` that runs a private Kafka broker in the Kafka fault tests (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_KAFKA_LIBS",
        "tests",
        "directory",
        "unset",
        "Tests only: the Kafka broker's jars (the services cache) for fault tests that run and kill a private broker (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_LLAMACPP_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: llama.cpp's OpenAI-compatible server, base URL without `/v1` (`scripts/services env`), for the `openai` LLM backend.",
    ),
    key(
        "AVB_TEST_LLAMACPP_MODEL",
        "tests",
        "model id",
        "unset",
        "Tests only: the model id the llama.cpp server reports in `/v1/models` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_OLLAMA_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: the Ollama server, base URL without `/v1` (`scripts/services env`), for the `ollama` LLM backend.",
    ),
    key(
        "AVB_TEST_OLLAMA_MODEL",
        "tests",
        "model name",
        "unset",
        "Tests only: the model loaded into Ollama with `ollama create` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_PULSAR_URL",
        "tests",
        "`pulsar://host:port`",
        "unset",
        "Tests only: the harness's Apache Pulsar standalone, `pulsar://127.0.0.1:16650` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_PULSAR_ADMIN_URL",
        "tests",
        "URL",
        "unset",
        "Tests only: that Pulsar's admin REST API, `http://127.0.0.1:16680` (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_PULSAR_PYTHON",
        "tests",
        "path",
        "unset",
        "Tests only: a Python with PyPI `pulsar-client` (a non-avb Pulsar client) for the Pulsar interop test (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_PULSAR_JAVA",
        "tests",
        "path",
        "unset",
        "Tests only: the `java` that runs a private Pulsar standalone in the Pulsar fault tests (`scripts/services env`).",
    ),
    key(
        "AVB_TEST_PULSAR_LIBS",
        "tests",
        "directory",
        "unset",
        "Tests only: the Pulsar broker's jars (the services cache) for fault tests that run and kill a private broker (`scripts/services env`).",
    ),
];

/// Every variable avb reads, in documentation order: mode, the five ports, the test harness. The source of
/// `avb vars`, the README table and the unknown-`AVB_*` check.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new([
            <EventBusConfig as PortConfig>::VARS,
            <AuthConfig as PortConfig>::VARS,
            <ObjectStoreConfig as PortConfig>::VARS,
            <CatalogConfig as PortConfig>::VARS,
            <LlmConfig as PortConfig>::VARS,
            HTTP_KEYS,
            TRACE_KEYS,
            TEST_KEYS,
        ])
    })
}

/// The resolved configuration: environment, mode and every port's backend. Prints as the startup summary
/// (`Display`) and serialises as JSON; neither shows a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Deployment environment.
    pub environment: Environment,
    /// What set the environment.
    pub environment_source: Source,
    /// Backend family.
    pub mode: Mode,
    /// What set the mode.
    pub mode_source: Source,
    /// The `.env.*` file layered under the process environment, if one was read.
    pub env_file: Option<String>,
    /// EventBus backend.
    pub event_bus: Port<EventBusConfig>,
    /// Auth backend.
    pub auth: Port<AuthConfig>,
    /// ObjectStore backend.
    pub object_store: Port<ObjectStoreConfig>,
    /// Catalog backend.
    pub catalog: Port<CatalogConfig>,
    /// LLM backend.
    pub llm: Port<LlmConfig>,
    /// `AVB_HTTP_ADDR`.
    pub http_addr: std::net::SocketAddr,
    /// `AVB_SHUTDOWN_TIMEOUT` (JSON: `shutdown_timeout_ms`).
    #[serde(rename = "shutdown_timeout_ms", serialize_with = "millis")]
    pub shutdown_timeout: std::time::Duration,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the OTLP receiver for traces, when set.
    pub otlp_endpoint: Option<ServiceUrl>,
    /// Variables seen and not used, with the reason.
    pub ignored: Vec<Ignored>,
    /// The ports resolved ([`ConfigBuilder::uses`]; every port by default). An unused port's variables
    /// are not read, and its field holds the development sandbox default, which nothing opens.
    pub uses: crate::PortSet,
}

impl Config {
    /// Resolves from process-environment pairs alone.
    #[allow(clippy::should_implement_trait)] // the envy/figment convention; `Config` is not a collection
    pub fn from_iter<I, K, V>(pairs: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        ConfigBuilder::new().from_iter(pairs).build()
    }

    /// What mode resolution decided.
    pub fn resolution(&self) -> Resolution {
        Resolution {
            environment: self.environment,
            environment_source: self.environment_source.clone(),
            mode: self.mode,
            mode_source: self.mode_source.clone(),
            env_file: self.env_file.clone(),
            ignored: self.ignored.clone(),
        }
    }

    /// `text` with every secret of this configuration replaced by `***`: secret values, and each URL's
    /// user name, password, query values and fragment (as written and percent-decoded). For text from
    /// outside avb (a client library's error), which may quote what it was given.
    pub fn scrub(&self, text: &str) -> String {
        let mut s = Scrubber::new();
        self.event_bus.backend.secrets(&mut s);
        self.auth.backend.secrets(&mut s);
        self.object_store.backend.secrets(&mut s);
        self.catalog.backend.secrets(&mut s);
        self.llm.backend.secrets(&mut s);
        s.scrub(text)
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resolution = self.resolution();
        use crate::ports::Port as Which;
        let mut rows = Rows::header(f, &resolution)?;
        let used = |p: Which| self.uses.contains(p);
        if used(Which::EventBus) {
            rows.port(
                "event bus",
                &self.event_bus.backend,
                &self.event_bus.chosen_by,
            )?;
        }
        if used(Which::Auth) {
            rows.port("auth", &self.auth.backend, &self.auth.chosen_by)?;
        }
        if used(Which::ObjectStore) {
            rows.port(
                "object store",
                &self.object_store.backend,
                &self.object_store.chosen_by,
            )?;
        }
        if used(Which::Catalog) {
            rows.port("catalog", &self.catalog.backend, &self.catalog.chosen_by)?;
        }
        if used(Which::Llm) {
            rows.port("llm", &self.llm.backend, &self.llm.chosen_by)?;
        }
        rows.footer()?;
        if !self.uses.is_all() {
            writeln!(
                f,
                "  unused        {} (not resolved, not opened)",
                self.uses.complement()
            )?;
        }
        Ok(())
    }
}

/// `AVB_HTTP_ADDR`: an `ip:port` (default [`DEFAULT_HTTP_ADDR`]).
fn http_addr(r: &mut avb_core::config::Reader<'_>) -> Option<std::net::SocketAddr> {
    let Some(text) = r.value(&AVB_HTTP_ADDR) else {
        return Some(DEFAULT_HTTP_ADDR);
    };
    match text.trim().parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            r.invalid(
                &AVB_HTTP_ADDR,
                text,
                "an IP address and port, e.g. 127.0.0.1:65020 or [::1]:65020",
            );
            None
        }
    }
}

fn millis<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

/// `AVB_SHUTDOWN_TIMEOUT`: a duration (default [`DEFAULT_SHUTDOWN_TIMEOUT`]).
fn shutdown_timeout(r: &mut avb_core::config::Reader<'_>) -> Option<std::time::Duration> {
    r.number(
        &AVB_SHUTDOWN_TIMEOUT,
        "a positive duration: a whole number with unit ms, s, m, h or d (e.g. 30s, 500ms), or plain seconds",
        crate::platform::parse_duration,
    )
    .map(|d| d.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT))
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT`: an `http://` or `https://` base URL with a host and no credentials,
/// query or fragment (unset: no export). Errors show the value only redacted, as for every URL variable.
fn otlp_endpoint(r: &mut avb_core::config::Reader<'_>) -> Option<Option<ServiceUrl>> {
    let url = r.optional_url(&OTEL_EXPORTER_OTLP_ENDPOINT, &["http", "https"])?;
    if let Some(u) = &url {
        let e = u.expose();
        if !e.username().is_empty()
            || e.password().is_some()
            || e.query().is_some()
            || e.fragment().is_some()
        {
            let value = e.to_string();
            r.invalid(
                &OTEL_EXPORTER_OTLP_ENDPOINT,
                &value,
                "a base URL without credentials, query or fragment, e.g. http://127.0.0.1:4318",
            );
            return None;
        }
    }
    Some(url)
}

/// Builds a [`Config`] from layers of pairs (see [`Layers`]). All validation happens in
/// [`ConfigBuilder::build`].
#[derive(Debug, Default, Clone)]
pub struct ConfigBuilder {
    layers: Layers,
    /// `None`: every port.
    uses: Option<crate::PortSet>,
}

impl ConfigBuilder {
    /// An empty builder: everything at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds process-environment pairs (a later pair wins over an earlier one with the same key).
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.layers = self.layers.with_pairs(pairs);
        self
    }

    /// Sets one process-environment variable.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.layers = self.layers.with_var(key, value);
        self
    }

    /// Records a process variable whose value is not UTF-8; an error when avb reads that variable.
    pub fn with_non_unicode(mut self, key: impl Into<String>) -> Self {
        self.layers = self.layers.with_non_unicode(key);
        self
    }

    /// The `.env.*` file this configuration reads under the process environment: `.env.sandbox` or
    /// `.env.live`, chosen by the mode the process pairs resolve to.
    pub fn env_file_name(&self) -> Result<&'static str, ConfigError> {
        self.layers.env_file_name()
    }

    /// Layers a `.env.*` file's text under the process pairs. `name` is how errors and the summary refer
    /// to it (usually its path).
    pub fn with_env_file(mut self, name: impl Into<String>, text: &str) -> Self {
        self.layers = self.layers.with_env_file(name, text);
        self
    }

    /// Records that the `.env.*` file exists but could not be read (an error: a half-read setup is not
    /// silently replaced by defaults).
    pub fn with_unreadable_env_file(
        mut self,
        name: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        self.layers = self.layers.with_unreadable_env_file(name, reason);
        self
    }

    /// Resolves only the ports of `uses` (the default is every port): an unused port's variables are not
    /// read, so live mode does not demand its settings (see [`Config::uses`]).
    pub fn uses(mut self, uses: crate::PortSet) -> Self {
        self.uses = Some(uses);
        self
    }

    /// Resolves and validates everything; returns every problem found.
    pub fn build(self) -> Result<Config, ConfigError> {
        use crate::ports::Port as Which;
        let uses = self.uses.unwrap_or(crate::PortSet::ALL);
        // An unused port is not read: its field holds the development sandbox default (nothing opens it).
        let sandbox = if uses.is_all() {
            None
        } else {
            Some(ConfigBuilder::new().build()?)
        };
        fn pick<C: PortConfig + Clone>(
            r: &mut avb_core::config::Reader<'_>,
            used: bool,
            unused: Option<&Port<C>>,
        ) -> Option<Port<C>> {
            match (used, unused) {
                (false, Some(placeholder)) => Some(placeholder.clone()),
                _ => r.port::<C>(),
            }
        }
        let s = sandbox.as_ref();
        let (
            resolution,
            (
                event_bus,
                auth,
                object_store,
                catalog,
                llm,
                (http_addr, shutdown_timeout, otlp_endpoint),
            ),
        ) = self.layers.resolve(registry(), |r| {
            let event_bus = pick(r, uses.contains(Which::EventBus), s.map(|c| &c.event_bus));
            let auth = pick(r, uses.contains(Which::Auth), s.map(|c| &c.auth));
            let object_store = pick(
                r,
                uses.contains(Which::ObjectStore),
                s.map(|c| &c.object_store),
            );
            let catalog = pick(r, uses.contains(Which::Catalog), s.map(|c| &c.catalog));
            let llm = pick(r, uses.contains(Which::Llm), s.map(|c| &c.llm));
            let http_addr = http_addr(r);
            let shutdown_timeout = shutdown_timeout(r);
            let otlp_endpoint = otlp_endpoint(r);
            Some((
                event_bus?,
                auth?,
                object_store?,
                catalog?,
                llm?,
                (http_addr?, shutdown_timeout?, otlp_endpoint?),
            ))
        })?;
        Ok(Config {
            environment: resolution.environment,
            environment_source: resolution.environment_source,
            mode: resolution.mode,
            mode_source: resolution.mode_source,
            env_file: resolution.env_file,
            event_bus,
            auth,
            object_store,
            catalog,
            llm,
            http_addr,
            shutdown_timeout,
            otlp_endpoint,
            ignored: resolution.ignored,
            uses,
        })
    }
}

#[cfg(test)]
mod tests;
