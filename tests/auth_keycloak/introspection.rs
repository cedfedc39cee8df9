//! Token introspection (RFC 7662, opt-in) against real Keycloak: offline validation keeps a token valid
//! until `exp` after a logout or a disabled user; with introspection on, such a token is refused
//! ([`ErrorKind::Inactive`]). Keycloak 26 answers `active: false` to a client that is not in the token's
//! audience ("Client … is not in the token audience" in its log), so the API client `avb-api` introspects. Each test uses its own throwaway user of realm `avb`, so disabling it or
//! ending its session disturbs no other test.

use super::rotation::{Admin, unique};
use super::*;
use avb::auth::clock::ManualClock;
use avb::auth::oidc::Introspect;

/// The API client's secret (loopback test credential from the realm fixture).
const API_SECRET: &str = "avb-api-secret";

/// A new enabled user of realm `avb` (workspace `ws-intro`): `(user id, token endpoint answer)`.
async fn throwaway_user(admin: &Admin, issuer: &str) -> (String, Value) {
    let name = unique("intro");
    let password = "intro-loopback-test";
    let user = json!({
        "username": name, "enabled": true, "email": format!("{name}@avb.test"), "emailVerified": true,
        "firstName": "Intro", "lastName": "Spection", "attributes": {"workspace_id": ["ws-intro"]},
        "credentials": [{"type": "password", "value": password, "temporary": false}]
    });
    admin
        .call(reqwest::Method::POST, "/avb/users", Some(user))
        .await;
    let found = admin
        .call(
            reqwest::Method::GET,
            &format!("/avb/users?exact=true&username={name}"),
            None,
        )
        .await;
    let id = found[0]["id"].as_str().unwrap().to_string();
    let response = crate::http::client()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", SERVICE),
            ("client_secret", SERVICE_SECRET),
            ("username", name.as_str()),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    (id, response.json().await.unwrap())
}

fn introspecting_builder(issuer: &str, when: Introspect, ttl: Duration) -> OidcBuilder {
    OidcBuilder::new(issuer)
        .with_audience(AUDIENCE)
        .with_client_id(SERVICE)
        .with_introspection(AUDIENCE, Secret::new(API_SECRET), when)
        .with_introspection_cache(ttl)
}

