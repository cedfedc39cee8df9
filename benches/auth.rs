//! Auth benchmarks: token validations per second through the port's validator beside a raw
//! `jsonwebtoken` signature verify on the same crypto backend (aws-lc-rs). The ratio, not the absolute
//! time, is the result.
//!
//! - **cold path** (no validated-token cache: every token checked in full), RS256 and ES256;
//! - **repeated token** (the validated-token cache on, the same bearer token on every request, as a
//!   session sends it), RS256: target ≥ 20× the raw verify;
//! - a **breakdown** of the cold path: what the raw verify itself spends on parsing the key at every call
//!   (`jsonwebtoken` hands aws-lc-rs an unparsed key) against a verify with a pre-parsed key.
//!
//! Run with: `cargo bench --bench auth -- --warm-up-time 1 --measurement-time 5`
//!
//! The "zero JWKS fetches once warm" figure is printed at the end (the key cache's fetch counter); the
//! "one fetch for 100 concurrent requests with one new kid" figure is a test against the real provider
//! (`tests/auth.rs`, `concurrent_requests_with_one_new_kid_fetch_the_jwks_once`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failed setup must abort the run
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use avb_auth::Principal;
use avb_auth::jwks::{KeyCache, KeySet, StaticKeys, VerifyKey};
use avb_auth::local::LocalIssuer;
use avb_auth::validator::{DEFAULT_TOKEN_CACHE_SIZE, Rules, TokenCache, Validator};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

struct Case {
    name: &'static str,
    token: String,
    key: VerifyKey,
    raw_key: DecodingKey,
    /// The key's bytes as aws-lc-rs parses them (PKCS#1 RSAPublicKey, or the uncompressed EC point).
    key_bytes: Vec<u8>,
    aws_alg: &'static dyn VerificationAlgorithm,
    alg: Algorithm,
}

impl Case {
    fn parts(&self) -> (&str, &str) {
        self.token
            .rsplit_once('.')
            .expect("a JWS has a signature segment")
    }

    /// The raw verify the ratios compare with; any failure aborts the run, saying which.
    fn raw_verify(&self) -> bool {
        let (message, signature) = self.parts();
        match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &self.raw_key, self.alg) {
            Ok(true) => true,
            Ok(false) => panic!("{}: the raw verify refused the bench token", self.name),
            Err(e) => panic!("{}: the raw verify failed: {e}", self.name),
        }
    }
}

fn validator(key: VerifyKey, cache: Option<TokenCache>) -> Validator {
    let set = KeySet::new([key]);
    let keys = KeyCache::preloaded(
        Arc::new(StaticKeys(set.clone())),
        set,
        Duration::from_secs(10),
    )
    // As the OIDC backend: the JWKS staleness check is on the hot path.
    .with_max_age(Duration::from_secs(300));
    let mut rules = Rules::new(avb_auth::local::ISSUER, avb_auth::local::AUDIENCE);
    rules.client_id = Some(avb_auth::local::CLIENT_ID.into());
    let v = Validator::new(rules, Arc::new(keys));
    match cache {
        Some(cache) => v.with_token_cache(cache),
        None => v,
    }
}

/// One validation; a refusal aborts the run, naming the case and the error. With warm keys the
/// validator's future never waits, so it is polled once in place (no executor round trip in the figure);
/// should it ever wait, the runtime finishes it.
fn validate(runtime: &tokio::runtime::Runtime, v: &Validator, case: &Case) -> Principal {
    let mut future = std::pin::pin!(v.validate(&case.token));
    let mut cx = Context::from_waker(Waker::noop());
    let result = match future.as_mut().poll(&mut cx) {
        Poll::Ready(result) => result,
        Poll::Pending => runtime.block_on(future),
    };
    result.unwrap_or_else(|e| panic!("{}: the validator refused the bench token: {e}", case.name))
}

fn cases() -> Vec<Case> {
    let issuer = LocalIssuer::ephemeral().unwrap();
    let rs_token = issuer
        .mint(
            "bench",
            "ws-bench",
            &["analyst", "viewer"],
            Duration::from_secs(3600),
        )
        .unwrap();
    let rs = Case {
        name: "RS256",
        token: rs_token,
        key: VerifyKey::rsa_der(issuer.kid(), issuer.public_key_der()),
        raw_key: DecodingKey::from_rsa_der(issuer.public_key_der()),
        key_bytes: issuer.public_key_der().to_vec(),
        aws_alg: &RSA_PKCS1_2048_8192_SHA256,
        alg: Algorithm::RS256,
    };

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec-bench".into());
    let claims =
        serde_json::Value::Object(issuer.claims("bench", "ws-bench", Duration::from_secs(3600)));
    let es_token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(pkcs8.as_ref())).unwrap();
    let es = Case {
        name: "ES256",
        token: es_token,
        key: VerifyKey::ec_p256_point("ec-bench", &point),
        raw_key: DecodingKey::from_ec_der(&point),
        key_bytes: point,
        aws_alg: &ECDSA_P256_SHA256_FIXED,
        alg: Algorithm::ES256,
    };
    vec![rs, es]
}

