//! Presigned URLs, used by a plain HTTP client (`reqwest`, standing in for a browser).

use super::{At, Subject, ensure};
use crate::{Error, PresignConstraints, PresignMethod, PresignedRequest};
use avb_conformance::{CaseResult, Checks};
use std::time::Duration;

/// A presigned PUT by plain HTTP, then a `get` through the store, round-trips (content type included); a
/// presigned GET by plain HTTP returns the bytes; a key that escapes is refused. (A backend without the
/// capability must say `NotSupported`: [`undeclared_capabilities_refused`](super::undeclared_capabilities_refused).)
pub async fn presigned_round_trip(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let hour = Duration::from_secs(3600);
    let put = store
        .presign(
            PresignMethod::Put,
            "p/up.txt",
            hour,
            PresignConstraints::content_type("text/plain"),
        )
        .await
        .at(c, "presign_put")?;
    let status = c.ok("send", send(&put, Some("hello, browser")).await)?.0;
    ensure!(
        c,
        "presigned_put_accepted",
        status < 300,
        "presigned PUT answered HTTP {status}"
    );
    let got = store
        .get_bytes("p/up.txt")
        .await
        .at(c, "get_after_presigned_put")?;
    ensure!(
        c,
        "presigned_put_stored",
        got == "hello, browser",
        "presigned PUT stored {got:?}"
    );
    if store.capabilities().metadata {
        let head = store.head("p/up.txt").await.at(c, "head")?;
        ensure!(
            c,
            "content_type",
            head.content_type.as_deref() == Some("text/plain"),
            "content type {:?}",
            head.content_type
        );
    }
    let get = store
        .presign(
            PresignMethod::Get,
            "p/up.txt",
            hour,
            PresignConstraints::default(),
        )
        .await
        .at(c, "presign_get")?;
    let (status, body) = c.ok("send", send(&get, None).await)?;
    ensure!(
        c,
        "presigned_get_reads",
        status == 200 && body == b"hello, browser",
        "presigned GET answered HTTP {status} with {} bytes",
        body.len()
    );
    let r = store
        .presign(
            PresignMethod::Get,
            "../outside",
            hour,
            PresignConstraints::default(),
        )
        .await;
    ensure!(
        c,
        "escaping_key_refused",
        matches!(r, Err(Error::InvalidKey { .. })),
        "presign of an escaping key gave {r:?}"
    );
    Ok(())
}

/// The server refuses what the signature does not allow: an expired presigned GET (1 s, used after 2 s),
/// and a presigned PUT sent with another content type than the one pinned — and the object is unchanged.
pub async fn presigned_refusals(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    store
        .put("p/kept", "kept".into(), crate::PutOptions::default())
        .await
        .at(c, "put")?;
    let short = store
        .presign(
            PresignMethod::Get,
            "p/kept",
            Duration::from_secs(1),
            PresignConstraints::default(),
        )
        .await
        .at(c, "presign_get_1_s")?;
    // Waiting is not an assertion on time: only the server's refusal afterwards is checked.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, _) = c.ok("send", send(&short, None).await)?;
    c.check(
        "expired_get_refused",
        status >= 400,
        format_args!("an expired presigned GET answered HTTP {status}"),
    );
    let mut put = store
        .presign(
            PresignMethod::Put,
            "p/kept",
            Duration::from_secs(3600),
            PresignConstraints::content_type("text/plain"),
        )
        .await
        .at(c, "presign_put")?;
    for (name, value) in &mut put.headers {
        if name.eq_ignore_ascii_case("content-type") {
            *value = "application/x-other".into();
        }
    }
    let (status, _) = c.ok("send", send(&put, Some("replaced")).await)?;
    let refused = c.check(
        "other_content_type_refused",
        status >= 400,
        format_args!("a presigned PUT with another content type answered HTTP {status}"),
    );
    if refused {
        let got = store.get_bytes("p/kept").await.at(c, "get")?;
        ensure!(
            c,
            "refused_put_changes_nothing",
            got == "kept",
            "a refused presigned PUT changed the object"
        );
    }
    Ok(())
}

/// Sends `request` (with `body` for a PUT) by plain HTTP: (status, body).
async fn send(
    request: &PresignedRequest,
    body: Option<&'static str>,
) -> Result<(u16, Vec<u8>), String> {
    let client = reqwest::Client::new();
    let mut builder = match request.method {
        PresignMethod::Get => client.get(&request.url),
        PresignMethod::Put => client.put(&request.url).body(body.unwrap_or_default()),
    };
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| format!("sending the presigned request: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok((status, bytes.to_vec()))
}
