//! The attack tests of `tests/auth.rs` that need no forged claims, on real Keycloak tokens: a flood of
//! unknown `kid`s, warm validations, and any byte of a real token changed or the token cut. Keycloak cannot
//! count JWKS requests, so the authenticator's own fetch counter is the measure.

use super::*;
use avb::auth::clock::ManualClock;
use proptest::prelude::*;
use std::sync::Arc;

#[tokio::test]
async fn keycloak_flood_of_random_kids_fetches_the_jwks_at_most_once_per_interval() {
    let Some(issuer) = issuer() else { return };
    let interval = Duration::from_secs(2);
    let clock = ManualClock::new();
    let auth = Arc::new(
        OidcBuilder::new(&issuer)
            .with_audience(AUDIENCE)
            .with_min_refresh_interval(interval)
            .with_clock(clock.clone())
            .build()
            .await
            .unwrap(),
    );
    let valid = service_token(&issuer).await;
    // The clock stands still during each flood, so each one is inside a single interval.
    crate::kid_flood::flood_unknown_kids(&auth, &valid).await;
    assert_eq!(
        auth.keys().fetches(),
        1,
        "inside the interval since the startup fetch: no fetch"
    );
    for round in 1..=2 {
        clock.advance(interval);
        let before = auth.keys().fetches();
        crate::kid_flood::flood_unknown_kids(&auth, &valid).await;
        assert_eq!(
            auth.keys().fetches() - before,
            1,
            "round {round}: 1000 random kids after the interval: exactly one fetch"
        );
    }
    // The real token still validates.
    auth.authenticate(&valid).await.unwrap();
}

#[tokio::test]
async fn keycloak_warm_validations_fetch_nothing() {
    let Some(issuer) = issuer() else { return };
    let auth = oidc(&issuer, AUDIENCE).await;
    let token = service_token(&issuer).await;
    for _ in 0..500 {
        auth.authenticate(&token).await.unwrap();
    }
    assert_eq!(auth.keys().fetches(), 1, "only the startup fetch");
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

/// One validator and one real Keycloak token for every case; `None` = no Keycloak (skip, reason printed).
async fn shared_token() -> Option<(Arc<Oidc>, String)> {
    static SHARED: tokio::sync::OnceCell<Option<(Arc<Oidc>, String)>> =
        tokio::sync::OnceCell::const_new();
    SHARED
        .get_or_init(|| async {
            let issuer = issuer()?;
            let token = service_token(&issuer).await;
            let auth = OidcBuilder::new(&issuer)
                .with_audience(AUDIENCE)
                .with_min_refresh_interval(Duration::from_secs(60))
                .build()
                .await
                .unwrap();
            Some((Arc::new(auth), token))
        })
        .await
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A real Keycloak token with any byte replaced or the token cut anywhere is an error.
    #[test]
    fn mutated_keycloak_tokens_are_errors(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let rt = runtime();
        let Some((auth, token)) = rt.block_on(shared_token()) else { return Ok(()) };
        prop_assert!(rt.block_on(auth.authenticate(&token)).is_ok(), "the unmutated token must validate");
        let mut bytes = token.into_bytes();
        let i = pos.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(rt.block_on(auth.authenticate(&mutated)).is_err(), "mutated token accepted");
    }
}
