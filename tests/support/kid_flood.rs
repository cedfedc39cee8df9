//! The unknown-`kid` flood shared by the oidc-provider (`tests/auth.rs`) and Keycloak
//! (`tests/auth_keycloak/attacks.rs`) attack tests: each counts the issuer's key-set fetches its own way.

use avb::auth::oidc::Oidc;
use avb::auth::{Authenticator, ErrorKind};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;

/// Sends 1,000 concurrent validations of `valid`'s claims and signature under a fresh random `kid` each
/// and asserts every one is [`ErrorKind::UnknownKey`]. The callers build `auth` on a `ManualClock`, so
/// the whole flood falls inside one refresh interval: at most one key-set fetch.
pub async fn flood_unknown_kids(auth: &Arc<Oidc>, valid: &str) {
    let (_, rest) = valid.split_once('.').unwrap();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let auth = auth.clone();
        let header = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"RS256","typ":"JWT","kid":"flood-{i}"}}"#
        ));
        let token = format!("{header}.{rest}");
        tasks.push(tokio::spawn(async move { auth.authenticate(&token).await }));
    }
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey, "{err}");
    }
}
