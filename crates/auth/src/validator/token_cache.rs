//! The validated-token cache: a service that sees the same bearer token on every request of a session
//! verifies its signature once and then looks the token up (`AUTH_TOKEN_CACHE_SIZE`, default
//! [`DEFAULT_TOKEN_CACHE_SIZE`] entries; `0` turns it off).
//!
//! What it holds and when it answers:
//! - only tokens the [`Validator`](super::Validator) **accepted** (a rejection is never cached, so a
//!   refused token is checked again in full every time);
//! - keyed by the SHA-256 of the **whole** token: a token with any byte changed is another key and goes
//!   through full validation; the token itself is never stored;
//! - a hit is served only while the clock's [wall](crate::clock::Clock::wall) time is **before** the
//!   token's `exp` — the leeway that full validation allows past `exp` never extends a hit (a token within
//!   its leeway is validated in full, and not cached);
//! - only while the key that verified the token is still in the issuer's key set, the same key material
//!   under the same `kid`: when a JWKS refresh or rotation removes or replaces it, that key's entries are
//!   flushed; when the key set is due for its max-age refetch, the cache stands aside so the refetch
//!   happens as without it;
//! - bounded by entries **and** approximate memory ([`DEFAULT_TOKEN_CACHE_BYTES`]): when full, expired
//!   entries go first, then the oldest eighth, so a flood of distinct valid tokens cannot grow it.
//!
//! Introspection (`OIDC_INTROSPECTION`) is not affected: the OIDC backend asks the issuer *after* the
//! validator, whether the validator answered from this cache or not; introspection answers have their own
//! short cache (`OIDC_INTROSPECTION_CACHE_SECONDS`).

use crate::Principal;
use crate::clock::{self, Clock};
use crate::jwks::{KeyCache, KeySet, VerifyKey};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

/// Most validated tokens cached by default (`AUTH_TOKEN_CACHE_SIZE`).
pub const DEFAULT_TOKEN_CACHE_SIZE: usize = crate::config::DEFAULT_TOKEN_CACHE_SIZE;

/// Most memory the cached principals take by default, approximately (16 MiB).
pub const DEFAULT_TOKEN_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// The SHA-256 of a token: the cache's key.
pub type TokenDigest = [u8; 32];

