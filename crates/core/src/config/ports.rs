//! Each port's resolved settings and the reader that validates them.

use super::choice::{
    AuthKind, BackendKind, CatalogKind, Environment, EventBusKind, LlmKind, Mode, ObjectStoreKind,
};
use super::error::Problem;
use super::secret::{Secret, ServiceUrl, at_after_host, has_authority, redact_raw, redact_url};
use super::{Entry, Port, Source, keys};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use url::Url;

/// Delivery settings of the event bus backends that honour them (`memory`, `redis`).
///
/// | variable | default | allowed |
/// |---|---|---|
/// | `EVENT_BUS_ACK_TIMEOUT_MS` | 30000 | an integer >= 10 |
/// | `EVENT_BUS_MAX_ATTEMPTS` | 5 | an integer >= 1 |
/// | `EVENT_BUS_MAX_LEN` | 100000 | an integer >= 1, or `none` |
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EventBusDelivery {
    /// `EVENT_BUS_ACK_TIMEOUT_MS`: redelivery after this long without ack or nack.
    pub ack_timeout_ms: u64,
    /// `EVENT_BUS_MAX_ATTEMPTS`: deliveries before dead-lettering.
    pub max_attempts: u32,
    /// `EVENT_BUS_MAX_LEN`: messages retained per topic; `None` keeps everything.
    pub max_len: Option<u64>,
}

impl Default for EventBusDelivery {
    fn default() -> Self {
        Self {
            ack_timeout_ms: 30_000,
            max_attempts: 5,
            max_len: Some(100_000),
        }
    }
}

/// EventBus backend and its connection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventBusConfig {
    /// In-process bus (sandbox only).
    Memory {
        /// `EVENT_BUS_ACK_TIMEOUT_MS`, `EVENT_BUS_MAX_ATTEMPTS`, `EVENT_BUS_MAX_LEN`.
        delivery: EventBusDelivery,
    },
    /// Redis Streams at `REDIS_URL`.
    Redis {
        /// `REDIS_URL`.
        url: ServiceUrl,
        /// `EVENT_BUS_ACK_TIMEOUT_MS`, `EVENT_BUS_MAX_ATTEMPTS`, `EVENT_BUS_MAX_LEN`.
        delivery: EventBusDelivery,
    },

    /// Kafka at `KAFKA_BOOTSTRAP_SERVERS`.
    Kafka {
        /// `host:port` entries.
        bootstrap_servers: Vec<String>,
    },
    /// Pulsar at `PULSAR_URL`.
    Pulsar {
        /// `PULSAR_URL`.
        url: ServiceUrl,
        /// `PULSAR_TOKEN`.
        token: Option<Secret>,
    },
}

/// Auth backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum AuthConfig {
    /// Trust-all: every request is this workspace and subject (sandbox only).
    None {
        /// `AVB_SANDBOX_WORKSPACE`.
        workspace_id: String,
        /// `AVB_SANDBOX_SUBJECT`.
        subject: String,
    },
    /// Local issuer signing real JWTs with a development key (sandbox only).
    Local {
        /// `AVB_AUTH_DEV_KEY_FILE`.
        key_file: PathBuf,
    },
    /// Keycloak or any OIDC provider.
    Keycloak {
        /// The issuer (`OIDC_ISSUER_URL`, or `KEYCLOAK_URL/realms/KEYCLOAK_REALM`).
        issuer: ServiceUrl,
        /// `OIDC_AUDIENCE`.
        audience: String,
        /// `OIDC_CLIENT_ID`.
        client_id: Option<String>,
        /// `OIDC_CLIENT_SECRET`.
        client_secret: Option<Secret>,
        /// `AUTH_WORKSPACE_CLAIM`.
        workspace_claim: String,
        /// `AUTH_LEEWAY_SECONDS`.
        leeway_seconds: u64,
        /// `OIDC_JWKS_MIN_REFRESH_SECONDS`.
        jwks_min_refresh_seconds: u64,
        /// `OIDC_JWKS_MAX_AGE_SECONDS`.
        jwks_max_age_seconds: u64,
        /// `OIDC_ALLOWED_ORIGINS`: origins (`scheme://host[:port]`) besides the issuer's trusted for
        /// `jwks_uri` and `token_endpoint`.
        allowed_origins: Vec<String>,
        /// `OIDC_INTROSPECTION`: when tokens are checked at the issuer's introspection endpoint
        /// (with `OIDC_CLIENT_ID`/`OIDC_CLIENT_SECRET`).
        introspection: OidcIntrospection,
        /// `OIDC_INTROSPECTION_CACHE_SECONDS`: how long an introspection answer is reused.
        introspection_cache_seconds: u64,
    },
}

/// When the OIDC backend asks the issuer whether a validated token is still active (RFC 7662 token
/// introspection; `OIDC_INTROSPECTION`). Offline validation alone keeps a token valid until its `exp`
/// even after a logout or a disabled user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OidcIntrospection {
    /// Never: offline validation only (the default).
    Off,
    /// For every token.
    All,
    /// Only on routes that ask for it (`AuthLayer::introspected`).
    PerRoute,
}

impl OidcIntrospection {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OidcIntrospection::Off => "off",
            OidcIntrospection::All => "all",
            OidcIntrospection::PerRoute => "per_route",
        }
    }
}

/// Static S3 credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Secret,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Secret,
}

