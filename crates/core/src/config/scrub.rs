//! [`Scrubber`]: removes a configuration's secrets from text avb did not write itself (a backend's error, a
//! server's answer), before it reaches a report such as `avb health`. Each port hands its secrets over
//! through [`PortConfig::secrets`](super::PortConfig::secrets).

use super::secret::{REDACTED, Secret, ServiceUrl};

/// Shorter values are not scrubbed: replacing every `a` of a message would hide the message, not a secret.
const MIN_SCRUBBED_LEN: usize = 3;

/// Collects secrets and credential-bearing URLs, then scrubs text of them.
#[derive(Debug, Default)]
pub struct Scrubber<'a> {
    urls: Vec<&'a ServiceUrl>,
    secrets: Vec<&'a Secret>,
}

impl<'a> Scrubber<'a> {
    /// An empty scrubber.
    pub fn new() -> Self {
        Self::default()
    }

    /// A URL whose user name, password, query values and fragment are secret.
    pub fn url(&mut self, url: &'a ServiceUrl) -> &mut Self {
        self.urls.push(url);
        self
    }

    /// A secret value.
    pub fn secret(&mut self, secret: &'a Secret) -> &mut Self {
        self.secrets.push(secret);
        self
    }

    /// `text` with every collected secret replaced by `***`: secret values, and each URL's user name,
    /// password, query values and fragment (as written and percent-decoded).
    pub fn scrub(&self, text: &str) -> String {
        let mut parts = self.parts();
        parts.retain(|s| s.chars().count() >= MIN_SCRUBBED_LEN);
        parts.sort_by_key(|s| std::cmp::Reverse(s.len()));
        parts.dedup();
        parts
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), REDACTED))
    }

    fn parts(&self) -> Vec<String> {
        let mut parts: Vec<String> = self
            .secrets
            .iter()
            .map(|s| s.expose().to_string())
            .collect();
        for url in &self.urls {
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
    use super::*;

    #[test]
    fn scrubs_secrets_and_url_credentials_from_foreign_text() {
        let url = ServiceUrl::new(
            url::Url::parse("redis://usr:p%40ss@127.0.0.1:1/0?token=qv1#frag1")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let (id, key) = (Secret::new("AKIDX"), Secret::new("sk123"));
        let mut s = Scrubber::new();
        s.url(&url).secret(&id).secret(&key);
        let text = "connect redis://usr:p%40ss@127.0.0.1:1 (p@ss) qv1 frag1 AKIDX sk123 ok";
        assert_eq!(
            s.scrub(text),
            "connect redis://***:***@127.0.0.1:1 (***) *** *** *** *** ok"
        );
        assert_eq!(s.scrub("a b"), "a b");
    }
}
