//! The configuration toolkit: mode resolution and everything a port crate needs to read its own settings.
//!
//! The rules (DESIGN §2), applied here and nowhere else:
//!
//! | variable | values | default | rule |
//! |---|---|---|---|
//! | `AVB_ENV` (alias `DJANGO_ENV`) | `development`, `staging`, `production` | `development` | `AVB_ENV` wins when both are set |
//! | `AVB_DEV_MODE` | `sandbox`, `live` | `sandbox` | read only in `development`; staging/production are `live` and the summary says it was ignored |
//!
//! Each port crate owns the rest: its backend kind (declared with [`choice!`](crate::choice) and
//! [`backend_kind!`](crate::backend_kind)), its variables ([`keys::Key`] constants listed in its `VARS`), its
//! `…Config` type implementing [`PortConfig`] (read with a [`Reader`], shown as a summary line, secrets
//! handed to a [`Scrubber`]). The facade (`avb::config`) composes the five ports and the [`keys::Registry`]
//! of every variable. Values match case-insensitively; an empty value is an error, never "unset".
//!
//! Fail-closed rules: sandbox-only backends are refused in staging/production, with no override; a
//! backend's missing connection setting, an unknown value, an unknown `AVB_*` variable (other than the test
//! harness's `AVB_TEST_*`) and a malformed URL are errors. Every problem is collected, so one run reports
//! them all.
//!
//! Layers: [`Layers::with_env_file`] adds a `.env.sandbox`/`.env.live` file's pairs *under* the process
//! pairs given to [`Layers::with_pairs`]. The mode variables themselves cannot come from such a file (the
//! file is chosen by the mode).

mod choice;
mod env_file;
mod error;
pub mod keys;
mod reader;
mod scrub;
mod secret;
mod summary;

pub use choice::{BackendKind, Choice, Environment, Mode};
pub use error::{ConfigError, Problem};
pub use keys::{Key, Registry};
pub use reader::{PortConfig, Reader};
pub use scrub::Scrubber;
pub use secret::{REDACTED, Secret, ServiceUrl, redact_raw, redact_url};
pub use summary::Rows;

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

/// What mode resolution decided: environment, mode, what set them, the `.env.*` file read and the
/// variables deliberately not used. The facade's `Config` carries it beside the five ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
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
    /// Variables seen and not used, with the reason.
    pub ignored: Vec<Ignored>,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) value: String,
    pub(crate) source: Source,
}

/// The layers of `(key, value)` pairs a configuration is resolved from. All validation happens in
/// [`Layers::resolve`].
#[derive(Debug, Default, Clone)]
pub struct Layers {
    env: BTreeMap<String, String>,
    file: Option<(String, String)>,
    non_unicode: Vec<String>,
    problems: Vec<Problem>,
}

const FILE_REFUSED: [&str; 3] = ["AVB_ENV", "DJANGO_ENV", "AVB_DEV_MODE"];

impl Layers {
    /// An empty builder: everything at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds process-environment pairs (a later pair wins over an earlier one with the same key).
    pub fn with_pairs<I, K, V>(mut self, pairs: I) -> Self
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
    pub fn with_var(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with_pairs([(key.into(), value.into())])
    }

    /// Records a process variable whose value is not UTF-8; an error when avb reads that variable.
    pub fn with_non_unicode(mut self, key: impl Into<String>) -> Self {
        self.non_unicode.push(key.into());
        self
    }

    /// The `.env.*` file this configuration reads under the process environment: `.env.sandbox` or
    /// `.env.live`, chosen by the mode the process pairs resolve to.
    pub fn env_file_name(&self) -> Result<&'static str, ConfigError> {
        let vars = self.layered(None);
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
        self.file = Some((name.into(), text.to_string()));
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

