//! Conformance cases on what a token *is* rather than what it says: only access tokens pass (not ID or
//! refresh tokens), header parameters avb cannot honour (`crit`, `b64`) are refused, and the claims object
//! must be one unambiguous JSON object (no repeated names, nothing after it, no `iat` from the future).

use super::{Forge, Harness, expect_rejected, expect_token_rejected, now, skip};
use crate::ErrorKind;
use serde_json::{Value, json};

fn validates(h: &dyn Harness) -> bool {
    h.authenticator().capabilities().rejects_invalid_tokens
}

/// A Keycloak ID token (`typ: "ID"`; its `aud` is the client id, which is also a documented
/// `OIDC_AUDIENCE`) is [`ErrorKind::WrongTokenType`], not a bearer token.
pub async fn rejects_id_token(h: &dyn Harness) {
    let (case, kind) = ("rejects_id_token", ErrorKind::WrongTokenType);
    expect_rejected(h, case, json!({"typ": "ID"}), Forge::Valid, kind).await;
}

/// A Keycloak refresh or offline token (`typ: "Refresh"`/`"Offline"`) is [`ErrorKind::WrongTokenType`].
pub async fn rejects_refresh_token(h: &dyn Harness) {
    let kind = ErrorKind::WrongTokenType;
    for typ in ["Refresh", "Offline", "Logout", "bearer-ish"] {
        let case = format!("rejects_refresh_token (typ {typ:?})");
        expect_rejected(h, &case, json!({ "typ": typ }), Forge::Valid, kind).await;
    }
}

/// A token with neither access-token marker (no `typ` claim, header `typ: "JWT"`) is
/// [`ErrorKind::WrongTokenType`]: an unmarked JWT may be an ID token of a provider that does not say so.
pub async fn rejects_unmarked_token(h: &dyn Harness) {
    let (case, kind) = ("rejects_unmarked_token", ErrorKind::WrongTokenType);
    expect_rejected(h, case, json!({"typ": null}), Forge::Valid, kind).await;
}

/// An RFC 9068 access token (header `typ: at+jwt`, no `typ` claim) is accepted; the same header on a token
/// whose claims say it is an ID token, or another header `typ`, is [`ErrorKind::WrongTokenType`].
pub async fn accepts_rfc9068_access_token(h: &dyn Harness) {
    let case = "accepts_rfc9068_access_token";
    if !validates(h) {
        return skip(case, "rejects_invalid_tokens");
    }
    let Some(unmarked) = h.claims(json!({"typ": null})).await else {
        return skip(case, "a harness that can sign raw payloads");
    };
    let payload = Value::Object(unmarked).to_string();
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let Some(token) = h.sign_raw(json!({ "typ": typ }), payload.clone()).await else {
            return skip(case, "a harness that can sign raw payloads");
        };
        if let Err(e) = h.authenticator().authenticate(&token).await {
            panic!("{case}: header typ {typ:?} refused: {e}");
        }
    }
    let kind = ErrorKind::WrongTokenType;
    if let Some(id) = h.claims(json!({"typ": "ID"})).await {
        let token = h
            .sign_raw(json!({"typ": "at+jwt"}), Value::Object(id).to_string())
            .await;
        expect_token_rejected(h, &format!("{case} (at+jwt but typ ID)"), token, kind).await;
    }
    if let Some(bearer) = h.claims(json!({})).await {
        let payload = Value::Object(bearer).to_string();
        for typ in ["logout+jwt", "id_token+jwt", "secevent+jwt"] {
            let token = h.sign_raw(json!({ "typ": typ }), payload.clone()).await;
            let case = format!("{case} (header typ {typ:?})");
            expect_token_rejected(h, &case, token, kind).await;
        }
    }
}

/// A `crit` header (extensions that must be understood, RFC 7515 §4.1.11) is
/// [`ErrorKind::UnsupportedHeader`]: avb implements none, so it must not ignore them.
pub async fn rejects_crit_header(h: &dyn Harness) {
    let case = "rejects_crit_header";
    if !validates(h) {
        return skip(case, "rejects_invalid_tokens");
    }
    let Some(claims) = h.claims(json!({})).await else {
        return skip(case, "a harness that can sign raw payloads");
    };
    let payload = Value::Object(claims).to_string();
    for header in [
        json!({"crit": ["exp"], "exp": now() + 60}),
        json!({"crit": ["urn:example:must-check"], "urn:example:must-check": true}),
        json!({"crit": []}),
        json!({"crit": "exp"}),
    ] {
        let token = h.sign_raw(header.clone(), payload.clone()).await;
        let case = format!("{case} ({header})");
        expect_token_rejected(h, &case, token, ErrorKind::UnsupportedHeader).await;
    }
}

