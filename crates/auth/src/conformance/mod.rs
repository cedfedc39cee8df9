//! The Auth port's shared conformance suite (feature `conformance`): every backend runs the same cases
//! through a [`Harness`], and each case is gated on [`Capabilities`](crate::Capabilities), never on a
//! backend's name. A case a backend cannot run prints `SKIPPED <case>: backend lacks <capability>`.
//!
//! ```no_run
//! # async fn f(h: &dyn avb_auth::conformance::Harness) {
//! avb_auth::conformance::run_all(h).await;   // panics on the first failing case
//! # }
//! ```

mod shape;

pub use shape::{
    accepts_rfc9068_access_token, rejects_crit_header, rejects_duplicate_claims,
    rejects_future_iat, rejects_id_token, rejects_refresh_token, rejects_trailing_data,
    rejects_unencoded_payload, rejects_unmarked_token,
};

use crate::local::{LocalIssuer, Signing};
use crate::{Authenticator, ErrorKind};
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a harness signs a test token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forge {
    /// Properly, with the issuer's current key.
    Valid,
    /// With a key the issuer never published, under the current key's `kid`.
    RogueKey,
    /// HS256 keyed with the issuer's RSA public key, under that key's `kid`.
    Hs256WithPublicKey,
    /// `alg: none`, no signature.
    AlgNone,
    /// With the current key but a `kid` the issuer never published.
    UnknownKid,
}

/// What a backend's test provides to the suite.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The backend under test.
    fn authenticator(&self) -> &dyn Authenticator;

    /// A token whose claims are the issuer's valid defaults (`iss`, `aud`, `exp` in 5 min, `sub`,
    /// `workspace_id`, and an access-token marker: Keycloak's `typ: "Bearer"`) overridden by `claims` (a `null` value removes the claim), signed as `forge` says.
    /// `None` when this harness cannot make such a token (the case is then skipped).
    async fn token(&self, claims: Value, forge: Forge) -> Option<String>;

    /// The valid default claims of [`Harness::token`] overridden by `claims`, as an object (for cases that
    /// write the payload text themselves). `None` when the harness cannot tell (those cases are skipped).
    async fn claims(&self, claims: Value) -> Option<Map<String, Value>> {
        let _ = claims;
        None
    }

    /// `payload` signed verbatim (not re-serialised) with the issuer's current key, under the issuer's usual
    /// header with `header` merged in (a `null` value removes a parameter). `None` when the harness cannot
    /// (those cases are skipped).
    async fn sign_raw(&self, header: Value, payload: String) -> Option<String> {
        let _ = (header, payload);
        None
    }
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn skip(case: &str, capability: &str) {
    eprintln!("SKIPPED {case}: backend lacks {capability}");
}

async fn expect_rejected(
    h: &dyn Harness,
    case: &str,
    claims: Value,
    forge: Forge,
    kind: ErrorKind,
) {
    if !h.authenticator().capabilities().rejects_invalid_tokens {
        return skip(case, "rejects_invalid_tokens");
    }
    let token = h.token(claims, forge).await;
    expect_token_rejected(h, case, token, kind).await;
}

/// `token` (`None`: the harness could not make it, the case is skipped) is refused with `kind`.
pub(crate) async fn expect_token_rejected(
    h: &dyn Harness,
    case: &str,
    token: Option<String>,
    kind: ErrorKind,
) {
    let Some(token) = token else {
        return skip(case, "a harness that can forge this token");
    };
    match h.authenticator().authenticate(&token).await {
        Ok(p) => panic!("{case}: token accepted as {p:?}, expected {kind}"),
        Err(e) => assert_eq!(e.kind(), kind, "{case}: wrong rejection: {e}"),
    }
}

/// Every backend accepts a properly signed token; a backend that validates maps its claims exactly.
pub async fn valid_token_gives_principal(h: &dyn Harness) {
    let claims = json!({"sub": "conf-user", "workspace_id": "ws-conf",
        "realm_access": {"roles": ["analyst", "viewer"]}, "scope": "read write"});
    let Some(token) = h.token(claims, Forge::Valid).await else {
        return skip(
            "valid_token_gives_principal",
            "a harness that can mint tokens",
        );
    };
    let p = match h.authenticator().authenticate(&token).await {
        Ok(p) => p,
        Err(e) => panic!("valid_token_gives_principal: rejected: {e}"),
    };
    if !h.authenticator().capabilities().rejects_invalid_tokens {
        return skip(
            "valid_token_gives_principal (claim mapping)",
            "rejects_invalid_tokens",
        );
    }
    assert_eq!(p.subject, "conf-user");
    assert_eq!(p.workspace_id.as_str(), "ws-conf");
    assert!(
        p.has_role("analyst") && p.has_role("viewer"),
        "{:?}",
        p.roles
    );
    assert!(
        p.has_scope("read") && p.has_scope("write"),
        "{:?}",
        p.scopes
    );
    let exp = p.expires_at.unwrap_or(UNIX_EPOCH);
    assert!(
        exp > SystemTime::now(),
        "expires_at {exp:?} is not in the future"
    );
}

