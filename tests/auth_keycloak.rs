//! The Auth suites against real Keycloak 26 (`scripts/services up keycloak`, realm from
//! `tests/fixtures/keycloak/avb-realm.json`), beside the oidc-provider harness of `tests/auth.rs`.
//!
//! Every token here comes from Keycloak's real endpoints (client credentials, password grant). Keycloak cannot
//! mint tokens with arbitrary claims or sign raw payloads, so conformance cases that need them skip by the
//! harness's declared abilities (printed `SKIPPED <case>: lacks a harness that mints tokens with arbitrary
//! claims` / `… signs raw payloads`); the forgeries that need no issuer key (alg
//! `none`, a foreign key under Keycloak's `kid`, HS256 keyed with Keycloak's public certificate, an unknown
//! `kid`) are made from real Keycloak tokens. Tests that change keys work in a throwaway realm created
//! through the admin REST API, so they never disturb tests using realm `avb`.
//!
//! Variables: `AVB_TEST_KEYCLOAK_URL` (issuer of realm `avb`), `AVB_TEST_KEYCLOAK_ADMIN` (`user:password`).
#![cfg(feature = "auth-oidc")]
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed setup fails the test

use avb::auth::conformance::{self, Abilities, Expect, Forge, Harness, HarnessError};
use avb::auth::local::LocalIssuer;
use avb::auth::oidc::{ClientCredentials, Oidc, OidcBuilder};
use avb::auth::{Authenticator, ErrorKind};
use avb_core::config::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::time::Duration;

/// The API client of the realm: the audience of every access token the service client gets.
const AUDIENCE: &str = "avb-api";
const SERVICE: &str = "avb-service";
/// Loopback test credentials from the realm fixture.
const SERVICE_SECRET: &str = "avb-secret";
const USER: (&str, &str) = ("alice", "alice-loopback-test");

/// The issuer of realm `avb`; `None` = skip (printed by live_server).
fn issuer() -> Option<String> {
    avb::testing::live_server("AVB_TEST_KEYCLOAK_URL")
}

fn root(issuer: &str) -> String {
    match issuer.find("/realms/") {
        Some(i) => issuer[..i].to_string(),
        None => panic!("AVB_TEST_KEYCLOAK_URL={issuer} is not a /realms/<realm> issuer"),
    }
}

async fn oidc(issuer: &str, audience: &str) -> Oidc {
    OidcBuilder::new(issuer)
        .with_audience(audience)
        .with_client_id(SERVICE)
        .with_leeway(Duration::from_secs(5))
        .with_min_refresh_interval(Duration::from_secs(1))
        .build()
        .await
        .unwrap()
}

fn decode(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// `(header, claims)` of a JWS.
fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    (decode(it.next().unwrap()), decode(it.next().unwrap()))
}

async fn service_token(issuer: &str) -> String {
    ClientCredentials::discover(issuer, SERVICE, Secret::new(SERVICE_SECRET))
        .await
        .unwrap()
        .token()
        .await
        .unwrap()
}

