//! Mode resolution: one typed [`Config`] from `(key, value)` pairs.
//!
//! The rules (DESIGN §2), all applied here and nowhere else:
//!
//! | variable | values | default | rule |
//! |---|---|---|---|
//! | `AVB_ENV` (alias `DJANGO_ENV`) | `development`, `staging`, `production` | `development` | `AVB_ENV` wins when both are set |
//! | `AVB_DEV_MODE` | `sandbox`, `live` | `sandbox` | read only in `development`; staging/production are `live` and the summary says it was ignored |
//! | `EVENT_BUS` | `memory`, `redis`, `kafka`, `pulsar` | sandbox `memory`, live `pulsar` | per-port override |
//! | `AUTH_MODE` | `none`, `local`, `keycloak` (alias `oidc`) | sandbox `none`, live `keycloak` | |
//! | `OBJECT_STORE` | `memory`, `fs`, `s3` | sandbox `memory`, live `s3` | `AWS_ENDPOINT_URL` picks MinIO/GCS/AWS |
//! | `DATA_CATALOG` | `json`, `openmetadata` | sandbox `json`, live `openmetadata` | |
//! | `LLM_PROVIDER` | `mock`, `openai`, `ollama` | sandbox `mock`, live `ollama` | |
//!
//! Every other variable (connection settings) is listed in [`keys::KEYS`], which also generates the README
//! table. Values match case-insensitively; an empty value is an error, never "unset".
//!
//! Fail-closed rules: sandbox-only backends (`AUTH_MODE=none|local`, `EVENT_BUS=memory`, `OBJECT_STORE=memory`,
//! `LLM_PROVIDER=mock`) are refused in staging/production, with no override; a backend's missing connection
//! setting, an unknown value, an unknown `AVB_*` variable (other than the test harness's `AVB_TEST_*`) and a
//! malformed URL are errors. Every problem is collected, so one run reports them all.
//!
//! Layers: [`ConfigBuilder::with_env_file`] adds a `.env.sandbox`/`.env.live` file's pairs *under* the
//! process pairs given to [`ConfigBuilder::from_iter`]. The mode variables themselves cannot come from such a
//! file (the file is chosen by the mode).
//!
//! ```
//! use avb_core::config::{Config, EventBusConfig, Mode};
//! let config = Config::from_iter([("EVENT_BUS", "redis"), ("REDIS_URL", "redis://:pw@127.0.0.1:6379")]).unwrap();
//! assert_eq!(config.mode, Mode::Sandbox);
//! assert!(matches!(config.event_bus.backend, EventBusConfig::Redis { .. }));
//! assert!(!config.to_string().contains("pw"));
//! ```

mod choice;
mod claims;
mod env_file;
mod error;
pub mod keys;
mod ports;
mod scrub;
mod secret;
mod summary;

pub use choice::{
    AuthKind, BackendKind, CatalogKind, Choice, Environment, EventBusKind, LlmKind, Mode,
    ObjectStoreKind,
};
pub use claims::{RESERVED_CLAIMS, reserved_claim, reserved_claim_names};
pub use error::{ConfigError, Problem};
pub use ports::{
    AuthConfig, CatalogConfig, EventBusConfig, EventBusDelivery, LlmConfig, ObjectStoreConfig,
    OidcIntrospection, S3_DEFAULT_REGION, S3Checksums, S3Credentials, S3Profile,
};
pub use secret::{REDACTED, Secret, ServiceUrl, redact_raw, redact_url};

use serde::Serialize;
use std::collections::BTreeMap;

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Nothing was set: the default for the environment or mode.
    Default,
    /// A process environment variable.
    Variable {
        /// Its name.
        name: String,
    },
    /// A line of a `.env.*` file.
    File {
        /// The variable's name.
        name: String,
        /// The file.
        file: String,
    },
}

/// A port's resolved backend and what chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port<T> {
    /// The backend with its settings.
    pub backend: T,
    /// What chose the backend.
    pub chosen_by: Source,
}

/// Something the resolver saw and deliberately did not use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// The variable.
    pub key: String,
    /// Its value (redacted when secret).
    pub value: String,
    /// Why it was ignored.
    pub reason: String,
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
    /// Variables seen and not used, with the reason.
    pub ignored: Vec<Ignored>,
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
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) value: String,
    pub(crate) source: Source,
}

/// Builds a [`Config`] from layers of pairs. All validation happens in [`ConfigBuilder::build`].
#[derive(Debug, Default, Clone)]
pub struct ConfigBuilder {
    env: BTreeMap<String, String>,
    file: Option<(String, Vec<(String, String)>)>,
    problems: Vec<Problem>,
}