/// Which S3 implementation the endpoint is (`OBJECT_STORE_S3_PROFILE`): decides defaults and workarounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum S3Profile {
    /// AWS S3 itself (no `AWS_ENDPOINT_URL`).
    Aws,
    /// Google Cloud Storage through its S3 interoperability (HMAC keys): checksums only when required, no
    /// conditional create (the `Content-Length: 0` GCS needs on body-less PUT/POST is sent on every profile).
    Gcs,
    /// Any other S3-compatible server (MinIO, s3s, Ceph…).
    Generic,
}

impl S3Profile {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            S3Profile::Aws => "aws",
            S3Profile::Gcs => "gcs",
            S3Profile::Generic => "generic",
        }
    }
}

/// The region the S3 backend signs with when `AWS_REGION` is unset and an endpoint is set (static
/// credentials; or the AWS SDK's chain has none): S3-compatible servers ignore it, SigV4 needs one.
pub const S3_DEFAULT_REGION: &str = "us-east-1";

/// When the S3 client computes request checksums and validates response checksums
/// (`OBJECT_STORE_S3_CHECKSUMS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum S3Checksums {
    /// Only for operations whose API requires one: no flexible-checksum headers, no aws-chunked bodies
    /// (what GCS and older S3-compatible servers accept).
    WhenRequired,
    /// Whenever the operation supports one (the AWS SDK's default).
    WhenSupported,
}

impl S3Checksums {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            S3Checksums::WhenRequired => "when_required",
            S3Checksums::WhenSupported => "when_supported",
        }
    }
}

/// ObjectStore backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum ObjectStoreConfig {
    /// In-process store (sandbox only).
    Memory,
    /// Local directory.
    Fs {
        /// `OBJECT_STORE_DIR`.
        root: PathBuf,
    },
    /// S3 API.
    S3 {
        /// `OBJECT_STORE_BUCKET`.
        bucket: String,
        /// `AWS_ENDPOINT_URL`; `None` is AWS itself.
        endpoint: Option<ServiceUrl>,
        /// `AWS_REGION`. `None`: with an endpoint and static credentials, [`S3_DEFAULT_REGION`]; with an
        /// endpoint only, the AWS SDK's chain, else [`S3_DEFAULT_REGION`]; without an endpoint, the chain
        /// (which must have one). The summary states which.
        region: Option<String>,
        /// Static credentials; `None` uses the AWS SDK's chain.
        credentials: Option<S3Credentials>,
        /// `OBJECT_STORE_S3_PROFILE`, or inferred from the endpoint.
        profile: S3Profile,
        /// `OBJECT_STORE_S3_PATH_STYLE`: `bucket` in the path instead of the host name.
        path_style: bool,
        /// `OBJECT_STORE_S3_CHECKSUMS`.
        checksums: S3Checksums,
        /// `OBJECT_STORE_S3_PREFIX`: every key lives under this prefix (without a trailing `/`).
        prefix: Option<String>,
    },
}

/// Catalog backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum CatalogConfig {
    /// JSON file.
    Json {
        /// `DATA_CATALOG_FILE`.
        file: PathBuf,
    },
    /// OpenMetadata REST API.
    OpenMetadata {
        /// `OPENMETADATA_URL`.
        url: ServiceUrl,
        /// `OPENMETADATA_TOKEN`.
        token: Option<Secret>,
    },
}

/// LLM backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum LlmConfig {
    /// Deterministic offline model (sandbox only).
    Mock,
    /// An OpenAI-compatible API.
    OpenAi {
        /// `LLM_API_URL`.
        url: ServiceUrl,
        /// `LLM_MODEL`.
        model: String,
        /// `LLM_API_KEY`.
        api_key: Option<Secret>,
    },
    /// Ollama.
    Ollama {
        /// `LLM_API_URL`.
        url: ServiceUrl,
        /// `LLM_MODEL`.
        model: String,
        /// `LLM_API_KEY` (for an authenticating proxy in front of Ollama).
        api_key: Option<Secret>,
    },
}

macro_rules! backend_names {
    ($($t:ident { $($v:ident => $n:literal),+ $(,)? })+) => {$(
        impl $t {
            /// The backend's name, as its variable spells it (`redis`, `keycloak`, …).
            pub fn backend_name(&self) -> &'static str {
                match self { $($t::$v { .. } => $n),+ }
            }
        }
    )+};
}

backend_names! {
    EventBusConfig { Memory => "memory", Redis => "redis", Kafka => "kafka", Pulsar => "pulsar" }
    AuthConfig { None => "none", Local => "local", Keycloak => "keycloak" }
    ObjectStoreConfig { Memory => "memory", Fs => "fs", S3 => "s3" }
    CatalogConfig { Json => "json", OpenMetadata => "openmetadata" }
    LlmConfig { Mock => "mock", OpenAi => "openai", Ollama => "ollama" }
}

const HTTP: &[&str] = &["http", "https"];

/// A value as an error may show it: a secret never; a URL variable's only as [`redact_url`] shows it
/// (nothing but its scheme when it does not parse); any other value as [`redact_raw`] shows it (as is,
/// unless it carries an `@` or a `://`).
pub(crate) fn shown(key: &str, value: &str) -> String {
    if keys::is_secret(key) {
        super::REDACTED.to_string()
    } else if keys::find(key).is_some_and(keys::Key::is_url) {
        redact_url(value)
    } else {
        redact_raw(value)
    }
}

