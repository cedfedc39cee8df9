//! Keycloak / any OIDC provider (`AUTH_MODE=keycloak`, feature `oidc`).
//!
//! At [`OidcBuilder::build`]: discovery (`<issuer>/.well-known/openid-configuration`, whose `issuer` must
//! equal the configured one and whose `jwks_uri`/`token_endpoint` must be on the issuer's origin — see
//! [`http`] for that and the other HTTP rules: redacted errors, same-origin redirects, capped bodies) and
//! a first JWKS fetch — an unreachable issuer fails startup, not the first
//! request. Then every token goes through the shared [`Validator`]: keys cached by `kid`, an unknown `kid`
//! refreshes the JWKS once (single-flight) and at most once per `min_refresh_interval`, the algorithm comes
//! from the key, access tokens only (not ID or refresh tokens), `iss`/`aud`/`exp`/`nbf`/`iat` with leeway, roles from `realm_access.roles` and
//! `resource_access.<client_id>.roles`, workspace from the configured claim.
//!
//! Token type: only access tokens pass — RFC 9068's header `typ: at+jwt` (what oidc-provider issues) or
//! Keycloak's claim `typ: "Bearer"`. A provider whose JWT access tokens carry neither marker is refused
//! ([`Error::WrongTokenType`]); there is deliberately no switch for it, as an unmarked token cannot be
//! told apart from that provider's ID token (see [`crate::validator`]).
//!
//! Discovery is a plain `reqwest` GET rather than the `openidconnect` crate: we need three fields of the
//! document (`issuer`, `jwks_uri`, `token_endpoint`), and `openidconnect` would bring its own typed
//! metadata, `oauth2` and an HTTP-client adapter layer for no gain here; the token validation itself is
//! `jsonwebtoken` either way.

mod client_credentials;
pub mod http;
pub mod introspection;

pub use client_credentials::ClientCredentials;
pub use http::Discovery;
pub use introspection::Introspection;

use http::unavailable;

use crate::clock::{self, Clock};
use crate::jwks::{KeyCache, KeySet, KeySource};
use crate::validator::{Rules, TokenCache, Validator};
use crate::{Authenticator, Capabilities, Error, Principal, Result};
use async_trait::async_trait;
use avb_core::config::Secret;
use avb_core::{Health, WorkspaceId};
use std::sync::Arc;
use std::time::Duration;

/// The scheme of this backend.
pub const SCHEME: &str = "keycloak";

/// Reads `<issuer>/.well-known/openid-configuration`, checks its `issuer` and that its `jwks_uri` and
/// `token_endpoint` are on the issuer's origin or an `allowed` one (see [`http`]).
pub async fn discover(
    http: &reqwest::Client,
    issuer: &str,
    allowed_origins: &[String],
) -> Result<Discovery> {
    let origins = http::Origins::new(issuer, allowed_origins)?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| http::send_error(issuer, "discovery", e))?;
    if !response.status().is_success() {
        return Err(unavailable(
            issuer,
            format!("discovery answered {}", response.status()),
        ));
    }
    let body = http::read_capped(issuer, "discovery", response).await?;
    let mut discovery = http::parse_discovery(&body).map_err(|e| unavailable(issuer, e))?;
    if discovery.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Error::InvalidConfig {
            key: "OIDC_ISSUER_URL".into(),
            value: http::redact_url(issuer),
            expected: format!(
                "the issuer named by its discovery document ({})",
                http::redact_url(&http::shorten(&discovery.issuer))
            ),
        });
    }
    discovery.jwks_uri = origins.check(issuer, "jwks_uri", &discovery.jwks_uri)?;
    if let Some(endpoint) = &discovery.token_endpoint {
        discovery.token_endpoint = Some(origins.check(issuer, "token_endpoint", endpoint)?);
    }
    if let Some(endpoint) = &discovery.introspection_endpoint {
        discovery.introspection_endpoint =
            Some(origins.check(issuer, "introspection_endpoint", endpoint)?);
    }
    Ok(discovery)
}

