//! Write preconditions: create-only (`If-None-Match: *`) and compare-and-swap (`If-Match`) on every write
//! path — single put, streamed put (past one part, so through multipart on S3), multipart complete and copy.
//! A failed precondition must change nothing: neither the body, nor the content type, nor the metadata, nor
//! the entity tag (go-cloud#3725: a failed create still rewrote fileblob's metadata sidecar; opendal#7889:
//! preconditions dropped on chunked writes).

use super::{CaseResult, Context, Outcome, ensure, expect_not_found, lacks, pattern};
use crate::{CopyOptions, Error, ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result};
use bytes::Bytes;

/// Compare-and-swap on a single put: a wrong, stale or missing-object `If-Match` is `PreconditionFailed`
/// and changes nothing; the current entity tag wins once. A backend without the capability must say
/// `NotSupported`, not overwrite.
pub async fn compare_and_swap(store: &dyn ObjectStore) -> CaseResult {
    if !store.capabilities().conditional_update {
        let r = store
            .put(
                "cas",
                Bytes::from_static(b"1"),
                PutOptions::if_match("\"x\""),
            )
            .await;
        ensure!(
            matches!(r, Err(Error::NotSupported { .. })),
            "If-Match without the capability gave {r:?}"
        );
        return lacks("compare_and_swap", "conditional_update");
    }
    let first = seed(store, "cas").await?;
    let tag = first.e_tag.clone().ok_or("head gave no entity tag")?;
    let r = store
        .put(
            "cas",
            Bytes::from_static(b"two"),
            PutOptions::if_match(&tag),
        )
        .await;
    ensure!(r.is_ok(), "If-Match with the current tag {tag}: {r:?}");
    ensure!(
        store.get_bytes("cas").await.ctx("get")? == "two",
        "the swap did not write"
    );
    let now = store.head("cas").await.ctx("head after swap")?;
    ensure!(
        now.e_tag != first.e_tag,
        "the entity tag did not change ({:?})",
        now.e_tag
    );
    // The old tag is stale now: a second swap from it loses, and changes nothing.
    let r = store
        .put(
            "cas",
            Bytes::from_static(b"three"),
            PutOptions::if_match(&tag),
        )
        .await;
    expect_precondition_failed(r, "stale If-Match")?;
    unchanged(store, "cas", &now, b"two").await?;
    let r = store
        .put(
            "cas",
            Bytes::new(),
            PutOptions::if_match(&tag).with_content_type("a/b"),
        )
        .await;
    ensure!(r.is_err(), "If-Match on a changed object succeeded");
    let both = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::if_match(&tag)
    };
    let r = store.put("cas", Bytes::new(), both).await;
    ensure!(
        matches!(r, Err(Error::InvalidArgument { .. })),
        "If-Match with Create gave {r:?}"
    );
    Ok(Outcome::Passed)
}

/// One write path of [`failed_preconditions_change_nothing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePath {
    /// [`ObjectStore::put`].
    Put,
    /// [`ObjectStore::put_stream`] of 9 MiB (past one S3 part: through multipart there).
    PutStream,
    /// [`ObjectStore::create_multipart`] … [`ObjectStore::complete_multipart`].
    Multipart,
    /// [`ObjectStore::copy_with`].
    Copy,
}

