//! Table-driven tests: every row of DESIGN §2 and every error message of the foundation issue.

use super::*;

mod layers;
mod mode;
mod ports;
mod problems;

/// Variables of one table row.
type Pairs = &'static [(&'static str, &'static str)];

fn resolve(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_iter(pairs.iter().copied())
}

fn ok(pairs: &[(&str, &str)]) -> Config {
    resolve(pairs).unwrap_or_else(|e| panic!("{pairs:?} should resolve: {e}"))
}

fn messages(pairs: &[(&str, &str)]) -> Vec<String> {
    match resolve(pairs) {
        Ok(c) => panic!("{pairs:?} should fail, resolved to:\n{c}"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

/// Connection settings that make every live backend resolvable, so a case can focus on one thing.
const LIVE_SETTINGS: &[(&str, &str)] = &[
    ("PULSAR_URL", "pulsar://127.0.0.1:6650"),
    ("OIDC_ISSUER_URL", "http://127.0.0.1:18080/realms/avb"),
    ("OIDC_AUDIENCE", "avb-api"),
    ("OBJECT_STORE_BUCKET", "avb"),
    ("OPENMETADATA_URL", "http://127.0.0.1:18585/api"),
    ("LLM_API_URL", "http://127.0.0.1:11434"),
    ("LLM_MODEL", "gemma3:270m"),
];

fn with_live(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    LIVE_SETTINGS.iter().chain(extra).copied().collect()
}

fn kinds(c: &Config) -> [String; 5] {
    let tag = |v: serde_json::Value| v["kind"].as_str().unwrap_or_default().to_string();
    [
        tag(serde_json::to_value(&c.event_bus.backend).unwrap()),
        tag(serde_json::to_value(&c.auth.backend).unwrap()),
        tag(serde_json::to_value(&c.object_store.backend).unwrap()),
        tag(serde_json::to_value(&c.catalog.backend).unwrap()),
        tag(serde_json::to_value(&c.llm.backend).unwrap()),
    ]
}