/// The issuer's JWKS endpoint as a [`KeySource`].
#[derive(Debug, Clone)]
pub struct HttpJwks {
    http: reqwest::Client,
    issuer: String,
    jwks_uri: String,
}

#[async_trait]
impl KeySource for HttpJwks {
    async fn fetch(&self) -> Result<KeySet> {
        let response = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .map_err(|e| http::send_error(&self.issuer, "JWKS", e))?;
        if !response.status().is_success() {
            return Err(unavailable(
                &self.issuer,
                format!(
                    "JWKS {} answered {}",
                    http::redact_url(&self.jwks_uri),
                    response.status()
                ),
            ));
        }
        let body = http::read_capped(&self.issuer, "JWKS", response).await?;
        KeySet::from_jwks_json(&body)
            .map_err(|e| unavailable(&self.issuer, format!("JWKS document: {e}")))
    }
}

/// Builds an [`Oidc`] authenticator. Setters cannot fail; [`OidcBuilder::build`] validates and connects.
#[derive(Clone)]
pub struct OidcBuilder {
    issuer: String,
    audience: Option<String>,
    client_id: Option<String>,
    workspace_claim: Option<String>,
    default_workspace: Option<WorkspaceId>,
    leeway: Duration,
    min_refresh_interval: Duration,
    max_age: Duration,
    timeout: Duration,
    allowed_origins: Vec<String>,
    introspection: Option<(String, Secret, Introspect)>,
    introspection_ttl: Duration,
    token_cache: usize,
    token_cache_bytes: usize,
    clock: Arc<dyn Clock>,
}

/// When an [`Oidc`] with introspection configured asks the issuer (see [`introspection`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Introspect {
    /// For every token [`Authenticator::authenticate`] accepts (`OIDC_INTROSPECTION=all`).
    EveryToken,
    /// Only where the caller asks: [`Authenticator::authenticate_introspected`], e.g. the routes behind
    /// `axum_glue::AuthLayer::introspected` (feature `axum`) (`OIDC_INTROSPECTION=per_route`).
    OnRequest,
}

impl std::fmt::Debug for OidcBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcBuilder")
            .field("issuer", &http::redact_url(&self.issuer))
            .field("audience", &self.audience)
            .field("client_id", &self.client_id)
            .field("allowed_origins", &self.allowed_origins)
            .finish_non_exhaustive()
    }
}

