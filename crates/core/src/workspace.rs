//! [`WorkspaceId`]: the tenant every port scopes its data by (Redis key prefix, Kafka topic prefix, Pulsar
//! namespace, object-key prefix). One validated spelling, so a scope maps safely onto every backend's naming.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A workspace (tenant) id: 1–63 characters of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
/// Keycloak-style UUIDs fit; uppercase is refused rather than folded, so two spellings never name one scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspaceId(String);

/// Why a string is not a [`WorkspaceId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "workspace id {value:?} is invalid: {reason} (expected 1-63 characters of a-z, 0-9, '-', '_', starting with a letter or digit)"
)]
pub struct InvalidWorkspaceId {
    /// The rejected value.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl WorkspaceId {
    /// Validates a workspace id.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidWorkspaceId> {
        let value = value.into();
        let reason = if value.is_empty() {
            Some("it is empty")
        } else if value.len() > 63 {
            Some("it is longer than 63 characters")
        } else if !value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            Some("it must start with a-z or 0-9")
        } else if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            Some("it contains a character outside a-z, 0-9, '-', '_'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidWorkspaceId { value, reason }),
            None => Ok(Self(value)),
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for WorkspaceId {
    type Err = InvalidWorkspaceId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for WorkspaceId {
    type Error = InvalidWorkspaceId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<WorkspaceId> for String {
    fn from(w: WorkspaceId) -> String {
        w.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids_and_uuids() {
        for ok in [
            "a",
            "ws-1",
            "team_a",
            "0b7c9e1e-8f1a-4c3e-9d55-2f7f0f0c1a2b",
            &"x".repeat(63),
        ] {
            assert_eq!(
                WorkspaceId::new(ok).map(|w| w.to_string()),
                Ok(ok.to_string())
            );
        }
    }

    #[test]
    fn rejects_each_bad_shape_with_its_reason() {
        let cases = [
            ("", "it is empty"),
            ("tEam", "it contains a character outside a-z, 0-9, '-', '_'"),
            ("-a", "it must start with a-z or 0-9"),
            ("Team", "it must start with a-z or 0-9"),
            ("a/b", "it contains a character outside a-z, 0-9, '-', '_'"),
            ("a.b", "it contains a character outside a-z, 0-9, '-', '_'"),
        ];
        for (bad, reason) in cases {
            assert_eq!(WorkspaceId::new(bad).unwrap_err().reason, reason, "{bad:?}");
        }
        assert_eq!(
            WorkspaceId::new("x".repeat(64)).unwrap_err().reason,
            "it is longer than 63 characters"
        );
        assert!(serde_json::from_str::<WorkspaceId>("\"A\"").is_err());
    }
}
