//! The closed sets of values the resolver accepts: environment and mode here; each port's backend kind is
//! declared in its crate with [`choice!`](crate::choice) and [`backend_kind!`](crate::backend_kind).

use super::keys::Key;
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

/// Declares a closed set of values read from one variable: the enum, its [`Choice`] impl, `as_str` and
/// `Display`. The crate using it needs `serde` (the enum derives `Serialize`).
#[macro_export]
macro_rules! choice {
    (
        $(#[$m:meta])* $name:ident {
            $( $(#[$vm:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
        $( aliases { $( $alias:literal => $target:ident ),+ } )?
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $( $(#[$vm])* $variant ),+ }

        impl $crate::config::Choice for $name {
            const NAMES: &'static [(&'static str, Self)] = &[ $( ($text, $name::$variant) ),+ ];
            $( const ALIASES: &'static [(&'static str, Self)] = &[ $( ($alias, $name::$target) ),+ ]; )?
        }

        impl $name {
            /// The canonical name.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
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

/// A port's backend kind: its variable, defaults per mode and whether it is sandbox-only.
pub trait BackendKind: Choice + fmt::Display {
    /// The per-port override variable, described.
    const KEY: Key;
    /// Its name.
    const VARIABLE: &'static str = Self::KEY.name;
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

/// Implements [`BackendKind`]: `backend_kind!(EventBusKind, EVENT_BUS, sandbox: Memory, live: Pulsar,
/// sandbox_only: [Memory])`, where `EVENT_BUS` is the selecting variable's [`Key`] constant.
#[macro_export]
macro_rules! backend_kind {
    ($t:ident, $key:expr, sandbox: $s:ident, live: $l:ident, sandbox_only: [$($so:ident),*]) => {
        impl $crate::config::BackendKind for $t {
            const KEY: $crate::config::keys::Key = $key;
            fn default_for(mode: $crate::config::Mode) -> Self {
                match mode { $crate::config::Mode::Sandbox => $t::$s, $crate::config::Mode::Live => $t::$l }
            }
            fn sandbox_only(self) -> bool {
                const SANDBOX_ONLY: &[$t] = &[$($t::$so),*];
                SANDBOX_ONLY.contains(&self)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::key;

    crate::choice! {
        /// A test kind.
        TestKind { /** a */ A = "a", /** b */ B = "b", /** c */ C = "c" }
        aliases { "alias" => C }
    }
    crate::backend_kind!(TestKind, key("TEST_KIND", "t", "a, b, c", "a", "t"), sandbox: A, live: B, sandbox_only: [A]);

    #[test]
    fn parse_is_case_insensitive_and_knows_aliases() {
        assert_eq!(TestKind::parse("B"), Some(TestKind::B));
        assert_eq!(TestKind::parse("alias"), Some(TestKind::C));
        assert_eq!(TestKind::parse(" b"), None);
        assert_eq!(TestKind::allowed(), "a, b, c, alias");
        assert_eq!(Mode::parse("LIVE"), Some(Mode::Live));
    }

    #[test]
    fn live_lists_exclude_sandbox_only_backends() {
        assert_eq!(TestKind::allowed_live(), "b, c");
        assert_eq!(TestKind::VARIABLE, "TEST_KIND");
        assert_eq!(TestKind::default_for(Mode::Live), TestKind::B);
    }
}