impl OidcBuilder {
    /// A builder for `issuer` (e.g. `https://keycloak.example/realms/avb`).
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: None,
            client_id: None,
            workspace_claim: None,
            default_workspace: None,
            leeway: crate::config::DEFAULT_LEEWAY,
            min_refresh_interval: crate::config::DEFAULT_JWKS_MIN_REFRESH,
            max_age: crate::config::DEFAULT_JWKS_MAX_AGE,
            timeout: Duration::from_secs(10),
            allowed_origins: Vec::new(),
            introspection: None,
            introspection_ttl: introspection::DEFAULT_CACHE_TTL,
            token_cache: crate::config::DEFAULT_TOKEN_CACHE_SIZE,
            token_cache_bytes: crate::validator::DEFAULT_TOKEN_CACHE_BYTES,
            clock: clock::system(),
        }
    }

    /// Ask the issuer's introspection endpoint (RFC 7662) whether tokens are still active, authenticating
    /// as `client_id` with `secret`; `when` says for which tokens. The discovery document must name an
    /// `introspection_endpoint`, else [`build`](Self::build) fails.
    pub fn with_introspection(
        mut self,
        client_id: impl Into<String>,
        secret: Secret,
        when: Introspect,
    ) -> Self {
        self.introspection = Some((client_id.into(), secret, when));
        self
    }

    /// How long an introspection answer is reused (default 5 s; never past the token's `exp`).
    pub fn with_introspection_cache(mut self, ttl: Duration) -> Self {
        self.introspection_ttl = ttl;
        self
    }

    /// Remember at most `entries` validated tokens (`AUTH_TOKEN_CACHE_SIZE`, default 10 000; `0` turns
    /// the cache off; see [`crate::validator::token_cache`]). A cached token still goes through
    /// introspection when that is configured.
    pub fn with_token_cache(mut self, entries: usize) -> Self {
        self.token_cache = entries;
        self
    }

    /// Cap the validated-token cache's approximate memory (default 16 MiB).
    pub fn with_token_cache_max_bytes(mut self, bytes: usize) -> Self {
        self.token_cache_bytes = bytes;
        self
    }

    /// The `aud` value tokens must carry (required).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The client whose `resource_access.<client>.roles` count as roles.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The claim holding the workspace id (default `workspace_id`). A reserved claim (`sub`, `exp`, …:
    /// [`crate::config::RESERVED_CLAIMS`]) makes [`build`](Self::build) fail.
    pub fn with_workspace_claim(mut self, claim: impl Into<String>) -> Self {
        self.workspace_claim = Some(claim.into());
        self
    }

    /// Accept tokens without the workspace claim, as this workspace (default: reject them).
    pub fn with_default_workspace(mut self, workspace: WorkspaceId) -> Self {
        self.default_workspace = Some(workspace);
        self
    }

    /// Clock-skew allowance for `exp`/`nbf` (default 30 s).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Least time between two JWKS fetches triggered by unknown `kid`s (default 10 s).
    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Refetch the JWKS when it is older than this at a validation (default 5 min), so keys the issuer
    /// removed stop validating.
    pub fn with_jwks_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// HTTP timeout for discovery and JWKS (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Trust `origin` (`scheme://host[:port]`) for the discovery document's `jwks_uri` and
    /// `token_endpoint` besides the issuer's own origin (`OIDC_ALLOWED_ORIGINS`; e.g. Keycloak with a
    /// separate back-channel host name). Without it an endpoint off the issuer's origin is
    /// [`Error::UntrustedEndpoint`].
    pub fn with_allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Measure the JWKS refresh interval, the JWKS max age and the introspection cache period on `clock`
    /// (default: the system clock; tests pass a `clock::ManualClock` (feature `conformance`) and advance
    /// it instead of sleeping); the validated-token cache compares `exp` with its wall time. Token
    /// `exp`/`nbf` checks of full validation always use the system's wall clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Discovers the issuer, loads its keys and returns the authenticator.
    pub async fn build(self) -> Result<Oidc> {
        let Some(audience) = self.audience.filter(|a| !a.is_empty()) else {
            return Err(Error::InvalidConfig {
                key: "OIDC_AUDIENCE".into(),
                value: String::new(),
                expected: "the audience (aud) this service's tokens carry".into(),
            });
        };
        // The same rule as the configuration's (`AUTH_WORKSPACE_CLAIM`), for code that builds directly.
        if let Some(claim) = self.workspace_claim.as_deref()
            && let Some(why) = crate::config::reserved_claim(claim)
        {
            return Err(Error::InvalidConfig {
                key: "AUTH_WORKSPACE_CLAIM".into(),
                value: claim.into(),
                expected: format!(
                    "a claim name that is not reserved ({claim} is {why}; reserved: {})",
                    crate::config::reserved_claim_names()
                ),
            });
        }
        let http = http::client(&self.issuer, self.timeout)?;
        let discovery = discover(&http, &self.issuer, &self.allowed_origins).await?;
        let source = HttpJwks {
            http: http.clone(),
            issuer: discovery.issuer.clone(),
            jwks_uri: discovery.jwks_uri.clone(),
        };
        let keys = Arc::new(
            KeyCache::new(Arc::new(source), self.min_refresh_interval)
                .with_max_age(self.max_age)
                .with_shared_clock(self.clock.clone()),
        );
        keys.refresh().await?;
        let mut rules = Rules::new(discovery.issuer.clone(), audience);
        rules.leeway = self.leeway;
        rules.client_id = self.client_id;
        rules.default_workspace = self.default_workspace;
        if let Some(claim) = self.workspace_claim {
            rules.workspace_claim = claim;
        }
        let introspection = match self.introspection {
            None => None,
            Some((client_id, secret, when)) => {
                let Some(endpoint) = discovery.introspection_endpoint.clone() else {
                    return Err(Error::InvalidConfig {
                        key: "OIDC_INTROSPECTION".into(),
                        value: format!("{when:?}"),
                        expected:
                            "an issuer whose discovery document names an introspection_endpoint"
                                .into(),
                    });
                };
                let checker = Introspection::new(
                    http.clone(),
                    discovery.issuer.clone(),
                    endpoint,
                    client_id,
                    secret,
                    self.introspection_ttl,
                )
                .with_shared_clock(self.clock.clone());
                Some((checker, when))
            }
        };
        let cache = TokenCache::new(self.token_cache)
            .with_max_bytes(self.token_cache_bytes)
            .with_shared_clock(self.clock.clone());
        Ok(Oidc {
            validator: Validator::new(rules, keys).with_token_cache(cache),
            discovery,
            introspection,
        })
    }
}