/// `exp` an hour ago is [`ErrorKind::Expired`].
pub async fn rejects_expired(h: &dyn Harness) {
    let t = now();
    let claims = json!({"iat": t - 7200, "nbf": t - 7200, "exp": t - 3600});
    expect_rejected(
        h,
        "rejects_expired",
        claims,
        Forge::Valid,
        ErrorKind::Expired,
    )
    .await;
}

/// `nbf` an hour ahead is [`ErrorKind::NotYetValid`].
pub async fn rejects_not_yet_valid(h: &dyn Harness) {
    let t = now();
    let claims = json!({"nbf": t + 3600, "exp": t + 7200});
    let kind = ErrorKind::NotYetValid;
    expect_rejected(h, "rejects_not_yet_valid", claims, Forge::Valid, kind).await;
}

/// Another issuer's `iss` is [`ErrorKind::WrongIssuer`].
pub async fn rejects_wrong_issuer(h: &dyn Harness) {
    let claims = json!({"iss": "https://evil.example/realms/avb"});
    let kind = ErrorKind::WrongIssuer;
    expect_rejected(h, "rejects_wrong_issuer", claims, Forge::Valid, kind).await;
}

/// Another service's `aud` is [`ErrorKind::WrongAudience`].
pub async fn rejects_wrong_audience(h: &dyn Harness) {
    let claims = json!({"aud": "some-other-service"});
    let kind = ErrorKind::WrongAudience;
    expect_rejected(h, "rejects_wrong_audience", claims, Forge::Valid, kind).await;
}

/// `alg: none` is [`ErrorKind::DisallowedAlgorithm`].
pub async fn rejects_alg_none(h: &dyn Harness) {
    let kind = ErrorKind::DisallowedAlgorithm;
    expect_rejected(h, "rejects_alg_none", json!({}), Forge::AlgNone, kind).await;
}

/// HS256 keyed with the RSA public key is [`ErrorKind::AlgorithmMismatch`].
pub async fn rejects_hs256_with_public_key(h: &dyn Harness) {
    let (case, kind) = (
        "rejects_hs256_with_public_key",
        ErrorKind::AlgorithmMismatch,
    );
    expect_rejected(h, case, json!({}), Forge::Hs256WithPublicKey, kind).await;
}

/// A `kid` the issuer never published is [`ErrorKind::UnknownKey`].
pub async fn rejects_unknown_kid(h: &dyn Harness) {
    let kind = ErrorKind::UnknownKey;
    expect_rejected(h, "rejects_unknown_kid", json!({}), Forge::UnknownKid, kind).await;
}

/// A valid `kid` with a signature from another key is [`ErrorKind::BadSignature`].
pub async fn rejects_bad_signature(h: &dyn Harness) {
    let kind = ErrorKind::BadSignature;
    expect_rejected(h, "rejects_bad_signature", json!({}), Forge::RogueKey, kind).await;
}

/// A token without the workspace claim is [`ErrorKind::MissingWorkspace`].
pub async fn rejects_missing_workspace(h: &dyn Harness) {
    let kind = ErrorKind::MissingWorkspace;
    let case = "rejects_missing_workspace";
    expect_rejected(h, case, json!({"workspace_id": null}), Forge::Valid, kind).await;
}

