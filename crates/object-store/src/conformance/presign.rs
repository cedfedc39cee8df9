//! Presigned URLs, used by a plain HTTP client (`reqwest`, standing in for a browser).

use super::{CaseResult, Context, Outcome, ensure, lacks};
use crate::{Error, ObjectStore, PresignConstraints, PresignMethod, PresignedRequest};
use std::time::Duration;

/// A presigned PUT by plain HTTP, then a `get` through the store, round-trips (content type included); a
/// presigned GET by plain HTTP returns the bytes; a key that escapes is refused. A backend without the
/// capability must say `NotSupported`.
pub async fn presigned_round_trip(store: &dyn ObjectStore) -> CaseResult {
    let hour = Duration::from_secs(3600);
    if !store.capabilities().presign {
        let r = store
            .presign(PresignMethod::Get, "p", hour, PresignConstraints::default())
            .await;
        ensure!(
            matches!(r, Err(Error::NotSupported { .. })),
            "presign without the capability gave {r:?}"
        );
        return lacks("presigned_round_trip", "presign");
    }
    let put = store
        .presign(
            PresignMethod::Put,
            "p/up.txt",
            hour,
            PresignConstraints::content_type("text/plain"),
        )
        .await
        .ctx("presign PUT")?;
    let status = send(&put, Some("hello, browser")).await?.0;
    ensure!(status < 300, "presigned PUT answered HTTP {status}");
    let got = store
        .get_bytes("p/up.txt")
        .await
        .ctx("get after presigned PUT")?;
    ensure!(got == "hello, browser", "presigned PUT stored {got:?}");
    if store.capabilities().metadata {
        let head = store.head("p/up.txt").await.ctx("head")?;
        ensure!(
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
        .ctx("presign GET")?;
    let (status, body) = send(&get, None).await?;
    ensure!(
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
        matches!(r, Err(Error::InvalidKey { .. })),
        "presign of an escaping key gave {r:?}"
    );
    Ok(Outcome::Passed)
}

/// The server refuses what the signature does not allow: an expired presigned GET (1 s, used after 2 s),
/// and a presigned PUT sent with another content type than the one pinned — and the object is unchanged.
pub async fn presigned_refusals(store: &dyn ObjectStore) -> CaseResult {
    if !store.capabilities().presign {
        return lacks("presigned_refusals", "presign");
    }
    store
        .put("p/kept", "kept".into(), crate::PutOptions::default())
        .await
        .ctx("put")?;
    let short = store
        .presign(
            PresignMethod::Get,
            "p/kept",
            Duration::from_secs(1),
            PresignConstraints::default(),
        )
        .await
        .ctx("presign GET 1 s")?;
    // Waiting is not an assertion on time: only the server's refusal afterwards is checked.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, _) = send(&short, None).await?;
    let mut wrong = Vec::new();
    if status < 400 {
        wrong.push(format!("an expired presigned GET answered HTTP {status}"));
    }
    let mut put = store
        .presign(
            PresignMethod::Put,
            "p/kept",
            Duration::from_secs(3600),
            PresignConstraints::content_type("text/plain"),
        )
        .await
        .ctx("presign PUT")?;
    for (name, value) in &mut put.headers {
        if name.eq_ignore_ascii_case("content-type") {
            *value = "application/x-other".into();
        }
    }
    let (status, _) = send(&put, Some("replaced")).await?;
    if status < 400 {
        wrong.push(format!(
            "a presigned PUT with another content type answered HTTP {status}"
        ));
    } else {
        let got = store.get_bytes("p/kept").await.ctx("get")?;
        ensure!(got == "kept", "a refused presigned PUT changed the object");
    }
    ensure!(wrong.is_empty(), "{}", wrong.join("; "));
    Ok(Outcome::Passed)
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
