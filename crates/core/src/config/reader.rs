//! The toolkit a port crate reads its settings with: [`Reader`] (typed reads that report every problem and
//! never show a secret) and the [`PortConfig`] trait each port's configuration implements.

use super::choice::{BackendKind, Environment, Mode};
use super::error::{ConfigError, Problem};
use super::keys::{Key, Registry};
use super::scrub::Scrubber;
use super::secret::{Secret, ServiceUrl, at_after_host, has_authority, redact_raw, redact_url};
use super::{Entry, Layers, Port, Source};
use std::collections::BTreeMap;
use std::fmt;
use url::Url;

/// A port's configuration: which backend, with its settings. Implemented by each port crate's
/// `…Config` enum, which the facade composes into the whole configuration.
pub trait PortConfig: Sized + fmt::Display {
    /// The port's backend kind (`EVENT_BUS`'s values).
    type Kind: BackendKind;
    /// The port's noun in snake case (`event_bus`): the health key and the summary row.
    const NAME: &'static str;
    /// Every variable the port reads, the selecting one first, in documentation order.
    const VARS: &'static [Key];

    /// Reads the settings of `kind`'s backend. `needed_by` names what asked for them
    /// (`EVENT_BUS=redis`, or `EVENT_BUS=pulsar (the live default)`) for "missing" problems. Returns `None`
    /// only after reporting at least one problem on `r`.
    fn read(kind: Self::Kind, r: &mut Reader<'_>, needed_by: &str) -> Option<Self>;

    /// The backend kind this configuration is for.
    fn kind(&self) -> Self::Kind;

    /// Hands every secret and credential-bearing URL of the settings to `out`, so that text from outside
    /// avb (a client library's error) can be scrubbed of them.
    fn secrets<'a>(&'a self, out: &mut Scrubber<'a>);

    /// Resolves this port alone from process-environment pairs: the mode rules, this port's variables, and
    /// the unknown-`AVB_*` check against the mode variables and this port's. For a service that links one
    /// port crate without the facade, and for the port's tests.
    fn from_pairs<I, K, V>(pairs: I) -> Result<Port<Self>, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let registry = Registry::new([Self::VARS]);
        Layers::new()
            .with_pairs(pairs)
            .resolve(&registry, |r| r.port::<Self>())
            .map(|(_, port)| port)
    }
}

