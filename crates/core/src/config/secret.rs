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

/// A parsed URL of a server. `Debug`, `Display` and `Serialize` hide the userinfo, every query value and
/// the fragment: `redis://***@host:6379/0?db=***#***`.
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
    /// The URL as shown to people: userinfo, query values and fragment replaced by `***`. A query item
    /// without `=` is replaced whole (it may be a bare token).
    pub fn redacted(&self) -> String {
        let mut url = self.0.clone();
        if !url.username().is_empty() || url.password().is_some() {
            // Both fail only for URLs that cannot carry userinfo, which then has none to hide.
            let _ = url.set_password(None);
            let _ = url.set_username(REDACTED);
        }
        if let Some(query) = url.query() {
            let hidden: Vec<String> = query
                .split('&')
                .map(|item| match item.split_once('=') {
                    Some((key, _)) => format!("{key}={REDACTED}"),
                    None => REDACTED.to_string(),
                })
                .collect();
            url.set_query(Some(&hidden.join("&")));
        }
        if url.fragment().is_some() {
            url.set_fragment(Some(REDACTED));
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

/// Whether `value`, parsed as `url`, is written `<scheme>://…`: otherwise the word before the first `:` may
/// be a user name (`user:pw@host`) and nothing of the value can be told apart from a secret.
pub(crate) fn has_authority(value: &str, url: &Url) -> bool {
    let value = value.trim_start_matches(|c: char| c <= ' ');
    value
        .get(url.scheme().len()..)
        .is_some_and(|rest| rest.starts_with("://"))
}

/// Whether a parsed URL has an `@` after its host: a user name or password with an unencoded `/`, `?` or
/// `#` cut the authority short, and the rest of the secret now sits in the path, query or fragment.
pub(crate) fn at_after_host(url: &Url) -> bool {
    url.path().contains('@')
        || url.query().is_some_and(|q| q.contains('@'))
        || url.fragment().is_some_and(|f| f.contains('@'))
}

/// Redacts a value known to be a URL for a message, never guessing where a secret ends:
/// - a well-formed URL (`<scheme>://…`, no `@` after the host) is shown as [`ServiceUrl`] shows it
///   (userinfo, query values and fragment hidden; unchanged when it has none of them);
/// - anything else shows only its scheme, `redis://***`, or nothing, `***` (it may be a token pasted into
///   the wrong variable, or a password with an unencoded `/`, `#`, `?`).
pub fn redact_url(value: &str) -> String {
    match Url::parse(value) {
        Ok(url) if has_authority(value, &url) && !at_after_host(&url) => {
            let has_secret_parts = !url.username().is_empty()
                || url.password().is_some()
                || url.query().is_some()
                || url.fragment().is_some();
            if has_secret_parts {
                ServiceUrl::new(url).redacted()
            } else {
                value.to_string()
            }
        }
        _ => scheme_only(value),
    }
}

/// Redacts a raw value that may or may not be a URL (any setting of a builder): one with an `@` or a `://`
/// as [`redact_url`] shows it, any other (`0`, `kafak`, `host:9092`) as is. For a value known to be a URL
/// use [`redact_url`], which shows nothing of one it cannot parse.
pub fn redact_raw(value: &str) -> String {
    if value.contains('@') || value.contains("://") {
        redact_url(value)
    } else {
        value.to_string()
    }
}

/// `scheme://***` when the value starts with a scheme and `://`, else `***`.
fn scheme_only(value: &str) -> String {
    let value = value.trim_start_matches(|c: char| c <= ' ');
    match value.split_once("://") {
        Some((scheme, _))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            format!("{scheme}://{REDACTED}")
        }
        _ => REDACTED.to_string(),
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
            shown.contains("redis://***@h:6379/0?password=***&db=***"),
            "{shown}"
        );
        assert_eq!(url.expose().password(), Some("hunter2"));
    }

    #[test]
    fn service_url_hides_every_query_value_and_the_fragment() {
        let url = ServiceUrl::new(
            Url::parse("https://h/api?db=1&x=two&flag#access_token=t0k")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(url.to_string(), "https://h/api?db=***&x=***&***#***");
        assert_eq!(url.expose().fragment(), Some("access_token=t0k"));
    }

    #[test]
    fn raw_redaction_shows_plain_values_and_redacts_url_shapes() {
        for (raw, shown) in [
            ("0", "0"),
            ("kafak", "kafak"),
            ("a b/c", "a b/c"),
            ("h:9092,nohost", "h:9092,nohost"),
            ("user:pw@host", "***"),
            ("redis://:pw@h:bad", "redis://***"),
            ("http://u:pw@h", "http://***@h/"),
        ] {
            assert_eq!(redact_raw(raw), shown, "{raw}");
        }
    }

    #[test]
    fn url_redaction_shows_nothing_of_an_unparseable_value_but_its_scheme() {
        for (raw, shown) in [
            ("redis://:pw@host:bad/0", "redis://***"),
            ("redis://user:p/w@host:6379", "redis://***"),
            ("redis://user:12/pw@host", "redis://***"),
            ("redis://user:12#pw@host", "redis://***"),
            ("redis://user:12?pw@host", "redis://***"),
            (":pw@host:6379", "***"),
            ("user:pw@host:6379", "***"),
            ("redis:user:pw@host", "***"),
            ("redis:/user:pw@host", "***"),
            ("not a url", "***"),
            ("http://h:bad/?api_key=k3y", "http://***"),
            // Parsed and well-formed: shown, with its secret parts hidden.
            ("http://host/a", "http://host/a"),
            ("http://u:pw@host:1", "http://***@host:1/"),
            (
                "http://host/?api_key=k3y#tok",
                "http://host/?api_key=***#***",
            ),
        ] {
            assert_eq!(redact_url(raw), shown, "{raw}");
        }
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("tok");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap_or_default(), "\"***\"");
    }
}
