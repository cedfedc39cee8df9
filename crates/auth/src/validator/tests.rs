//! The validator's own edge cases (the shared ones are in the conformance suite).

use crate::local::{LocalIssuer, Signing};
use crate::{Authenticator, ErrorKind};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn check(issuer: &LocalIssuer, changes: serde_json::Value) -> Result<(), ErrorKind> {
    let mut claims = issuer.claims("u", "ws", Duration::from_secs(300));
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.remove(k);
        } else {
            claims.insert(k.clone(), v.clone());
        }
    }
    let token = issuer.sign(&claims, &Signing::Valid).unwrap();
    issuer
        .authenticate(&token)
        .await
        .map(drop)
        .map_err(|e| e.kind())
}

#[tokio::test]
async fn claim_rules_edge_cases() {
    let i = LocalIssuer::ephemeral().unwrap();
    let t = now();
    // aud as an array containing ours; float dates; expiry within the 30 s leeway.
    assert_eq!(
        check(&i, json!({"aud": ["x", crate::local::AUDIENCE]})).await,
        Ok(())
    );
    assert_eq!(
        check(&i, json!({"exp": t + 60.5, "nbf": t - 0.5})).await,
        Ok(())
    );
    assert_eq!(check(&i, json!({"exp": t - 10.0})).await, Ok(()));
    assert_eq!(check(&i, json!({"nbf": t + 10.0})).await, Ok(()));
    // Just beyond the leeway.
    assert_eq!(
        check(&i, json!({"exp": t - 40.0})).await,
        Err(ErrorKind::Expired)
    );
    assert_eq!(
        check(&i, json!({"nbf": t + 40.0})).await,
        Err(ErrorKind::NotYetValid)
    );
    // Missing or mistyped required claims.
    assert_eq!(
        check(&i, json!({"exp": null})).await,
        Err(ErrorKind::MissingClaim)
    );
    assert_eq!(
        check(&i, json!({"sub": null})).await,
        Err(ErrorKind::MissingClaim)
    );
    assert_eq!(
        check(&i, json!({"iss": null})).await,
        Err(ErrorKind::WrongIssuer)
    );
    assert_eq!(
        check(&i, json!({"aud": null})).await,
        Err(ErrorKind::WrongAudience)
    );
    assert_eq!(
        check(&i, json!({"aud": []})).await,
        Err(ErrorKind::WrongAudience)
    );
    assert_eq!(
        check(&i, json!({"exp": "tomorrow"})).await,
        Err(ErrorKind::Malformed)
    );
    assert_eq!(
        check(&i, json!({"sub": 42})).await,
        Err(ErrorKind::Malformed)
    );
    assert_eq!(
        check(&i, json!({"workspace_id": 7})).await,
        Err(ErrorKind::Malformed)
    );
    assert_eq!(
        check(&i, json!({"workspace_id": "Bad Space"})).await,
        Err(ErrorKind::InvalidWorkspace)
    );
    assert_eq!(
        check(&i, json!({"realm_access": {"roles": "admin"}})).await,
        Err(ErrorKind::Malformed)
    );
}

#[test]
fn only_access_token_markers_pass_and_no_marker_may_contradict() {
    use super::check_token_type as t;
    let ok = |h, c| t(h, c).is_ok();
    assert!(ok(Some("at+jwt"), None));
    assert!(ok(Some("application/AT+JWT"), None));
    assert!(ok(Some("JWT"), Some("Bearer")));
    assert!(ok(None, Some("bearer")));
    assert!(ok(Some("at+jwt"), Some("Bearer")));
    assert!(!ok(Some("JWT"), None), "unmarked");
    assert!(!ok(None, None), "unmarked");
    assert!(!ok(Some("JWT"), Some("ID")));
    assert!(!ok(Some("at+jwt"), Some("Refresh")));
    assert!(!ok(Some("logout+jwt"), Some("Bearer")));
    assert!(!ok(Some(""), Some("Bearer")));
    assert!(!ok(Some("application/"), Some("Bearer")));
    assert!(
        !ok(Some("applicatio\u{e9}/at+jwt"), None),
        "multi-byte text at the prefix boundary"
    );
    assert!(ok(Some("Application/JWT"), Some("Bearer")));
    let long = "x".repeat(1000);
    let err = t(None, Some(&long)).unwrap_err().to_string();
    assert!(err.len() < 100, "{err}");
    let err = t(Some("JWT"), Some("ID")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongTokenType);
    assert!(err.to_string().contains("\"ID\""), "{err}");
}

#[tokio::test]
async fn iat_within_the_leeway_passes_beyond_it_is_refused() {
    let i = LocalIssuer::ephemeral().unwrap();
    let t = now();
    assert_eq!(check(&i, json!({"iat": t + 10.0})).await, Ok(()));
    assert_eq!(check(&i, json!({"iat": null})).await, Ok(()));
    assert_eq!(
        check(&i, json!({"iat": t + 40.0})).await,
        Err(ErrorKind::IssuedInFuture)
    );
    assert_eq!(
        check(&i, json!({"iat": "now"})).await,
        Err(ErrorKind::Malformed)
    );
}

#[tokio::test]
async fn client_roles_count_only_for_the_configured_client() {
    let i = LocalIssuer::ephemeral().unwrap();
    let mut claims = i.claims("u", "ws", Duration::from_secs(300));
    claims.insert(
        "resource_access".into(),
        json!({"avb": {"roles": ["workspace-admin"]}, "other": {"roles": ["owner"]}}),
    );
    let token = i.sign(&claims, &Signing::Valid).unwrap();
    let p = i.authenticate(&token).await.unwrap();
    assert!(p.has_role("workspace-admin") && p.has_role("viewer"));
    assert!(!p.has_role("owner"));
}
