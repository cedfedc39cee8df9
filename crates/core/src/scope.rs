//! [`ResourceScope`]: the environment every live backend's resource names carry (Redis keys, Kafka topics,
//! Pulsar namespaces, object-key prefixes), so that a development process pointed at a production server
//! neither reads nor writes production data. See `docs/isolation.md`.
//!
//! The scope is the resolved environment (`development`, `staging`, `production`) unless
//! `AVB_RESOURCE_SCOPE` overrides it ([`ResourceScope::resolve`]). One validated spelling maps safely onto
//! every backend's naming rules: 1-32 characters of `a-z`, `0-9`, `-` — no `.` (Kafka's and the Pulsar
//! namespace's separator), no `_` (Kafka treats `.` and `_` alike in metric names, so `avb-a_b.c…` would
//! block `avb-a.b_c…` from being created), no `:` or `{}` (Redis's separator and hash tag), no `/` (the
//! object-key separator). Because the separator that follows a scope can never occur inside one, no scope's names equal
//! or prefix-contain another scope's (`dev` vs `dev-x`).

use crate::config::{Choice, Environment};
use serde::{Serialize, Serializer};
use std::fmt;

/// The environment scope of resource names: a named scope, or none (the unscoped names avb used before
/// scoping existed; only by explicit choice, see [`ResourceScope::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceScope(Option<String>);

/// Why a string is not a [`ResourceScope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "resource scope {value:?} is invalid: {reason} (expected {})",
    ResourceScope::EXPECTED
)]
pub struct InvalidResourceScope {
    /// The rejected value.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ResourceScope {
    /// The longest scope: with a 63-character workspace it keeps Kafka's 249-character topic limit and
    /// Pulsar's names far from their bounds.
    pub const MAX_LEN: usize = 32;

    /// The spelling of the unscoped choice (`AVB_RESOURCE_SCOPE=none`).
    pub const NONE: &'static str = "none";

    /// The allowed form, as errors state it.
    pub const EXPECTED: &'static str = "1-32 characters of a-z, 0-9, '-', starting with a-z or 0-9 (e.g. `prod-eu`), or `none` for the unscoped names";

    /// A named scope, validated.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidResourceScope> {
        let value = value.into();
        let reason = if value.is_empty() {
            Some("it is empty")
        } else if value.len() > Self::MAX_LEN {
            Some("it is longer than 32 characters")
        } else if value == Self::NONE {
            Some("`none` means unscoped, not a scope named none")
        } else if !value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            Some("it must start with a-z or 0-9")
        } else if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            Some("it contains a character outside a-z, 0-9, '-'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidResourceScope { value, reason }),
            None => Ok(Self(Some(value))),
        }
    }

    /// The scope of `environment`: its name.
    pub fn of_environment(environment: Environment) -> Self {
        Self(Some(environment.to_string()))
    }

    /// No scope: the unscoped names. Shares every name with any other unscoped process on the server —
    /// only for a deployment that must keep pre-existing names (`docs/isolation.md`, migration).
    pub fn unscoped() -> Self {
        Self(None)
    }

    /// The scope's name; `None` when unscoped.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Whether this is the unscoped choice.
    pub fn is_unscoped(&self) -> bool {
        self.0.is_none()
    }

    /// `root` qualified by the scope: `<root>-<scope>`, or `root` itself when unscoped (the root of Redis
    /// keys and Kafka topics, `avb`).
    pub fn qualify(&self, root: &str) -> String {
        match &self.0 {
            Some(s) => format!("{root}-{s}"),
            None => root.to_string(),
        }
    }

    /// The scope `AVB_RESOURCE_SCOPE`'s `value` asks for in `environment` (`explicit`: the environment was
    /// set by `AVB_ENV`/`DJANGO_ENV`, not defaulted). Unset: the environment's scope. `Err` is what is
    /// allowed, for the error naming the variable and value. Refused: a malformed scope; another
    /// environment's name (a development process with the scope `production` would share production's
    /// names); and `none` in a development environment that was not set explicitly (a production `.env`
    /// copied to a laptop must not silently reach the unscoped production names).
    pub fn resolve(
        value: Option<&str>,
        environment: Environment,
        explicit: bool,
    ) -> Result<Self, String> {
        let Some(value) = value else {
            return Ok(Self::of_environment(environment));
        };
        if value == Self::NONE {
            if environment == Environment::Development && !explicit {
                return Err("a named scope: `none` (the unscoped names) is refused in development unless the environment is set explicitly (AVB_ENV=development)".into());
            }
            return Ok(Self::unscoped());
        }
        let scope = Self::new(value).map_err(|e| format!("{} ({})", Self::EXPECTED, e.reason))?;
        for &(_, other) in Environment::NAMES {
            if other != environment && scope.as_str() == Some(other.as_str()) {
                return Err(format!(
                    "a scope other than another environment's name ({other} would share {other}'s resource names from {environment})"
                ));
            }
        }
        Ok(scope)
    }
}

