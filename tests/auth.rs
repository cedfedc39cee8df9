//! The Auth port's conformance suite against every backend: trust-all and the local issuer (offline), and
//! the OIDC backend against the real OIDC provider of `scripts/services` (oidc-provider 9, Keycloak-shaped),
//! plus the attack, rotation and JWKS-flood tests that need that provider.
//!
//! Live tests find the provider through `AVB_TEST_OIDC_URL` (`eval "$(scripts/services env)"`); each test
//! uses its own realm (`/realms/<unique>`, own keys and counters) so tests run in parallel and reruns never
//! see another's state.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed setup fails the test

use avb::auth::Authenticator;
use avb::auth::conformance::{self, Expect, LocalHarness, TrustAllHarness};
use avb::auth::local::LocalIssuer;
use avb::auth::none::TrustAll;
use avb_core::WorkspaceId;
use proptest::prelude::*;

#[cfg(feature = "auth-oidc")]
#[path = "support/kid_flood.rs"]
mod kid_flood;

#[tokio::test]
async fn trust_all_conformance() {
    let ws = WorkspaceId::new("sandbox").unwrap();
    let report = conformance::run_all(&TrustAllHarness(TrustAll::new(ws, "dev", ["owner"]))).await;
    // Trust-all accepts every token; every case about refusing one is skipped by that capability.
    let expect = conformance::cases()
        .iter()
        .map(|c| c.name)
        .filter(|name| *name != "valid_token_accepted")
        .fold(Expect::all(), |e, name| {
            e.skipped(name, conformance::capability::REJECTS_INVALID_TOKENS)
        });
    report.assert_exact(&expect);
    assert_eq!(report.passed(), ["valid_token_accepted"]);
}

#[tokio::test]
async fn local_issuer_conformance() {
    // The validated-token cache on (the default): every case passes, and the repeats were cache hits.
    let harness = LocalHarness(LocalIssuer::ephemeral().unwrap());
    let report = conformance::run_all(&harness).await;
    report.assert_exact(&Expect::all());
    assert_eq!(report.passed().len(), 24);
    assert!(harness.0.token_cache().unwrap().hits() >= 3);
}

#[tokio::test]
async fn local_issuer_conformance_without_the_token_cache() {
    let harness = LocalHarness(LocalIssuer::ephemeral().unwrap().with_token_cache(0));
    assert!(harness.0.token_cache().is_none());
    let report = conformance::run_all(&harness).await;
    report.assert_exact(&Expect::all());
    assert_eq!(report.passed().len(), 24);
}

