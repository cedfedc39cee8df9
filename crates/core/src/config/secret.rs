//! Values that must never be shown: [`Secret`] strings and URLs whose userinfo is hidden ([`ServiceUrl`]).
//!
//! Both print and serialise redacted; the real value is reachable only through an explicit `expose()`.

use serde::{Serialize, Serializer};
use std::fmt;
use url::Url;

/// What a redacted value prints as.
pub const REDACTED: &str = "***";

/// A secret string (password, key, token). `Debug`, `Display` and `Serialize` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the client that needs it. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// A parsed URL of a server. `Debug`, `Display` and `Serialize` hide userinfo and secret-looking query values.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceUrl(Url);

impl ServiceUrl {
    /// Wraps a parsed URL.
    pub fn new(url: Url) -> Self {
        Self(url)
    }
    /// The URL with its credentials, for the client that connects. Never log the result.
    pub fn expose(&self) -> &Url {
        &self.0
    }
    /// The URL as shown to people: credentials replaced by `***`.
    pub fn redacted(&self) -> String {
        let mut url = self.0.clone();
        if !url.username().is_empty() || url.password().is_some() {
            // Both fail only for URLs that cannot carry userinfo, which then has none to hide.
            let _ = url.set_password(None);
            let _ = url.set_username(REDACTED);
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let hide = ["pass", "secret", "token", "key", "auth"]
                        .iter()
                        .any(|w| k.to_ascii_lowercase().contains(w));
                    (
                        k.into_owned(),
                        if hide {
                            REDACTED.to_string()
                        } else {
                            v.into_owned()
                        },
                    )
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl fmt::Debug for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceUrl({})", self.redacted())
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for ServiceUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// Redacts a raw, possibly unparseable URL-ish string for an error message: anything between `://` and the
/// last `@` of the authority is replaced by `***`.
pub fn redact_raw(value: &str) -> String {
    let Some(start) = value.find("://").map(|i| i + 3) else {
        return value.to_string();
    };
    let rest = &value[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{REDACTED}{}", &value[..start], &rest[at..]),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_url_hides_userinfo_and_secret_query_values() {
        let url = ServiceUrl::new(
            Url::parse("redis://user:hunter2@h:6379/0?password=p2&db=1")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let shown = format!(
            "{url} {url:?} {}",
            serde_json::to_string(&url).unwrap_or_default()
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("user") && !shown.contains("p2"),
            "{shown}"
        );
        assert!(
            shown.contains("redis://***@h:6379/0?password=***&db=1"),
            "{shown}"
        );
        assert_eq!(url.expose().password(), Some("hunter2"));
    }

    #[test]
    fn raw_redaction_handles_unparseable_values() {
        assert_eq!(
            redact_raw("redis://:pw@host:bad/0"),
            "redis://***@host:bad/0"
        );
        assert_eq!(redact_raw("http://host/a@b"), "http://host/a@b");
        assert_eq!(redact_raw("not a url"), "not a url");
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("tok");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap_or_default(), "\"***\"");
    }
}