    /// The file's pairs (mode variables refused), reporting its problems.
    fn file_pairs(
        &self,
        registry: &Registry,
        problems: &mut Vec<Problem>,
    ) -> Option<(String, Vec<(String, String)>)> {
        let (name, text) = self.file.as_ref()?;
        match env_file::parse(name, text, registry) {
            Ok(pairs) => {
                for (k, _) in pairs
                    .iter()
                    .filter(|(k, _)| FILE_REFUSED.contains(&k.as_str()))
                {
                    problems.push(Problem::Conflict {
                        keys: vec![k.clone()],
                        reason: format!(
                            "{k} cannot be set in {name}: the file is chosen by the mode; set {k} in the process environment"
                        ),
                    });
                }
                Some((name.clone(), pairs))
            }
            Err(mut found) => {
                problems.append(&mut found);
                None
            }
        }
    }

    fn layered(&self, file: Option<&(String, Vec<(String, String)>)>) -> BTreeMap<String, Entry> {
        let mut vars = BTreeMap::new();
        if let Some((file, pairs)) = file {
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

    /// Resolves the mode, then lets `read` read the ports through a [`Reader`]; returns every problem found
    /// (by the layers, the mode rules, the unknown-`AVB_*` check against `registry`, and the ports).
    pub fn resolve<T>(
        self,
        registry: &Registry,
        read: impl FnOnce(&mut Reader<'_>) -> Option<T>,
    ) -> Result<(Resolution, T), ConfigError> {
        let mut problems = self.problems.clone();
        for key in self
            .non_unicode
            .iter()
            .filter(|k| registry.find(k).is_some())
        {
            problems.push(Problem::Invalid {
                key: key.clone(),
                value: "<not UTF-8>".into(),
                expected: "a UTF-8 value".into(),
            });
        }
        let file = self.file_pairs(registry, &mut problems);
        let vars = self.layered(file.as_ref());
        for key in vars
            .keys()
            .filter(|k| k.starts_with("AVB_") && !k.starts_with(keys::TEST_PREFIX))
        {
            if registry.find(key).is_none() {
                problems.push(Problem::UnknownKey {
                    key: key.clone(),
                    suggestion: registry.suggest(key).map(str::to_string),
                });
            }
        }
        let (environment, environment_source, mode, mode_source, ignored) =
            resolve_mode(&vars, &mut problems);
        let mut r = Reader::new(&vars, registry, environment, &environment_source, mode);
        let ports = read(&mut r);
        // Checked even when no port used it (all in-process): a bad value is an error, never ignored.
        let _ = r.resource_scope();
        let mut port_problems = r.into_problems();
        problems.append(&mut port_problems);
        match ports {
            Some(ports) if problems.is_empty() => Ok((
                Resolution {
                    environment,
                    environment_source,
                    mode,
                    mode_source,
                    env_file: file.map(|(name, _)| name),
                    ignored,
                },
                ports,
            )),
            Some(_) => Err(ConfigError::new(problems)),
            None if problems.is_empty() => Err(ConfigError::new(vec![Problem::Conflict {
                keys: Vec::new(),
                reason:
                    "a port refused its settings without a reason (a bug in avb: please report it)"
                        .into(),
            }])),
            None => Err(ConfigError::new(problems)),
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
                value: reader::shown(&keys::DJANGO_ENV, &django.value),
                reason: "AVB_ENV is set and wins over DJANGO_ENV".into(),
            });
            Some((&keys::AVB_ENV, avb))
        }
        (Some(avb), None) => Some((&keys::AVB_ENV, avb)),
        (None, Some(django)) => Some((&keys::DJANGO_ENV, django)),
        (None, None) => None,
    };
    let (environment, environment_source) = match env_entry {
        None => (Environment::Development, Source::Default),
        Some((env_key, entry)) => match Environment::parse(&entry.value) {
            Some(e) => (e, entry.source.clone()),
            None => {
                problems.push(Problem::Invalid {
                    key: env_key.name.into(),
                    value: reader::shown(env_key, &entry.value),
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
                    value: reader::shown(&keys::AVB_DEV_MODE, &entry.value),
                    expected: format!("one of {}", Mode::allowed()),
                });
                (Mode::Sandbox, entry.source.clone())
            }
        },
        (env, dev_mode) => {
            if let Some(entry) = dev_mode {
                ignored.push(Ignored {
                    key: "AVB_DEV_MODE".into(),
                    value: reader::shown(&keys::AVB_DEV_MODE, &entry.value),
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