/// How long each side runs per batch: long enough that being preempted on the shared machine (a time
/// slice is a few ms) averages out within a batch instead of deciding it.
const BATCH: Duration = Duration::from_millis(25);

/// Calls `f` in chunks of `chunk` until [`BATCH`] has passed; calls per second.
fn rate(chunk: u32, f: &mut impl FnMut()) -> f64 {
    let (start, mut calls) = (Instant::now(), 0u32);
    loop {
        for _ in 0..chunk {
            f();
        }
        calls += chunk;
        let elapsed = start.elapsed();
        if elapsed >= BATCH {
            return f64::from(calls) / elapsed.as_secs_f64();
        }
    }
}

/// Alternates batches of `raw` and `avb` (each running for [`BATCH`]) `rounds` times; the per-round ratio
/// of avb's rate to raw's, as (median, p10, p90). Interleaving makes load shifts on the shared machine
/// hit both sides alike.
fn interleaved(rounds: usize, mut raw: impl FnMut(), mut avb: impl FnMut()) -> (f64, f64, f64) {
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let raw_rate = rate(10, &mut raw);
        let avb_rate = rate(10, &mut avb);
        ratios.push(avb_rate / raw_rate);
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: usize| ratios[(ratios.len() - 1) * q / 100];
    (at(50), at(10), at(90))
}

/// Prints one interleaved comparison.
fn report(case: &str, what: &str, (median, p10, p90): (f64, f64, f64)) {
    println!(
        "auth/{case}: {what} = {median:.2} (interleaved, median of {ROUNDS} rounds of {} ms each; p10 {p10:.2}, p90 {p90:.2})",
        BATCH.as_millis()
    );
}

const ROUNDS: usize = 40;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for case in cases() {
        assert!(case.raw_verify());
        let (message, signature) = case.parts();
        let signature_bytes = URL_SAFE_NO_PAD
            .decode(signature)
            .expect("the bench token's signature is base64url");
        let parsed = ParsedPublicKey::new(case.aws_alg, &case.key_bytes)
            .unwrap_or_else(|e| panic!("{}: aws-lc-rs refused the bench key: {e}", case.name));
        let cold = validator(case.key.clone(), None);
        let cached = validator(
            case.key.clone(),
            Some(TokenCache::new(DEFAULT_TOKEN_CACHE_SIZE)),
        );
        let before = cold.keys().fetches() + cached.keys().fetches();

        let mut group = c.benchmark_group(format!("auth/{}", case.name));
        group.bench_function("raw jsonwebtoken::crypto::verify", |b| {
            b.iter(|| case.raw_verify())
        });
        group.bench_function("avb validator, cold (verify + claims + Principal)", |b| {
            b.iter(|| validate(&runtime, &cold, &case))
        });
        group.bench_function("avb validator, repeated token (token cache)", |b| {
            b.iter(|| validate(&runtime, &cached, &case))
        });
        // Breakdown: the raw verify parses the key (and copies it into a boxed verifier) at every call.
        group.bench_function("breakdown: aws-lc-rs verify with a pre-parsed key", |b| {
            b.iter(|| {
                parsed
                    .verify_sig(message.as_bytes(), &signature_bytes)
                    .unwrap_or_else(|_| panic!("{}: pre-parsed verify refused", case.name))
            })
        });
        group.bench_function("breakdown: SHA-256 of the token (the cache key)", |b| {
            b.iter(|| avb_auth::validator::token_cache::digest(black_box(&case.token)))
        });
        group.finish();

        let raw = || {
            black_box(case.raw_verify());
        };
        let pre_parsed = || {
            parsed
                .verify_sig(message.as_bytes(), &signature_bytes)
                .unwrap_or_else(|_| panic!("{}: pre-parsed verify refused", case.name));
        };
        let cold_validation = || {
            black_box(validate(&runtime, &cold, &case));
        };
        let cached_validation = || {
            black_box(validate(&runtime, &cached, &case));
        };
        let name = case.name;
        let cold_ratio = interleaved(ROUNDS, raw, cold_validation);
        report(
            name,
            "cold path (no token cache), validations/s avb ÷ raw verify",
            cold_ratio,
        );
        let cached_ratio = interleaved(ROUNDS, raw, cached_validation);
        report(
            name,
            "repeated token (token cache on), validations/s avb ÷ raw verify",
            cached_ratio,
        );
        let parse_ratio = interleaved(ROUNDS, raw, pre_parsed);
        report(
            name,
            "breakdown: pre-parsed-key verify ÷ raw verify (the key parse per call)",
            parse_ratio,
        );
        let strict = interleaved(ROUNDS, pre_parsed, cold_validation);
        report(
            name,
            "cold path ÷ pre-parsed-key verify (all other validation work)",
            strict,
        );
        println!(
            "auth/{}: JWKS fetches during the benchmark: {}",
            case.name,
            cold.keys().fetches() + cached.keys().fetches() - before
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
