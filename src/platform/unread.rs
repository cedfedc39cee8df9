//! Set variables the resolved backends do not read (the startup `warn`s).
//!
//! A variable is *read* when changing it changes the resolution: each set variable of a port is probed by
//! resolving again with a value no setting accepts unchanged; when the result equals the configuration,
//! nothing read it (its port is unused, or the chosen backend has no such setting). Resolution is pure and
//! takes microseconds, so probing a few variables at startup is cheap.

use super::Origin;
use crate::config::{
    AuthConfig, CatalogConfig, Config, EventBusConfig, LlmConfig, ObjectStoreConfig, PortConfig,
};
use crate::{Port, PortSet};
use std::fmt;

/// A probe value: unlike anything a setting accepts, so a variable that is read changes the resolution.
const PROBE: &str = "\u{1}avb-unread-probe";

/// A set variable nothing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unread {
    pub(crate) key: String,
    port: Port,
    /// `None` when the port is unused; else its backend.
    backend: Option<String>,
}

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            None => write!(
                f,
                "{} is set but not read: the service does not use the {} port",
                self.key, self.port
            ),
            Some(backend) => write!(
                f,
                "{} is set but not read: the {} backend ({}={backend}) has no such setting",
                self.key,
                self.port,
                self.port.variable()
            ),
        }
    }
}

fn port_of(key: &str) -> Option<Port> {
    let vars: [(Port, &[crate::config::Key]); 5] = [
        (Port::EventBus, <EventBusConfig as PortConfig>::VARS),
        (Port::Auth, <AuthConfig as PortConfig>::VARS),
        (Port::ObjectStore, <ObjectStoreConfig as PortConfig>::VARS),
        (Port::Catalog, <CatalogConfig as PortConfig>::VARS),
        (Port::Llm, <LlmConfig as PortConfig>::VARS),
    ];
    vars.into_iter()
        .find(|(_, keys)| keys.iter().any(|k| k.name == key))
        .map(|(p, _)| p)
}

/// The set variables of `origin` that `config` (resolved from it for `uses`) does not read.
pub(crate) fn unread(origin: &Origin, uses: PortSet, config: &Config) -> Vec<Unread> {
    let mut keys = origin.keys();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let port = port_of(&key)?;
            let probed = origin.resolve(None, uses, &[(key.clone(), PROBE.into())]);
            match probed {
                Ok(c) if c == *config => Some(Unread {
                    key,
                    port,
                    backend: uses.contains(port).then(|| backend(config, port)),
                }),
                _ => None,
            }
        })
        .collect()
}

fn backend(config: &Config, port: Port) -> String {
    match port {
        Port::EventBus => config.event_bus.backend.kind().to_string(),
        Port::Auth => config.auth.backend.kind().to_string(),
        Port::ObjectStore => config.object_store.backend.kind().to_string(),
        Port::Catalog => config.catalog.backend.kind().to_string(),
        Port::Llm => config.llm.backend.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Origin {
        Origin::Pairs(
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_setting_the_backend_ignores_and_one_of_an_unused_port_are_unread() {
        let origin = pairs(&[
            ("EVENT_BUS", "memory"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("OBJECT_STORE", "fs"),
            ("LLM_PROVIDER", "mock"),
        ]);
        let uses = PortSet::of(&[Port::EventBus, Port::ObjectStore]);
        let config = origin.resolve(None, uses, &[]).unwrap();
        let found = unread(&origin, uses, &config);
        let keys: Vec<&str> = found.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys, ["LLM_PROVIDER", "REDIS_URL"], "{found:?}");
        assert!(found[0].to_string().contains("does not use the llm port"));
        assert!(
            found[1].to_string().contains("(EVENT_BUS=memory)"),
            "{}",
            found[1]
        );
    }

    #[test]
    fn every_variable_read_is_not_reported() {
        let origin = pairs(&[
            ("EVENT_BUS", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("OBJECT_STORE", "memory"),
        ]);
        let config = origin.resolve(None, PortSet::ALL, &[]).unwrap();
        assert_eq!(unread(&origin, PortSet::ALL, &config), []);
    }
}
