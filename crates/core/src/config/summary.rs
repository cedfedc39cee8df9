//! The startup summary: `Display` for [`Config`]. Secrets are redacted by their types.

use super::ports::{
    AuthConfig, CatalogConfig, EventBusConfig, EventBusDelivery, LlmConfig, ObjectStoreConfig,
    S3_DEFAULT_REGION,
};
use super::{Config, Mode, Source};
use std::fmt;

fn source(s: &Source, default: &str) -> String {
    match s {
        Source::Default => default.to_string(),
        Source::Variable { name } => format!("set by {name}"),
        Source::File { name, file } => format!("set by {name} in {file}"),
    }
}

impl fmt::Display for EventBusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventBusConfig::Memory { delivery } => write!(f, "memory (in-process), {delivery}"),
            EventBusConfig::Redis { url, delivery } => write!(f, "redis {url}, {delivery}"),
            EventBusConfig::Kafka { bootstrap_servers } => {
                write!(f, "kafka {}", bootstrap_servers.join(","))
            }
            EventBusConfig::Pulsar { url, token } => {
                write!(
                    f,
                    "pulsar {url}{}",
                    if token.is_some() { " (token ***)" } else { "" }
                )
            }
        }
    }
}

impl fmt::Display for EventBusDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ack timeout {} ms, max attempts {}, ",
            self.ack_timeout_ms, self.max_attempts
        )?;
        match self.max_len {
            Some(n) => write!(f, "max len {n}"),
            None => f.write_str("no trimming"),
        }
    }
}

impl fmt::Display for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::None {
                workspace_id,
                subject,
            } => {
                write!(
                    f,
                    "none (trust-all: workspace {workspace_id:?}, subject {subject:?})"
                )
            }
            AuthConfig::Local { key_file } => write!(
                f,
                "local (tokens signed with the development key {})",
                key_file.display()
            ),
            AuthConfig::Keycloak {
                issuer,
                audience,
                workspace_claim,
                introspection,
                ..
            } => write!(
                f,
                "keycloak issuer {issuer}, audience {audience}, workspace claim {workspace_claim}, introspection {}",
                introspection.as_str()
            ),
        }
    }
}

impl fmt::Display for ObjectStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectStoreConfig::Memory => f.write_str("memory (in-process)"),
            ObjectStoreConfig::Fs { root } => write!(f, "fs {}", root.display()),
            ObjectStoreConfig::S3 {
                bucket,
                endpoint,
                region,
                credentials,
                profile,
                path_style,
                checksums,
                prefix,
            } => {
                write!(f, "s3 bucket {bucket:?}")?;
                if let Some(prefix) = prefix {
                    write!(f, " prefix {prefix:?}")?;
                }
                f.write_str(" at ")?;
                match endpoint {
                    Some(e) => write!(f, "{e}")?,
                    None => f.write_str("AWS")?,
                }
                f.write_str(", region ")?;
                match (region, endpoint, credentials) {
                    (Some(region), _, _) => f.write_str(region)?,
                    // The rules of crates/object-store/src/s3/builder.rs: static credentials with an endpoint need
                    // nothing from the SDK's chain; the chain is read otherwise, and a non-AWS endpoint falls
                    // back to us-east-1 (SigV4 needs a region; such servers ignore it).
                    (None, Some(_), Some(_)) => write!(
                        f,
                        "{S3_DEFAULT_REGION} (AWS_REGION unset: the default for an endpoint with static credentials)"
                    )?,
                    (None, Some(_), None) => {
                        write!(f, "from the AWS SDK chain, else {S3_DEFAULT_REGION}")?
                    }
                    (None, None, _) => f.write_str("from the AWS SDK chain (required)")?,
                }
                write!(
                    f,
                    ", profile {}, {}-style, checksums {}",
                    profile.as_str(),
                    if *path_style { "path" } else { "virtual-host" },
                    checksums.as_str()
                )?;
                f.write_str(if credentials.is_some() {
                    ", static credentials ***"
                } else {
                    ", credentials from the AWS SDK chain"
                })
            }
        }
    }
}

impl fmt::Display for CatalogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogConfig::Json { file } => write!(f, "json {}", file.display()),
            CatalogConfig::OpenMetadata { url, token } => {
                write!(
                    f,
                    "openmetadata {url}{}",
                    if token.is_some() { " (token ***)" } else { "" }
                )
            }
        }
    }
}

impl fmt::Display for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = |k: &Option<_>| if k.is_some() { " (key ***)" } else { "" };
        match self {
            LlmConfig::Mock => f.write_str("mock (deterministic, offline)"),
            LlmConfig::OpenAi {
                url,
                model,
                api_key,
            } => write!(f, "openai {url} model {model:?}{}", key(api_key)),
            LlmConfig::Ollama {
                url,
                model,
                api_key,
            } => write!(f, "ollama {url} model {model:?}{}", key(api_key)),
        }
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode_default =
            if self.mode == Mode::Live && self.environment != super::Environment::Development {
                format!("always live in {}", self.environment)
            } else {
                "default".to_string()
            };
        let port_default = format!("{} default", self.mode);
        writeln!(f, "avb configuration")?;
        writeln!(
            f,
            "  environment   {:<60} ({})",
            self.environment.to_string(),
            source(&self.environment_source, "default")
        )?;
        writeln!(
            f,
            "  mode          {:<60} ({})",
            self.mode.to_string(),
            source(&self.mode_source, &mode_default)
        )?;
        let rows: [(&str, String, &Source); 5] = [
            (
                "event bus",
                self.event_bus.backend.to_string(),
                &self.event_bus.chosen_by,
            ),
            ("auth", self.auth.backend.to_string(), &self.auth.chosen_by),
            (
                "object store",
                self.object_store.backend.to_string(),
                &self.object_store.chosen_by,
            ),
            (
                "catalog",
                self.catalog.backend.to_string(),
                &self.catalog.chosen_by,
            ),
            ("llm", self.llm.backend.to_string(), &self.llm.chosen_by),
        ];
        for (name, backend, chosen_by) in rows {
            writeln!(
                f,
                "  {name:<13} {backend:<60} ({})",
                source(chosen_by, &port_default)
            )?;
        }
        if let Some(file) = &self.env_file {
            writeln!(
                f,
                "  env file      {file} (the process environment wins over it)"
            )?;
        }
        for i in &self.ignored {
            writeln!(f, "  ignored       {}={:?}: {}", i.key, i.value, i.reason)?;
        }
        Ok(())
    }
}