async fn introspecting(issuer: &str, when: Introspect, ttl: Duration) -> Oidc {
    introspecting_builder(issuer, when, ttl)
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn introspection_refuses_a_disabled_users_token_that_offline_validation_still_accepts() {
    let Some(issuer) = issuer() else { return };
    let Some(admin) = Admin::login(&root(&issuer)).await else {
        return;
    };
    let (id, answer) = throwaway_user(&admin, &issuer).await;
    let token = answer["access_token"].as_str().unwrap();
    let offline = oidc(&issuer, AUDIENCE).await;
    // No cache: every check asks Keycloak, so the answer after the change is Keycloak's, not a cached one.
    let always = introspecting(&issuer, Introspect::EveryToken, Duration::ZERO).await;
    let per_route = introspecting(&issuer, Introspect::OnRequest, Duration::ZERO).await;
    assert_eq!(
        always
            .authenticate(token)
            .await
            .unwrap()
            .workspace_id
            .as_str(),
        "ws-intro"
    );
    per_route.authenticate_introspected(token).await.unwrap();
    assert_eq!(always.introspection().unwrap().requests(), 1);

    let path = format!("/avb/users/{id}");
    let mut user = admin.call(reqwest::Method::GET, &path, None).await;
    user["enabled"] = json!(false);
    admin.call(reqwest::Method::PUT, &path, Some(user)).await;

    offline.authenticate(token).await.unwrap(); // the gap introspection closes
    let hits = always.token_cache().unwrap().hits();
    let err = always.authenticate(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Inactive, "{err}");
    // The validated-token cache answered the offline part, and introspection still ran and refused.
    assert_eq!(always.token_cache().unwrap().hits(), hits + 1);
    assert_eq!(always.introspection().unwrap().requests(), 2);
    per_route.authenticate(token).await.unwrap(); // routes that do not ask stay offline
    let err = per_route
        .authenticate_introspected(token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Inactive, "{err}");
    assert_eq!(per_route.introspection().unwrap().requests(), 2);
    admin.call(reqwest::Method::DELETE, &path, None).await;
}

#[tokio::test]
async fn introspection_refuses_a_token_whose_session_ended_and_caches_answers() {
    let Some(issuer) = issuer() else { return };
    let Some(admin) = Admin::login(&root(&issuer)).await else {
        return;
    };
    let (id, answer) = throwaway_user(&admin, &issuer).await;
    let token = answer["access_token"].as_str().unwrap();
    // The cache period runs on `clock`: the test moves past it instead of waiting.
    let clock = ManualClock::new();
    let ttl = Duration::from_secs(600);
    let cached = introspecting_builder(&issuer, Introspect::EveryToken, ttl)
        .with_clock(clock.clone())
        .build()
        .await
        .unwrap();
    let fresh = introspecting(&issuer, Introspect::EveryToken, Duration::ZERO).await;
    for _ in 0..3 {
        cached.authenticate(token).await.unwrap();
    }
    assert_eq!(
        cached.introspection().unwrap().requests(),
        1,
        "answers are cached"
    );
    fresh.authenticate(token).await.unwrap();

    // Logout at the end-session endpoint ends the session the access token belongs to.
    let response = crate::http::client()
        .post(format!("{issuer}/protocol/openid-connect/logout"))
        .form(&[
            ("client_id", SERVICE),
            ("client_secret", SERVICE_SECRET),
            ("refresh_token", answer["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let err = fresh.authenticate(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Inactive, "{err}");
    // The cached answer is reused for its period (the price of the cache)…
    cached.authenticate(token).await.unwrap();
    assert_eq!(cached.introspection().unwrap().requests(), 1);
    // …and once the period has passed, the issuer is asked again and the ended session shows.
    clock.advance(ttl);
    let err = cached.authenticate(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Inactive, "{err}");
    assert_eq!(cached.introspection().unwrap().requests(), 2);
    // Wrong client credentials for the endpoint are a configuration error, and the secret is not shown.
    let wrong = OidcBuilder::new(&issuer)
        .with_audience(AUDIENCE)
        .with_introspection(
            SERVICE,
            Secret::new("wrong-introspection-secret"),
            Introspect::EveryToken,
        )
        .build()
        .await
        .unwrap();
    let err = wrong.authenticate(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(
        !err.to_string().contains("wrong-introspection-secret"),
        "{err}"
    );
    admin
        .call(reqwest::Method::DELETE, &format!("/avb/users/{id}"), None)
        .await;
}

#[tokio::test]
async fn facade_introspection_settings_reach_keycloak() {
    let Some(issuer) = issuer() else { return };
    let Some(admin) = Admin::login(&root(&issuer)).await else {
        return;
    };
    let (id, answer) = throwaway_user(&admin, &issuer).await;
    let token = answer["access_token"].as_str().unwrap();
    let build = |mode: &'static str| {
        let issuer = issuer.clone();
        async move {
            let config = avb::config::Config::from_iter([
                ("AUTH_MODE", "keycloak"),
                ("OIDC_ISSUER_URL", issuer.as_str()),
                ("OIDC_AUDIENCE", AUDIENCE),
                ("OIDC_CLIENT_ID", AUDIENCE),
                ("OIDC_CLIENT_SECRET", API_SECRET),
                ("OIDC_INTROSPECTION", mode),
                ("OIDC_INTROSPECTION_CACHE_SECONDS", "0"),
            ])
            .unwrap();
            assert!(
                config
                    .to_string()
                    .contains(&format!("introspection {mode}"))
            );
            avb::auth::open(&config.auth.backend).await.unwrap()
        }
    };
    let (all, per_route, off) = (
        build("all").await,
        build("per_route").await,
        build("off").await,
    );
    all.authenticate(token).await.unwrap();
    per_route.authenticate_introspected(token).await.unwrap();

    let path = format!("/avb/users/{id}");
    let mut user = admin.call(reqwest::Method::GET, &path, None).await;
    user["enabled"] = json!(false);
    admin.call(reqwest::Method::PUT, &path, Some(user)).await;

    assert_eq!(
        all.authenticate(token).await.unwrap_err().kind(),
        ErrorKind::Inactive
    );
    per_route.authenticate(token).await.unwrap();
    let err = per_route
        .authenticate_introspected(token)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Inactive);
    off.authenticate(token).await.unwrap();
    // A route that asks for introspection on a service that has none configured is a loud error.
    let err = off.authenticate_introspected(token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    admin.call(reqwest::Method::DELETE, &path, None).await;
}