/// Validates access tokens of an OIDC issuer (Keycloak).
#[derive(Debug)]
pub struct Oidc {
    validator: Validator,
    discovery: Discovery,
    introspection: Option<(Introspection, Introspect)>,
}

impl Oidc {
    /// The discovery document's fields.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The JWKS cache (its fetch count shows that warm validations do no I/O).
    pub fn keys(&self) -> &Arc<KeyCache> {
        self.validator.keys()
    }

    /// The validated-token cache, unless turned off.
    pub fn token_cache(&self) -> Option<&TokenCache> {
        self.validator.token_cache()
    }

    /// The introspection client, when configured (its request count shows the cache working).
    pub fn introspection(&self) -> Option<&Introspection> {
        self.introspection.as_ref().map(|(i, _)| i)
    }
}

#[async_trait]
impl Authenticator for Oidc {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal> {
        // The validator may answer from its token cache; introspection runs after it either way, so a
        // cached token is still checked at the issuer when the configuration asks for it.
        let principal = self.validator.validate(bearer_token).await?;
        if let Some((introspection, Introspect::EveryToken)) = &self.introspection {
            introspection
                .check(bearer_token, principal.expires_at)
                .await?;
        }
        Ok(principal)
    }

    /// Offline validation, then introspection whatever the [`Introspect`] setting. Without introspection
    /// configured this is [`Error::InvalidConfig`], never a silent offline-only check.
    async fn authenticate_introspected(&self, bearer_token: &str) -> Result<Principal> {
        let Some((introspection, _)) = &self.introspection else {
            return Err(Error::InvalidConfig {
                key: "OIDC_INTROSPECTION".into(),
                value: "off".into(),
                expected: "introspection configured (OidcBuilder::with_introspection) for a route that asks for it".into(),
            });
        };
        let principal = self.validator.validate(bearer_token).await?;
        introspection
            .check(bearer_token, principal.expires_at)
            .await?;
        Ok(principal)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            rejects_invalid_tokens: true,
            key_rotation: true,
            ..Capabilities::default()
        }
    }

    fn backend(&self) -> &'static str {
        SCHEME
    }

    async fn health(&self) -> Health {
        if self.keys().snapshot().is_empty() {
            Health::down(SCHEME, "no signing keys loaded from the issuer")
        } else {
            Health::up(SCHEME)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reserved_workspace_claim_fails_the_build_before_any_request() {
        for claim in ["sub", "exp", "iss", "aud", "realm_access"] {
            // Port 9 (discard) answers nothing: reaching the network would be a different error.
            let err = OidcBuilder::new("http://127.0.0.1:9/realms/x")
                .with_audience("api")
                .with_workspace_claim(claim)
                .build()
                .await
                .err()
                .map(|e| e.to_string());
            let err = err.unwrap_or_default();
            assert!(
                err.contains("AUTH_WORKSPACE_CLAIM") && err.contains("reserved"),
                "{claim}: {err}"
            );
        }
    }
}