/// The SHA-256 of `token` (aws-lc-rs).
pub fn digest(token: &str) -> TokenDigest {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A bounded cache of validated tokens (see the [module docs](self)). Safe to share between tasks.
#[derive(Debug)]
pub struct TokenCache {
    max_entries: usize,
    max_bytes: usize,
    clock: Arc<dyn Clock>,
    inner: RwLock<Inner>,
    hits: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<TokenDigest, Entry>,
    bytes: usize,
    next_seq: u64,
    /// The key set the entries were checked against last; another one means a refresh happened.
    keys_seen: Option<Arc<KeySet>>,
}

#[derive(Debug)]
struct Entry {
    principal: Principal,
    exp: SystemTime,
    kid: Option<String>,
    key: [u8; 32],
    bytes: usize,
    seq: u64,
}

impl Entry {
    /// Whether the key that verified this token is still in `set`, unchanged.
    fn key_current(&self, set: &KeySet) -> bool {
        set.get(self.kid.as_deref())
            .is_some_and(|key| key.fingerprint == self.key)
    }
}

impl TokenCache {
    /// A cache of at most `max_entries` tokens and [`DEFAULT_TOKEN_CACHE_BYTES`], on the system clock.
    pub fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            max_bytes: DEFAULT_TOKEN_CACHE_BYTES,
            clock: clock::system(),
            inner: RwLock::new(Inner::default()),
            hits: AtomicU64::new(0),
        }
    }

    /// Cap the approximate memory of the cached principals at `max_bytes`.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Compare `exp` with `clock`'s wall time (default: the system clock; tests pass a `ManualClock`).
    pub fn with_clock(self, clock: impl Clock + 'static) -> Self {
        self.with_shared_clock(Arc::new(clock))
    }

    pub(crate) fn with_shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Most entries.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Tokens now cached.
    pub fn len(&self) -> usize {
        self.read().map.len()
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate memory of the cached entries, in bytes.
    pub fn bytes(&self) -> usize {
        self.read().bytes
    }

    /// How many validations were answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // Every update leaves the map and the byte count consistent before it can panic.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The principal of the token with `digest`, if it was validated, its `exp` has not come and the key
    /// that verified it is still in `keys`.
    pub(crate) fn get(&self, digest: &TokenDigest, keys: &KeyCache) -> Option<Principal> {
        let now = self.clock.wall();
        {
            let inner = self.read();
            let entry = inner.map.get(digest)?;
            // Every entry's key was checked against `keys_seen` (at insertion or at the last sync): while
            // that is still the cached key set, the entry's key is current.
            let same_set = inner.keys_seen.as_ref().is_some_and(|s| keys.is_current(s));
            if same_set && now < entry.exp && !keys.refresh_due() {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Some(entry.principal.clone());
            }
        }
        if keys.refresh_due() {
            return None;
        }
        // The key set changed, or this entry is spent: flush what no longer holds.
        let set = keys.snapshot();
        let mut inner = self.write();
        inner.sync(&set);
        let usable = inner
            .map
            .get(digest)
            .is_some_and(|e| now < e.exp && e.key_current(&set));
        if usable {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return inner.map.get(digest).map(|e| e.principal.clone());
        }
        inner.remove(digest);
        None
    }

    /// Remembers that the token with `digest` was validated as `principal` with `key` (not when the
    /// principal has no expiry, its `exp` has come on the clock, or it alone exceeds the memory cap).
    pub(crate) fn insert(
        &self,
        digest: TokenDigest,
        principal: &Principal,
        key: &VerifyKey,
        keys: &KeyCache,
    ) {
        let Some(exp) = principal.expires_at else {
            return;
        };
        let now = self.clock.wall();
        if self.max_entries == 0 || now >= exp {
            return;
        }
        let bytes = entry_bytes(principal, key.kid.as_deref());
        if bytes > self.max_bytes {
            return;
        }
        let set = keys.snapshot();
        let mut inner = self.write();
        inner.sync(&set);
        inner.remove(&digest);
        let entry = Entry {
            principal: principal.clone(),
            exp,
            kid: key.kid.clone(),
            key: key.fingerprint,
            bytes,
            seq: inner.next_seq,
        };
        // The key may have left the set between verification and now: then do not cache.
        if !entry.key_current(&set) {
            return;
        }
        if inner.map.len() >= self.max_entries || inner.bytes + bytes > self.max_bytes {
            inner.map.retain(|_, e| now < e.exp);
            inner.recount();
        }
        while inner.map.len() >= self.max_entries || inner.bytes + bytes > self.max_bytes {
            inner.evict_oldest();
        }
        inner.next_seq += 1;
        inner.bytes += bytes;
        inner.map.insert(digest, entry);
    }
}

impl Inner {
    /// After a key-set change, drops the entries whose key is no longer in `set` (unchanged).
    fn sync(&mut self, set: &Arc<KeySet>) {
        if self.keys_seen.as_ref().is_some_and(|s| Arc::ptr_eq(s, set)) {
            return;
        }
        self.map.retain(|_, e| e.key_current(set));
        self.recount();
        self.keys_seen = Some(set.clone());
    }

    fn remove(&mut self, digest: &TokenDigest) {
        if let Some(old) = self.map.remove(digest) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
        }
    }

    fn recount(&mut self) {
        self.bytes = self.map.values().map(|e| e.bytes).sum();
    }

    /// Drops the oldest eighth of the entries (at least one): linear in the size, once per eighth of
    /// the capacity inserted.
    fn evict_oldest(&mut self) {
        let mut seqs: Vec<u64> = self.map.values().map(|e| e.seq).collect();
        if seqs.is_empty() {
            return;
        }
        let k = (seqs.len() / 8).max(1) - 1;
        let (_, cut, _) = seqs.select_nth_unstable(k);
        let cut = *cut;
        self.map.retain(|_, e| e.seq > cut);
        self.recount();
    }
}

/// Approximate heap and table bytes of one entry.
fn entry_bytes(p: &Principal, kid: Option<&str>) -> usize {
    const STRING: usize = std::mem::size_of::<String>();
    /// B-tree node overhead per element, roughly.
    const NODE: usize = 16;
    let set = |s: &BTreeSet<String>| s.iter().map(|r| r.len() + STRING + NODE).sum::<usize>();
    std::mem::size_of::<(TokenDigest, Entry)>()
        + 8 // the table's control bytes and slack
        + p.subject.len()
        + p.workspace_id.as_str().len()
        + kid.map_or(0, str::len)
        + set(&p.roles)
        + set(&p.scopes)
}

#[cfg(test)]
mod tests;