/// A token whose signed payload was altered afterwards is [`ErrorKind::BadSignature`].
pub async fn rejects_tampered_payload(h: &dyn Harness) {
    let case = "rejects_tampered_payload";
    if !h.authenticator().capabilities().rejects_invalid_tokens {
        return skip(case, "rejects_invalid_tokens");
    }
    let Some(token) = h
        .token(json!({"realm_access": {"roles": ["viewer"]}}), Forge::Valid)
        .await
    else {
        return skip(case, "a harness that can mint tokens");
    };
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{case}: harness token is not a JWS");
    let forged = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = engine.decode(parts[1]).unwrap_or_default();
        let mut claims: Map<String, Value> = serde_json::from_slice(&payload).unwrap_or_default();
        claims.insert("realm_access".into(), json!({"roles": ["owner"]}));
        let payload = engine.encode(Value::Object(claims).to_string());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    match h.authenticator().authenticate(&forged).await {
        Ok(p) => panic!("{case}: tampered token accepted as {p:?}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::BadSignature, "{case}: {e}"),
    }
}

/// Garbage is [`ErrorKind::Malformed`] (or, for a well-formed header, a key/algorithm error), never a
/// panic and never a principal.
pub async fn rejects_garbage(h: &dyn Harness) {
    let case = "rejects_garbage";
    if !h.authenticator().capabilities().rejects_invalid_tokens {
        return skip(case, "rejects_invalid_tokens");
    }
    let long = "a".repeat(100_000);
    let inputs = [
        "",
        ".",
        "..",
        "a.b.c",
        "a.b.c.d",
        "eyJhbGciOiJSUzI1NiJ9",
        "eyJhbGciOiJSUzI1NiJ9..",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "eyJ.eyJ.sig",
        "bm90IGpzb24.e30.c2ln",
        "Bearer abc",
        "\u{0}\u{1}\u{2}",
        "ü.ö.ä",
        long.as_str(),
    ];
    for input in inputs {
        if let Ok(p) = h.authenticator().authenticate(input).await {
            panic!("{case}: {input:.40?} accepted as {p:?}");
        }
    }
    if let Some(token) = h.token(json!({}), Forge::Valid).await {
        for cut in [1, token.len() / 3, token.len() / 2, token.len() - 1] {
            let truncated = token.get(..cut).unwrap_or_default();
            if let Ok(p) = h.authenticator().authenticate(truncated).await {
                panic!("{case}: token truncated at {cut} accepted as {p:?}");
            }
        }
    }
}

/// Runs every case, in order.
pub async fn run_all(h: &dyn Harness) {
    valid_token_gives_principal(h).await;
    rejects_expired(h).await;
    rejects_not_yet_valid(h).await;
    rejects_wrong_issuer(h).await;
    rejects_wrong_audience(h).await;
    rejects_alg_none(h).await;
    rejects_hs256_with_public_key(h).await;
    rejects_unknown_kid(h).await;
    rejects_bad_signature(h).await;
    rejects_missing_workspace(h).await;
    rejects_tampered_payload(h).await;
    rejects_garbage(h).await;
    rejects_id_token(h).await;
    rejects_refresh_token(h).await;
    rejects_unmarked_token(h).await;
    accepts_rfc9068_access_token(h).await;
    rejects_crit_header(h).await;
    rejects_unencoded_payload(h).await;
    rejects_duplicate_claims(h).await;
    rejects_trailing_data(h).await;
    rejects_future_iat(h).await;
}

/// The harness for the local issuer: forges with the dev key, a rogue key, or none.
#[derive(Debug)]
pub struct LocalHarness(pub LocalIssuer);

#[async_trait]
impl Harness for LocalHarness {
    fn authenticator(&self) -> &dyn Authenticator {
        &self.0
    }

    async fn token(&self, overrides: Value, forge: Forge) -> Option<String> {
        let claims = self.claims(overrides).await?;
        let signing = match forge {
            Forge::Valid => Signing::Valid,
            Forge::RogueKey => Signing::Rogue,
            Forge::Hs256WithPublicKey => Signing::Hs256WithPublicKey,
            Forge::AlgNone => Signing::None,
            Forge::UnknownKid => Signing::Kid("never-published".into()),
        };
        self.0.sign(&claims, &signing).ok()
    }

    async fn claims(&self, overrides: Value) -> Option<Map<String, Value>> {
        let mut claims = self.0.claims("user-1", "ws-test", Duration::from_secs(300));
        merge(&mut claims, overrides);
        Some(claims)
    }

    async fn sign_raw(&self, header: Value, payload: String) -> Option<String> {
        let Value::Object(header) = header else {
            return None;
        };
        self.0.sign_raw(&header, payload.as_bytes()).ok()
    }
}

/// `overrides` merged into `claims`; a `null` value removes the claim.
pub(crate) fn merge(claims: &mut Map<String, Value>, overrides: Value) {
    if let Value::Object(overrides) = overrides {
        for (k, v) in overrides {
            if v.is_null() {
                claims.remove(&k);
            } else {
                claims.insert(k, v);
            }
        }
    }
}

/// The harness for trust-all: it cannot mint anything meaningful, so every token is an arbitrary string.
#[derive(Debug)]
pub struct TrustAllHarness(pub crate::none::TrustAll);

#[async_trait]
impl Harness for TrustAllHarness {
    fn authenticator(&self) -> &dyn Authenticator {
        &self.0
    }

    async fn token(&self, _claims: Value, _forge: Forge) -> Option<String> {
        Some("any-token".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_issuer_passes_the_suite() {
        run_all(&LocalHarness(LocalIssuer::ephemeral().unwrap())).await;
    }

    #[tokio::test]
    async fn trust_all_passes_what_applies() {
        let ws = avb_core::WorkspaceId::new("sandbox").unwrap();
        run_all(&TrustAllHarness(crate::none::TrustAll::new(
            ws,
            "dev",
            ["owner"],
        )))
        .await;
    }
}
