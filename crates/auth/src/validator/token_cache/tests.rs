//! The validated-token cache on a `ManualClock`: a hit never at or past `exp`, a key leaving the set
//! flushes its tokens, rejections are never cached, a flood stays within the bounds, and the JWKS max-age
//! refetch still happens.

use super::*;
use crate::ErrorKind;
use crate::clock::ManualClock;
use crate::jwks::{KeySource, VerifyKey};
use crate::local::{LocalIssuer, Signing};
use crate::validator::{Rules, Validator};
use crate::{Error, Result};
use async_trait::async_trait;
use serde_json::json;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// Hands out the scripted key sets in turn, then the last one forever.
#[derive(Debug)]
struct Scripted(Mutex<Vec<KeySet>>);

#[async_trait]
impl KeySource for Scripted {
    async fn fetch(&self) -> Result<KeySet> {
        let mut sets = self.0.lock().unwrap();
        Ok(if sets.len() > 1 {
            sets.remove(0)
        } else {
            sets[0].clone()
        })
    }
}

fn key_of(issuer: &LocalIssuer) -> VerifyKey {
    VerifyKey::rsa_der(issuer.kid(), issuer.public_key_der())
}

/// A validator for the local issuer's claims over `sets` (fetched once now), with `cache` on `clock`;
/// the key cache (max age 300 s) has a clock of its own that stands still.
async fn validator(sets: Vec<KeySet>, cache: TokenCache, clock: &ManualClock) -> Validator {
    validator_on(sets, cache, clock, &ManualClock::new()).await
}

/// [`validator`] with the key cache on `keys_clock`.
async fn validator_on(
    sets: Vec<KeySet>,
    cache: TokenCache,
    clock: &ManualClock,
    keys_clock: &ManualClock,
) -> Validator {
    let keys = KeyCache::new(Arc::new(Scripted(Mutex::new(sets))), Duration::from_secs(1))
        .with_max_age(Duration::from_secs(300))
        .with_clock(keys_clock.clone());
    keys.refresh().await.unwrap();
    let mut rules = Rules::new(crate::local::ISSUER, crate::local::AUDIENCE);
    rules.leeway = Duration::ZERO;
    Validator::new(rules, Arc::new(keys)).with_token_cache(cache.with_clock(clock.clone()))
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A valid token of `issuer` for `sub`, expiring at `exp` (Unix seconds).
fn token(issuer: &LocalIssuer, sub: &str, exp: u64) -> String {
    let mut claims = issuer.claims(sub, "ws-1", Duration::from_secs(60));
    claims.insert("exp".into(), json!(exp));
    issuer.sign(&claims, &Signing::Valid).unwrap()
}

fn cache(v: &Validator) -> &TokenCache {
    v.token_cache().unwrap()
}

#[tokio::test]
async fn a_hit_is_served_until_just_before_exp_and_never_at_exp() {
    let issuer = LocalIssuer::ephemeral().unwrap();
    let clock = ManualClock::new();
    let v = validator(
        vec![KeySet::new([key_of(&issuer)])],
        TokenCache::new(8),
        &clock,
    )
    .await;
    // An hour ahead on the real clock, so full validation keeps accepting it throughout.
    let exp = unix(clock.wall()) + 3600;
    let t = token(&issuer, "alice", exp);
    let first = v.validate(&t).await.unwrap();
    assert_eq!(
        (cache(&v).len(), cache(&v).hits()),
        (1, 0),
        "validated once, cached"
    );
    assert_eq!(v.validate(&t).await.unwrap(), first);
    assert_eq!(cache(&v).hits(), 1);
    // One millisecond before exp on the cache's clock: still a hit.
    let exp_at = UNIX_EPOCH + Duration::from_secs(exp);
    let left = exp_at.duration_since(clock.wall()).unwrap();
    clock.advance(left - Duration::from_millis(1));
    v.validate(&t).await.unwrap();
    assert_eq!(cache(&v).hits(), 2);
    // Exactly at exp: no hit (the token went through full validation, which still accepts it on the
    // real clock), the entry is gone and is not cached again.
    clock.advance(Duration::from_millis(1));
    assert_eq!(clock.wall(), exp_at);
    v.validate(&t).await.unwrap();
    assert_eq!((cache(&v).hits(), cache(&v).len()), (2, 0));
    v.validate(&t).await.unwrap();
    assert_eq!((cache(&v).hits(), cache(&v).len()), (2, 0));
}

#[tokio::test]
async fn a_token_within_its_leeway_is_validated_in_full_and_not_cached() {
    let issuer = LocalIssuer::ephemeral().unwrap();
    let clock = ManualClock::new();
    let keys = KeyCache::new(
        Arc::new(Scripted(Mutex::new(vec![KeySet::new([key_of(&issuer)])]))),
        Duration::from_secs(1),
    );
    keys.refresh().await.unwrap();
    let rules = Rules::new(crate::local::ISSUER, crate::local::AUDIENCE); // 30 s leeway
    let v = Validator::new(rules, Arc::new(keys))
        .with_token_cache(TokenCache::new(8).with_clock(clock.clone()));
    // exp 10 s ago: accepted by the leeway, never cached.
    let t = token(&issuer, "late", unix(SystemTime::now()) - 10);
    v.validate(&t).await.unwrap();
    v.validate(&t).await.unwrap();
    assert_eq!((cache(&v).len(), cache(&v).hits()), (0, 0));
}

#[tokio::test]
async fn a_key_leaving_the_set_flushes_its_tokens_and_a_replaced_key_serves_none() {
    let (one, two) = (
        LocalIssuer::ephemeral().unwrap(),
        LocalIssuer::ephemeral().unwrap(),
    );
    // Then: `one` rotated out; then: `two`'s kid carries `one`'s key material.
    let replaced = VerifyKey::rsa_der(two.kid(), one.public_key_der());
    let sets = vec![
        KeySet::new([key_of(&one), key_of(&two)]),
        KeySet::new([key_of(&two)]),
        KeySet::new([replaced]),
    ];
    let clock = ManualClock::new();
    let v = validator(sets, TokenCache::new(8), &clock).await;
    let exp = unix(clock.wall()) + 3600;
    let (t1, t2) = (token(&one, "one", exp), token(&two, "two", exp));
    v.validate(&t1).await.unwrap();
    v.validate(&t2).await.unwrap();
    assert_eq!(cache(&v).len(), 2);
    v.keys().refresh().await.unwrap();
    v.validate(&t2).await.unwrap();
    assert_eq!(cache(&v).hits(), 1, "two's key is unchanged: still a hit");
    assert_eq!(cache(&v).len(), 1, "one's token flushed with its key");
    let err = v.validate(&t1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyRotatedOut);
    // The same kid with other key material: the cached token is not served, and fails its signature.
    v.keys().refresh().await.unwrap();
    let err = v.validate(&t2).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadSignature);
    assert_eq!((cache(&v).hits(), cache(&v).len()), (1, 0));
}