const MODE_KEYS: [&str; 3] = ["AVB_ENV", "DJANGO_ENV", "AVB_DEV_MODE"];

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
        self.env
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets one process-environment variable.
    pub fn with_config(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.from_iter([(key.into(), value.into())])
    }

    /// Records a process variable whose value is not UTF-8; an error when avb reads that variable.
    pub fn with_non_unicode(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        if keys::find(&key).is_some() {
            self.problems.push(Problem::Invalid {
                key,
                value: "<not UTF-8>".into(),
                expected: "a UTF-8 value".into(),
            });
        }
        self
    }

    /// The `.env.*` file this configuration reads under the process environment: `.env.sandbox` or
    /// `.env.live`, chosen by the mode the process pairs resolve to.
    pub fn env_file_name(&self) -> Result<&'static str, ConfigError> {
        let vars = self.layered(false);
        let mut problems = Vec::new();
        let (_, _, mode, _, _) = resolve_mode(&vars, &mut problems);
        if problems.is_empty() {
            Ok(match mode {
                Mode::Sandbox => ".env.sandbox",
                Mode::Live => ".env.live",
            })
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// Layers a `.env.*` file's text under the process pairs. `name` is how errors and the summary refer
    /// to it (usually its path).
    pub fn with_env_file(mut self, name: impl Into<String>, text: &str) -> Self {
        let name = name.into();
        match env_file::parse(&name, text) {
            Ok(pairs) => {
                for (k, _) in pairs
                    .iter()
                    .filter(|(k, _)| MODE_KEYS.contains(&k.as_str()))
                {
                    self.problems.push(Problem::Conflict {
                        keys: vec![k.clone()],
                        reason: format!(
                            "{k} cannot be set in {name}: the file is chosen by the mode; set {k} in the process environment"
                        ),
                    });
                }
                self.file = Some((name, pairs));
            }
            Err(mut problems) => self.problems.append(&mut problems),
        }
        self
    }

    /// Records that the `.env.*` file exists but could not be read (an error: a half-read setup is not
    /// silently replaced by defaults).
    pub fn with_unreadable_env_file(
        mut self,
        name: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        self.problems.push(Problem::Unreadable {
            file: name.into(),
            reason: reason.into(),
        });
        self
    }

    fn layered(&self, with_file: bool) -> BTreeMap<String, Entry> {
        let mut vars = BTreeMap::new();
        if let (true, Some((file, pairs))) = (with_file, &self.file) {
            for (k, v) in pairs {
                vars.insert(
                    k.clone(),
                    Entry {
                        value: v.clone(),
                        source: Source::File {
                            name: k.clone(),
                            file: file.clone(),
                        },
                    },
                );
            }
        }
        for (k, v) in &self.env {
            vars.insert(
                k.clone(),
                Entry {
                    value: v.clone(),
                    source: Source::Variable { name: k.clone() },
                },
            );
        }
        vars
    }

    /// Resolves and validates everything; returns every problem found.
    pub fn build(self) -> Result<Config, ConfigError> {
        let vars = self.layered(true);
        let mut problems = self.problems.clone();
        for key in vars
            .keys()
            .filter(|k| k.starts_with("AVB_") && !k.starts_with(keys::TEST_PREFIX))
        {
            if keys::find(key).is_none() {
                problems.push(Problem::UnknownKey {
                    key: key.clone(),
                    suggestion: keys::suggest(key).map(str::to_string),
                });
            }
        }
        let (environment, environment_source, mode, mode_source, ignored) =
            resolve_mode(&vars, &mut problems);
        let mut r = ports::Reader::new(&vars, environment, &environment_source, mode);
        let event_bus = r.event_bus();
        let auth = r.auth();
        let object_store = r.object_store();
        let catalog = r.catalog();
        let llm = r.llm();
        problems.append(&mut r.into_problems());
        match (event_bus, auth, object_store, catalog, llm) {
            (Some(event_bus), Some(auth), Some(object_store), Some(catalog), Some(llm))
                if problems.is_empty() =>
            {
                Ok(Config {
                    environment,
                    environment_source,
                    mode,
                    mode_source,
                    env_file: self.file.map(|(name, _)| name),
                    event_bus,
                    auth,
                    object_store,
                    catalog,
                    llm,
                    ignored,
                })
            }
            _ => Err(ConfigError::new(problems)),
        }
    }
}

type ModeResolution = (Environment, Source, Mode, Source, Vec<Ignored>);

fn resolve_mode(vars: &BTreeMap<String, Entry>, problems: &mut Vec<Problem>) -> ModeResolution {
    let mut ignored = Vec::new();
    let env_entry = match (vars.get("AVB_ENV"), vars.get("DJANGO_ENV")) {
        (Some(avb), Some(django)) => {
            ignored.push(Ignored {
                key: "DJANGO_ENV".into(),
                value: ports::shown("DJANGO_ENV", &django.value),
                reason: "AVB_ENV is set and wins over DJANGO_ENV".into(),
            });
            Some(("AVB_ENV", avb))
        }
        (Some(avb), None) => Some(("AVB_ENV", avb)),
        (None, Some(django)) => Some(("DJANGO_ENV", django)),
        (None, None) => None,
    };
    let (environment, environment_source) = match env_entry {
        None => (Environment::Development, Source::Default),
        Some((key, entry)) => match Environment::parse(&entry.value) {
            Some(e) => (e, entry.source.clone()),
            None => {
                problems.push(Problem::Invalid {
                    key: key.into(),
                    value: ports::shown(key, &entry.value),
                    expected: format!("one of {}", Environment::allowed()),
                });
                (Environment::Development, entry.source.clone())
            }
        },
    };
    let dev_mode = vars.get("AVB_DEV_MODE");
    let (mode, mode_source) = match (environment, dev_mode) {
        (Environment::Development, None) => (Mode::Sandbox, Source::Default),
        (Environment::Development, Some(entry)) => match Mode::parse(&entry.value) {
            Some(m) => (m, entry.source.clone()),
            None => {
                problems.push(Problem::Invalid {
                    key: "AVB_DEV_MODE".into(),
                    value: ports::shown("AVB_DEV_MODE", &entry.value),
                    expected: format!("one of {}", Mode::allowed()),
                });
                (Mode::Sandbox, entry.source.clone())
            }
        },
        (env, dev_mode) => {
            if let Some(entry) = dev_mode {
                ignored.push(Ignored {
                    key: "AVB_DEV_MODE".into(),
                    value: ports::shown("AVB_DEV_MODE", &entry.value),
                    reason: format!(
                        "read only in development; the environment is {env}, which is always live"
                    ),
                });
            }
            (Mode::Live, Source::Default)
        }
    };
    (environment, environment_source, mode, mode_source, ignored)
}

#[cfg(test)]
mod tests;
