//! Conformance cases on what a token *is* rather than what it says: only access tokens pass (not ID or
//! refresh tokens), header parameters avb cannot honour (`crit`, `b64`) are refused, and the claims object
//! must be one unambiguous JSON object (no repeated names, nothing after it, no `iat` from the future).

use super::{
    Forge, Subject, claims_of, expect_rejected, expect_token_rejected, make, now, signed_raw,
};
use crate::ErrorKind;
use avb_conformance::{CaseResult, Checks};
use serde_json::{Value, json};

/// A Keycloak ID token (`typ: "ID"`; its `aud` is the client id, which is also a documented
/// `OIDC_AUDIENCE`) is [`ErrorKind::WrongTokenType`], not a bearer token.
pub async fn rejects_id_token(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::WrongTokenType;
    expect_rejected(s, c, json!({"typ": "ID"}), Forge::Valid, kind).await
}

/// A Keycloak refresh or offline token (`typ: "Refresh"`/`"Offline"`) is [`ErrorKind::WrongTokenType`].
pub async fn rejects_refresh_token(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::WrongTokenType;
    for typ in ["Refresh", "Offline", "Logout", "bearer-ish"] {
        let token = make(s, c, json!({ "typ": typ }), Forge::Valid).await?;
        let what = format!("the token with claim typ {typ:?}");
        expect_token_rejected(s, c, "rejected", &token, kind, &what).await;
    }
    Ok(())
}

/// A token with neither access-token marker (no `typ` claim, header `typ: "JWT"`) is
/// [`ErrorKind::WrongTokenType`]: an unmarked JWT may be an ID token of a provider that does not say so.
pub async fn rejects_unmarked_token(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::WrongTokenType;
    expect_rejected(s, c, json!({"typ": null}), Forge::Valid, kind).await
}

/// An RFC 9068 access token (header `typ: at+jwt`, no `typ` claim) is accepted; the same header on a token
/// whose claims say it is an ID token, or another header `typ`, is [`ErrorKind::WrongTokenType`].
pub async fn accepts_rfc9068_access_token(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let unmarked = claims_of(s, c, json!({"typ": null})).await?;
    let payload = Value::Object(unmarked).to_string();
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let token = signed_raw(s, c, json!({ "typ": typ }), payload.clone()).await?;
        let got = s.authenticator().authenticate(&token).await;
        c.check(
            "accepted",
            got.is_ok(),
            format_args!("header typ {typ:?} without a typ claim is accepted: got {got:?}"),
        );
    }
    let kind = ErrorKind::WrongTokenType;
    let id = claims_of(s, c, json!({"typ": "ID"})).await?;
    let token = signed_raw(
        s,
        c,
        json!({"typ": "at+jwt"}),
        Value::Object(id).to_string(),
    )
    .await?;
    let what = "header typ at+jwt on claims typ ID";
    expect_token_rejected(s, c, "rejected", &token, kind, what).await;
    let bearer = claims_of(s, c, json!({})).await?;
    let payload = Value::Object(bearer).to_string();
    for typ in ["logout+jwt", "id_token+jwt", "secevent+jwt"] {
        let token = signed_raw(s, c, json!({ "typ": typ }), payload.clone()).await?;
        let what = format!("header typ {typ:?}");
        expect_token_rejected(s, c, "rejected", &token, kind, &what).await;
    }
    Ok(())
}

/// A `crit` header (extensions that must be understood, RFC 7515 §4.1.11) is
/// [`ErrorKind::UnsupportedHeader`]: avb implements none, so it must not ignore them.
pub async fn rejects_crit_header(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let claims = claims_of(s, c, json!({})).await?;
    let payload = Value::Object(claims).to_string();
    for header in [
        json!({"crit": ["exp"], "exp": now() + 60}),
        json!({"crit": ["urn:example:must-check"], "urn:example:must-check": true}),
        json!({"crit": []}),
        json!({"crit": "exp"}),
    ] {
        let token = signed_raw(s, c, header.clone(), payload.clone()).await?;
        let what = format!("the token with header {header}");
        expect_token_rejected(
            s,
            c,
            "rejected",
            &token,
            ErrorKind::UnsupportedHeader,
            &what,
        )
        .await;
    }
    Ok(())
}

/// `b64: false` (RFC 7797 unencoded payload) is [`ErrorKind::UnsupportedHeader`].
pub async fn rejects_unencoded_payload(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let claims = claims_of(s, c, json!({})).await?;
    let payload = Value::Object(claims).to_string();
    for header in [
        json!({"b64": false}),
        json!({"b64": false, "crit": ["b64"]}),
        json!({"b64": "false"}),
    ] {
        let token = signed_raw(s, c, header.clone(), payload.clone()).await?;
        let what = format!("the token with header {header}");
        expect_token_rejected(
            s,
            c,
            "rejected",
            &token,
            ErrorKind::UnsupportedHeader,
            &what,
        )
        .await;
    }
    Ok(())
}

/// A claim name repeated in the claims object (parsers differ on which value wins: the last one did here)
/// is [`ErrorKind::DuplicateClaim`] — for claims the validator reads and for those it skips.
pub async fn rejects_duplicate_claims(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::DuplicateClaim;
    let claims = claims_of(s, c, json!({})).await?;
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
        let token = signed_raw(s, c, json!({}), payload).await?;
        let what = format!("the token with {name} twice");
        expect_token_rejected(s, c, "rejected", &token, kind, &what).await;
    }
    // A client named twice inside resource_access (the roles of the last one used to win).
    let claims = claims_of(s, c, json!({"resource_access": null})).await?;
    let text_without = Value::Object(claims).to_string();
    let without = text_without.strip_suffix('}').unwrap_or(&text_without);
    let payload = format!(
        r#"{without},"resource_access":{{"c":{{"roles":[]}},"c":{{"roles":["owner"]}}}}}}"#
    );
    let token = signed_raw(s, c, json!({}), payload).await?;
    let what = "the token with resource_access.c twice";
    expect_token_rejected(s, c, "rejected", &token, kind, what).await;
    // A claim the validator never reads, twice.
    let payload = format!(r#"{body},"x-unread":1,"x-unread":2}}"#);
    let token = signed_raw(s, c, json!({}), payload).await?;
    let what = "the token with x-unread twice";
    expect_token_rejected(s, c, "rejected", &token, kind, what).await;
    Ok(())
}

/// Text after the claims object is [`ErrorKind::Malformed`] (whitespace aside, which JSON allows).
pub async fn rejects_trailing_data(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let claims = claims_of(s, c, json!({})).await?;
    let text = Value::Object(claims).to_string();
    for tail in [" x", "{}", "\n{\"sub\":\"intruder\"}", ",", "]", "\u{0}"] {
        let token = signed_raw(s, c, json!({}), format!("{text}{tail}")).await?;
        let what = format!("the token with {tail:?} after the claims");
        expect_token_rejected(s, c, "rejected", &token, ErrorKind::Malformed, &what).await;
    }
    // JSON's own trailing whitespace is not "trailing data".
    let token = signed_raw(s, c, json!({}), format!("{text} \n")).await?;
    let got = s.authenticator().authenticate(&token).await;
    c.check(
        "whitespace_accepted",
        got.is_ok(),
        format_args!("trailing whitespace after the claims is accepted: got {got:?}"),
    );
    Ok(())
}

/// `iat` an hour ahead (beyond the leeway) is [`ErrorKind::IssuedInFuture`].
pub async fn rejects_future_iat(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let claims = json!({"iat": now() + 3600});
    expect_rejected(s, c, claims, Forge::Valid, ErrorKind::IssuedInFuture).await
}