#[tokio::test]
async fn token_printed_by_the_cli_validates_with_the_shared_dev_key() {
    let dir = std::env::temp_dir().join(format!(
        "avb-cli-token-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_avb"))
        .args(["token", "--subject", "cli-user", "--workspace", "ws-cli"])
        .args(["--roles", "analyst,project-member", "--ttl", "10m"])
        .env_clear()
        .env("AUTH_MODE", "local")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    // A "service" in the same directory: the facade's local issuer reads the key the CLI created.
    let issuer = LocalIssuer::from_key_file(dir.join(avb::auth::local::DEFAULT_KEY_FILE)).unwrap();
    let p = issuer.authenticate(token.trim()).await.unwrap();
    assert_eq!(
        (p.subject.as_str(), p.workspace_id.as_str()),
        ("cli-user", "ws-cli")
    );
    assert!(p.has_role("analyst") && p.has_role("project-member"));
    let left = p
        .expires_at
        .unwrap()
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        left > std::time::Duration::from_secs(500) && left <= std::time::Duration::from_secs(600)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One runtime for all property-test cases (reqwest clients stay tied to the runtime that made them).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// One issuer for all property-test cases: RSA key generation per case would dominate the run.
fn shared_issuer() -> &'static LocalIssuer {
    static ISSUER: std::sync::OnceLock<LocalIssuer> = std::sync::OnceLock::new();
    ISSUER.get_or_init(|| LocalIssuer::ephemeral().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any string is an error from the local issuer (never a panic, never a principal).
    #[test]
    fn local_issuer_rejects_arbitrary_strings(input in ".{0,300}") {
        let result = runtime().block_on(shared_issuer().authenticate(&input));
        prop_assert!(result.is_err());
    }

    /// Dot-separated base64url-ish segments (the shape that gets furthest into the validator) too.
    #[test]
    fn local_issuer_rejects_arbitrary_jws_shapes(
        a in "[A-Za-z0-9_=-]{0,80}", b in "[A-Za-z0-9_=-]{0,80}", c in "[A-Za-z0-9_=-]{0,80}"
    ) {
        let result = runtime().block_on(shared_issuer().authenticate(&format!("{a}.{b}.{c}")));
        prop_assert!(result.is_err());
    }
}

#[cfg(feature = "auth-oidc")]
mod oidc {
    use super::*;
    use avb::auth::ErrorKind;
    use avb::auth::clock::ManualClock;
    use avb::auth::conformance::{Abilities, Forge, Harness, HarnessError};
    use avb::auth::oidc::{ClientCredentials, Oidc, OidcBuilder};
    use avb_core::config::Secret;
    use serde_json::{Value, json};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    const AUDIENCE: &str = "urn:avb:api";

    /// The version of `tests/fixtures/oidc/server.mjs` these tests need (its `FIXTURE_VERSION`).
    const FIXTURE_VERSION: u64 = 2;

    /// A fresh realm of the provider: `(issuer, server root)`; `None` = skip (printed by live_server).
    /// A provider started from an older fixture fails the test with the fix, instead of failing
    /// assertions later for no visible reason.
    fn realm(name: &str) -> Option<String> {
        let url = avb::testing::live_server("AVB_TEST_OIDC_URL")?;
        let root = match url.find("/realms/") {
            Some(i) => url[..i].to_string(),
            None => panic!("AVB_TEST_OIDC_URL={url} is not a /realms/<realm> issuer"),
        };
        let health = std::thread::spawn({
            let root = root.clone();
            move || -> Option<Value> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    crate::http::client()
                        .get(format!("{root}/health"))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()
                })
            }
        })
        .join()
        .ok()
        .flatten();
        let version = health.as_ref().and_then(|h| h["fixture"].as_u64());
        assert_eq!(
            version,
            Some(FIXTURE_VERSION),
            "the OIDC provider at {root} runs an older tests/fixtures/oidc/server.mjs (health: {health:?}); \
             restart it from this checkout: scripts/services down oidc && scripts/services up oidc"
        );
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let n = N.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "{root}/realms/{name}-{}-{nanos}-{n}",
            std::process::id()
        ))
    }

    fn builder(issuer: &str, min_refresh: Duration) -> OidcBuilder {
        OidcBuilder::new(issuer)
            .with_audience(AUDIENCE)
            .with_client_id("avb-service")
            .with_leeway(Duration::from_secs(5))
            .with_min_refresh_interval(min_refresh)
    }

    async fn oidc(issuer: &str, min_refresh: Duration) -> Oidc {
        builder(issuer, min_refresh).build().await.unwrap()
    }

    /// [`oidc`] whose JWKS refresh interval and max age run on `clock` (the test advances it; no sleeps).
    async fn oidc_on(issuer: &str, min_refresh: Duration, clock: &ManualClock) -> Oidc {
        builder(issuer, min_refresh)
            .with_clock(clock.clone())
            .build()
            .await
            .unwrap()
    }

    async fn post(url: String, body: Value) -> Value {
        let response = crate::http::client()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    }

    async fn sign(issuer: &str, claims: Value, key: &str, kid: Option<&str>) -> String {
        let mut body = json!({"claims": claims, "key": key});
        if let Some(kid) = kid {
            body["kid"] = json!(kid);
        }
        let answer = post(format!("{issuer}/test/sign"), body).await;
        answer["token"].as_str().unwrap().to_string()
    }

    /// The provider's `/test/sign` with extra header parameters and/or a verbatim payload: the answer
    /// (`token`, and the default `claims` it would have signed).
    async fn sign_with(
        issuer: &str,
        claims: Value,
        header: Value,
        payload: Option<String>,
    ) -> Value {
        let mut body = json!({"claims": claims, "key": "rsa", "header": header});
        if let Some(payload) = payload {
            body["payload"] = json!(payload);
        }
        post(format!("{issuer}/test/sign"), body).await
    }

    async fn stats(issuer: &str) -> Value {
        crate::http::client()
            .get(format!("{issuer}/test/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn jwks_fetches(issuer: &str) -> u64 {
        stats(issuer).await["jwks_fetches"].as_u64().unwrap()
    }

    async fn rotate(issuer: &str, keep_old: bool) -> String {
        let answer = post(
            format!("{issuer}/test/rotate"),
            json!({"keep_old": keep_old}),
        )
        .await;
        answer["rsa_kid"].as_str().unwrap().to_string()
    }

    struct OidcHarness {
        issuer: String,
        auth: Oidc,
    }

    #[async_trait::async_trait]
    impl Harness for OidcHarness {
        fn authenticator(&self) -> &dyn Authenticator {
            &self.auth
        }
        /// The provider's test endpoint signs anything with its own keys, a rogue key or none.
        fn abilities(&self) -> Abilities {
            Abilities {
                arbitrary_claims: true,
                forgeries: true,
                raw_signing: true,
            }
        }
        async fn token(&self, claims: Value, forge: Forge) -> Result<String, HarnessError> {
            let (key, kid) = match forge {
                Forge::Valid => ("rsa", None),
                Forge::RogueKey => ("rogue-rsa", None),
                Forge::Hs256WithPublicKey => ("hs256-rsa-public", None),
                Forge::AlgNone => ("none", None),
                Forge::UnknownKid => ("rsa", Some("never-published-kid")),
                other => return Err(format!("no provider key for {other:?}").into()),
            };
            Ok(sign(&self.issuer, claims, key, kid).await)
        }
        async fn claims(
            &self,
            claims: Value,
        ) -> Result<serde_json::Map<String, Value>, HarnessError> {
            let answer = sign_with(&self.issuer, claims, json!({}), None).await;
            match answer["claims"].as_object() {
                Some(claims) => Ok(claims.clone()),
                None => Err(format!("the provider's answer has no claims: {answer}").into()),
            }
        }
        async fn sign_raw(&self, header: Value, payload: String) -> Result<String, HarnessError> {
            let answer = sign_with(&self.issuer, json!({}), header, Some(payload)).await;
            match answer["token"].as_str() {
                Some(token) => Ok(token.to_string()),
                None => Err(format!("the provider's answer has no token: {answer}").into()),
            }
        }
    }

    #[tokio::test]
    async fn oidc_conformance_against_the_real_provider() {
        let Some(issuer) = realm("conformance") else {
            return;
        };
        // The validated-token cache on (the default) and off, against the same provider.
        for entries in [avb::auth::validator::DEFAULT_TOKEN_CACHE_SIZE, 0] {
            let auth = builder(&issuer, Duration::from_secs(1))
                .with_token_cache(entries)
                .build()
                .await
                .unwrap();
            let harness = OidcHarness {
                issuer: issuer.clone(),
                auth,
            };
            let report = conformance::run_all(&harness).await;
            report.assert_exact(&Expect::all());
            assert_eq!(report.passed().len(), 24);
            match harness.auth.token_cache() {
                Some(cache) => assert!(cache.hits() >= 3, "{} hits", cache.hits()),
                None => assert_eq!(entries, 0),
            }
        }
    }

    #[tokio::test]
    async fn provider_issued_rs256_and_es256_tokens_map_keycloak_claims() {
        let Some(issuer) = realm("issued") else {
            return;
        };
        let auth = oidc(&issuer, Duration::from_secs(1)).await;
        for client in ["avb-service", "avb-es"] {
            let source = ClientCredentials::discover(&issuer, client, Secret::new("avb-secret"))
                .await
                .unwrap();
            let token = source.token().await.unwrap();
            let header: Value = {
                use base64::Engine;
                let h = token.split('.').next().unwrap();
                serde_json::from_slice(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(h)
                        .unwrap(),
                )
                .unwrap()
            };
            // avb-service: Keycloak's shape (header typ JWT, claim typ Bearer); avb-es: oidc-provider's
            // own RFC 9068 access token (header typ at+jwt, no typ claim). Both are access tokens.
            let (expected_alg, expected_typ) = if client == "avb-es" {
                ("ES256", "at+jwt")
            } else {
                ("RS256", "JWT")
            };
            assert_eq!(header["alg"], expected_alg);
            assert_eq!(header["typ"], expected_typ);
            let p = auth.authenticate(&token).await.unwrap();
            assert_eq!(p.subject, client);
            assert_eq!(p.workspace_id.as_str(), "ws-test");
            assert!(
                p.has_role("analyst") && p.has_role("viewer"),
                "{:?}",
                p.roles
            );
            // resource_access.<client>.roles counts only for the configured client (avb-service).
            assert_eq!(
                p.has_role("project-member"),
                client == "avb-service",
                "{:?}",
                p.roles
            );
        }
    }

    #[tokio::test]
    async fn es256_token_signed_by_the_provider_key_validates_and_alg_comes_from_the_key() {
        let Some(issuer) = realm("es256") else { return };
        let auth = oidc(&issuer, Duration::from_secs(1)).await;
        let token = sign(&issuer, json!({}), "ec", None).await;
        assert_eq!(auth.authenticate(&token).await.unwrap().subject, "user-1");
        // The EC key's kid under an RS256 header: the key decides, so this is a mismatch.
        let ec_kid = stats(&issuer).await["ec_kids"][0]
            .as_str()
            .unwrap()
            .to_string();
        let token = sign(&issuer, json!({}), "rsa", Some(&ec_kid)).await;
        let err = auth.authenticate(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlgorithmMismatch, "{err}");
    }

    #[tokio::test]
    async fn missing_workspace_is_accepted_only_when_configured_otherwise() {
        let Some(issuer) = realm("default-ws") else {
            return;
        };
        let token = sign(&issuer, json!({"workspace_id": null}), "rsa", None).await;
        let strict = oidc(&issuer, Duration::from_secs(1)).await;
        let err = strict.authenticate(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingWorkspace);
        let lenient = OidcBuilder::new(&issuer)
            .with_audience(AUDIENCE)
            .with_default_workspace(WorkspaceId::new("fallback").unwrap())
            .build()
            .await
            .unwrap();
        let p = lenient.authenticate(&token).await.unwrap();
        assert_eq!(p.workspace_id.as_str(), "fallback");
        // A configurable claim name.
        let token = sign(
            &issuer,
            json!({"tenant": "ws-t", "workspace_id": null}),
            "rsa",
            None,
        )
        .await;
        let by_tenant = OidcBuilder::new(&issuer)
            .with_audience(AUDIENCE)
            .with_workspace_claim("tenant")
            .build()
            .await
            .unwrap();
        assert_eq!(
            by_tenant
                .authenticate(&token)
                .await
                .unwrap()
                .workspace_id
                .as_str(),
            "ws-t"
        );
    }

    #[tokio::test]
    async fn rotation_keeps_or_drops_old_keys_and_rotated_out_is_its_own_error() {
        let Some(issuer) = realm("rotation") else {
            return;
        };
        let interval = Duration::from_millis(300);
        let clock = ManualClock::new();
        let auth = oidc_on(&issuer, interval, &clock).await;
        let old = sign(&issuer, json!({}), "rsa", None).await;
        auth.authenticate(&old).await.unwrap();

        // Rotation keeping the old key: the new kid is fetched once (not before the refresh interval
        // since the startup fetch has passed), both validate.
        rotate(&issuer, true).await;
        let new = sign(&issuer, json!({}), "rsa", None).await;
        let before = jwks_fetches(&issuer).await;
        clock.advance(interval - Duration::from_millis(1));
        let err = auth.authenticate(&new).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey, "rate-limited: {err}");
        assert_eq!(jwks_fetches(&issuer).await - before, 0);
        clock.advance(Duration::from_millis(1));
        auth.authenticate(&new).await.unwrap();
        auth.authenticate(&old).await.unwrap();
        assert_eq!(jwks_fetches(&issuer).await - before, 1);

        // Rotation dropping old keys: once the cache learns the new set, old tokens are "rotated out".
        rotate(&issuer, false).await;
        clock.advance(interval);
        let newest = sign(&issuer, json!({}), "rsa", None).await;
        auth.authenticate(&newest).await.unwrap();
        for token in [&old, &new] {
            let err = auth.authenticate(token).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::KeyRotatedOut, "{err}");
        }
        // A kid it never published stays "unknown", not "rotated out".
        let unknown = sign(&issuer, json!({}), "rsa", Some("never-seen")).await;
        let err = auth.authenticate(&unknown).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey, "{err}");
    }

    #[tokio::test]
    async fn dropped_key_stops_validating_after_max_age_without_any_new_kid() {
        let Some(issuer) = realm("max-age") else {
            return;
        };
        let max_age = Duration::from_secs(2);
        // The key set is fetched inside build(); its age is measured on `clock`, which moves only when
        // the test advances it, so the "still cached" step is conclusive however slow the machine is.
        let clock = ManualClock::new();
        let auth = OidcBuilder::new(&issuer)
            .with_audience(AUDIENCE)
            .with_min_refresh_interval(Duration::from_secs(60))
            .with_jwks_max_age(max_age)
            .with_clock(clock.clone())
            .build()
            .await
            .unwrap();
        let old = sign(&issuer, json!({}), "rsa", None).await;
        auth.authenticate(&old).await.unwrap();
        rotate(&issuer, false).await;
        // Inside max_age the cached key validates, without a fetch.
        let before = jwks_fetches(&issuer).await;
        clock.advance(max_age - Duration::from_millis(1));
        auth.authenticate(&old).await.unwrap();
        assert_eq!(jwks_fetches(&issuer).await - before, 0);
        clock.advance(Duration::from_millis(1));
        let err = auth.authenticate(&old).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyRotatedOut, "{err}");
        assert_eq!(jwks_fetches(&issuer).await - before, 1);
    }

    #[tokio::test]
    async fn flood_of_random_kids_fetches_the_jwks_at_most_once_per_interval() {
        let Some(issuer) = realm("flood") else { return };
        let interval = Duration::from_secs(2);
        let clock = ManualClock::new();
        let auth = Arc::new(oidc_on(&issuer, interval, &clock).await);
        let valid = sign(&issuer, json!({}), "rsa", None).await;
        // The clock stands still during each flood, so each one is inside a single interval.
        let before = jwks_fetches(&issuer).await;
        crate::kid_flood::flood_unknown_kids(&auth, &valid).await;
        assert_eq!(
            jwks_fetches(&issuer).await - before,
            0,
            "inside the interval since the startup fetch: no fetch"
        );
        for round in 1..=2 {
            clock.advance(interval);
            let before = jwks_fetches(&issuer).await;
            crate::kid_flood::flood_unknown_kids(&auth, &valid).await;
            assert_eq!(
                jwks_fetches(&issuer).await - before,
                1,
                "round {round}: 1000 random kids after the interval: exactly one fetch"
            );
        }
        auth.authenticate(&valid).await.unwrap();
    }

    #[tokio::test]
    async fn concurrent_requests_with_one_new_kid_fetch_the_jwks_once() {
        let Some(issuer) = realm("single-flight") else {
            return;
        };
        let interval = Duration::from_millis(300);
        let clock = ManualClock::new();
        let auth = Arc::new(oidc_on(&issuer, interval, &clock).await);
        rotate(&issuer, true).await;
        clock.advance(interval);
        let token = sign(&issuer, json!({}), "rsa", None).await;
        let before = jwks_fetches(&issuer).await;
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (auth, token) = (auth.clone(), token.clone());
            tasks.push(tokio::spawn(async move { auth.authenticate(&token).await }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(jwks_fetches(&issuer).await - before, 1);
    }

    #[tokio::test]
    async fn warm_validations_fetch_nothing() {
        let Some(issuer) = realm("warm") else { return };
        let auth = oidc(&issuer, Duration::from_secs(1)).await;
        let token = sign(&issuer, json!({}), "rsa", None).await;
        let before = jwks_fetches(&issuer).await;
        for _ in 0..500 {
            auth.authenticate(&token).await.unwrap();
        }
        assert_eq!(jwks_fetches(&issuer).await - before, 0);
        assert_eq!(auth.keys().fetches(), 1, "only the startup fetch");
    }

    #[tokio::test]
    async fn client_credentials_cache_and_refresh_before_expiry() {
        let Some(issuer) = realm("client-credentials") else {
            return;
        };
        // avb-short's tokens live 4 s: refreshed at half-life (2 s), before they expire.
        let clock = ManualClock::new();
        let source = ClientCredentials::discover(&issuer, "avb-short", Secret::new("avb-secret"))
            .await
            .unwrap()
            .with_clock(clock.clone());
        let first = source.token().await.unwrap();
        assert_eq!(source.token().await.unwrap(), first, "cached");
        clock.advance(Duration::from_millis(1999));
        assert_eq!(
            source.token().await.unwrap(),
            first,
            "cached until half-life"
        );
        assert_eq!(source.requests(), 1);
        clock.advance(Duration::from_millis(1));
        let second = source.token().await.unwrap();
        assert_ne!(second, first, "refreshed before expiry");
        assert_eq!(source.requests(), 2);
        let auth = oidc(&issuer, Duration::from_secs(1)).await;
        assert_eq!(
            auth.authenticate(&second).await.unwrap().subject,
            "avb-short"
        );
        assert_eq!(
            stats(&issuer).await["token_requests"],
            2,
            "provider saw exactly 2 token requests"
        );

        let wrong = ClientCredentials::discover(&issuer, "avb-short", Secret::new("wrong"))
            .await
            .unwrap();
        let err = wrong.token().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        assert!(
            !err.to_string().contains("wrong\""),
            "secret must not leak: {err}"
        );
    }

    #[tokio::test]
    async fn facade_builds_keycloak_from_config() {
        let Some(issuer) = realm("facade") else {
            return;
        };
        let config = avb::config::Config::from_iter([
            ("AUTH_MODE", "keycloak"),
            ("OIDC_ISSUER_URL", issuer.as_str()),
            ("OIDC_AUDIENCE", AUDIENCE),
            ("OIDC_CLIENT_ID", "avb-service"),
            ("OIDC_CLIENT_SECRET", "avb-secret"),
        ])
        .unwrap();
        assert!(
            !serde_json::to_string(&config)
                .unwrap()
                .contains("avb-secret")
        );
        assert!(!config.to_string().contains("avb-secret"));
        let auth = avb::auth::open(&config.auth.backend).await.unwrap();
        assert_eq!(auth.backend(), "keycloak");
        assert!(auth.health().await.is_up());
        let token = sign(&issuer, json!({"sub": "via-facade"}), "rsa", None).await;
        assert_eq!(
            auth.authenticate(&token).await.unwrap().subject,
            "via-facade"
        );
        // Outgoing calls: the service's own client-credentials token validates with its own authenticator.
        let source = avb::auth::token_source(&config.auth.backend)
            .await
            .unwrap()
            .unwrap();
        let p = auth
            .authenticate(&source.token().await.unwrap())
            .await
            .unwrap();
        assert_eq!(p.subject, "avb-service");
        assert!(p.has_role("project-member"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A real provider token with any byte replaced or the token cut anywhere is an error.
        #[test]
        fn mutated_provider_tokens_are_errors(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
            let rt = runtime();
            let Some((auth, token)) = rt.block_on(shared_token()) else { return Ok(()) };
            let mut bytes = token.into_bytes();
            let i = pos.index(bytes.len());
            if cut {
                bytes.truncate(i);
            } else {
                prop_assume!(bytes[i] != byte);
                bytes[i] = byte;
            }
            let mutated = String::from_utf8_lossy(&bytes).into_owned();
            let result = rt.block_on(auth.authenticate(&mutated));
            prop_assert!(result.is_err(), "mutated token accepted");
        }
    }

    /// One realm, validator and token shared by every proptest case (building them per case would make
    /// the property test mostly measure discovery). `None` = no provider (skip, reason printed).
    async fn shared_token() -> Option<(Arc<Oidc>, String)> {
        static SHARED: tokio::sync::OnceCell<Option<(Arc<Oidc>, String)>> =
            tokio::sync::OnceCell::const_new();
        SHARED
            .get_or_init(|| async {
                let issuer = realm("proptest")?;
                let token = sign(&issuer, json!({}), "rsa", None).await;
                Some((
                    Arc::new(oidc(&issuer, Duration::from_secs(60)).await),
                    token,
                ))
            })
            .await
            .clone()
    }
}

#[path = "support/http.rs"]
mod http;
