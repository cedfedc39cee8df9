//! Verification keys: a [`KeySet`] parsed from a JWKS document (or built from the local dev key), and the
//! [`KeyCache`] that holds it, looks keys up by `kid`, and refreshes it when an unknown `kid` arrives —
//! single-flight (concurrent misses wait for one fetch) and rate-limited (at most one fetch per
//! `min_refresh_interval`, so a flood of random `kid`s cannot hammer the issuer). Both intervals are
//! measured on the cache's [`Clock`] ([`SystemClock`](crate::clock::SystemClock) unless
//! [`KeyCache::with_clock`] says otherwise).

mod parse;

use crate::clock::{self, Clock};
use crate::{Error, Result};
use async_trait::async_trait;
use aws_lc_rs::signature::ParsedPublicKey;
use jsonwebtoken::{Algorithm, DecodingKey};
use parse::{RawJwk, algorithms_tag, fingerprint, jwk_to_key, parse_for};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// One verification key and the algorithms it may verify. The algorithms come from the key (its `alg`,
/// or its type and curve), never from a token header.
#[derive(Clone)]
pub struct VerifyKey {
    /// The key's `kid` (`None` when the issuer published it without one).
    pub kid: Option<String>,
    /// Algorithms this key verifies.
    pub algorithms: Vec<Algorithm>,
    pub(crate) decoding: DecodingKey,
    /// SHA-256 of the key's type, material and algorithms: the validated-token cache remembers which key
    /// verified a token and serves it only while the key set still holds that same key.
    pub(crate) fingerprint: [u8; 32],
    /// The key parsed once for each of its algorithms aws-lc-rs verifies (see [`VerifyKey::parsed`]).
    parsed: Arc<[(Algorithm, ParsedPublicKey)]>,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    /// This key parsed for `alg`, once when the key was loaded rather than at every verification (as
    /// `jsonwebtoken::crypto::verify` does); `None` when aws-lc-rs could not parse it for `alg` (the
    /// validator then verifies through `jsonwebtoken`, which refuses such a key the same way).
    pub(crate) fn parsed(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.parsed.iter().find(|(a, _)| *a == alg).map(|(_, p)| p)
    }

    /// An RS256 key from a DER-encoded RSA public key (PKCS#1 `RSAPublicKey`).
    pub fn rsa_der(kid: impl Into<String>, der: &[u8]) -> Self {
        let algorithms = vec![Algorithm::RS256];
        let decoding = DecodingKey::from_rsa_der(der);
        Self {
            kid: Some(kid.into()),
            fingerprint: fingerprint(&[b"rsa-der", der, algorithms_tag(&algorithms).as_bytes()]),
            parsed: parse_for(&decoding, &algorithms),
            algorithms,
            decoding,
        }
    }

    /// An ES256 key from an uncompressed P-256 public point (`04 || x || y`).
    pub fn ec_p256_point(kid: impl Into<String>, point: &[u8]) -> Self {
        let algorithms = vec![Algorithm::ES256];
        let decoding = DecodingKey::from_ec_der(point);
        Self {
            kid: Some(kid.into()),
            fingerprint: fingerprint(&[b"ec-point", point, algorithms_tag(&algorithms).as_bytes()]),
            parsed: parse_for(&decoding, &algorithms),
            algorithms,
            decoding,
        }
    }
}

/// The keys of one issuer, by `kid`, plus the `kid`s it has retired since this cache first saw them.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
    unnamed: Vec<Arc<VerifyKey>>,
    retired: HashSet<String>,
}

