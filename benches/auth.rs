//! Auth benchmarks: token validations per second through the port's validator (the path every local and
//! OIDC request takes once keys are cached) beside a raw `jsonwebtoken` signature verify on the same
//! crypto backend (aws-lc-rs), for RS256 and ES256. The ratio, not the absolute time, is the result.
//!
//! Run with: `cargo bench --bench auth -- --warm-up-time 1 --measurement-time 5`
//!
//! The "zero JWKS fetches once warm" figure is printed at the end (the key cache's fetch counter); the
//! "one fetch for 100 concurrent requests with one new kid" figure is a test against the real provider
//! (`tests/auth.rs`, `concurrent_requests_with_one_new_kid_fetch_the_jwks_once`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failed setup must abort the run
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use avb_auth::jwks::{KeyCache, KeySet, StaticKeys, VerifyKey};
use avb_auth::local::LocalIssuer;
use avb_auth::validator::{Rules, Validator};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use std::sync::Arc;
use std::time::Duration;

struct Case {
    name: &'static str,
    token: String,
    validator: Validator,
    raw_key: DecodingKey,
    alg: Algorithm,
}

fn validator(key: VerifyKey) -> Validator {
    let set = KeySet::new([key]);
    let cache = KeyCache::preloaded(
        Arc::new(StaticKeys(set.clone())),
        set,
        Duration::from_secs(10),
    )
    // As the OIDC backend: the JWKS staleness check is on the hot path.
    .with_max_age(Duration::from_secs(300));
    let mut rules = Rules::new(avb_auth::local::ISSUER, avb_auth::local::AUDIENCE);
    rules.client_id = Some(avb_auth::local::CLIENT_ID.into());
    Validator::new(rules, Arc::new(cache))
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
        validator: validator(VerifyKey::rsa_der(issuer.kid(), issuer.public_key_der())),
        raw_key: DecodingKey::from_rsa_der(issuer.public_key_der()),
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
        validator: validator(VerifyKey::ec_p256_point("ec-bench", &point)),
        raw_key: DecodingKey::from_ec_der(&point),
        alg: Algorithm::ES256,
    };
    vec![rs, es]
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for case in cases() {
        let (message, signature) = case.token.rsplit_once('.').unwrap();
        assert!(
            jsonwebtoken::crypto::verify(signature, message.as_bytes(), &case.raw_key, case.alg)
                .unwrap()
        );
        let before = case.validator.keys().fetches();
        let mut group = c.benchmark_group(format!("auth/{}", case.name));
        group.bench_function("raw jsonwebtoken::crypto::verify", |b| {
            b.iter(|| {
                jsonwebtoken::crypto::verify(signature, message.as_bytes(), &case.raw_key, case.alg)
                    .unwrap()
            })
        });
        group.bench_function("avb validator (verify + claims + Principal)", |b| {
            b.iter(|| {
                runtime
                    .block_on(case.validator.validate(&case.token))
                    .unwrap()
            })
        });
        group.finish();
        // Criterion measures the two functions one after the other; on a machine shared with other builds
        // the load changes between them. Interleaving short batches and taking the median of the per-batch
        // ratios gives a ratio that load shifts cannot fake.
        let mut ratios = Vec::new();
        for _ in 0..60 {
            let t = std::time::Instant::now();
            for _ in 0..100 {
                std::hint::black_box(
                    jsonwebtoken::crypto::verify(
                        signature,
                        message.as_bytes(),
                        &case.raw_key,
                        case.alg,
                    )
                    .unwrap(),
                );
            }
            let raw = t.elapsed();
            let t = std::time::Instant::now();
            for _ in 0..100 {
                std::hint::black_box(
                    runtime
                        .block_on(case.validator.validate(&case.token))
                        .unwrap(),
                );
            }
            ratios.push(raw.as_secs_f64() / t.elapsed().as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "auth/{}: interleaved validations/s ratio avb/raw = {:.2} (median of 60 batches; p10 {:.2}, p90 {:.2})",
            case.name, ratios[30], ratios[6], ratios[54]
        );
        println!(
            "auth/{}: JWKS fetches during the benchmark: {}",
            case.name,
            case.validator.keys().fetches() - before
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
