//! Token introspection (RFC 7662), opt-in: after a token passed offline validation, ask the issuer's
//! `introspection_endpoint` whether it is still active. Offline validation alone keeps a token valid until
//! its `exp` even after a logout or a disabled user; introspection closes that gap at the cost of one call
//! per token per cache period.
//!
//! - The call authenticates with the service's own client (`client_id` / secret, HTTP Basic), like the
//!   client-credentials grant; Keycloak's endpoint is `<issuer>/protocol/openid-connect/token/introspect`.
//! - Answers are cached briefly ([`DEFAULT_CACHE_TTL`] on the builder's [`Clock`], never past the token's
//!   `exp`), keyed by the
//!   token's SHA-256 (the token itself is never stored), at most [`MAX_CACHED`] entries: when full,
//!   expired entries are dropped, and if none were, the whole cache is.
//! - `active: false` is [`Error::Inactive`] (401). An unreachable endpoint or a bad answer is
//!   [`Error::IssuerUnavailable`] (503): with introspection on, an unverifiable token is not let through.
//! - The endpoint must be on the issuer's origin or an allowed one, like the other endpoints (see [`http`]).

use super::http::{self, unavailable};
use crate::clock::{self, Clock};
use crate::{Error, Result};
use avb_core::config::Secret;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How long an introspection answer is reused by default.
pub const DEFAULT_CACHE_TTL: Duration = crate::config::DEFAULT_INTROSPECTION_CACHE;

/// Most cached answers.
pub const MAX_CACHED: usize = 10_000;

/// The issuer's introspection endpoint with the service's client credentials and a short answer cache.
pub struct Introspection {
    http: reqwest::Client,
    issuer: String,
    endpoint: String,
    client_id: String,
    secret: Secret,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (bool, Instant)>>,
    requests: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &http::redact_url(&self.endpoint))
            .field("client_id", &self.client_id)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    pub(crate) fn new(
        http: reqwest::Client,
        issuer: String,
        endpoint: String,
        client_id: String,
        secret: Secret,
        ttl: Duration,
    ) -> Self {
        Self {
            http,
            issuer,
            endpoint,
            client_id,
            secret,
            ttl,
            cache: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            clock: clock::system(),
        }
    }

    /// The cache period is measured on `clock` (the builder's, `OidcBuilder::with_clock`).
    pub(crate) fn with_shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many introspection requests were sent (cache hits send none).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `Ok` when the issuer says `token` is active (or said so within the cache period); `expires_at` is
    /// the token's validated `exp`, past which no answer is reused.
    pub async fn check(&self, token: &str, expires_at: Option<SystemTime>) -> Result<()> {
        let key: [u8; 32] = {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
            let mut key = [0u8; 32];
            key.copy_from_slice(digest.as_ref());
            key
        };
        let now = self.clock.now();
        if let Some(&(active, until)) = self.lock().get(&key)
            && now < until
        {
            return if active { Ok(()) } else { Err(Error::Inactive) };
        }
        let active = self.request(token).await?;
        let left = expires_at
            .and_then(|exp| exp.duration_since(SystemTime::now()).ok())
            .unwrap_or(Duration::ZERO);
        let until = now.checked_add(self.ttl.min(left)).unwrap_or(now);
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (_, until)| now < *until);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (active, until));
        if active { Ok(()) } else { Err(Error::Inactive) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (bool, Instant)>> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts/removals).
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn request(&self, token: &str) -> Result<bool> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(&self.endpoint)
            .basic_auth(&self.client_id, Some(self.secret.expose()))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| http::send_error(&self.issuer, "introspection endpoint", e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::InvalidConfig {
                key: "OIDC_CLIENT_ID".into(),
                value: self.client_id.clone(),
                expected: format!(
                    "a client the issuer lets introspect with OIDC_CLIENT_SECRET (introspection endpoint answered {status})"
                ),
            });
        }
        if !status.is_success() {
            return Err(unavailable(
                &self.issuer,
                format!("introspection endpoint answered {status}"),
            ));
        }
        let body = http::read_capped(&self.issuer, "introspection endpoint", response).await?;
        parse_introspection(&body).map_err(|e| unavailable(&self.issuer, e))
    }
}

/// The `active` member of an introspection answer (RFC 7662 §2.2: a JSON object whose `active` is a
/// boolean). Anything else is an error; never a panic.
pub fn parse_introspection(body: &[u8]) -> std::result::Result<bool, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("introspection answer: {e}"))?;
    match value.get("active") {
        Some(serde_json::Value::Bool(active)) => Ok(*active),
        Some(_) => Err("introspection answer: `active` is not a boolean".into()),
        None => Err("introspection answer: no `active` member".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_boolean_active_member_is_an_answer() {
        assert_eq!(
            parse_introspection(br#"{"active":true,"sub":"x"}"#),
            Ok(true)
        );
        assert_eq!(parse_introspection(br#"{"active":false}"#), Ok(false));
        for bad in [
            &b"{}"[..],
            br#"{"active":"true"}"#,
            b"[]",
            b"",
            b"\xff",
            br#"{"active":1}"#,
        ] {
            assert!(parse_introspection(bad).is_err(), "{bad:?}");
        }
    }
}
