//! The OIDC backend's HTTP rules, shared by discovery, the JWKS and the token endpoint:
//!
//! - **Error text never carries a secret.** URLs in errors are [`redact_url`]ed (no userinfo, query or
//!   fragment), and `reqwest` errors are described without their URL.
//! - **Endpoints stay on the issuer's origin.** The `jwks_uri` and `token_endpoint` a discovery document
//!   names must share the issuer's scheme, host and port, unless the origin is listed explicitly
//!   (`OIDC_ALLOWED_ORIGINS`, [`OidcBuilder::with_allowed_origin`](super::OidcBuilder::with_allowed_origin));
//!   otherwise [`Error::UntrustedEndpoint`]. A discovery document fetched from the issuer could otherwise
//!   send avb to any host — a cloud metadata address, an internal service — for its keys, or make it post
//!   the client secret there.
//! - **Redirects stay on the origin of the request.** A redirect to another origin is refused
//!   ([`Error::UntrustedEndpoint`]); at most [`MAX_REDIRECTS`] same-origin hops are followed.
//! - **Answers are capped.** A body is read chunk by chunk and the read stops at [`MAX_RESPONSE_BYTES`]
//!   (a `Content-Length` above the cap is refused at once, a missing or lying one does not help):
//!   [`Error::IssuerUnavailable`].
//! - **Server answers are parsed by pure functions** ([`parse_discovery`], [`parse_token_response`],
//!   [`KeySet::from_jwks_json`](crate::jwks::KeySet::from_jwks_json)) that return errors for anything,
//!   never panic (property-tested).

use crate::{Error, Result};
use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};
use std::time::Duration;

/// Largest discovery document, JWKS or token response read, in bytes. Keycloak's are a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Most same-origin redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// Longest token lifetime taken from a token endpoint's `expires_in` (one day); a longer one is cut to it,
/// so the cached token is asked for again at least daily and no instant arithmetic can overflow.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// Lifetime assumed when the token endpoint sends no `expires_in`.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// A URL as error text may show it: scheme, host, port and path. Userinfo becomes `***@`, a query `?***`,
/// a fragment `#***`; a value that does not parse as a URL is not shown at all.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return "<unparseable URL>".into();
    };
    let had_userinfo = !url.username().is_empty() || url.password().is_some();
    let had_query = url.query().is_some();
    let had_fragment = url.fragment().is_some();
    // Both fail only for URLs that cannot carry userinfo, which then have none.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.set_query(None);
    url.set_fragment(None);
    let mut shown = url.to_string();
    if had_userinfo && let Some(at) = shown.find("://").map(|i| i + 3) {
        shown.insert_str(at, "***@");
    }
    if had_query {
        shown.push_str("?***");
    }
    if had_fragment {
        shown.push_str("#***");
    }
    shown
}

/// Server-provided text in an error: cut to a readable length, control characters dropped.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

pub(crate) fn unavailable(issuer: &str, reason: impl Into<String>) -> Error {
    Error::IssuerUnavailable {
        issuer: redact_url(issuer),
        reason: reason.into(),
    }
}

pub(crate) fn untrusted(issuer: &str, reason: impl Into<String>) -> Error {
    Error::UntrustedEndpoint {
        issuer: redact_url(issuer),
        reason: reason.into(),
    }
}

/// A `reqwest` error as text: its message and its sources, without the request URL.
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The error for a failed send of `what` (`discovery`, `JWKS`, `token endpoint`).
pub(crate) fn send_error(issuer: &str, what: &str, e: reqwest::Error) -> Error {
    if e.is_redirect() {
        untrusted(issuer, format!("{what}: {}", describe(e)))
    } else {
        unavailable(issuer, format!("{what}: {}", describe(e)))
    }
}

#[derive(Debug)]
struct RedirectRefused(String);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedirectRefused {}

fn same_origin_redirects(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    let from = attempt.previous().first().map(Url::origin);
    let to = attempt.url().origin();
    if from.as_ref() != Some(&to) {
        let reason = format!(
            "redirect from {} to another origin ({}) refused",
            from.map_or_else(|| "?".into(), |o| o.ascii_serialization()),
            to.ascii_serialization()
        );
        return attempt.error(RedirectRefused(reason));
    }
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error(RedirectRefused(format!(
            "more than {MAX_REDIRECTS} redirects"
        )));
    }
    attempt.follow()
}

/// The HTTP client of the OIDC backend: `timeout` per request, same-origin redirects only.
pub(crate) fn client(issuer: &str, timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(Policy::custom(same_origin_redirects))
        .build()
        .map_err(|e| unavailable(issuer, format!("HTTP client: {}", describe(e))))
}

