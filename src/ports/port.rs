//! [`Port`] names one of the five ports; [`PortSet`] is the set a service uses
//! ([`crate::Platform::builder`]'s `uses`).

use serde::{Serialize, Serializer};
use std::fmt;

/// One of the five ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Port {
    /// The EventBus (`EVENT_BUS`).
    EventBus,
    /// Auth (`AUTH_MODE`).
    Auth,
    /// The ObjectStore (`OBJECT_STORE`).
    ObjectStore,
    /// The Catalog (`DATA_CATALOG`).
    Catalog,
    /// The LLM client (`LLM_PROVIDER`).
    Llm,
}

impl Port {
    /// Every port, in documentation order.
    pub const ALL: [Port; 5] = [
        Port::EventBus,
        Port::Auth,
        Port::ObjectStore,
        Port::Catalog,
        Port::Llm,
    ];

    /// The snake-case name (`event_bus`): the health report's key and the metrics' port label.
    pub fn name(self) -> &'static str {
        match self {
            Port::EventBus => "event_bus",
            Port::Auth => "auth",
            Port::ObjectStore => "object_store",
            Port::Catalog => "catalog",
            Port::Llm => "llm",
        }
    }

    /// The variable that selects the port's backend.
    pub fn variable(self) -> &'static str {
        match self {
            Port::EventBus => "EVENT_BUS",
            Port::Auth => "AUTH_MODE",
            Port::ObjectStore => "OBJECT_STORE",
            Port::Catalog => "DATA_CATALOG",
            Port::Llm => "LLM_PROVIDER",
        }
    }

    /// The port named `name` (`event_bus`, `auth`, `object_store`, `catalog`, `llm`; `-` for `_` and any
    /// case accepted).
    pub fn parse(name: &str) -> Option<Port> {
        let name = name.trim().to_ascii_lowercase().replace('-', "_");
        Port::ALL.into_iter().find(|p| p.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of ports. Serialises as the list of their names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortSet(u8);

impl PortSet {
    /// Every port (what `Platform::from_env`, `Ports::open` and `avb health` without `--uses` use).
    pub const ALL: PortSet = PortSet(0b1_1111);
    /// No port.
    pub const NONE: PortSet = PortSet(0);

    /// The set of `ports`.
    pub fn of(ports: &[Port]) -> PortSet {
        PortSet(ports.iter().fold(0, |bits, p| bits | p.bit()))
    }

    /// Whether `port` is in the set.
    pub fn contains(self, port: Port) -> bool {
        self.0 & port.bit() != 0
    }

    /// The set with `port` added.
    pub fn with(self, port: Port) -> PortSet {
        PortSet(self.0 | port.bit())
    }

    /// Whether every port is in the set.
    pub fn is_all(self) -> bool {
        self == PortSet::ALL
    }

    /// The ports in the set, in documentation order.
    pub fn iter(self) -> impl Iterator<Item = Port> {
        Port::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// The ports not in the set.
    pub fn complement(self) -> PortSet {
        PortSet(!self.0 & PortSet::ALL.0)
    }

    /// Parses a comma-separated list of port names (`event_bus,object_store`); an unknown name is an error
    /// naming it and the allowed names.
    pub fn parse_list(text: &str) -> Result<PortSet, String> {
        let mut set = PortSet::NONE;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Port::parse(name) {
                Some(p) => set = set.with(p),
                None => {
                    return Err(format!(
                        "{name:?} is not a port; expected a comma-separated list of {}",
                        Port::ALL.map(Port::name).join(", ")
                    ));
                }
            }
        }
        if set == PortSet::NONE {
            return Err(format!(
                "no port named; expected a comma-separated list of {}",
                Port::ALL.map(Port::name).join(", ")
            ));
        }
        Ok(set)
    }
}

impl Default for PortSet {
    /// Every port.
    fn default() -> Self {
        PortSet::ALL
    }
}

impl fmt::Debug for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Port::name)).finish()
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Port::name).collect();
        f.write_str(&names.join(", "))
    }
}

impl Serialize for PortSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Port::name))
    }
}

/// An unused port was asked for (see [`crate::Ports::try_event_bus`] and its siblings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused(pub Port);

impl fmt::Display for Unused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {port} port is not among the ports this service uses (it was neither resolved nor opened): \
             add Port::{variant:?} to Platform::builder().uses(..)",
            port = self.0,
            variant = self.0
        )
    }
}

impl std::error::Error for Unused {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_names() {
        let set = PortSet::of(&[Port::EventBus, Port::Llm]);
        assert!(set.contains(Port::EventBus) && set.contains(Port::Llm));
        assert!(!set.contains(Port::Auth));
        assert_eq!(set.to_string(), "event_bus, llm");
        assert_eq!(set.complement().iter().count(), 3);
        assert_eq!(PortSet::parse_list("event-bus, LLM"), Ok(set));
        let e = PortSet::parse_list("event_bus,bus").unwrap_err();
        assert!(e.contains("\"bus\"") && e.contains("object_store"), "{e}");
        assert!(PortSet::parse_list(" , ").is_err());
        assert!(PortSet::default().is_all());
    }
}
