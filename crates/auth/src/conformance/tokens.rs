//! Cases on what a token says and how it is signed: a valid token gives the principal it describes; an
//! expired, not-yet-valid, foreign, unsigned, wrongly signed or altered token is refused with its own error;
//! garbage is an error, never a panic and never a principal.

use super::{Forge, Subject, expect_rejected, expect_token_rejected, make, now};
use crate::ErrorKind;
use avb_conformance::{CaseResult, Checks};
use serde_json::{Map, Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Every backend accepts the harness's default valid token (trust-all accepts anything).
pub async fn valid_token_accepted(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let token = make(s, c, json!({}), Forge::Valid).await?;
    c.ok("accepted", s.authenticator().authenticate(&token).await)?;
    Ok(())
}

/// A backend that validates maps a valid token's claims exactly: subject, workspace, realm roles, scopes,
/// expiry.
pub async fn valid_token_gives_principal(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let claims = json!({"sub": "conf-user", "workspace_id": "ws-conf",
        "realm_access": {"roles": ["analyst", "viewer"]}, "scope": "read write"});
    let token = make(s, c, claims, Forge::Valid).await?;
    let p = c.ok("accepted", s.authenticator().authenticate(&token).await)?;
    c.check_eq("subject", p.subject.as_str(), "conf-user", "sub");
    c.check_eq(
        "workspace",
        p.workspace_id.as_str(),
        "ws-conf",
        "workspace_id",
    );
    c.check(
        "roles",
        p.has_role("analyst") && p.has_role("viewer"),
        format_args!("realm roles analyst and viewer: got {:?}", p.roles),
    );
    c.check(
        "scopes",
        p.has_scope("read") && p.has_scope("write"),
        format_args!("scopes read and write: got {:?}", p.scopes),
    );
    let exp = p.expires_at.unwrap_or(UNIX_EPOCH);
    c.check(
        "expires_at",
        exp > SystemTime::now(),
        format_args!("expires_at {exp:?} is in the future"),
    );
    Ok(())
}

/// `exp` an hour ago is [`ErrorKind::Expired`].
pub async fn rejects_expired(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let t = now();
    let claims = json!({"iat": t - 7200, "nbf": t - 7200, "exp": t - 3600});
    expect_rejected(s, c, claims, Forge::Valid, ErrorKind::Expired).await
}

/// `nbf` an hour ahead is [`ErrorKind::NotYetValid`].
pub async fn rejects_not_yet_valid(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let t = now();
    let claims = json!({"nbf": t + 3600, "exp": t + 7200});
    expect_rejected(s, c, claims, Forge::Valid, ErrorKind::NotYetValid).await
}

/// Another issuer's `iss` is [`ErrorKind::WrongIssuer`].
pub async fn rejects_wrong_issuer(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let claims = json!({"iss": "https://evil.example/realms/avb"});
    expect_rejected(s, c, claims, Forge::Valid, ErrorKind::WrongIssuer).await
}

/// Another service's `aud` is [`ErrorKind::WrongAudience`].
pub async fn rejects_wrong_audience(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let claims = json!({"aud": "some-other-service"});
    expect_rejected(s, c, claims, Forge::Valid, ErrorKind::WrongAudience).await
}

/// `alg: none` is [`ErrorKind::DisallowedAlgorithm`].
pub async fn rejects_alg_none(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::DisallowedAlgorithm;
    expect_rejected(s, c, json!({}), Forge::AlgNone, kind).await
}

/// HS256 keyed with the RSA public key is [`ErrorKind::AlgorithmMismatch`].
pub async fn rejects_hs256_with_public_key(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::AlgorithmMismatch;
    expect_rejected(s, c, json!({}), Forge::Hs256WithPublicKey, kind).await
}

/// A `kid` the issuer never published is [`ErrorKind::UnknownKey`].
pub async fn rejects_unknown_kid(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::UnknownKey;
    expect_rejected(s, c, json!({}), Forge::UnknownKid, kind).await
}

/// A valid `kid` with a signature from another key is [`ErrorKind::BadSignature`].
pub async fn rejects_bad_signature(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::BadSignature;
    expect_rejected(s, c, json!({}), Forge::RogueKey, kind).await
}

/// A token without the workspace claim is [`ErrorKind::MissingWorkspace`].
pub async fn rejects_missing_workspace(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let kind = ErrorKind::MissingWorkspace;
    expect_rejected(s, c, json!({"workspace_id": null}), Forge::Valid, kind).await
}

/// The harness's valid token with its signed payload altered afterwards (realm roles raised to `owner`)
/// is [`ErrorKind::BadSignature`].
pub async fn rejects_tampered_payload(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    use base64::Engine;
    let token = make(s, c, json!({}), Forge::Valid).await?;
    let parts: Vec<&str> = token.split('.').collect();
    c.require_eq("jws", parts.len(), 3, "segments of the harness's token")?;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = c.ok("jws", engine.decode(parts[1]))?;
    let mut claims: Map<String, Value> = c.ok("jws", serde_json::from_slice(&payload))?;
    claims.insert("realm_access".into(), json!({"roles": ["owner"]}));
    let payload = engine.encode(Value::Object(claims).to_string());
    let forged = format!("{}.{payload}.{}", parts[0], parts[2]);
    let kind = ErrorKind::BadSignature;
    expect_token_rejected(s, c, "rejected", &forged, kind, "the tampered token").await;
    Ok(())
}

/// The same valid token presented again and again (a session's bearer token on every request; a backend
/// with a validated-token cache answers the repeats from it) gives the same principal each time.
pub async fn repeated_token_same_principal(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let token = make(s, c, json!({}), Forge::Valid).await?;
    let first = c.ok("accepted", s.authenticator().authenticate(&token).await)?;
    for round in 2..=3 {
        let again = c.ok(
            "accepted_again",
            s.authenticator().authenticate(&token).await,
        )?;
        c.check(
            "same_principal",
            again == first,
            format_args!("presentation {round} gave {again:?}, the first {first:?}"),
        );
    }
    Ok(())
}

/// A valid token is accepted (so a cache may now hold it); copies with one character of the signature or
/// of the payload changed are refused, each time they are presented: a cached token must not vouch for
/// a token that merely resembles it.
pub async fn rejects_altered_copy_of_accepted_token(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let token = make(s, c, json!({}), Forge::Valid).await?;
    c.ok("accepted", s.authenticator().authenticate(&token).await)?;
    let parts: Vec<&str> = token.split('.').collect();
    c.require_eq("jws", parts.len(), 3, "segments of the harness's token")?;
    // A character in the middle of a segment (the last one may carry only padding bits).
    let change = |segment: &str| -> String {
        let mut chars: Vec<char> = segment.chars().collect();
        let at = chars.len() / 2;
        if let Some(ch) = chars.get_mut(at) {
            *ch = if *ch == 'A' { 'B' } else { 'A' };
        }
        chars.into_iter().collect()
    };
    let signature = format!("{}.{}.{}", parts[0], parts[1], change(parts[2]));
    let payload = format!("{}.{}.{}", parts[0], change(parts[1]), parts[2]);
    for _ in 0..2 {
        let got = s.authenticator().authenticate(&signature).await;
        c.check_eq(
            "altered_signature_rejected",
            got.as_ref().err().map(|e| e.kind()),
            Some(ErrorKind::BadSignature),
            format_args!("the token with a changed signature: got {got:?}"),
        );
        // A changed payload character may break its JSON (Malformed) or not (BadSignature comes first):
        // either way it is refused.
        let got = s.authenticator().authenticate(&payload).await;
        c.check(
            "altered_payload_rejected",
            got.is_err(),
            format_args!("the token with a changed payload is refused: got {got:?}"),
        );
    }
    c.ok(
        "original_still_accepted",
        s.authenticator().authenticate(&token).await,
    )?;
    Ok(())
}

/// Garbage, and the harness's valid token cut short, are refused ([`ErrorKind::Malformed`], or for a
/// well-formed header a key/algorithm error): never a panic and never a principal.
pub async fn rejects_garbage(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
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
        let got = s.authenticator().authenticate(input).await;
        c.check(
            "garbage_refused",
            matches!(&got, Err(e) if e.kind().class() == avb_core::ErrorClass::Unauthorized),
            format_args!("{input:.40?} is refused as a bad credential: got {got:?}"),
        );
    }
    let token = make(s, c, json!({}), Forge::Valid).await?;
    for cut in [
        1,
        token.len() / 3,
        token.len() / 2,
        token.len().saturating_sub(1),
    ] {
        let truncated = token.get(..cut).unwrap_or_default();
        let got = s.authenticator().authenticate(truncated).await;
        c.check(
            "truncated_refused",
            got.is_err(),
            format_args!("the token cut at {cut} is refused: got {got:?}"),
        );
    }
    Ok(())
}
