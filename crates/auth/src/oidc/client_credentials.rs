//! A token source for outgoing calls: the OAuth2 client-credentials grant, cached and refreshed before
//! expiry (single-flight: concurrent callers share one token request).

use super::{discover, unavailable};
use crate::{Error, Result};
use avb_core::config::Secret;
use std::fmt;
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
    cached: tokio::sync::Mutex<Option<(String, Instant)>>,
    requests: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

impl ClientCredentials {
    /// Discovers `issuer`'s token endpoint. Tokens are refreshed 30 s before they expire (or at half their
    /// lifetime, when that is shorter).
    pub async fn discover(
        issuer: &str,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| unavailable(issuer, format!("HTTP client: {e}")))?;
        let discovery = discover(&http, issuer).await?;
        let Some(token_endpoint) = discovery.token_endpoint else {
            return Err(unavailable(
                issuer,
                "discovery document has no token_endpoint",
            ));
        };
        Ok(Self {
            http,
            issuer: discovery.issuer,
            token_endpoint,
            client_id: client_id.into(),
            client_secret,
            resource: None,
            refresh_before: Duration::from_secs(30),
            cached: tokio::sync::Mutex::new(None),
            requests: std::sync::atomic::AtomicU64::new(0),
        })
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

    /// How many token requests were sent.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A valid access token: the cached one, or a new one when it is missing or about to expire.
    pub async fn token(&self) -> Result<String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, refresh_at)) = cached.as_ref()
            && Instant::now() < *refresh_at
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.request().await?;
        let margin = self.refresh_before.min(lifetime / 2);
        *cached = Some((token.clone(), Instant::now() + lifetime - margin));
        Ok(token)
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
            .map_err(|e| unavailable(&self.issuer, format!("token endpoint: {e}")))?;
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
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|e| unavailable(&self.issuer, format!("token response: {e}")))?;
        Ok((
            body.access_token,
            Duration::from_secs(body.expires_in.unwrap_or(60)),
        ))
    }
}
