//! A token source for outgoing calls: the OAuth2 client-credentials grant, cached and refreshed before
//! expiry (single-flight: concurrent callers share one token request). The token endpoint's answer is
//! read under the [`http`] rules (capped, parsed without panics; `expires_in` capped at
//! [`http::MAX_TOKEN_LIFETIME`]). Refresh and expiry are measured on the source's [`Clock`]
//! ([`ClientCredentials::with_clock`]; the system clock by default).

use super::discover;
use super::http::{self, unavailable};
use crate::clock::{self, Clock};
use crate::{Error, Result};
use avb_core::config::Secret;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Fetches and caches client-credentials access tokens.
pub struct ClientCredentials {
    http: reqwest::Client,
    issuer: String,
    token_endpoint: String,
    client_id: String,
    client_secret: Secret,
    resource: Option<String>,
    refresh_before: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
    requests: std::sync::atomic::AtomicU64,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_endpoint", &http::redact_url(&self.token_endpoint))
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

struct Cached {
    token: String,
    refresh_at: Instant,
    expires_at: Instant,
}

fn http_client(issuer: &str) -> Result<reqwest::Client> {
    http::client(issuer, Duration::from_secs(10))
}

impl ClientCredentials {
    /// Discovers `issuer`'s token endpoint. Tokens are refreshed 30 s before they expire (or at half their
    /// lifetime, when that is shorter).
    pub async fn discover(
        issuer: &str,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Result<Self> {
        Self::discover_allowing(issuer, &[], client_id, client_secret).await
    }

    /// [`ClientCredentials::discover`], trusting the discovery document's `token_endpoint` also on the
    /// `allowed_origins` (`OIDC_ALLOWED_ORIGINS`), not only on the issuer's origin.
    pub async fn discover_allowing(
        issuer: &str,
        allowed_origins: &[String],
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Result<Self> {
        let http = http_client(issuer)?;
        let discovery = discover(&http, issuer, allowed_origins).await?;
        let Some(token_endpoint) = discovery.token_endpoint else {
            return Err(unavailable(
                issuer,
                "discovery document has no token_endpoint",
            ));
        };
        Ok(Self::with_http(
            http,
            discovery.issuer,
            token_endpoint,
            client_id.into(),
            client_secret,
        ))
    }

    /// A token source for a known token endpoint (no discovery; the endpoint is the caller's choice, so
    /// no origin check applies to it).
    pub fn new(
        issuer: &str,
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Result<Self> {
        Ok(Self::with_http(
            http_client(issuer)?,
            issuer.into(),
            token_endpoint.into(),
            client_id.into(),
            client_secret,
        ))
    }

    fn with_http(
        http: reqwest::Client,
        issuer: String,
        token_endpoint: String,
        client_id: String,
        client_secret: Secret,
    ) -> Self {
        Self {
            http,
            issuer,
            token_endpoint,
            client_id,
            client_secret,
            resource: None,
            refresh_before: Duration::from_secs(30),
            cached: tokio::sync::Mutex::new(None),
            requests: std::sync::atomic::AtomicU64::new(0),
            clock: clock::system(),
        }
    }

    /// Asks for tokens for this resource (RFC 8707 `resource`).
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// How long before expiry a cached token is replaced (default 30 s).
    pub fn with_refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self
    }

    /// Measure token lifetimes (refresh and expiry of the cached token) on `clock` (default: the
    /// system clock; tests pass a `clock::ManualClock` (feature `conformance`) and advance it). The
    /// lifetime itself comes from the token endpoint's `expires_in`.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How many token requests were sent.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A valid access token: the cached one, or a new one when it is missing or about to expire.
    ///
    /// When the refresh fails while the cached token has not expired yet, the cached token is returned
    /// (the next call tries again); once it has expired, the error is.
    pub async fn token(&self) -> Result<String> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(c) = cached.as_ref()
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        match self.request().await {
            Ok((token, lifetime)) => {
                // parse_token_response caps the lifetime; checked arithmetic all the same, so no
                // answer can make an instant overflow (an unrepresentable one counts as "now").
                let margin = self.refresh_before.min(lifetime / 2);
                let expires_at = now.checked_add(lifetime).unwrap_or(now);
                *cached = Some(Cached {
                    token: token.clone(),
                    refresh_at: expires_at.checked_sub(margin).unwrap_or(now),
                    expires_at,
                });
                Ok(token)
            }
            Err(e) => match cached.as_ref() {
                Some(c) if e.is_retryable() && self.clock.now() < c.expires_at => {
                    Ok(c.token.clone())
                }
                _ => Err(e),
            },
        }
    }

    async fn request(&self) -> Result<(String, Duration)> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(resource) = &self.resource {
            form.push(("resource", resource));
        }
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| http::send_error(&self.issuer, "token endpoint", e))?;
        let status = response.status();
        if status.is_client_error() {
            return Err(Error::InvalidConfig {
                key: "OIDC_CLIENT_ID".into(),
                value: self.client_id.clone(),
                expected: format!(
                    "a client the issuer accepts with OIDC_CLIENT_SECRET (token endpoint answered {status})"
                ),
            });
        }
        if !status.is_success() {
            return Err(unavailable(
                &self.issuer,
                format!("token endpoint answered {status}"),
            ));
        }
        let body = http::read_capped(&self.issuer, "token endpoint", response).await?;
        http::parse_token_response(&body).map_err(|e| unavailable(&self.issuer, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The cache's fallback when the issuer goes away: the still-valid token is served, then the error.
    /// (The happy path runs against the real provider in tests/auth.rs; this needs an issuer that dies.)
    #[tokio::test]
    async fn a_failed_refresh_serves_the_cached_token_until_it_expires() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/token", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 4096];
            let _ = socket.read(&mut buf).await.unwrap();
            let body = r#"{"access_token":"t1","expires_in":2,"token_type":"Bearer"}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
            // Dropping the listener: the issuer is gone for every later request.
        });
        let clock = ManualClock::new();
        let source = ClientCredentials::new("http://issuer.test", endpoint, "c", Secret::new("s"))
            .unwrap()
            .with_clock(clock.clone());
        assert_eq!(source.token().await.unwrap(), "t1");
        server.await.unwrap();
        // Before the refresh is due (1 s: half of the 2 s lifetime) the cached token serves, no request.
        clock.advance(Duration::from_millis(999));
        assert_eq!(source.token().await.unwrap(), "t1");
        assert_eq!(source.requests(), 1);
        // Refresh due but the issuer is gone: the cached token still serves until it expires.
        clock.advance(Duration::from_millis(1));
        assert_eq!(source.token().await.unwrap(), "t1");
        assert_eq!(source.requests(), 2);
        clock.advance(Duration::from_millis(999));
        assert_eq!(source.token().await.unwrap(), "t1");
        assert_eq!(source.requests(), 3);
        // Expired (2 s): the error.
        clock.advance(Duration::from_millis(1));
        let err = source.token().await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(source.requests(), 4);
    }
}