/// On one write path: a failed create-only write and a failed compare-and-swap (wrong tag; missing
/// object) change neither content nor metadata nor entity tag; a compare-and-swap with the current tag
/// writes. Each precondition runs only when declared in the capabilities (otherwise it must be
/// `NotSupported`).
pub async fn failed_preconditions_change_nothing(
    store: &dyn ObjectStore,
    path: WritePath,
) -> CaseResult {
    let caps = store.capabilities();
    let case = format!("preconditions_{path:?}").to_lowercase();
    if path == WritePath::Multipart && !caps.multipart {
        return lacks(&case, "multipart");
    }
    if !caps.conditional_create && !caps.conditional_update {
        return lacks(&case, "conditional_create and conditional_update");
    }
    let before = seed(store, "t").await?;
    if caps.conditional_create {
        let r = write(store, path, "t", PutOptions::create()).await;
        ensure!(
            matches!(r, Err(Error::AlreadyExists { .. })),
            "{path:?} create-only over an object gave {r:?}"
        );
        unchanged(store, "t", &before, b"original").await?;
    }
    if caps.conditional_update {
        let r = write(store, path, "t", PutOptions::if_match("\"not-the-tag\"")).await;
        expect_precondition_failed(r, &format!("{path:?} with a wrong If-Match"))?;
        unchanged(store, "t", &before, b"original").await?;
        let tag = before.e_tag.clone().ok_or("head gave no entity tag")?;
        let r = write(store, path, "absent", PutOptions::if_match(&tag)).await;
        expect_precondition_failed(r, &format!("{path:?} with If-Match on a missing key"))?;
        expect_not_found(
            store.head("absent").await,
            "after If-Match on a missing key",
        )?;
        write(store, path, "t", PutOptions::if_match(&tag))
            .await
            .ctx(&format!("{path:?} with the current If-Match"))?;
        let got = store.get_bytes("t").await.ctx("get after swap")?;
        ensure!(
            got == body(path),
            "{path:?} with the current tag wrote other bytes"
        );
    } else {
        let r = write(store, path, "t", PutOptions::if_match("\"x\"")).await;
        ensure!(
            matches!(r, Err(Error::NotSupported { .. })),
            "{path:?} If-Match without the capability gave {r:?}"
        );
    }
    if caps.conditional_update {
        Ok(Outcome::Passed)
    } else {
        lacks(&case, "conditional_update (create-only checked)")
    }
}

fn body(path: WritePath) -> Bytes {
    match path {
        WritePath::PutStream => pattern(9 * 1024 * 1024, 7),
        _ => Bytes::from_static(b"replacement"),
    }
}

/// Writes `key` by `path` with `options`' preconditions (and a content type and metadata of its own, so a
/// leak of them on failure shows).
async fn write(
    store: &dyn ObjectStore,
    path: WritePath,
    key: &str,
    options: PutOptions,
) -> Result<PutResult> {
    let options = options
        .with_content_type("application/x-replacement")
        .with_metadata("who", "replacement");
    match path {
        WritePath::Put => store.put(key, body(path), options).await,
        WritePath::PutStream => {
            let data = body(path);
            let chunks: Vec<Result<Bytes>> = (0..data.len())
                .step_by(1024 * 1024)
                .map(|i| Ok(data.slice(i..(i + 1024 * 1024).min(data.len()))))
                .collect();
            let stream = Box::pin(futures::stream::iter(chunks));
            store.put_stream(key, stream, options).await
        }
        WritePath::Multipart => {
            let upload = store.create_multipart(key, options).await?;
            let part = match store.put_part(&upload, 1, body(path)).await {
                Ok(part) => part,
                Err(e) => {
                    let _ = store.abort_multipart(&upload).await;
                    return Err(e);
                }
            };
            let r = store.complete_multipart(&upload, vec![part]).await;
            if r.is_err() {
                let _ = store.abort_multipart(&upload).await;
            }
            r
        }
        WritePath::Copy => {
            let source = format!("{key}.source");
            let plain = PutOptions {
                mode: PutMode::Overwrite,
                if_match: None,
                ..options.clone()
            };
            store.put(&source, body(path), plain).await?;
            let copy = CopyOptions {
                mode: options.mode,
                if_match: options.if_match,
            };
            let r = store.copy_with(&source, key, copy).await;
            store.delete(&source).await?;
            r.map(|()| PutResult::default())
        }
    }
}

/// Writes `key` with known content, content type and metadata; returns its head.
async fn seed(store: &dyn ObjectStore, key: &str) -> Result<ObjectMeta, String> {
    let options = PutOptions::default()
        .with_content_type("text/plain")
        .with_metadata("who", "original");
    store
        .put(key, Bytes::from_static(b"original"), options)
        .await
        .ctx("seed put")?;
    store.head(key).await.ctx("seed head")
}

