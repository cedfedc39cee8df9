//! [`Health`]: what every backend's `health()` returns and `/health` aggregates.

use serde::Serialize;

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Serving.
    Up,
    /// Not serving; [`Health::reason`] says why.
    Down,
}

/// A backend's health: status, backend name and, when down, the reason (never containing a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Up or down.
    pub status: Status,
    /// The backend (`redis`, `memory`, …).
    pub backend: &'static str,
    /// Why it is down (or a note while up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Health {
    /// A backend that is up.
    pub fn up(backend: &'static str) -> Self {
        Self {
            status: Status::Up,
            backend,
            reason: None,
        }
    }
    /// A backend that is down, with the reason.
    pub fn down(backend: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status: Status::Down,
            backend,
            reason: Some(reason.into()),
        }
    }
    /// Whether the status is [`Status::Up`].
    pub fn is_up(&self) -> bool {
        self.status == Status::Up
    }
}