#[tokio::test]
async fn rejections_are_never_cached_and_a_changed_byte_is_another_token() {
    let issuer = LocalIssuer::ephemeral().unwrap();
    let clock = ManualClock::new();
    let v = validator(
        vec![KeySet::new([key_of(&issuer)])],
        TokenCache::new(8),
        &clock,
    )
    .await;
    let now = unix(clock.wall());
    let good = token(&issuer, "alice", now + 3600);
    v.validate(&good).await.unwrap();
    // The cached token with its last signature byte changed (the last base64url character changes low
    // bits only partly, so change one in the middle of the signature).
    let mut bytes = good.clone().into_bytes();
    let at = bytes.len() - 20;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(bytes).unwrap();
    let expired = token(&issuer, "old", now - 3600);
    let rogue = issuer
        .sign(
            &issuer.claims("r", "ws-1", Duration::from_secs(60)),
            &Signing::Rogue,
        )
        .unwrap();
    for (t, kind) in [
        (&altered, ErrorKind::BadSignature),
        (&expired, ErrorKind::Expired),
        (&rogue, ErrorKind::BadSignature),
    ] {
        for _ in 0..2 {
            let err: Error = v.validate(t).await.unwrap_err();
            assert_eq!(err.kind(), kind);
        }
    }
    assert_eq!(
        (cache(&v).len(), cache(&v).hits()),
        (1, 0),
        "only the good token"
    );
}