/// Reads validated settings from the layered variables, collecting every problem (so one run reports them
/// all). Every value an error shows goes through [`Reader::shown`]: a secret never, a URL redacted.
#[derive(Debug)]
pub struct Reader<'a> {
    vars: &'a BTreeMap<String, Entry>,
    registry: &'a Registry,
    environment: Environment,
    environment_source: &'a Source,
    mode: Mode,
    problems: Vec<Problem>,
    resource_scope: Option<Option<crate::ResourceScope>>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(
        vars: &'a BTreeMap<String, Entry>,
        registry: &'a Registry,
        environment: Environment,
        environment_source: &'a Source,
        mode: Mode,
    ) -> Self {
        Self {
            vars,
            registry,
            environment,
            environment_source,
            mode,
            problems: Vec::new(),
            resource_scope: None,
        }
    }

    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// The resolved mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The resolved environment.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The environment scope of resource names (`AVB_RESOURCE_SCOPE`, default the environment; rules:
    /// [`ResourceScope::resolve`](crate::ResourceScope::resolve)). Read once: every port asking gets the
    /// same scope, and a bad value is one problem.
    pub fn resource_scope(&mut self) -> Option<crate::ResourceScope> {
        if let Some(done) = &self.resource_scope {
            return done.clone();
        }
        let key = &super::keys::AVB_RESOURCE_SCOPE;
        let scope = self.optional(key).and_then(|value| {
            let explicit = !matches!(self.environment_source, Source::Default);
            match crate::ResourceScope::resolve(value.as_deref(), self.environment, explicit) {
                Ok(scope) => Some(scope),
                Err(expected) => {
                    self.invalid(key, value.as_deref().unwrap_or_default(), expected);
                    None
                }
            }
        });
        self.resource_scope = Some(scope.clone());
        scope
    }

    /// Records a problem.
    pub fn problem(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// A value as an error may show it: a secret never; a URL variable's only as [`redact_url`] shows it
    /// (nothing but its scheme when it does not parse); any other value as [`redact_raw`] shows it (as is,
    /// unless it carries an `@` or a `://`).
    pub fn shown(&self, key: &Key, value: &str) -> String {
        shown(key, value)
    }

    /// Whether `key` is set (to anything, even empty).
    pub fn is_set(&mut self, key: &Key) -> bool {
        self.registered(key);
        self.vars.contains_key(key.name)
    }

    /// Every read goes through here: a variable missing from the registry is a problem (once), so a port
    /// that forgets a `Key` in its `VARS` fails the first resolution that reads it.
    fn registered(&mut self, key: &Key) {
        if self.registry.find(key.name).is_none()
            && !self
                .problems
                .iter()
                .any(|p| matches!(p, Problem::Unregistered { key: k } if k == key.name))
        {
            self.problems.push(Problem::Unregistered {
                key: key.name.into(),
            });
        }
    }

    /// A value that is set; an empty value is reported and treated as absent.
    pub fn value(&mut self, key: &Key) -> Option<&'a str> {
        self.registered(key);
        let entry = self.vars.get(key.name)?;
        if entry.value.is_empty() {
            self.problems.push(Problem::Invalid {
                key: key.name.into(),
                value: String::new(),
                expected: format!(
                    "{} (unset the variable instead of leaving it empty)",
                    key.values
                ),
            });
            return None;
        }
        Some(&entry.value)
    }

    /// Reports `key`'s value as invalid; the value is shown only as [`Reader::shown`] allows.
    pub fn invalid(&mut self, key: &Key, value: &str, expected: impl Into<String>) {
        self.problems.push(Problem::Invalid {
            key: key.name.into(),
            value: shown(key, value),
            expected: expected.into(),
        });
    }

    /// The backend kind `K` chosen by its variable (or the mode's default), refusing a sandbox-only one
    /// outside development; with what chose it and the `needed_by` text for missing settings.
    pub fn kind<K: BackendKind>(&mut self) -> Option<(K, Source, String)> {
        self.registered(&K::KEY);
        let (kind, source) = match self.vars.get(K::VARIABLE) {
            None => (K::default_for(self.mode), Source::Default),
            Some(entry) => {
                let key = K::KEY;
                let value = self.value(&key)?;
                match K::parse(value) {
                    Some(kind) => (kind, entry.source.clone()),
                    None => {
                        self.invalid(&key, value, format!("one of {}", K::allowed()));
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

    /// The port `C`: its backend kind, then that backend's settings.
    pub fn port<C: PortConfig>(&mut self) -> Option<Port<C>> {
        let (kind, chosen_by, needed_by) = self.kind::<C::Kind>()?;
        let before = self.problems.len();
        match C::read(kind, self, &needed_by) {
            Some(backend) => Some(Port { backend, chosen_by }),
            None => {
                if self.problems.len() == before {
                    self.problems.push(Problem::Conflict {
                        keys: vec![C::Kind::VARIABLE.into()],
                        reason: format!(
                            "the {} settings were refused without a reason (a bug in avb: please report it)",
                            C::NAME
                        ),
                    });
                }
                None
            }
        }
    }

    /// A required setting: missing is a problem naming what needs it and an example.
    pub fn required(&mut self, key: &Key, needed_by: &str, example: &str) -> Option<&'a str> {
        if !self.is_set(key) {
            self.problems.push(Problem::Missing {
                key: key.name.into(),
                needed_by: needed_by.into(),
                example: example.into(),
            });
            return None;
        }
        self.value(key)
    }

    /// A setting with a sandbox default that live mode must set explicitly.
    pub fn sandbox_default(&mut self, key: &Key, default: &str, needed_by: &str) -> Option<String> {
        match (self.is_set(key), self.mode) {
            (true, _) => self.value(key).map(str::to_string),
            (false, Mode::Sandbox) => Some(default.to_string()),
            (false, Mode::Live) => {
                self.problems.push(Problem::Missing {
                    key: key.name.into(),
                    needed_by: format!("{needed_by} in live mode"),
                    example: default.into(),
                });
                None
            }
        }
    }

    /// A URL with one of `schemes`, written `<scheme>://…`, with a host (unless a `unix` scheme) and no `@`
    /// after the host. Errors show the value only as [`redact_url`] does.
    pub fn parse_url(&mut self, key: &Key, value: &str, schemes: &[&str]) -> Option<ServiceUrl> {
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

    /// A required URL (see [`Reader::parse_url`]).
    pub fn url(
        &mut self,
        key: &Key,
        needed_by: &str,
        schemes: &[&str],
        example: &str,
    ) -> Option<ServiceUrl> {
        let value = self.required(key, needed_by, example)?;
        self.parse_url(key, value, schemes)
    }

    /// An optional URL (see [`Reader::parse_url`]).
    pub fn optional_url(&mut self, key: &Key, schemes: &[&str]) -> Option<Option<ServiceUrl>> {
        if !self.is_set(key) {
            return Some(None);
        }
        let value = self.value(key)?;
        self.parse_url(key, value, schemes).map(Some)
    }

    /// An optional secret.
    pub fn optional_secret(&mut self, key: &Key) -> Option<Option<Secret>> {
        if !self.is_set(key) {
            return Some(None);
        }
        self.value(key).map(|v| Some(Secret::new(v)))
    }

    /// An optional plain value.
    pub fn optional(&mut self, key: &Key) -> Option<Option<String>> {
        if !self.is_set(key) {
            return Some(None);
        }
        self.value(key).map(|v| Some(v.to_string()))
    }

    /// A value, or `default` when unset.
    pub fn with_default(&mut self, key: &Key, default: &str) -> Option<String> {
        if !self.is_set(key) {
            return Some(default.to_string());
        }
        self.value(key).map(str::to_string)
    }

    /// A comma-separated list of http(s) origins (`scheme://host[:port]`, nothing else); empty when unset.
    pub fn origins(&mut self, key: &Key) -> Option<Vec<String>> {
        if !self.is_set(key) {
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
                    self.invalid(key, value, "http(s) origins scheme://host[:port], comma-separated (no path, userinfo, query or fragment)");
                    return None;
                }
            }
        }
        Some(origins)
    }

    /// An integer setting within `range`, `default` when unset.
    pub fn integer(
        &mut self,
        key: &Key,
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
    pub fn number<T>(
        &mut self,
        key: &Key,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<Option<T>> {
        if !self.is_set(key) {
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

    /// One of `options` (exact spelling), `default` when unset.
    pub fn choice<T: Copy>(&mut self, key: &Key, options: &[(&str, T)], default: T) -> Option<T> {
        if !self.is_set(key) {
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

    /// `true` or `false`, `default` when unset.
    pub fn bool_with_default(&mut self, key: &Key, default: bool) -> Option<bool> {
        self.choice(key, &[("true", true), ("false", false)], default)
    }
}

/// See [`Reader::shown`].
pub(crate) fn shown(key: &Key, value: &str) -> String {
    if key.secret {
        super::REDACTED.to_string()
    } else if key.is_url() {
        redact_url(value)
    } else {
        redact_raw(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::key;

    crate::choice! {
        /// A test port's kinds.
        TestKind { /** Reads only registered variables. */ Good = "good", /** Reads one that is not. */ Forgetful = "forgetful" }
    }
    const TEST_PORT: Key = key("TEST_PORT", "test", "`good`, `forgetful`", "`good`", "test");
    const LISTED: Key = key("TEST_LISTED", "test", "text", "unset", "test");
    const UNLISTED: Key = key("TEST_UNLISTED", "test", "text", "unset", "test");
    crate::backend_kind!(TestKind, TEST_PORT, sandbox: Good, live: Good, sandbox_only: []);

    #[derive(Debug)]
    struct TestConfig(Option<String>);

    impl fmt::Display for TestConfig {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl PortConfig for TestConfig {
        type Kind = TestKind;
        const NAME: &'static str = "test";
        const VARS: &'static [Key] = &[TEST_PORT, LISTED];
        fn read(kind: TestKind, r: &mut Reader<'_>, _: &str) -> Option<Self> {
            let key = match kind {
                TestKind::Good => &LISTED,
                TestKind::Forgetful => &UNLISTED,
            };
            r.optional(key).map(TestConfig)
        }
        fn kind(&self) -> TestKind {
            TestKind::Good
        }
        fn secrets<'a>(&'a self, _: &mut Scrubber<'a>) {}
    }

    #[test]
    fn a_variable_missing_from_vars_fails_the_resolution_naming_it() {
        let ok = TestConfig::from_pairs([("TEST_LISTED", "x")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.backend.0.as_deref(), Some("x"));
        let err = TestConfig::from_pairs([("TEST_PORT", "forgetful")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("TEST_UNLISTED is read by avb but missing from its variable registry"),
            "{err}"
        );
    }
}
