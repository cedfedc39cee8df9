//! Key cache refresh and rate limit on a `ManualClock`, JWKS parsing, keys parsed once.

use super::parse::rsa_public_key_der;
use super::*;
use crate::clock::ManualClock;
use std::sync::Mutex;

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

fn key(kid: &str) -> VerifyKey {
    VerifyKey {
        kid: Some(kid.into()),
        algorithms: vec![Algorithm::RS256],
        decoding: DecodingKey::from_rsa_raw_components(&[1, 0, 1], &[1, 0, 1]),
        fingerprint: fingerprint(&[kid.as_bytes()]),
        parsed: Arc::new([]),
    }
}

#[tokio::test]
async fn unknown_kid_refreshes_once_then_rate_limits_and_remembers_retired_kids() {
    let source = Scripted(Mutex::new(vec![
        KeySet::new([key("a")]),
        KeySet::new([key("b")]),
    ]));
    let interval = Duration::from_secs(10);
    let clock = ManualClock::new();
    let cache = KeyCache::new(Arc::new(source), interval).with_clock(clock.clone());
    cache.refresh().await.unwrap();
    assert!(cache.key(Some("a")).await.is_ok());
    // Rate-limited: no fetch, so "b" is unknown for now — up to the last instant of the interval.
    let err = cache.key(Some("b")).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::UnknownKey);
    clock.advance(interval - Duration::from_millis(1));
    let err = cache.key(Some("b")).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::UnknownKey);
    assert_eq!(cache.fetches(), 1);
    // The interval has passed: the unknown kid refreshes once.
    clock.advance(Duration::from_millis(1));
    assert!(cache.key(Some("b")).await.is_ok());
    assert_eq!(cache.fetches(), 2);
    clock.advance(interval);
    let err = cache.key(Some("a")).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::KeyRotatedOut);
    assert_eq!(cache.fetches(), 3);
}

#[tokio::test]
async fn keys_older_than_max_age_are_refetched_and_removed_keys_stop_validating() {
    let source = Scripted(Mutex::new(vec![
        KeySet::new([key("a")]),
        KeySet::new([key("b")]),
    ]));
    let max_age = Duration::from_secs(300);
    let clock = ManualClock::new();
    let cache = KeyCache::new(Arc::new(source), Duration::from_secs(60))
        .with_max_age(max_age)
        .with_clock(clock.clone());
    cache.refresh().await.unwrap();
    assert!(cache.key(Some("a")).await.is_ok());
    clock.advance(max_age - Duration::from_millis(1));
    assert!(cache.key(Some("a")).await.is_ok(), "not yet max_age old");
    assert_eq!(cache.fetches(), 1, "fresh keys are not refetched");
    clock.advance(Duration::from_millis(1));
    let err = cache.key(Some("a")).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::KeyRotatedOut);
    assert_eq!(cache.fetches(), 2);
    assert!(cache.key(Some("b")).await.is_ok());
}

#[test]
fn rsa_components_encode_to_the_der_aws_lc_writes_and_parse_once_per_algorithm() {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = pair.public_key();
    let (n, e) = (
        public.modulus().big_endian_without_leading_zero().to_vec(),
        public.exponent().big_endian_without_leading_zero().to_vec(),
    );
    assert_eq!(rsa_public_key_der(&n, &e), public.as_ref());
    // Leading zero bytes (allowed in a JWK's `n`) encode the same integer.
    let padded: Vec<u8> = [0, 0].iter().chain(&n).copied().collect();
    assert_eq!(rsa_public_key_der(&padded, &e), public.as_ref());
    assert_eq!(
        rsa_public_key_der(&[], &[1, 0, 1]),
        [0x30, 8, 2, 1, 0, 2, 3, 1, 0, 1],
        "zero is one 0 byte; 65537 needs no sign byte"
    );
    // A JWK of those components is parsed for each of its RSA algorithms, and for nothing else.
    let b64 =
        |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let body = format!(
        r#"{{"keys":[{{"kty":"RSA","kid":"k","n":"{}","e":"{}"}}]}}"#,
        b64(&n),
        b64(&e)
    );
    let key = KeySet::from_jwks_json(body.as_bytes())
        .unwrap()
        .get(Some("k"))
        .unwrap();
    for alg in &key.algorithms {
        assert!(key.parsed(*alg).is_some(), "{alg:?}");
    }
    assert!(key.parsed(Algorithm::ES256).is_none());
    // The constructors parse too: the local issuer's PKCS#1 DER, and an uncompressed P-256 point.
    let der = VerifyKey::rsa_der("d", public.as_ref());
    assert!(der.parsed(Algorithm::RS256).is_some());
    let ec = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let point = VerifyKey::ec_p256_point("p", ec.public_key().as_ref());
    assert!(point.parsed(Algorithm::ES256).is_some());
    assert_eq!(
        key.fingerprint,
        KeySet::from_jwks_json(body.as_bytes())
            .unwrap()
            .get(Some("k"))
            .unwrap()
            .fingerprint,
        "the same key fetched again has the same fingerprint"
    );
}

#[test]
fn jwks_parsing_skips_encryption_and_unknown_keys_and_takes_alg_from_the_key() {
    let body = br#"{"keys":[
        {"kty":"RSA","kid":"enc","use":"enc","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"},
        {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
        {"kty":"RSA","kid":"sig","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
        {"kty":"EC","kid":"ec","crv":"P-256","x":"AQAB","y":"AQAB"},
        "not an object"
    ]}"#;
    let set = KeySet::from_jwks_json(body).unwrap();
    assert!(set.get(Some("enc")).is_none());
    assert!(set.get(Some("hmac")).is_none());
    assert_eq!(
        set.get(Some("sig")).unwrap().algorithms,
        vec![Algorithm::RS256]
    );
    assert!(KeySet::from_jwks_json(b"[]").is_err());
}