#[tokio::test]
async fn a_flood_of_distinct_tokens_stays_within_the_entry_and_memory_caps() {
    let issuer = LocalIssuer::ephemeral().unwrap();
    let clock = ManualClock::new();
    let v = validator(
        vec![KeySet::new([key_of(&issuer)])],
        TokenCache::new(64),
        &clock,
    )
    .await;
    let exp = unix(clock.wall()) + 3600;
    for i in 0..300 {
        v.validate(&token(&issuer, &format!("user-{i}"), exp))
            .await
            .unwrap();
        assert!(cache(&v).len() <= 64, "{} entries", cache(&v).len());
    }
    assert!(
        cache(&v).len() > 32,
        "eviction drops an eighth, not everything"
    );
    // The newest token is still cached, the oldest was evicted (RS256 signatures are deterministic: the
    // same claims make the same token).
    v.validate(&token(&issuer, "user-299", exp)).await.unwrap();
    assert_eq!(cache(&v).hits(), 1, "the newest is a hit");
    v.validate(&token(&issuer, "user-0", exp)).await.unwrap();
    assert_eq!(cache(&v).hits(), 1, "the oldest was evicted");
    assert!(cache(&v).len() <= 64);

    // A memory cap of 4 KiB with principals of ~40 roles each (~1.5 KiB): never above the cap.
    let small = TokenCache::new(1000).with_max_bytes(4096);
    let v = validator(vec![KeySet::new([key_of(&issuer)])], small, &clock).await;
    let roles: Vec<String> = (0..40).map(|i| format!("role-number-{i}")).collect();
    for i in 0..20 {
        let mut claims = issuer.claims(&format!("u{i}"), "ws-1", Duration::from_secs(60));
        claims.insert("exp".into(), json!(exp));
        claims.insert("realm_access".into(), json!({ "roles": roles }));
        let t = issuer.sign(&claims, &Signing::Valid).unwrap();
        v.validate(&t).await.unwrap();
        assert!(cache(&v).bytes() <= 4096, "{} bytes", cache(&v).bytes());
        assert!(!cache(&v).is_empty());
    }
    // One entry larger than the whole cap is not cached at all.
    let tiny = TokenCache::new(1000).with_max_bytes(64);
    let v = validator(vec![KeySet::new([key_of(&issuer)])], tiny, &clock).await;
    v.validate(&token(&issuer, "big", exp)).await.unwrap();
    assert_eq!(cache(&v).len(), 0);
}

#[tokio::test]
async fn a_key_set_due_for_its_max_age_refetch_is_refetched_despite_a_hit() {
    let issuer = LocalIssuer::ephemeral().unwrap();
    let clock = ManualClock::new();
    let sets = vec![KeySet::new([key_of(&issuer)])];
    let v = validator_on(sets, TokenCache::new(8), &clock, &clock).await;
    let t = token(&issuer, "alice", unix(clock.wall()) + 3600);
    v.validate(&t).await.unwrap();
    v.validate(&t).await.unwrap();
    assert_eq!((v.keys().fetches(), cache(&v).hits()), (1, 1));
    clock.advance(Duration::from_secs(300));
    v.validate(&t).await.unwrap();
    assert_eq!(v.keys().fetches(), 2, "the max-age refetch ran");
    assert_eq!(cache(&v).hits(), 1, "the cache stood aside");
    // Same key material after the refetch: the token is cached again and hits.
    v.validate(&t).await.unwrap();
    assert_eq!(cache(&v).hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_validations_share_the_cache() {
    let issuer = LocalIssuer::ephemeral().unwrap();
    let clock = ManualClock::new();
    let v = Arc::new(
        validator(
            vec![KeySet::new([key_of(&issuer)])],
            TokenCache::new(16),
            &clock,
        )
        .await,
    );
    let exp = unix(clock.wall()) + 3600;
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..32)
            .map(|i| token(&issuer, &format!("u{i}"), exp))
            .collect(),
    );
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (v, tokens) = (v.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..200 {
                let t = &tokens[(i * 7 + n) % tokens.len()];
                let p = v.validate(t).await.unwrap();
                assert_eq!(p.subject, format!("u{}", (i * 7 + n) % tokens.len()));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(cache(&v).len() <= 16);
    assert!(cache(&v).hits() > 0);
}

#[test]
fn the_key_is_the_sha256_of_the_whole_token() {
    assert_ne!(digest("a.b.c"), digest("a.b.d"));
    assert_eq!(digest("a.b.c"), digest("a.b.c"));
    // SHA-256("abc"), FIPS 180-2 appendix B.1.
    assert_eq!(
        digest("abc")[..4],
        [0xba, 0x78, 0x16, 0xbf],
        "SHA-256, not another hash"
    );
}