#[derive(serde::Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// A key set of the given keys.
    pub fn new(keys: impl IntoIterator<Item = VerifyKey>) -> Self {
        let mut set = Self::default();
        for key in keys {
            set.insert(key);
        }
        set
    }

    fn insert(&mut self, key: VerifyKey) {
        match key.kid.clone() {
            Some(kid) => {
                self.keys.insert(kid, Arc::new(key));
            }
            None => self.unnamed.push(Arc::new(key)),
        }
    }

    /// Parses a JWKS document. Signing keys it cannot use (encryption keys, unknown types or curves, HMAC)
    /// are skipped, as Keycloak publishes encryption keys beside its signing keys; a document that is not
    /// a JWKS at all is an error.
    pub fn from_jwks_json(body: &[u8]) -> Result<Self> {
        let raw: RawJwks = serde_json::from_slice(body)
            .map_err(|e| Error::malformed(format!("JWKS document: {e}")))?;
        let mut set = Self::default();
        for value in raw.keys {
            let Ok(jwk) = serde_json::from_value::<RawJwk>(value) else {
                continue;
            };
            if let Some(key) = jwk_to_key(jwk) {
                set.insert(key);
            }
        }
        Ok(set)
    }

    /// The key named `kid`; without a `kid`, the only key when there is exactly one.
    pub fn get(&self, kid: Option<&str>) -> Option<Arc<VerifyKey>> {
        match kid {
            Some(kid) => self.keys.get(kid).cloned(),
            None => match (self.keys.len(), self.unnamed.as_slice()) {
                (0, [only]) => Some(only.clone()),
                (1, []) => self.keys.values().next().cloned(),
                _ => None,
            },
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len() + self.unnamed.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `kid` was in an earlier version of this issuer's key set and has been removed.
    pub fn is_retired(&self, kid: &str) -> bool {
        self.retired.contains(kid)
    }

    /// This set's successor after a fetch: `kid`s that disappeared are remembered as retired.
    fn succeeded_by(&self, mut next: KeySet) -> KeySet {
        next.retired = self
            .retired
            .iter()
            .chain(self.keys.keys())
            .filter(|kid| !next.keys.contains_key(*kid))
            .cloned()
            .collect();
        next
    }

    fn missing(&self, kid: Option<&str>) -> Error {
        match kid {
            Some(kid) if self.is_retired(kid) => Error::KeyRotatedOut { kid: kid.into() },
            _ => Error::UnknownKey {
                kid: kid.map(str::to_string),
            },
        }
    }
}

/// Where a [`KeyCache`] gets its keys: the issuer's JWKS endpoint, or a fixed set.
#[async_trait]
pub trait KeySource: Send + Sync + fmt::Debug {
    /// Fetches the current key set.
    async fn fetch(&self) -> Result<KeySet>;
}

/// A fixed key set (the local issuer's dev key): fetching always returns it.
#[derive(Debug, Clone)]
pub struct StaticKeys(pub KeySet);

#[async_trait]
impl KeySource for StaticKeys {
    async fn fetch(&self) -> Result<KeySet> {
        Ok(self.0.clone())
    }
}

/// Cached keys of one issuer with single-flight, rate-limited refresh on an unknown `kid`.
#[derive(Debug)]
pub struct KeyCache {
    source: Arc<dyn KeySource>,
    current: RwLock<Arc<KeySet>>,
    /// Held while fetching; holds the time of the last fetch.
    refresh: tokio::sync::Mutex<Option<Instant>>,
    min_refresh_interval: Duration,
    max_age: Option<Duration>,
    fetches: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl KeyCache {
    /// An empty cache; call [`KeyCache::refresh`] to load it (the OIDC backend does so at build time).
    pub fn new(source: Arc<dyn KeySource>, min_refresh_interval: Duration) -> Self {
        Self {
            source,
            current: RwLock::new(Arc::new(KeySet::default())),
            refresh: tokio::sync::Mutex::new(None),
            min_refresh_interval,
            max_age: None,
            fetches: AtomicU64::new(0),
            clock: clock::system(),
        }
    }

    /// Measure the refresh interval and the max age on `clock` (default:
    /// [`SystemClock`](crate::clock::SystemClock); tests pass a `ManualClock` and advance it).
    pub fn with_clock(self, clock: impl Clock + 'static) -> Self {
        self.with_shared_clock(Arc::new(clock))
    }

    pub(crate) fn with_shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Time since the fetch at `at`, on this cache's clock.
    fn since(&self, at: Instant) -> Duration {
        self.clock.now().saturating_duration_since(at)
    }

    /// Refetch the key set when a validation finds it older than `max_age` (so keys the issuer removed
    /// stop validating even when no new `kid` shows up). One caller refreshes, the others keep using the
    /// cached keys meanwhile; when the issuer cannot be reached the cached keys stay in use.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// A cache already holding `set` (counts as never fetched; the rate limit starts at the first fetch).
    pub fn preloaded(
        source: Arc<dyn KeySource>,
        set: KeySet,
        min_refresh_interval: Duration,
    ) -> Self {
        let cache = Self::new(source, min_refresh_interval);
        cache.store(set);
        cache
    }

    /// How many times the source was fetched.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The keys now cached.
    pub fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, set: KeySet) -> Arc<KeySet> {
        let set = Arc::new(set);
        match self.current.write() {
            Ok(mut guard) => *guard = set.clone(),
            Err(poisoned) => *poisoned.into_inner() = set.clone(),
        }
        set
    }

    /// Fetches the key set now, regardless of the rate limit.
    pub async fn refresh(&self) -> Result<Arc<KeySet>> {
        let mut last = self.refresh.lock().await;
        self.fetch_locked(&mut last).await
    }

    async fn fetch_locked(&self, last: &mut Option<Instant>) -> Result<Arc<KeySet>> {
        *last = Some(self.clock.now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let next = self.source.fetch().await?;
        let set = self.snapshot().succeeded_by(next);
        Ok(self.store(set))
    }

    /// Whether the next [`key`](Self::key) call would refetch the key set because it is older than the
    /// max age (and no fetch is running). The validated-token cache then stands aside, so the refetch
    /// happens as it would without it.
    pub(crate) fn refresh_due(&self) -> bool {
        self.max_age.is_some_and(|max_age| {
            self.refresh
                .try_lock()
                .is_ok_and(|last| last.is_some_and(|t| self.since(t) >= max_age))
        })
    }

    /// Whether `set` is the key set now cached (the same snapshot, not an equal one).
    pub(crate) fn is_current(&self, set: &Arc<KeySet>) -> bool {
        match self.current.read() {
            Ok(guard) => Arc::ptr_eq(&guard, set),
            Err(poisoned) => Arc::ptr_eq(&poisoned.into_inner(), set),
        }
    }

    /// The key for `kid`, from the cache without any I/O.
    pub fn cached(&self, kid: Option<&str>) -> Option<Arc<VerifyKey>> {
        self.snapshot().get(kid)
    }

    /// The key for `kid`. On a miss, refreshes once (single-flight; skipped when the last fetch was less
    /// than `min_refresh_interval` ago) and looks again. Still missing: [`Error::KeyRotatedOut`] when the
    /// issuer used to publish that `kid`, else [`Error::UnknownKey`].
    pub async fn key(&self, kid: Option<&str>) -> Result<Arc<VerifyKey>> {
        if let Some(key) = self.cached(kid) {
            if let (Some(max_age), Ok(mut last)) = (self.max_age, self.refresh.try_lock())
                && last.is_some_and(|t| self.since(t) >= max_age)
                && let Ok(set) = self.fetch_locked(&mut last).await
            {
                return set.get(kid).ok_or_else(|| set.missing(kid));
            }
            return Ok(key);
        }
        let mut last = self.refresh.lock().await;
        // Another task may have refreshed while this one waited for the lock.
        let set = self.snapshot();
        if let Some(key) = set.get(kid) {
            return Ok(key);
        }
        if last.is_some_and(|t| self.since(t) < self.min_refresh_interval) {
            return Err(set.missing(kid));
        }
        let set = self.fetch_locked(&mut last).await?;
        set.get(kid).ok_or_else(|| set.missing(kid))
    }
}

#[cfg(test)]
mod tests;