impl Default for ResourceScope {
    /// The scope of the default environment, `development`.
    fn default() -> Self {
        Self::of_environment(Environment::Development)
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(s) => f.write_str(s),
            None => f.write_str("none (unscoped)"),
        }
    }
}

impl Serialize for ResourceScope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_deref().unwrap_or(Self::NONE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_environment() {
        for &(_, env) in Environment::NAMES {
            let s = ResourceScope::resolve(None, env, false).unwrap();
            assert_eq!(s.as_str(), Some(env.as_str()));
        }
        assert_eq!(ResourceScope::default().as_str(), Some("development"));
    }

    #[test]
    fn bad_scopes_are_refused_with_their_reason() {
        for (bad, reason) in [
            ("", "it is empty"),
            ("Prod", "it must start with a-z or 0-9"),
            ("-a", "it must start with a-z or 0-9"),
            ("a.b", "it contains a character outside a-z, 0-9, '-'"),
            ("a_b", "it contains a character outside a-z, 0-9, '-'"),
            ("a:b", "it contains a character outside a-z, 0-9, '-'"),
            ("a/b", "it contains a character outside a-z, 0-9, '-'"),
            ("{a}", "it must start with a-z or 0-9"),
            ("none", "`none` means unscoped, not a scope named none"),
        ] {
            assert_eq!(
                ResourceScope::new(bad).unwrap_err().reason,
                reason,
                "{bad:?}"
            );
        }
        assert!(ResourceScope::new("x".repeat(32)).is_ok());
        assert!(ResourceScope::new("x".repeat(33)).is_err());
        let err = ResourceScope::resolve(Some("a.b"), Environment::Production, true).unwrap_err();
        assert!(
            err.contains("1-32 characters") && err.contains("outside a-z"),
            "{err}"
        );
    }

    #[test]
    fn none_needs_an_explicit_environment_in_development() {
        let err =
            ResourceScope::resolve(Some("none"), Environment::Development, false).unwrap_err();
        assert!(err.contains("AVB_ENV=development"), "{err}");
        assert!(
            ResourceScope::resolve(Some("none"), Environment::Development, true)
                .unwrap()
                .is_unscoped()
        );
        assert!(
            ResourceScope::resolve(Some("none"), Environment::Production, true)
                .unwrap()
                .is_unscoped()
        );
    }

    #[test]
    fn another_environments_name_is_refused() {
        let err =
            ResourceScope::resolve(Some("production"), Environment::Development, true).unwrap_err();
        assert!(err.contains("production"), "{err}");
        assert!(ResourceScope::resolve(Some("staging"), Environment::Production, true).is_err());
        let same = ResourceScope::resolve(Some("production"), Environment::Production, true);
        assert_eq!(same.unwrap().as_str(), Some("production"));
        let custom = ResourceScope::resolve(Some("prod-eu"), Environment::Production, true);
        assert_eq!(custom.unwrap().qualify("avb"), "avb-prod-eu");
        assert_eq!(ResourceScope::unscoped().qualify("avb"), "avb");
    }
}
