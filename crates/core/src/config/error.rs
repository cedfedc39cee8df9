//! Configuration errors. Resolution collects every problem it finds, so one run shows them all.

use std::fmt;

/// One thing wrong with the configuration. Every message names the variable; none shows a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A value outside the allowed set: `EVENT_BUS="kafak" is invalid: expected one of memory, redis, kafka, pulsar`.
    Invalid {
        /// The variable.
        key: String,
        /// The rejected value (redacted when secret).
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// A sandbox-only backend asked for in staging or production.
    SandboxOnly {
        /// The variable that asked for it.
        key: String,
        /// The backend.
        value: String,
        /// `AVB_ENV=production` or `DJANGO_ENV=staging`.
        environment: String,
        /// The backends allowed there.
        allowed: String,
    },
    /// A setting the chosen backend needs is missing.
    Missing {
        /// The missing variable.
        key: String,
        /// What needs it: `EVENT_BUS=redis`, or `EVENT_BUS=pulsar (the live default)`.
        needed_by: String,
        /// An example value.
        example: String,
    },
    /// A variable under the `AVB_` prefix that avb does not know.
    UnknownKey {
        /// The variable.
        key: String,
        /// A known variable it is close to.
        suggestion: Option<String>,
    },
    /// Settings that contradict each other.
    Conflict {
        /// The variables involved.
        keys: Vec<String>,
        /// Why.
        reason: String,
    },
    /// A variable a port reads that is missing from the registry (a bug in avb: the port's `VARS` lacks
    /// it, so `avb vars`, the README and the unknown-variable check would not know it).
    Unregistered {
        /// The variable.
        key: String,
    },
    /// A `.env.sandbox` / `.env.live` file that exists but cannot be read.
    Unreadable {
        /// The file.
        file: String,
        /// The I/O error.
        reason: String,
    },
    /// A malformed line in a `.env.sandbox` / `.env.live` file. Never holds the line's value.
    EnvFile {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// 1-based column (in characters) where the line goes wrong.
        column: usize,
        /// What is wrong.
        reason: String,
    },
}

impl Problem {
    /// The variable the problem is about (the first one for conflicts; none for a malformed file line).
    pub fn key(&self) -> Option<&str> {
        match self {
            Problem::Invalid { key, .. }
            | Problem::SandboxOnly { key, .. }
            | Problem::Missing { key, .. }
            | Problem::UnknownKey { key, .. }
            | Problem::Unregistered { key } => Some(key),
            Problem::Conflict { keys, .. } => keys.first().map(String::as_str),
            Problem::EnvFile { .. } | Problem::Unreadable { .. } => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Invalid {
                key,
                value,
                expected,
            } => write!(f, "{key}={value:?} is invalid: expected {expected}"),
            Problem::SandboxOnly {
                key,
                value,
                environment,
                allowed,
            } => write!(
                f,
                "{key}={value:?} is a sandbox-only backend and is refused when {environment}: expected one of {allowed}"
            ),
            Problem::Missing {
                key,
                needed_by,
                example,
            } => {
                write!(
                    f,
                    "{key} is required when {needed_by} (for example {key}={example})"
                )
            }
            Problem::UnknownKey { key, suggestion } => {
                write!(f, "{key} is not a known avb variable")?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean {s}?)"),
                    None => write!(f, " (`avb vars` lists them all)"),
                }
            }
            Problem::Conflict { reason, .. } => f.write_str(reason),
            Problem::EnvFile {
                file,
                line,
                column,
                reason,
            } => write!(f, "{file}:{line}:{column}: {reason}"),
            Problem::Unregistered { key } => write!(
                f,
                "{key} is read by avb but missing from its variable registry (a bug in avb: the port's VARS lacks it)"
            ),
            Problem::Unreadable { file, reason } => {
                write!(f, "{file} exists but cannot be read: {reason}")
            }
        }
    }
}

/// The configuration could not be resolved. Holds every [`Problem`] found.
///
/// `Debug` prints the same readable text as `Display`, so `fn main() -> Result<(), Box<dyn Error>>` (which
/// prints `Error: {:?}`) shows `Error: invalid avb configuration: …`, not a struct dump.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        Self { problems }
    }
    /// Every problem, in the order found.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid avb configuration: {one}"),
            many => {
                write!(f, "invalid avb configuration ({} problems):", many.len())?;
                many.iter().try_for_each(|p| write!(f, "\n  - {p}"))
            }
        }
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}