/// The token endpoint's answer to the password grant for the realm's user (access, ID and refresh token).
async fn password_grant(issuer: &str) -> Value {
    let response = crate::http::client()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", SERVICE),
            ("client_secret", SERVICE_SECRET),
            ("username", USER.0),
            ("password", USER.1),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

/// Conformance harness on real Keycloak tokens: it can only make the default token and forgeries of it.
struct KeycloakHarness {
    issuer: String,
    auth: Oidc,
    rogue: LocalIssuer,
}

impl KeycloakHarness {
    /// The PEM of Keycloak's certificate for `kid` (its JWKS `x5c`): the "public key file" of key confusion.
    async fn public_pem(&self, kid: &str) -> String {
        let jwks: Value = crate::http::client()
            .get(format!("{}/protocol/openid-connect/certs", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .unwrap();
        let der = key["x5c"][0].as_str().unwrap();
        format!("-----BEGIN CERTIFICATE-----\n{der}\n-----END CERTIFICATE-----\n")
    }
}

#[async_trait::async_trait]
impl Harness for KeycloakHarness {
    fn authenticator(&self) -> &dyn Authenticator {
        &self.auth
    }

    /// Keycloak decides the claims: only its default token (no overrides), forged in every way that
    /// needs no issuer key.
    fn abilities(&self) -> Abilities {
        Abilities {
            forgeries: true,
            ..Abilities::default()
        }
    }

    async fn token(&self, claims: Value, forge: Forge) -> Result<String, HarnessError> {
        if claims.as_object().is_none_or(|c| !c.is_empty()) {
            return Err(format!("Keycloak cannot mint a token with the claims {claims}").into());
        }
        let token = service_token(&self.issuer).await;
        let (header, _) = parts(&token);
        let kid = header["kid"].as_str().unwrap().to_string();
        let payload = token.split('.').nth(1).unwrap().to_string();
        let with_header = |h: Value| format!("{}.{payload}", URL_SAFE_NO_PAD.encode(h.to_string()));
        Ok(match forge {
            Forge::Valid => token,
            Forge::AlgNone => format!(
                "{}.",
                with_header(json!({"alg": "none", "typ": "JWT", "kid": kid}))
            ),
            Forge::UnknownKid => {
                let input = with_header(
                    json!({"alg": "RS256", "typ": "JWT", "kid": "never-published-kid"}),
                );
                format!("{input}.{}", token.rsplit('.').next().unwrap())
            }
            Forge::RogueKey => {
                let header = json!({"kid": kid}).as_object().cloned().unwrap();
                self.rogue
                    .sign_raw(&header, &URL_SAFE_NO_PAD.decode(&payload).unwrap())
                    .unwrap()
            }
            Forge::Hs256WithPublicKey => {
                let input = with_header(json!({"alg": "HS256", "typ": "JWT", "kid": kid}));
                let pem = self.public_pem(&kid).await;
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, pem.as_bytes());
                let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
                format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
            }
            other => return Err(format!("this harness cannot forge {other:?}").into()),
        })
    }
}

#[tokio::test]
async fn keycloak_conformance() {
    let Some(issuer) = issuer() else { return };
    let auth = oidc(&issuer, AUDIENCE).await;
    let rogue = LocalIssuer::ephemeral().unwrap();
    let report = conformance::run_all(&KeycloakHarness {
        issuer,
        auth,
        rogue,
    })
    .await;
    // Every case that needs a token with chosen claims, or a raw payload signed with Keycloak's key, is
    // skipped by the harness's abilities; the rest passes.
    let mut expect = Expect::all();
    for case in [
        "valid_token_gives_principal",
        "rejects_expired",
        "rejects_not_yet_valid",
        "rejects_wrong_issuer",
        "rejects_wrong_audience",
        "rejects_missing_workspace",
        "rejects_id_token",
        "rejects_refresh_token",
        "rejects_unmarked_token",
        "rejects_future_iat",
    ] {
        expect = expect.skipped(case, conformance::capability::ARBITRARY_CLAIMS);
    }
    for case in [
        "accepts_rfc9068_access_token",
        "rejects_crit_header",
        "rejects_unencoded_payload",
        "rejects_duplicate_claims",
        "rejects_trailing_data",
    ] {
        expect = expect.skipped(case, conformance::capability::RAW_SIGNING);
    }
    report.assert_exact(&expect);
    assert_eq!(
        report.passed(),
        [
            "valid_token_accepted",
            "rejects_alg_none",
            "rejects_hs256_with_public_key",
            "rejects_unknown_kid",
            "rejects_bad_signature",
            "rejects_tampered_payload",
            "rejects_garbage",
            "repeated_token_same_principal",
            "rejects_altered_copy_of_accepted_token",
        ]
    );
}

#[tokio::test]
async fn keycloak_client_credentials_token_shape_and_principal() {
    let Some(issuer) = issuer() else { return };
    let source = ClientCredentials::discover(&issuer, SERVICE, Secret::new(SERVICE_SECRET))
        .await
        .unwrap();
    let token = source.token().await.unwrap();
    assert_eq!(source.token().await.unwrap(), token, "cached");
    assert_eq!(source.requests(), 1);
    let (header, claims) = parts(&token);
    assert_eq!(
        (header["alg"].as_str(), header["typ"].as_str()),
        (Some("RS256"), Some("JWT"))
    );
    assert_eq!(claims["typ"], "Bearer", "{claims}");
    assert_eq!(claims["azp"], SERVICE, "{claims}");
    assert_eq!(claims["aud"], AUDIENCE, "{claims}");
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["workspace_id"], "ws-service");
    let realm_roles = claims["realm_access"]["roles"].as_array().unwrap();
    assert!(realm_roles.contains(&json!("analyst")) && realm_roles.contains(&json!("viewer")));
    assert_eq!(
        claims["resource_access"][SERVICE]["roles"],
        json!(["project-member"])
    );
    assert_eq!(
        claims["resource_access"][AUDIENCE]["roles"],
        json!(["api-reader"])
    );
    let scope = claims["scope"].as_str().unwrap();

    let auth = oidc(&issuer, AUDIENCE).await;
    let p = auth.authenticate(&token).await.unwrap();
    assert_eq!(p.subject, claims["sub"].as_str().unwrap());
    assert_eq!(p.workspace_id.as_str(), "ws-service");
    assert!(
        p.has_role("analyst") && p.has_role("viewer") && p.has_role("project-member"),
        "{:?}",
        p.roles
    );
    // Only the configured client's resource_access roles count.
    assert!(!p.has_role("api-reader"), "{:?}", p.roles);
    for s in scope.split(' ') {
        assert!(p.has_scope(s), "{s} of {scope:?} missing: {:?}", p.scopes);
    }
    // Another service's audience refuses it.
    let other = oidc(&issuer, "some-other-api").await;
    let err = other.authenticate(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongAudience, "{err}");

    let wrong = ClientCredentials::discover(&issuer, SERVICE, Secret::new("wrong-secret-value"))
        .await
        .unwrap();
    let err = wrong.token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(
        !err.to_string().contains("wrong-secret-value"),
        "secret must not leak: {err}"
    );
}

#[tokio::test]
async fn keycloak_user_access_token_passes_and_its_id_and_refresh_tokens_are_refused() {
    let Some(issuer) = issuer() else { return };
    let answer = password_grant(&issuer).await;
    let (access, id, refresh) = (
        answer["access_token"].as_str().unwrap(),
        answer["id_token"].as_str().unwrap(),
        answer["refresh_token"].as_str().unwrap(),
    );
    let auth = oidc(&issuer, AUDIENCE).await;
    let p = auth.authenticate(access).await.unwrap();
    assert_eq!(p.workspace_id.as_str(), "ws-alice");
    assert!(
        p.has_role("viewer") && p.has_role("project-member") && !p.has_role("analyst"),
        "{:?}",
        p.roles
    );
    assert!(p.has_scope("openid"), "{:?}", p.scopes);

    // The ID token: typ "ID", aud = the client id. An authenticator whose audience is that client id
    // (a documented OIDC_AUDIENCE) must still refuse it: it is not an access token.
    let (id_header, id_claims) = parts(id);
    assert_eq!(
        (id_header["alg"].as_str(), id_claims["typ"].as_str()),
        (Some("RS256"), Some("ID"))
    );
    assert_eq!(id_claims["aud"], SERVICE);
    let by_client_id = oidc(&issuer, SERVICE).await;
    let err = by_client_id.authenticate(id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongTokenType, "{err}");

    // The refresh token: typ "Refresh", aud = the issuer, signed HS512 with the realm's secret HMAC key
    // (a kid that is not in the JWKS). Even with the issuer as audience it never validates; it is refused
    // before the type check, at the algorithm (an HMAC token under a kid that is none of the issuer's keys).
    let (rt_header, rt_claims) = parts(refresh);
    assert_eq!(
        (rt_header["alg"].as_str(), rt_claims["typ"].as_str()),
        (Some("HS512"), Some("Refresh"))
    );
    assert_eq!(rt_claims["aud"], issuer.as_str());
    let by_issuer = oidc(&issuer, &issuer).await;
    let err = by_issuer.authenticate(refresh).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DisallowedAlgorithm, "{err}");
}

