//! [`Config::scrub`]: removes this configuration's secrets from text avb did not write itself (a backend's
//! error, a server's answer), before it reaches a report such as `avb health`.

use super::Config;
use super::ports::{AuthConfig, CatalogConfig, EventBusConfig, LlmConfig, ObjectStoreConfig};
use super::secret::{REDACTED, Secret, ServiceUrl};

/// Shorter values are not scrubbed: replacing every `a` of a message would hide the message, not a secret.
const MIN_SCRUBBED_LEN: usize = 3;

impl Config {
    /// `text` with every secret of this configuration replaced by `***`: secret values, and each URL's
    /// user name, password, query values and fragment (as written and percent-decoded). For text from
    /// outside avb (a client library's error), which may quote what it was given.
    pub fn scrub(&self, text: &str) -> String {
        let mut secrets = self.secret_parts();
        secrets.retain(|s| s.chars().count() >= MIN_SCRUBBED_LEN);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), REDACTED))
    }

    fn secret_parts(&self) -> Vec<String> {
        let mut urls: Vec<&ServiceUrl> = Vec::new();
        let mut secrets: Vec<&Secret> = Vec::new();
        match &self.event_bus.backend {
            EventBusConfig::Redis { url, .. } => urls.push(url),
            EventBusConfig::Pulsar { url, token } => {
                urls.push(url);
                secrets.extend(token);
            }
            _ => {}
        }
        if let AuthConfig::Keycloak {
            issuer,
            client_secret,
            ..
        } = &self.auth.backend
        {
            urls.push(issuer);
            secrets.extend(client_secret);
        }
        if let ObjectStoreConfig::S3 {
            endpoint,
            credentials,
            ..
        } = &self.object_store.backend
        {
            urls.extend(endpoint);
            if let Some(c) = credentials {
                secrets.extend([&c.access_key_id, &c.secret_access_key]);
            }
        }
        if let CatalogConfig::OpenMetadata { url, token } = &self.catalog.backend {
            urls.push(url);
            secrets.extend(token);
        }
        if let LlmConfig::OpenAi { url, api_key, .. } | LlmConfig::Ollama { url, api_key, .. } =
            &self.llm.backend
        {
            urls.push(url);
            secrets.extend(api_key);
        }
        let mut parts: Vec<String> = secrets.iter().map(|s| s.expose().to_string()).collect();
        for url in urls {
            let url = url.expose();
            let mut raw = vec![url.username().to_string()];
            raw.extend(url.password().map(str::to_string));
            raw.extend(url.fragment().map(str::to_string));
            if let Some(query) = url.query() {
                raw.extend(
                    query
                        .split('&')
                        .map(|item| item.split_once('=').map_or(item, |(_, v)| v).to_string()),
                );
            }
            for part in raw {
                let decoded = url::form_urlencoded::parse(format!("x={part}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned());
                parts.extend(decoded.filter(|d| *d != part));
                parts.push(part);
            }
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn scrubs_secrets_and_url_credentials_from_foreign_text() {
        let config = Config::from_iter([
            ("EVENT_BUS", "redis"),
            (
                "REDIS_URL",
                "redis://usr:p%40ss@127.0.0.1:1/0?token=qv1#frag1",
            ),
            ("OBJECT_STORE", "s3"),
            ("OBJECT_STORE_BUCKET", "b"),
            ("AWS_ACCESS_KEY_ID", "AKIDX"),
            ("AWS_SECRET_ACCESS_KEY", "sk123"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let text = "connect redis://usr:p%40ss@127.0.0.1:1 (p@ss) qv1 frag1 AKIDX sk123 ok";
        assert_eq!(
            config.scrub(text),
            "connect redis://***:***@127.0.0.1:1 (***) *** *** *** *** ok"
        );
        assert_eq!(config.scrub("a b"), "a b");
    }
}
