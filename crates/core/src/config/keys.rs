//! Variables: each one described once ([`Key`]: name, allowed values, default, meaning, secret) by the
//! crate that reads it, and the [`Registry`] of all of them that the facade assembles.
//!
//! A port crate lists its variables as constants next to the code that reads them (`avb_event_bus::config::VARS`);
//! this module holds the mode variables ([`MODE_KEYS`]). The registry is the single source for three things:
//! the resolver's "unknown `AVB_*` variable" check, the `avb vars` command, and the README's variable table
//! (a test fails when the README drifts from it).

/// One documented variable.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The variable's name.
    pub name: &'static str,
    /// The port or area it belongs to (`mode`, `event bus`, …).
    pub area: &'static str,
    /// Allowed values or value shape.
    pub values: &'static str,
    /// Default, or when it is required.
    pub default: &'static str,
    /// What it does.
    pub meaning: &'static str,
    /// Whether the value is a secret (never shown in summaries, JSON, logs or errors).
    pub secret: bool,
}

/// A variable whose value may be shown (redacted when it looks like a URL or carries credentials).
pub const fn key(
    name: &'static str,
    area: &'static str,
    values: &'static str,
    default: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        name,
        area,
        values,
        default,
        meaning,
        secret: false,
    }
}

/// A secret variable: never shown; its default is `unset`.
pub const fn secret(
    name: &'static str,
    area: &'static str,
    values: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        name,
        area,
        values,
        default: "unset",
        meaning,
        secret: true,
    }
}

impl Key {
    /// Whether the value is a URL, as the `values` column says ("URL"): errors and the summary show such a
    /// value only with its userinfo, query values and fragment hidden, and nothing of it but its scheme
    /// when it cannot be parsed. A variable added later with "URL" in its `values` is covered.
    pub fn is_url(&self) -> bool {
        self.values.contains("URL")
    }

    /// Whether the value is a URL or a network address (`host:port` list). An address is shown as written
    /// unless it carries `@` or `://` (then as a URL).
    pub fn is_address(&self) -> bool {
        self.is_url() || self.values.contains("host:port")
    }
}

/// `AVB_ENV`.
pub const AVB_ENV: Key = key(
    "AVB_ENV",
    "mode",
    "`development`, `staging`, `production`",
    "`development`",
    "Deployment environment. Wins over `DJANGO_ENV` when both are set.",
);

/// `DJANGO_ENV`.
pub const DJANGO_ENV: Key = key(
    "DJANGO_ENV",
    "mode",
    "as `AVB_ENV`",
    "unset",
    "Alias of `AVB_ENV`, read only when `AVB_ENV` is unset.",
);

/// `AVB_DEV_MODE`.
pub const AVB_DEV_MODE: Key = key(
    "AVB_DEV_MODE",
    "mode",
    "`sandbox`, `live`",
    "`sandbox`",
    "Backend family. Read only in `development`; staging and production are always `live` (the summary says it was ignored).",
);

/// `AVB_DOTENV_DIR`.
pub const AVB_DOTENV_DIR: Key = key(
    "AVB_DOTENV_DIR",
    "mode",
    "directory",
    "current directory",
    "Where the facade looks for `.env.sandbox` / `.env.live` (chosen by the mode; the process environment wins over the file).",
);

/// `AVB_RESOURCE_SCOPE`: read by [`Reader::resource_scope`](super::Reader::resource_scope) (rules:
/// [`ResourceScope::resolve`](crate::ResourceScope::resolve)).
pub const AVB_RESOURCE_SCOPE: Key = key(
    "AVB_RESOURCE_SCOPE",
    "mode",
    "1-32 characters of `a-z 0-9 -`, or `none`",
    "the environment: `development`, `staging`, `production`",
    "Environment scope in every live backend's resource names (Redis keys, Kafka topics, Pulsar namespaces, object-key prefix), so environments sharing a server never see each other's data. Another environment's name is refused; `none` keeps the unscoped names (refused in a defaulted development). See `docs/isolation.md`.",
);

/// Prefix of variables owned by the test harness (`scripts/services env`); the resolver ignores them.
pub const TEST_PREFIX: &str = "AVB_TEST_";

/// The mode variables, read by the resolver itself.
pub const MODE_KEYS: &[Key] = &[
    AVB_ENV,
    DJANGO_ENV,
    AVB_DEV_MODE,
    AVB_DOTENV_DIR,
    AVB_RESOURCE_SCOPE,
];

/// Every variable avb reads: the mode variables and each port's, in documentation order.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    groups: Vec<&'static [Key]>,
}

impl Registry {
    /// A registry of the mode variables and `groups` (each port's `VARS`, in documentation order).
    pub fn new(groups: impl IntoIterator<Item = &'static [Key]>) -> Self {
        let mut all = vec![MODE_KEYS];
        all.extend(groups);
        Self { groups: all }
    }

    /// Every variable, in documentation order.
    pub fn iter(&self) -> impl Iterator<Item = &'static Key> + '_ {
        self.groups.iter().flat_map(|g| g.iter())
    }

    /// Looks a variable up by name.
    pub fn find(&self, name: &str) -> Option<&'static Key> {
        self.iter().find(|k| k.name == name)
    }

    /// Whether the value of `name` is a secret.
    pub fn is_secret(&self, name: &str) -> bool {
        self.find(name).is_some_and(|k| k.secret)
    }

    /// The closest known variable to an unknown one, when it is plausibly a typo.
    pub fn suggest(&self, name: &str) -> Option<&'static str> {
        self.iter()
            .map(|k| (edit_distance(name, k.name), k.name))
            .filter(|(d, _)| *d <= 3)
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| n)
    }

    /// Names listed more than once (a registry test asserts there are none).
    pub fn duplicates(&self) -> Vec<&'static str> {
        let names: Vec<&str> = self.iter().map(|k| k.name).collect();
        let mut dup: Vec<&str> = names
            .iter()
            .enumerate()
            .filter(|(i, n)| names[i + 1..].contains(n))
            .map(|(_, n)| *n)
            .collect();
        dup.dedup();
        dup
    }

    /// The README's variable table.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from(
            "| variable | area | values | default | meaning |\n|---|---|---|---|---|\n",
        );
        for k in self.iter() {
            let meaning = if k.secret {
                format!("{} Secret: always redacted.", k.meaning)
            } else {
                k.meaning.to_string()
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                k.name, k.area, k.values, k.default, meaning
            ));
        }
        out
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHER: &[Key] = &[
        key("AVB_OTHER", "x", "y", "z", "w"),
        key("AVB_ENV", "x", "y", "z", "w"),
    ];

    #[test]
    fn finds_suggests_and_reports_duplicates() {
        let r = Registry::new([]);
        assert_eq!(r.suggest("AVB_DEV_MOD"), Some("AVB_DEV_MODE"));
        assert_eq!(r.suggest("AVB_ENVV"), Some("AVB_ENV"));
        assert_eq!(r.suggest("AVB_COMPLETELY_DIFFERENT"), None);
        assert!(r.duplicates().is_empty());
        let r = Registry::new([OTHER]);
        assert!(r.find("AVB_OTHER").is_some());
        assert_eq!(r.duplicates(), vec!["AVB_ENV"]);
    }
}
