//! `AUTH_WORKSPACE_CLAIM` cannot name a claim that tokens carry for another purpose: such a setting would
//! accept every configuration check and then refuse (or mis-read) every token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::config::Config;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn with_claim(claim: &str) -> Result<Config, String> {
    Config::from_iter([
        ("AUTH_MODE", "keycloak"),
        ("OIDC_ISSUER_URL", "http://127.0.0.1:9/realms/x"),
        ("OIDC_AUDIENCE", "a"),
        ("AUTH_WORKSPACE_CLAIM", claim),
    ])
    .map_err(|e| e.to_string())
}

#[test]
fn reserved_claims_are_refused_naming_variable_value_and_reason() {
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "typ",
        "azp",
        "scope",
        "realm_access",
        "resource_access",
    ] {
        let err = with_claim(claim).unwrap_err();
        assert!(
            err.contains(&format!("AUTH_WORKSPACE_CLAIM={claim:?} is invalid")),
            "{err}"
        );
        assert!(err.contains("reserved"), "{err}");
        assert!(
            err.contains(
                "iss, sub, aud, exp, nbf, iat, jti, typ, azp, scope, realm_access, resource_access"
            ),
            "the error lists what is reserved: {err}"
        );
    }
}

#[test]
fn ordinary_claim_names_are_accepted() {
    for claim in [
        "workspace_id",
        "tenant",
        "org",
        "Sub",
        "https://example.com/workspace",
    ] {
        with_claim(claim).unwrap_or_else(|e| panic!("{claim}: {e}"));
    }
}

/// The class: every claim a real access token carries (the local issuer mints Keycloak's shape) is refused
/// as the workspace claim, except the workspace claim itself. A claim added to minted tokens later is
/// covered here without editing this test.
#[test]
fn every_claim_of_a_real_token_but_the_workspace_is_refused() {
    let issuer = avb::auth::local::LocalIssuer::ephemeral().unwrap();
    let token = issuer
        .mint(
            "alice",
            "ws-1",
            &["viewer"],
            std::time::Duration::from_secs(60),
        )
        .unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(claims.len() >= 10, "{claims:?}");
    for name in claims.keys() {
        let result = with_claim(name);
        if claims[name] == "ws-1" {
            assert!(result.is_ok(), "{name}: {result:?}");
        } else {
            assert!(
                result.is_err(),
                "AUTH_WORKSPACE_CLAIM={name} is accepted, yet tokens carry {name} for another purpose"
            );
        }
    }
}
