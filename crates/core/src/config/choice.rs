//! The closed sets of values the resolver accepts: environment, mode and each port's backend kind.

use serde::Serialize;
use std::fmt;

/// A value chosen from a fixed list by one variable (`EVENT_BUS=redis`).
pub trait Choice: Copy + Sized + 'static {
    /// Canonical names, in the order they are listed in errors.
    const NAMES: &'static [(&'static str, Self)];
    /// Accepted spellings besides the canonical names.
    const ALIASES: &'static [(&'static str, Self)] = &[];

    /// Parses a value: canonical name or alias, ASCII case-insensitive.
    fn parse(value: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .chain(Self::ALIASES)
            .find(|(n, _)| n.eq_ignore_ascii_case(value))
            .map(|(_, v)| *v)
    }

    /// The allowed values as shown in errors: `memory, redis, kafka, pulsar`.
    fn allowed() -> String {
        let mut names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
        names.extend(Self::ALIASES.iter().map(|(n, _)| *n));
        names.join(", ")
    }
}

macro_rules! choice {
    (
        $(#[$m:meta])* $name:ident {
            $( $(#[$vm:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
        $( aliases { $( $alias:literal => $target:ident ),+ } )?
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $( $(#[$vm])* $variant ),+ }

        impl Choice for $name {
            const NAMES: &'static [(&'static str, Self)] = &[ $( ($text, $name::$variant) ),+ ];
            $( const ALIASES: &'static [(&'static str, Self)] = &[ $( ($alias, $name::$target) ),+ ]; )?
        }

        impl $name {
            /// The canonical name.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choice! {
    /// Deployment environment (`AVB_ENV`, alias `DJANGO_ENV`).
    Environment { /** A developer's machine: sandbox by default. */ Development = "development", /** Pre-production: always live. */ Staging = "staging", /** Production: always live. */ Production = "production" }
}

choice! {
    /// Backend family (`AVB_DEV_MODE`).
    Mode { /** Offline or cheap local backends. */ Sandbox = "sandbox", /** The production engines. */ Live = "live" }
}

choice! {
    /// EventBus backend (`EVENT_BUS`).
    EventBusKind { /** In-process bus. */ Memory = "memory", /** Redis Streams. */ Redis = "redis", /** Apache Kafka. */ Kafka = "kafka", /** Apache Pulsar. */ Pulsar = "pulsar" }
}

choice! {
    /// Auth backend (`AUTH_MODE`).
    AuthKind { /** Trust-all. */ None = "none", /** Local issuer with a development key. */ Local = "local", /** Keycloak / any OIDC provider. */ Keycloak = "keycloak" }
    aliases { "oidc" => Keycloak }
}

choice! {
    /// ObjectStore backend (`OBJECT_STORE`).
    ObjectStoreKind { /** In-process store. */ Memory = "memory", /** Local directory. */ Fs = "fs", /** S3 API (MinIO, AWS, GCS interop). */ S3 = "s3" }
}

choice! {
    /// Catalog backend (`DATA_CATALOG`).
    CatalogKind { /** `stub-catalog.json`. */ Json = "json", /** OpenMetadata REST API. */ OpenMetadata = "openmetadata" }
}

choice! {
    /// LLM backend (`LLM_PROVIDER`).
    LlmKind { /** Deterministic offline model. */ Mock = "mock", /** Any OpenAI-compatible API. */ OpenAi = "openai", /** Ollama. */ Ollama = "ollama" }
}

/// A port's backend kind: its variable, defaults per mode and whether it is sandbox-only.
pub trait BackendKind: Choice + fmt::Display {
    /// The per-port override variable.
    const VARIABLE: &'static str;
    /// The backend used when the variable is unset.
    fn default_for(mode: Mode) -> Self;
    /// Refused in staging and production.
    fn sandbox_only(self) -> bool;
    /// The values accepted in staging and production.
    fn allowed_live() -> String {
        Self::NAMES
            .iter()
            .filter(|(_, k)| !k.sandbox_only())
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! backend_kind {
    ($t:ident, $var:literal, sandbox: $s:ident, live: $l:ident, sandbox_only: [$($so:ident),*]) => {
        impl BackendKind for $t {
            const VARIABLE: &'static str = $var;
            fn default_for(mode: Mode) -> Self {
                match mode { Mode::Sandbox => $t::$s, Mode::Live => $t::$l }
            }
            fn sandbox_only(self) -> bool {
                const SANDBOX_ONLY: &[$t] = &[$($t::$so),*];
                SANDBOX_ONLY.contains(&self)
            }
        }
    };
}

backend_kind!(EventBusKind, "EVENT_BUS", sandbox: Memory, live: Pulsar, sandbox_only: [Memory]);
backend_kind!(AuthKind, "AUTH_MODE", sandbox: None, live: Keycloak, sandbox_only: [None, Local]);
backend_kind!(ObjectStoreKind, "OBJECT_STORE", sandbox: Memory, live: S3, sandbox_only: [Memory]);
backend_kind!(CatalogKind, "DATA_CATALOG", sandbox: Json, live: OpenMetadata, sandbox_only: []);
backend_kind!(LlmKind, "LLM_PROVIDER", sandbox: Mock, live: Ollama, sandbox_only: [Mock]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_case_insensitive_and_knows_aliases() {
        assert_eq!(EventBusKind::parse("Redis"), Some(EventBusKind::Redis));
        assert_eq!(AuthKind::parse("oidc"), Some(AuthKind::Keycloak));
        assert_eq!(EventBusKind::parse("kafak"), None);
        assert_eq!(EventBusKind::parse(" redis"), None);
        assert_eq!(AuthKind::allowed(), "none, local, keycloak, oidc");
    }

    #[test]
    fn live_lists_exclude_sandbox_only_backends() {
        assert_eq!(EventBusKind::allowed_live(), "redis, kafka, pulsar");
        assert_eq!(AuthKind::allowed_live(), "keycloak");
        assert_eq!(CatalogKind::allowed_live(), "json, openmetadata");
    }
}