/// `b64: false` (RFC 7797 unencoded payload) is [`ErrorKind::UnsupportedHeader`].
pub async fn rejects_unencoded_payload(h: &dyn Harness) {
    let case = "rejects_unencoded_payload";
    if !validates(h) {
        return skip(case, "rejects_invalid_tokens");
    }
    let Some(claims) = h.claims(json!({})).await else {
        return skip(case, "a harness that can sign raw payloads");
    };
    let payload = Value::Object(claims).to_string();
    for header in [
        json!({"b64": false}),
        json!({"b64": false, "crit": ["b64"]}),
        json!({"b64": "false"}),
    ] {
        let token = h.sign_raw(header.clone(), payload.clone()).await;
        let case = format!("{case} ({header})");
        expect_token_rejected(h, &case, token, ErrorKind::UnsupportedHeader).await;
    }
}

/// A claim name repeated in the claims object (parsers differ on which value wins: the last one did here)
/// is [`ErrorKind::DuplicateClaim`] — for claims the validator reads and for those it skips.
pub async fn rejects_duplicate_claims(h: &dyn Harness) {
    let case = "rejects_duplicate_claims";
    if !validates(h) {
        return skip(case, "rejects_invalid_tokens");
    }
    let Some(claims) = h.claims(json!({})).await else {
        return skip(case, "a harness that can sign raw payloads");
    };
    let text = Value::Object(claims).to_string();
    let body = text.strip_suffix('}').unwrap_or(&text);
    for (name, value) in [
        ("sub", json!("intruder")),
        ("workspace_id", json!("ws-other")),
        ("exp", json!(now() + 86_400)),
        ("typ", json!("Bearer")),
        ("realm_access", json!({"roles": ["owner"]})),
    ] {
        let payload = format!("{body},{}:{value}}}", json!(name));
        let token = h.sign_raw(json!({}), payload).await;
        let case = format!("{case} ({name})");
        expect_token_rejected(h, &case, token, ErrorKind::DuplicateClaim).await;
    }
    // A client named twice inside resource_access (the roles of the last one used to win).
    if let Some(claims) = h.claims(json!({"resource_access": null})).await {
        let text = Value::Object(claims).to_string();
        let body = text.strip_suffix('}').unwrap_or(&text);
        let payload = format!(
            r#"{body},"resource_access":{{"c":{{"roles":[]}},"c":{{"roles":["owner"]}}}}}}"#
        );
        let token = h.sign_raw(json!({}), payload).await;
        let case = format!("{case} (resource_access.c)");
        expect_token_rejected(h, &case, token, ErrorKind::DuplicateClaim).await;
    }
    // A claim the validator never reads, twice.
    let payload = format!(r#"{body},"x-unread":1,"x-unread":2}}"#);
    let token = h.sign_raw(json!({}), payload).await;
    let case = format!("{case} (x-unread)");
    expect_token_rejected(h, &case, token, ErrorKind::DuplicateClaim).await;
}

/// Text after the claims object is [`ErrorKind::Malformed`] (whitespace aside, which JSON allows).
pub async fn rejects_trailing_data(h: &dyn Harness) {
    let case = "rejects_trailing_data";
    if !validates(h) {
        return skip(case, "rejects_invalid_tokens");
    }
    let Some(claims) = h.claims(json!({})).await else {
        return skip(case, "a harness that can sign raw payloads");
    };
    let text = Value::Object(claims).to_string();
    for tail in [" x", "{}", "\n{\"sub\":\"intruder\"}", ",", "]", "\u{0}"] {
        let token = h.sign_raw(json!({}), format!("{text}{tail}")).await;
        let case = format!("{case} ({tail:?})");
        expect_token_rejected(h, &case, token, ErrorKind::Malformed).await;
    }
    // JSON's own trailing whitespace is not "trailing data".
    if let Some(token) = h.sign_raw(json!({}), format!("{text} \n")).await
        && let Err(e) = h.authenticator().authenticate(&token).await
    {
        panic!("{case}: trailing whitespace refused: {e}");
    }
}

/// `iat` an hour ahead (beyond the leeway) is [`ErrorKind::IssuedInFuture`].
pub async fn rejects_future_iat(h: &dyn Harness) {
    let claims = json!({"iat": now() + 3600});
    let (case, kind) = ("rejects_future_iat", ErrorKind::IssuedInFuture);
    expect_rejected(h, case, claims, Forge::Valid, kind).await;
}