/// `key` still holds `content` with `before`'s content type, metadata and entity tag.
async fn unchanged(
    store: &dyn ObjectStore,
    key: &str,
    before: &ObjectMeta,
    content: &[u8],
) -> Result<(), String> {
    let got = store
        .get_bytes(key)
        .await
        .ctx("get after a failed precondition")?;
    ensure!(got == content, "a failed precondition changed the content");
    let now = store
        .head(key)
        .await
        .ctx("head after a failed precondition")?;
    if store.capabilities().metadata {
        ensure!(
            now.content_type == before.content_type && now.metadata == before.metadata,
            "a failed precondition changed the metadata: {:?} {:?} -> {:?} {:?}",
            before.content_type,
            before.metadata,
            now.content_type,
            now.metadata
        );
    }
    ensure!(
        now.e_tag == before.e_tag && now.size == before.size,
        "a failed precondition changed the entity tag or size: {:?} -> {:?}",
        before.e_tag,
        now.e_tag
    );
    Ok(())
}

fn expect_precondition_failed<T: std::fmt::Debug>(
    r: Result<T, Error>,
    what: &str,
) -> Result<(), String> {
    match r {
        Err(Error::PreconditionFailed { .. }) => Ok(()),
        other => Err(format!(
            "{what}: expected PreconditionFailed, got {other:?}"
        )),
    }
}

/// `get` and `head_with` under `If-Match` / `If-None-Match` (RFC 9110 §13): the current tag reads; a wrong
/// `If-Match` is `PreconditionFailed`; an `If-None-Match` of the current tag (or `*`) is `NotModified`; a
/// wrong `If-None-Match` reads; a missing key is still `NotFound`.
pub async fn conditional_reads(store: &dyn ObjectStore) -> CaseResult {
    use crate::{GetOptions, ReadConditions};
    if !store.capabilities().conditional_read {
        return lacks("conditional_reads", "conditional_read");
    }
    let meta = seed(store, "r").await?;
    let tag = meta.e_tag.clone().ok_or("head gave no entity tag")?;
    let get = |c: ReadConditions| async move {
        match store.get("r", GetOptions::conditions(c)).await {
            Ok(got) => got.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        }
    };
    let head = |c: ReadConditions| async move { store.head_with("r", c).await.map(drop) };
    // Every answer is checked and every wrong one reported (`; `-separated), so a declared server gap can
    // name exactly the answers it covers.
    let mut wrong = Vec::new();
    for (name, c, want) in [
        ("If-Match current", ReadConditions::if_match(&tag), "ok"),
        ("If-Match *", ReadConditions::if_match("*"), "ok"),
        (
            "If-Match wrong",
            ReadConditions::if_match("\"wrong\""),
            "412",
        ),
        (
            "If-None-Match current",
            ReadConditions::if_none_match(&tag),
            "304",
        ),
        ("If-None-Match *", ReadConditions::if_none_match("*"), "304"),
        (
            "If-None-Match wrong",
            ReadConditions::if_none_match("\"wrong\""),
            "ok",
        ),
    ] {
        for (op, r) in [("get", get(c.clone()).await), ("head", head(c).await)] {
            let as_wanted = match want {
                "ok" => r.is_ok(),
                "412" => matches!(r, Err(Error::PreconditionFailed { .. })),
                _ => matches!(r, Err(Error::NotModified { .. })),
            };
            if !as_wanted {
                wrong.push(format!(
                    "{op} with {name}: wanted {want}, got {}",
                    brief(&r)
                ));
            }
        }
    }
    ensure!(wrong.is_empty(), "{}", wrong.join("; "));
    let r = store
        .get(
            "missing",
            GetOptions::conditions(ReadConditions::if_match(&tag)),
        )
        .await;
    expect_not_found(r.map(|g| g.meta), "get of a missing key with If-Match")?;
    let r = store
        .head_with("missing", ReadConditions::if_none_match("*"))
        .await;
    expect_not_found(r, "head of a missing key with If-None-Match *")?;
    Ok(Outcome::Passed)
}

/// An answer in a few words (no request ids), for [`conditional_reads`]' report.
fn brief(r: &Result<()>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(Error::PreconditionFailed { .. }) => "412",
        Err(Error::NotModified { .. }) => "304",
        Err(Error::NotFound { .. }) => "NotFound",
        Err(_) => "another error",
    }
}