/// Reads the body of `response`, at most [`MAX_RESPONSE_BYTES`]; `what` names it in errors.
pub(crate) async fn read_capped(
    issuer: &str,
    what: &str,
    mut response: reqwest::Response,
) -> Result<Vec<u8>> {
    let too_large = || {
        unavailable(
            issuer,
            format!("{what} answer is larger than {MAX_RESPONSE_BYTES} bytes"),
        )
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| send_error(issuer, what, e))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Where endpoints named by discovery may live: the issuer's origin and the explicitly allowed ones.
#[derive(Debug, Clone)]
pub(crate) struct Origins {
    issuer: Url,
    allowed: Vec<Url>,
}

impl Origins {
    /// Origins for `issuer` plus `allowed` (each `scheme://host[:port]`; anything else is
    /// [`Error::InvalidConfig`] naming `OIDC_ALLOWED_ORIGINS`).
    pub(crate) fn new(issuer: &str, allowed: &[String]) -> Result<Self> {
        let issuer_url = Url::parse(issuer).map_err(|e| Error::InvalidConfig {
            key: "OIDC_ISSUER_URL".into(),
            value: redact_url(issuer),
            expected: format!("an http(s) URL ({e})"),
        })?;
        let allowed = allowed
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            issuer: issuer_url,
            allowed,
        })
    }

    /// `endpoint` (the discovery document's `name`) as a URL, when it is http(s) on an allowed origin.
    pub(crate) fn check(&self, issuer: &str, name: &str, endpoint: &str) -> Result<String> {
        let url = Url::parse(endpoint).map_err(|_| {
            untrusted(
                issuer,
                format!("{name} {:?} is not a URL", shorten(endpoint)),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(untrusted(
                issuer,
                format!("{name} {} is not http(s)", redact_url(endpoint)),
            ));
        }
        let origin = url.origin();
        if origin == self.issuer.origin() || self.allowed.iter().any(|a| a.origin() == origin) {
            return Ok(url.to_string());
        }
        Err(untrusted(
            issuer,
            format!(
                "{name} {} is not on the issuer's origin {}; list its origin in OIDC_ALLOWED_ORIGINS to trust it",
                redact_url(endpoint),
                self.issuer.origin().ascii_serialization()
            ),
        ))
    }
}

fn parse_origin(origin: &str) -> Result<Url> {
    let invalid = |why: &str| Error::InvalidConfig {
        key: "OIDC_ALLOWED_ORIGINS".into(),
        value: redact_url(origin),
        expected: format!("origins scheme://host[:port], comma-separated ({why})"),
    };
    let url = Url::parse(origin.trim()).map_err(|_| invalid("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("scheme must be http or https"));
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || !matches!(url.path(), "" | "/")
    {
        return Err(invalid(
            "an origin has no userinfo, path, query or fragment",
        ));
    }
    Ok(url)
}

/// The parts of the discovery document avb uses.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Discovery {
    /// `issuer`.
    pub issuer: String,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `token_endpoint` (client credentials).
    pub token_endpoint: Option<String>,
    /// `introspection_endpoint` (RFC 7662; used only when introspection is on).
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
}

/// Parses a discovery document (any JSON object with string `issuer` and `jwks_uri`; other members are
/// ignored). The error text says what is wrong, never echoing more than a short excerpt.
pub fn parse_discovery(body: &[u8]) -> std::result::Result<Discovery, String> {
    serde_json::from_slice(body).map_err(|e| format!("discovery document: {e}"))
}

#[derive(serde::Deserialize)]
struct RawTokenResponse {
    access_token: String,
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Parses a token endpoint's answer into the access token and its lifetime: `expires_in` a non-negative
/// number (or a string of digits, as some providers send), capped at [`MAX_TOKEN_LIFETIME`],
/// [`DEFAULT_TOKEN_LIFETIME`] when absent; `token_type`, when present, must be `Bearer`.
pub fn parse_token_response(body: &[u8]) -> std::result::Result<(String, Duration), String> {
    use serde_json::Value;
    let raw: RawTokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("token response: {e}"))?;
    if raw.access_token.is_empty() {
        return Err("token response: empty access_token".into());
    }
    if let Some(typ) = &raw.token_type
        && !typ.eq_ignore_ascii_case("bearer")
    {
        return Err(format!(
            "token response: token_type {:?} is not Bearer",
            shorten(typ)
        ));
    }
    let seconds = match &raw.expires_in {
        None | Some(Value::Null) => return Ok((raw.access_token, DEFAULT_TOKEN_LIFETIME)),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<f64>().ok()
        }
        Some(_) => None,
    };
    match seconds {
        Some(s) if s.is_finite() && s >= 0.0 => {
            let capped = s.min(MAX_TOKEN_LIFETIME.as_secs_f64());
            Ok((raw.access_token, Duration::from_secs_f64(capped)))
        }
        _ => Err("token response: expires_in is not a non-negative number of seconds".into()),
    }
}
