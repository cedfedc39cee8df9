//! The boolean capabilities a service may require of a port ([`crate::Platform::builder`]'s `requires`),
//! named by their field in the port's `Capabilities` type — the names `avb check --parity` prints.

use super::{Port, Ports};

/// A capability of a port, named by its field in the port's `Capabilities` (`persistent`,
/// `ordering_per_key`, …; see [`capability_names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// The port.
    pub port: Port,
    /// The field name.
    pub name: &'static str,
}

/// The capability names `port` declares (its `Capabilities`' boolean fields).
pub fn capability_names(port: Port) -> &'static [&'static str] {
    match port {
        Port::EventBus => &[
            "ordering_per_key",
            "persistent",
            "dead_letter",
            "redeliver_on_drop",
            "extend_lease",
            "idempotent_publish",
            "backlog_lag",
            "backlog_in_flight",
            "backlog_dead_letters",
            "shares_read_ahead",
        ],
        Port::Auth => &["rejects_invalid_tokens", "key_rotation", "mints_tokens"],
        Port::ObjectStore => &[
            "conditional_create",
            "conditional_update",
            "multipart",
            "conditional_read",
            "presign",
            "metadata",
            "persistent",
            "streaming",
        ],
        Port::Catalog => &["reload", "remote"],
        Port::Llm => &[
            "embeddings",
            "deterministic",
            "rejects_unknown_model",
            "context_limit_error",
            "cached_tokens",
            "error_injection",
        ],
    }
}

impl Ports {
    /// Whether the backend of `port` declares capability `name` (one of [`capability_names`]); `None`
    /// when the port is unused or `name` is not one of its capabilities.
    pub fn has_capability(&self, port: Port, name: &str) -> Option<bool> {
        let flags: Vec<(&str, bool)> = match port {
            Port::EventBus => {
                let c = self.try_event_bus().ok()?.capabilities();
                vec![
                    ("ordering_per_key", c.ordering_per_key),
                    ("persistent", c.persistent),
                    ("dead_letter", c.dead_letter),
                    ("redeliver_on_drop", c.redeliver_on_drop),
                    ("extend_lease", c.extend_lease),
                    ("idempotent_publish", c.idempotent_publish),
                    ("backlog_lag", c.backlog_lag),
                    ("backlog_in_flight", c.backlog_in_flight),
                    ("backlog_dead_letters", c.backlog_dead_letters),
                    ("shares_read_ahead", c.shares_read_ahead),
                ]
            }
            Port::Auth => {
                let c = self.try_auth().ok()?.capabilities();
                vec![
                    ("rejects_invalid_tokens", c.rejects_invalid_tokens),
                    ("key_rotation", c.key_rotation),
                    ("mints_tokens", c.mints_tokens),
                ]
            }
            Port::ObjectStore => {
                let c = self.try_object_store().ok()?.capabilities();
                vec![
                    ("conditional_create", c.conditional_create),
                    ("conditional_update", c.conditional_update),
                    ("multipart", c.multipart),
                    ("conditional_read", c.conditional_read),
                    ("presign", c.presign),
                    ("metadata", c.metadata),
                    ("persistent", c.persistent),
                    ("streaming", c.streaming),
                ]
            }
            Port::Catalog => {
                let c = self.try_catalog().ok()?.capabilities();
                vec![("reload", c.reload), ("remote", c.remote)]
            }
            Port::Llm => {
                let c = self.try_llm().ok()?.capabilities();
                vec![
                    ("embeddings", c.embeddings),
                    ("deterministic", c.deterministic),
                    ("rejects_unknown_model", c.rejects_unknown_model),
                    ("context_limit_error", c.context_limit_error),
                    ("cached_tokens", c.cached_tokens),
                    ("error_injection", c.error_injection),
                ]
            }
        };
        flags.into_iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed name is answered for the sandbox default (the list and the match agree).
    #[tokio::test]
    async fn every_listed_name_is_answered() {
        let config = crate::config::Config::from_iter(Vec::<(String, String)>::new()).unwrap();
        let ports = Ports::open(config).await.unwrap();
        for port in Port::ALL {
            for name in capability_names(port) {
                assert!(ports.has_capability(port, name).is_some(), "{port}.{name}");
            }
            assert_eq!(ports.has_capability(port, "no_such"), None);
        }
        assert_eq!(
            ports.has_capability(Port::EventBus, "persistent"),
            Some(false)
        );
    }
}