#[tokio::test]
async fn facade_builds_keycloak_from_config_against_real_keycloak() {
    let Some(issuer) = issuer() else { return };
    let config = avb::config::Config::from_iter([
        ("AUTH_MODE", "keycloak"),
        ("OIDC_ISSUER_URL", issuer.as_str()),
        ("OIDC_AUDIENCE", AUDIENCE),
        ("OIDC_CLIENT_ID", SERVICE),
        ("OIDC_CLIENT_SECRET", SERVICE_SECRET),
    ])
    .unwrap();
    let auth = avb::auth::open(&config.auth.backend).await.unwrap();
    assert_eq!(auth.backend(), "keycloak");
    assert!(auth.health().await.is_up());
    let source = avb::auth::token_source(&config.auth.backend)
        .await
        .unwrap()
        .unwrap();
    let p = auth
        .authenticate(&source.token().await.unwrap())
        .await
        .unwrap();
    assert_eq!(p.workspace_id.as_str(), "ws-service");
    assert!(p.has_role("project-member"));
}

#[path = "auth_keycloak/attacks.rs"]
mod attacks;
#[path = "auth_keycloak/introspection.rs"]
mod introspection;
#[path = "support/kid_flood.rs"]
mod kid_flood;
#[path = "auth_keycloak/rotation.rs"]
mod rotation;

#[path = "support/http.rs"]
mod http;