pub(crate) struct Reader<'a> {
    vars: &'a BTreeMap<String, Entry>,
    environment: Environment,
    environment_source: &'a Source,
    mode: Mode,
    problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(
        vars: &'a BTreeMap<String, Entry>,
        environment: Environment,
        environment_source: &'a Source,
        mode: Mode,
    ) -> Self {
        Self {
            vars,
            environment,
            environment_source,
            mode,
            problems: Vec::new(),
        }
    }

    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// A value that is set; an empty value is reported and treated as absent.
    fn value(&mut self, key: &str) -> Option<&'a str> {
        let entry = self.vars.get(key)?;
        if entry.value.is_empty() {
            let expected = keys::find(key).map_or("a non-empty value", |k| k.values);
            self.problems.push(Problem::Invalid {
                key: key.into(),
                value: String::new(),
                expected: format!("{expected} (unset the variable instead of leaving it empty)"),
            });
            return None;
        }
        Some(&entry.value)
    }

    /// `AUTH_WORKSPACE_CLAIM`, refusing a claim tokens carry for another purpose.
    fn workspace_claim(&mut self) -> Option<String> {
        const KEY: &str = "AUTH_WORKSPACE_CLAIM";
        let claim = self.with_default(KEY, "workspace_id")?;
        match super::claims::reserved_claim(&claim) {
            None => Some(claim),
            Some(why) => {
                self.invalid(
                    KEY,
                    &claim,
                    format!(
                        "a claim that is not reserved: {claim:?} is {why}, so every token would be refused or mis-read (reserved: {})",
                        super::claims::reserved_claim_names()
                    ),
                );
                None
            }
        }
    }

    /// Reports `key`'s value as invalid; the value is shown only as [`shown`] allows.
    fn invalid(&mut self, key: &str, value: &str, expected: impl Into<String>) {
        self.problems.push(Problem::Invalid {
            key: key.into(),
            value: shown(key, value),
            expected: expected.into(),
        });
    }

    fn kind<K: BackendKind>(&mut self) -> Option<(K, Source, String)> {
        let (kind, source) = match self.vars.get(K::VARIABLE) {
            None => (K::default_for(self.mode), Source::Default),
            Some(entry) => {
                let value = self.value(K::VARIABLE)?;
                match K::parse(value) {
                    Some(kind) => (kind, entry.source.clone()),
                    None => {
                        self.invalid(K::VARIABLE, value, format!("one of {}", K::allowed()));
                        return None;
                    }
                }
            }
        };
        if self.environment != Environment::Development && kind.sandbox_only() {
            let environment = match self.environment_source {
                Source::Variable { name } | Source::File { name, .. } => {
                    format!("{name}={}", self.environment)
                }
                Source::Default => format!("the environment is {}", self.environment),
            };
            self.problems.push(Problem::SandboxOnly {
                key: K::VARIABLE.into(),
                value: kind.to_string(),
                environment,
                allowed: K::allowed_live(),
            });
            return None;
        }
        let needed_by = match source {
            Source::Default => format!("{}={kind} (the {} default)", K::VARIABLE, self.mode),
            _ => format!("{}={kind}", K::VARIABLE),
        };
        Some((kind, source, needed_by))
    }

    fn required(&mut self, key: &str, needed_by: &str, example: &str) -> Option<&'a str> {
        if !self.vars.contains_key(key) {
            self.problems.push(Problem::Missing {
                key: key.into(),
                needed_by: needed_by.into(),
                example: example.into(),
            });
            return None;
        }
        self.value(key)
    }

    /// A setting with a sandbox default that live mode must set explicitly.
    fn sandbox_default(&mut self, key: &str, default: &str, needed_by: &str) -> Option<String> {
        match (self.vars.contains_key(key), self.mode) {
            (true, _) => self.value(key).map(str::to_string),
            (false, Mode::Sandbox) => Some(default.to_string()),
            (false, Mode::Live) => {
                self.problems.push(Problem::Missing {
                    key: key.into(),
                    needed_by: format!("{needed_by} in live mode"),
                    example: default.into(),
                });
                None
            }
        }
    }

    /// A URL with one of `schemes`, written `<scheme>://…`, with a host (unless a `unix` scheme) and no `@`
    /// after the host. Errors show the value only as [`redact_url`] does.
    fn parse_url(&mut self, key: &str, value: &str, schemes: &[&str]) -> Option<ServiceUrl> {
        let with_scheme = format!("with scheme {}", schemes.join(" or "));
        let problem = match Url::parse(value) {
            Err(e) => format!("a URL ({e}) {with_scheme}"),
            Ok(url) if !has_authority(value, &url) => {
                format!("a URL of the form <scheme>://host {with_scheme}")
            }
            Ok(url) if !schemes.contains(&url.scheme()) => {
                format!("a URL {with_scheme} (got {:?})", url.scheme())
            }
            Ok(url) if at_after_host(&url) => "a URL with '@' only before the host (percent-encode '/', '?', '#' and '@' in a user name or password: %2F, %3F, %23, %40)".to_string(),
            Ok(url)
                if !url.scheme().ends_with("unix") && url.host_str().is_none_or(str::is_empty) =>
            {
                "a URL with a host".to_string()
            }
            Ok(url) => return Some(ServiceUrl::new(url)),
        };
        self.invalid(key, value, problem);
        None
    }

    fn url(
        &mut self,
        key: &str,
        needed_by: &str,
        schemes: &[&str],
        example: &str,
    ) -> Option<ServiceUrl> {
        let value = self.required(key, needed_by, example)?;
        self.parse_url(key, value, schemes)
    }

    fn optional_url(&mut self, key: &str, schemes: &[&str]) -> Option<Option<ServiceUrl>> {
        if !self.vars.contains_key(key) {
            return Some(None);
        }
        let value = self.value(key)?;
        self.parse_url(key, value, schemes).map(Some)
    }

    fn optional_secret(&mut self, key: &str) -> Option<Option<Secret>> {
        if !self.vars.contains_key(key) {
            return Some(None);
        }
        self.value(key).map(|v| Some(Secret::new(v)))
    }

    fn with_default(&mut self, key: &str, default: &str) -> Option<String> {
        if !self.vars.contains_key(key) {
            return Some(default.to_string());
        }
        self.value(key).map(str::to_string)
    }

    /// A comma-separated list of http(s) origins (`scheme://host[:port]`, nothing else); empty when unset.
    fn origins(&mut self, key: &str) -> Option<Vec<String>> {
        if !self.vars.contains_key(key) {
            return Some(Vec::new());
        }
        let value = self.value(key)?;
        let mut origins = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let origin = Url::parse(item).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
                    && u.username().is_empty()
                    && u.password().is_none()
                    && matches!(u.path(), "" | "/")
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            match origin {
                Some(url) => origins.push(url.origin().ascii_serialization()),
                None => {
                    self.problems.push(Problem::Invalid {
                        key: key.into(),
                        value: shown(key, value),
                        expected: "http(s) origins scheme://host[:port], comma-separated (no path, userinfo, query or fragment)".into(),
                    });
                    return None;
                }
            }
        }
        Some(origins)
    }

    /// An integer setting within `range`, `default` when unset.
    fn integer(
        &mut self,
        key: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Option<u64> {
        let expected = format!("an integer from {} to {}", range.start(), range.end());
        self.number(key, &expected, |v| {
            v.trim().parse::<u64>().ok().filter(|n| range.contains(n))
        })
        .map(|n| n.unwrap_or(default))
    }

    /// A number from `key` when set: `None` after reporting a value that `parse` rejects.
    fn number<T>(
        &mut self,
        key: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<Option<T>> {
        if !self.vars.contains_key(key) {
            return Some(None);
        }
        let value = self.value(key)?;
        match parse(value) {
            Some(n) => Some(Some(n)),
            None => {
                self.invalid(key, value, expected);
                None
            }
        }
    }

    fn event_bus_delivery(&mut self) -> Option<EventBusDelivery> {
        let defaults = EventBusDelivery::default();
        let ack = self.number(
            "EVENT_BUS_ACK_TIMEOUT_MS",
            "milliseconds, an integer >= 10",
            |v| v.parse::<u64>().ok().filter(|ms| *ms >= 10),
        );
        let attempts = self.number("EVENT_BUS_MAX_ATTEMPTS", "an integer >= 1", |v| {
            v.parse::<u32>().ok().filter(|n| *n >= 1)
        });
        let max_len = self.number(
            "EVENT_BUS_MAX_LEN",
            "an integer >= 1, or none",
            |v| match v {
                "none" => Some(None),
                n => n.parse::<u64>().ok().filter(|n| *n >= 1).map(Some),
            },
        );
        Some(EventBusDelivery {
            ack_timeout_ms: ack?.unwrap_or(defaults.ack_timeout_ms),
            max_attempts: attempts?.unwrap_or(defaults.max_attempts),
            max_len: max_len?.unwrap_or(defaults.max_len),
        })
    }

    pub(crate) fn event_bus(&mut self) -> Option<Port<EventBusConfig>> {
        let delivery = self.event_bus_delivery();
        let (kind, chosen_by, needed_by) = self.kind::<EventBusKind>()?;
        let backend = match kind {
            EventBusKind::Memory => EventBusConfig::Memory {
                delivery: delivery?,
            },
            EventBusKind::Redis => {
                let url = self.url(
                    "REDIS_URL",
                    &needed_by,
                    &["redis", "rediss", "redis+unix", "unix"],
                    "redis://127.0.0.1:6379",
                );
                EventBusConfig::Redis {
                    url: url?,
                    delivery: delivery?,
                }
            }
            EventBusKind::Kafka => {
                let value =
                    self.required("KAFKA_BOOTSTRAP_SERVERS", &needed_by, "127.0.0.1:9092")?;
                let servers: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(bad) = servers.iter().position(|s| !is_host_port(s)) {
                    self.invalid(
                        "KAFKA_BOOTSTRAP_SERVERS",
                        value,
                        format!(
                            "host:port[,host:port…] (entry {} is not host:port)",
                            bad + 1
                        ),
                    );
                    return None;
                }
                EventBusConfig::Kafka {
                    bootstrap_servers: servers,
                }
            }
            EventBusKind::Pulsar => {
                let url = self.url(
                    "PULSAR_URL",
                    &needed_by,
                    &["pulsar", "pulsar+ssl"],
                    "pulsar://127.0.0.1:6650",
                );
                let token = self.optional_secret("PULSAR_TOKEN");
                EventBusConfig::Pulsar {
                    url: url?,
                    token: token?,
                }
            }
        };
        Some(Port { backend, chosen_by })
    }

    pub(crate) fn auth(&mut self) -> Option<Port<AuthConfig>> {
        let (kind, chosen_by, needed_by) = self.kind::<AuthKind>()?;
        let backend = match kind {
            AuthKind::None => {
                let workspace_id = self.with_default("AVB_SANDBOX_WORKSPACE", "sandbox");
                let subject = self.with_default("AVB_SANDBOX_SUBJECT", "sandbox-user");
                AuthConfig::None {
                    workspace_id: workspace_id?,
                    subject: subject?,
                }
            }
            AuthKind::Local => AuthConfig::Local {
                key_file: self
                    .with_default("AVB_AUTH_DEV_KEY_FILE", ".avb/auth/dev-key.pem")?
                    .into(),
            },
            AuthKind::Keycloak => {
                let has_issuer = self.vars.contains_key("OIDC_ISSUER_URL");
                let has_keycloak = self.vars.contains_key("KEYCLOAK_URL")
                    || self.vars.contains_key("KEYCLOAK_REALM");
                let issuer = match (has_issuer, has_keycloak) {
                    (true, true) => {
                        self.problems.push(Problem::Conflict {
                            keys: vec!["OIDC_ISSUER_URL".into(), "KEYCLOAK_URL".into(), "KEYCLOAK_REALM".into()],
                            reason: "OIDC_ISSUER_URL and KEYCLOAK_URL/KEYCLOAK_REALM are both set: set the issuer one way only".into(),
                        });
                        return None;
                    }
                    (false, true) => {
                        let base =
                            self.url("KEYCLOAK_URL", &needed_by, HTTP, "http://127.0.0.1:8080");
                        let realm = self.required("KEYCLOAK_REALM", "KEYCLOAK_URL is set", "avb");
                        let (mut base, realm) = (base?.expose().clone(), realm?);
                        if realm.contains(['/', '?', '#']) {
                            self.invalid(
                                "KEYCLOAK_REALM",
                                realm,
                                "a realm name without '/', '?' or '#'",
                            );
                            return None;
                        }
                        let path = format!("{}/realms/{realm}", base.path().trim_end_matches('/'));
                        base.set_path(&path);
                        ServiceUrl::new(base)
                    }
                    _ => self.url(
                        "OIDC_ISSUER_URL",
                        &needed_by,
                        HTTP,
                        "http://127.0.0.1:8080/realms/avb, or KEYCLOAK_URL + KEYCLOAK_REALM",
                    )?,
                };
                let audience = self
                    .required("OIDC_AUDIENCE", &needed_by, "avb-api")
                    .map(str::to_string);
                let client_id = match self.vars.contains_key("OIDC_CLIENT_ID") {
                    false => Some(None),
                    true => self.value("OIDC_CLIENT_ID").map(|v| Some(v.to_string())),
                };
                let client_secret = self.optional_secret("OIDC_CLIENT_SECRET");
                let workspace_claim = self.workspace_claim();
                let leeway_seconds = self.integer("AUTH_LEEWAY_SECONDS", 30, 0..=300);
                let jwks_min_refresh_seconds =
                    self.integer("OIDC_JWKS_MIN_REFRESH_SECONDS", 10, 1..=3600);
                let jwks_max_age_seconds =
                    self.integer("OIDC_JWKS_MAX_AGE_SECONDS", 300, 10..=86_400);
                let allowed_origins = self.origins("OIDC_ALLOWED_ORIGINS");
                let introspection = self.choice(
                    "OIDC_INTROSPECTION",
                    &[
                        ("off", OidcIntrospection::Off),
                        ("all", OidcIntrospection::All),
                        ("per_route", OidcIntrospection::PerRoute),
                    ],
                    OidcIntrospection::Off,
                );
                let introspection_cache_seconds =
                    self.integer("OIDC_INTROSPECTION_CACHE_SECONDS", 5, 0..=300);
                let (client_id, client_secret) = (client_id?, client_secret?);
                let introspection = introspection?;
                if introspection != OidcIntrospection::Off
                    && (client_id.is_none() || client_secret.is_none())
                {
                    self.problems.push(Problem::Conflict {
                        keys: vec![
                            "OIDC_INTROSPECTION".into(),
                            "OIDC_CLIENT_ID".into(),
                            "OIDC_CLIENT_SECRET".into(),
                        ],
                        reason: format!(
                            "OIDC_INTROSPECTION={} needs the client that calls the introspection endpoint: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
                            introspection.as_str()
                        ),
                    });
                    return None;
                }
                if client_secret.is_some() && client_id.is_none() {
                    self.problems.push(Problem::Conflict {
                        keys: vec!["OIDC_CLIENT_ID".into(), "OIDC_CLIENT_SECRET".into()],
                        reason: "OIDC_CLIENT_SECRET is set but OIDC_CLIENT_ID is not: the secret belongs to a client".into(),
                    });
                    return None;
                }
                AuthConfig::Keycloak {
                    issuer,
                    audience: audience?,
                    client_id,
                    client_secret,
                    workspace_claim: workspace_claim?,
                    leeway_seconds: leeway_seconds?,
                    jwks_min_refresh_seconds: jwks_min_refresh_seconds?,
                    jwks_max_age_seconds: jwks_max_age_seconds?,
                    allowed_origins: allowed_origins?,
                    introspection,
                    introspection_cache_seconds: introspection_cache_seconds?,
                }
            }
        };
        Some(Port { backend, chosen_by })
    }

    pub(crate) fn object_store(&mut self) -> Option<Port<ObjectStoreConfig>> {
        let (kind, chosen_by, needed_by) = self.kind::<ObjectStoreKind>()?;
        let backend = match kind {
            ObjectStoreKind::Memory => ObjectStoreConfig::Memory,
            ObjectStoreKind::Fs => ObjectStoreConfig::Fs {
                root: self
                    .sandbox_default("OBJECT_STORE_DIR", ".avb/objects", &needed_by)?
                    .into(),
            },
            ObjectStoreKind::S3 => {
                let bucket = self
                    .required("OBJECT_STORE_BUCKET", &needed_by, "avb-data")
                    .map(str::to_string);
                let endpoint = self.optional_url("AWS_ENDPOINT_URL", HTTP);
                let region = match self.vars.contains_key("AWS_REGION") {
                    false => Some(None),
                    true => self.value("AWS_REGION").map(|r| Some(r.to_string())),
                };
                let credentials = match (
                    self.vars.contains_key("AWS_ACCESS_KEY_ID"),
                    self.vars.contains_key("AWS_SECRET_ACCESS_KEY"),
                ) {
                    (false, false) => Some(None),
                    (true, true) => {
                        let id = self.value("AWS_ACCESS_KEY_ID");
                        let secret = self.value("AWS_SECRET_ACCESS_KEY");
                        Some(Some(S3Credentials {
                            access_key_id: Secret::new(id?),
                            secret_access_key: Secret::new(secret?),
                        }))
                    }
                    (id, _) => {
                        let (set, unset) = if id {
                            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                        } else {
                            ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
                        };
                        self.problems.push(Problem::Conflict {
                            keys: vec![unset.into(), set.into()],
                            reason: format!("{set} is set but {unset} is not: set both for static credentials, or neither for the AWS SDK's chain"),
                        });
                        None
                    }
                };
                let endpoint = endpoint?;
                let profile = self.s3_profile(endpoint.as_ref());
                let (path_style, checksums, prefix) = match profile {
                    Some(p) => (
                        self.bool_with_default("OBJECT_STORE_S3_PATH_STYLE", p != S3Profile::Aws),
                        self.s3_checksums(p),
                        self.s3_prefix(),
                    ),
                    None => (None, None, None),
                };
                ObjectStoreConfig::S3 {
                    bucket: bucket?,
                    endpoint,
                    region: region?,
                    credentials: credentials?,
                    profile: profile?,
                    path_style: path_style?,
                    checksums: checksums?,
                    prefix: prefix?,
                }
            }
        };
        Some(Port { backend, chosen_by })
    }

    fn choice<T: Copy>(&mut self, key: &str, options: &[(&str, T)], default: T) -> Option<T> {
        if !self.vars.contains_key(key) {
            return Some(default);
        }
        let value = self.value(key)?;
        match options.iter().find(|(name, _)| *name == value) {
            Some((_, v)) => Some(*v),
            None => {
                let allowed: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.invalid(key, value, format!("one of {}", allowed.join(", ")));
                None
            }
        }
    }

    fn bool_with_default(&mut self, key: &str, default: bool) -> Option<bool> {
        self.choice(key, &[("true", true), ("false", false)], default)
    }

    fn s3_profile(&mut self, endpoint: Option<&ServiceUrl>) -> Option<S3Profile> {
        let inferred = match endpoint.and_then(|e| e.expose().host_str().map(str::to_string)) {
            None => S3Profile::Aws,
            Some(host) if host == "storage.googleapis.com" => S3Profile::Gcs,
            Some(host) if host == "amazonaws.com" || host.ends_with(".amazonaws.com") => {
                S3Profile::Aws
            }
            Some(_) => S3Profile::Generic,
        };
        let options = [
            ("aws", S3Profile::Aws),
            ("gcs", S3Profile::Gcs),
            ("generic", S3Profile::Generic),
        ];
        self.choice("OBJECT_STORE_S3_PROFILE", &options, inferred)
    }

    fn s3_checksums(&mut self, profile: S3Profile) -> Option<S3Checksums> {
        let default = match profile {
            S3Profile::Aws => S3Checksums::WhenSupported,
            S3Profile::Gcs | S3Profile::Generic => S3Checksums::WhenRequired,
        };
        let options = [
            ("when_required", S3Checksums::WhenRequired),
            ("when_supported", S3Checksums::WhenSupported),
        ];
        let chosen = self.choice("OBJECT_STORE_S3_CHECKSUMS", &options, default)?;
        if profile == S3Profile::Gcs && chosen == S3Checksums::WhenSupported {
            self.problems.push(Problem::Invalid {
                key: "OBJECT_STORE_S3_CHECKSUMS".into(),
                value: chosen.as_str().into(),
                expected: "when_required with OBJECT_STORE_S3_PROFILE=gcs (GCS rejects the flexible-checksum headers)".into(),
            });
            return None;
        }
        Some(chosen)
    }

    fn s3_prefix(&mut self) -> Option<Option<String>> {
        const KEY: &str = "OBJECT_STORE_S3_PREFIX";
        if !self.vars.contains_key(KEY) {
            return Some(None);
        }
        let value = self.value(KEY)?;
        let trimmed = value.trim_end_matches('/');
        let bad = trimmed.is_empty()
            || trimmed.starts_with('/')
            || trimmed.chars().any(char::is_control)
            || trimmed
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..");
        if bad {
            self.invalid(KEY, value, "key segments separated by '/' (no leading '/', no empty, '.' or '..' segment), e.g. `avb/prod`");
            return None;
        }
        Some(Some(trimmed.to_string()))
    }

    pub(crate) fn catalog(&mut self) -> Option<Port<CatalogConfig>> {
        let (kind, chosen_by, needed_by) = self.kind::<CatalogKind>()?;
        let backend = match kind {
            CatalogKind::Json => CatalogConfig::Json {
                file: self
                    .sandbox_default("DATA_CATALOG_FILE", "stub-catalog.json", &needed_by)?
                    .into(),
            },
            CatalogKind::OpenMetadata => {
                let url = self.url(
                    "OPENMETADATA_URL",
                    &needed_by,
                    HTTP,
                    "http://127.0.0.1:8585/api",
                );
                let token = self.optional_secret("OPENMETADATA_TOKEN");
                CatalogConfig::OpenMetadata {
                    url: url?,
                    token: token?,
                }
            }
        };
        Some(Port { backend, chosen_by })
    }

    pub(crate) fn llm(&mut self) -> Option<Port<LlmConfig>> {
        let (kind, chosen_by, needed_by) = self.kind::<LlmKind>()?;
        let backend = match kind {
            LlmKind::Mock => LlmConfig::Mock,
            LlmKind::OpenAi | LlmKind::Ollama => {
                let example = if kind == LlmKind::Ollama {
                    "http://127.0.0.1:11434"
                } else {
                    "https://api.openai.com/v1"
                };
                let url = self.url("LLM_API_URL", &needed_by, HTTP, example);
                let model = self
                    .required("LLM_MODEL", &needed_by, "gemma3:270m")
                    .map(str::to_string);
                let api_key = self.optional_secret("LLM_API_KEY");
                let (url, model, api_key) = (url?, model?, api_key?);
                match kind {
                    LlmKind::Ollama => LlmConfig::Ollama {
                        url,
                        model,
                        api_key,
                    },
                    _ => LlmConfig::OpenAi {
                        url,
                        model,
                        api_key,
                    },
                }
            }
        };
        Some(Port { backend, chosen_by })
    }
}

/// `host:port`: a DNS name or IPv4 address (letters, digits, `.`, `-`, `_`) or a bracketed IPv6 address,
/// and a port 1-65535. Nothing else — in particular no `user:password@` and no `scheme://`.
fn is_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => {
            !v6.is_empty()
                && v6
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        }
        None => {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        }
    };
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod auth_tests {
    use super::*;
    use crate::config::Config;

    fn keycloak(extra: &[(&str, &str)]) -> Result<AuthConfig, String> {
        let mut pairs = vec![
            ("AUTH_MODE", "keycloak"),
            ("OIDC_ISSUER_URL", "http://127.0.0.1:18080/realms/avb"),
        ];
        pairs.extend_from_slice(extra);
        Config::from_iter(pairs)
            .map(|c| c.auth.backend)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn keycloak_reads_audience_client_claim_and_limits() {
        let auth = keycloak(&[
            ("OIDC_AUDIENCE", "urn:avb:api"),
            ("OIDC_CLIENT_ID", "avb-service"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
            ("AUTH_WORKSPACE_CLAIM", "tenant"),
            ("AUTH_LEEWAY_SECONDS", "5"),
        ])
        .unwrap();
        let AuthConfig::Keycloak {
            audience,
            client_id,
            client_secret,
            workspace_claim,
            leeway_seconds,
            jwks_min_refresh_seconds,
            jwks_max_age_seconds,
            ..
        } = auth
        else {
            panic!("not keycloak: {auth:?}");
        };
        assert_eq!(audience, "urn:avb:api");
        assert_eq!(client_id.as_deref(), Some("avb-service"));
        assert_eq!(
            client_secret.map(|s| s.expose().to_string()).as_deref(),
            Some("s3cret")
        );
        assert_eq!(workspace_claim, "tenant");
        assert_eq!(
            (
                leeway_seconds,
                jwks_min_refresh_seconds,
                jwks_max_age_seconds
            ),
            (5, 10, 300)
        );
    }

    #[test]
    fn introspection_is_off_by_default_and_needs_the_client_when_on() {
        let AuthConfig::Keycloak {
            introspection,
            introspection_cache_seconds,
            ..
        } = keycloak(&[("OIDC_AUDIENCE", "a")]).unwrap()
        else {
            panic!("not keycloak");
        };
        assert_eq!(
            (introspection, introspection_cache_seconds),
            (OidcIntrospection::Off, 5)
        );
        let client = [("OIDC_CLIENT_ID", "api"), ("OIDC_CLIENT_SECRET", "s3cret")];
        for (value, expected) in [
            ("all", OidcIntrospection::All),
            ("per_route", OidcIntrospection::PerRoute),
        ] {
            let mut vars = vec![("OIDC_AUDIENCE", "a"), ("OIDC_INTROSPECTION", value)];
            vars.push(("OIDC_INTROSPECTION_CACHE_SECONDS", "0"));
            vars.extend(client);
            let AuthConfig::Keycloak {
                introspection,
                introspection_cache_seconds,
                ..
            } = keycloak(&vars).unwrap()
            else {
                panic!("not keycloak");
            };
            assert_eq!((introspection, introspection_cache_seconds), (expected, 0));
            let err =
                keycloak(&[("OIDC_AUDIENCE", "a"), ("OIDC_INTROSPECTION", value)]).unwrap_err();
            assert!(
                err.contains("OIDC_INTROSPECTION") && err.contains("OIDC_CLIENT_SECRET"),
                "{err}"
            );
        }
        for bad in [
            ("OIDC_INTROSPECTION", "yes"),
            ("OIDC_INTROSPECTION_CACHE_SECONDS", "301"),
        ] {
            let err = keycloak(&[("OIDC_AUDIENCE", "a"), bad, client[0], client[1]]).unwrap_err();
            assert!(err.contains(bad.0) && !err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn allowed_origins_are_parsed_to_origins_and_anything_else_is_refused() {
        let auth = keycloak(&[
            ("OIDC_AUDIENCE", "a"),
            (
                "OIDC_ALLOWED_ORIGINS",
                "https://kc-internal:8443, http://Keys.Example/",
            ),
        ])
        .unwrap();
        let AuthConfig::Keycloak {
            allowed_origins, ..
        } = auth
        else {
            panic!("not keycloak: {auth:?}");
        };
        assert_eq!(
            allowed_origins,
            ["https://kc-internal:8443", "http://keys.example"]
        );
        for bad in [
            "https://h/path",
            "ftp://h",
            "https://u:MARKER@h",
            "not a url",
            "https://h?x=1",
        ] {
            let err =
                keycloak(&[("OIDC_AUDIENCE", "a"), ("OIDC_ALLOWED_ORIGINS", bad)]).unwrap_err();
            assert!(err.contains("OIDC_ALLOWED_ORIGINS"), "{err}");
            assert!(!err.contains("MARKER"), "{err}");
        }
    }

    #[test]
    fn missing_audience_names_the_variable() {
        let err = keycloak(&[]).unwrap_err();
        assert!(err.contains("OIDC_AUDIENCE"), "{err}");
        assert!(err.contains("AUTH_MODE=keycloak"), "{err}");
    }

    #[test]
    fn bad_numbers_name_variable_value_and_range() {
        let err = keycloak(&[("OIDC_AUDIENCE", "a"), ("AUTH_LEEWAY_SECONDS", "301")]).unwrap_err();
        assert!(err.contains("AUTH_LEEWAY_SECONDS"), "{err}");
        assert!(err.contains("301"), "{err}");
        assert!(err.contains("0 to 300"), "{err}");
        let err = keycloak(&[
            ("OIDC_AUDIENCE", "a"),
            ("OIDC_JWKS_MIN_REFRESH_SECONDS", "soon"),
        ])
        .unwrap_err();
        assert!(
            err.contains("OIDC_JWKS_MIN_REFRESH_SECONDS") && err.contains("soon"),
            "{err}"
        );
        assert!(err.contains("1 to 3600"), "{err}");
    }

    #[test]
    fn secret_without_client_is_a_conflict_and_never_shows_the_secret() {
        let err =
            keycloak(&[("OIDC_AUDIENCE", "a"), ("OIDC_CLIENT_SECRET", "hunter2")]).unwrap_err();
        assert!(err.contains("OIDC_CLIENT_ID"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn local_key_file_defaults_under_dot_avb() {
        let config = Config::from_iter([("AUTH_MODE", "local")]).unwrap();
        assert_eq!(
            config.auth.backend,
            AuthConfig::Local {
                key_file: ".avb/auth/dev-key.pem".into()
            }
        );
        let config = Config::from_iter([
            ("AUTH_MODE", "local"),
            ("AVB_AUTH_DEV_KEY_FILE", "/tmp/k.pem"),
        ])
        .unwrap();
        assert!(config.to_string().contains("/tmp/k.pem"), "{config}");
    }
}

#[cfg(test)]
#[path = "object_store_tests.rs"]
mod object_store_tests;

#[cfg(test)]
mod event_bus_tests {
    use super::*;
    use crate::config::Config;

    fn event_bus(pairs: &[(&str, &str)]) -> Result<EventBusConfig, String> {
        Config::from_iter(pairs.iter().copied())
            .map(|c| c.event_bus.backend)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn delivery_settings_default_and_override() {
        assert_eq!(
            event_bus(&[]).unwrap(),
            EventBusConfig::Memory {
                delivery: EventBusDelivery::default()
            }
        );
        let got = event_bus(&[
            ("EVENT_BUS", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("EVENT_BUS_ACK_TIMEOUT_MS", "1500"),
            ("EVENT_BUS_MAX_ATTEMPTS", "9"),
            ("EVENT_BUS_MAX_LEN", "none"),
        ])
        .unwrap();
        let EventBusConfig::Redis { delivery, .. } = got else {
            panic!("{got:?}")
        };
        assert_eq!(
            delivery,
            EventBusDelivery {
                ack_timeout_ms: 1500,
                max_attempts: 9,
                max_len: None
            }
        );
    }

    #[test]
    fn bad_delivery_settings_name_variable_value_and_allowed_values() {
        for (key, value, expected) in [
            (
                "EVENT_BUS_ACK_TIMEOUT_MS",
                "5",
                "milliseconds, an integer >= 10",
            ),
            (
                "EVENT_BUS_ACK_TIMEOUT_MS",
                "soon",
                "milliseconds, an integer >= 10",
            ),
            ("EVENT_BUS_MAX_ATTEMPTS", "0", "an integer >= 1"),
            ("EVENT_BUS_MAX_ATTEMPTS", "-1", "an integer >= 1"),
            ("EVENT_BUS_MAX_LEN", "0", "an integer >= 1, or none"),
            ("EVENT_BUS_MAX_LEN", "all", "an integer >= 1, or none"),
        ] {
            let err = event_bus(&[(key, value)]).unwrap_err();
            let want = format!("{key}={value:?} is invalid: expected {expected}");
            assert!(err.contains(&want), "{err}\nshould contain: {want}");
        }
    }
}
