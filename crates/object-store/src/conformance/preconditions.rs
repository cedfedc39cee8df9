//! Write preconditions: create-only (`If-None-Match: *`) and compare-and-swap (`If-Match`) on every write
//! path — single put, streamed put (past one part, so through multipart on S3), multipart complete and copy.
//! A failed precondition must change nothing: neither the body, nor the content type, nor the metadata, nor
//! the entity tag (go-cloud#3725: a failed create still rewrote fileblob's metadata sidecar; opendal#7889:
//! preconditions dropped on chunked writes).

use super::{At, Subject, ensure, expect_not_found, pattern};
use crate::{CopyOptions, Error, ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result};
use avb_conformance::{Abort, CaseResult, Checks};
use bytes::Bytes;

/// Compare-and-swap on a single put: a wrong, stale or missing-object `If-Match` is `PreconditionFailed`
/// and changes nothing; the current entity tag wins once. (A backend without the capability must say
/// `NotSupported`, not overwrite: [`undeclared_capabilities_refused`](super::undeclared_capabilities_refused).)
pub async fn compare_and_swap(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let first = seed(c, store, "cas").await?;
    let tag = c.ok(
        "entity_tag",
        first.e_tag.clone().ok_or("head gave no entity tag"),
    )?;
    let r = store
        .put(
            "cas",
            Bytes::from_static(b"two"),
            PutOptions::if_match(&tag),
        )
        .await;
    ensure!(
        c,
        "if_match_current_tag",
        r.is_ok(),
        "If-Match with the current tag {tag}: {r:?}"
    );
    ensure!(
        c,
        "swap_writes",
        store.get_bytes("cas").await.at(c, "get")? == "two",
        "the swap did not write"
    );
    let now = store.head("cas").await.at(c, "head_after_swap")?;
    ensure!(
        c,
        "entity_tag_changes",
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
    expect_precondition_failed(c, "stale_if_match", r, "stale If-Match");
    unchanged(
        c,
        "stale_if_match_changes_nothing",
        store,
        "cas",
        &now,
        b"two",
    )
    .await?;
    let r = store
        .put(
            "cas",
            Bytes::new(),
            PutOptions::if_match(&tag).with_content_type("a/b"),
        )
        .await;
    ensure!(
        c,
        "if_match_changed_object",
        r.is_err(),
        "If-Match on a changed object succeeded"
    );
    let both = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::if_match(&tag)
    };
    let r = store.put("cas", Bytes::new(), both).await;
    ensure!(
        c,
        "if_match_with_create",
        matches!(r, Err(Error::InvalidArgument { .. })),
        "If-Match with Create gave {r:?}"
    );
    Ok(())
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

/// [`failed_preconditions_change_nothing`] on [`WritePath::Put`].
pub async fn preconditions_put(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    failed_preconditions_change_nothing(c, store.as_ref(), WritePath::Put).await
}

/// [`failed_preconditions_change_nothing`] on [`WritePath::PutStream`].
pub async fn preconditions_put_stream(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    failed_preconditions_change_nothing(c, store.as_ref(), WritePath::PutStream).await
}

/// [`failed_preconditions_change_nothing`] on [`WritePath::Multipart`].
pub async fn preconditions_multipart(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    failed_preconditions_change_nothing(c, store.as_ref(), WritePath::Multipart).await
}

/// [`failed_preconditions_change_nothing`] on [`WritePath::Copy`].
pub async fn preconditions_copy(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    failed_preconditions_change_nothing(c, store.as_ref(), WritePath::Copy).await
}

/// On one write path: a failed create-only write and a failed compare-and-swap (wrong tag; missing
/// object) change neither content nor metadata nor entity tag; a compare-and-swap with the current tag
/// writes. Each precondition runs only when declared in the capabilities (the case requires one of them;
/// an undeclared `If-Match` must be `NotSupported`).
///
/// Check labels a server gap can name: `create_only_refused`, `wrong_if_match_refused`,
/// `missing_key_if_match_refused`. A refused write is then checked to have changed nothing; a write that
/// went through despite its precondition has already failed its check, and the object is put back so the
/// rest of the case still runs.
pub async fn failed_preconditions_change_nothing(
    c: &mut Checks,
    store: &dyn ObjectStore,
    path: WritePath,
) -> CaseResult {
    let caps = store.capabilities();
    let mut before = seed(c, store, "t").await?;
    if caps.conditional_create {
        let r = write(store, path, "t", PutOptions::create()).await;
        let wrote = r.is_ok();
        c.check(
            "create_only_refused",
            matches!(r, Err(Error::AlreadyExists { .. })),
            format_args!("{path:?} create-only over an object gave {r:?}"),
        );
        before = settle(c, store, wrote, &before).await?;
    }
    if caps.conditional_update {
        let r = write(store, path, "t", PutOptions::if_match("\"not-the-tag\"")).await;
        let wrote = r.is_ok();
        expect_precondition_failed(
            c,
            "wrong_if_match_refused",
            r,
            &format!("{path:?} with a wrong If-Match"),
        );
        before = settle(c, store, wrote, &before).await?;
        let tag = c.ok(
            "entity_tag",
            before.e_tag.clone().ok_or("head gave no entity tag"),
        )?;
        let r = write(store, path, "absent", PutOptions::if_match(&tag)).await;
        let wrote = r.is_ok();
        expect_precondition_failed(
            c,
            "missing_key_if_match_refused",
            r,
            &format!("{path:?} with If-Match on a missing key"),
        );
        if !wrote {
            expect_not_found(
                c,
                "missing_key_stays_missing",
                store.head("absent").await,
                "after If-Match on a missing key",
            )?;
        }
        write(store, path, "t", PutOptions::if_match(&tag))
            .await
            .at_as(
                c,
                "current_if_match",
                format_args!("{path:?} with the current If-Match"),
            )?;
        let got = store.get_bytes("t").await.at(c, "get_after_swap")?;
        ensure!(
            c,
            "current_if_match_writes",
            got == body(path),
            "{path:?} with the current tag wrote other bytes"
        );
        Ok(())
    } else {
        let r = write(store, path, "t", PutOptions::if_match("\"x\"")).await;
        ensure!(
            c,
            "if_match_not_supported",
            matches!(r, Err(Error::NotSupported { .. })),
            "{path:?} If-Match without the capability gave {r:?}"
        );
        Err(c.skip("lacks conditional_update (create-only checked)"))
    }
}

/// After a write that should have been refused: when it was refused (`wrote` false), `t` must be unchanged
/// (checked under `refused_write_changes_nothing`); when it went through (its check failed already), `t` is
/// seeded again so the rest of the case starts from a known object. Returns `t`'s head.
async fn settle(
    c: &mut Checks,
    store: &dyn ObjectStore,
    wrote: bool,
    before: &ObjectMeta,
) -> Result<ObjectMeta, Abort> {
    if wrote {
        seed(c, store, "t").await
    } else {
        unchanged(
            c,
            "refused_write_changes_nothing",
            store,
            "t",
            before,
            b"original",
        )
        .await?;
        Ok(before.clone())
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
async fn seed(c: &mut Checks, store: &dyn ObjectStore, key: &str) -> Result<ObjectMeta, Abort> {
    let options = PutOptions::default()
        .with_content_type("text/plain")
        .with_metadata("who", "original");
    store
        .put(key, Bytes::from_static(b"original"), options)
        .await
        .at(c, "seed_put")?;
    store.head(key).await.at(c, "seed_head")
}

/// Checks (under `label`) that `key` still holds `content` with `before`'s content type, metadata and
/// entity tag.
async fn unchanged(
    c: &mut Checks,
    label: &'static str,
    store: &dyn ObjectStore,
    key: &str,
    before: &ObjectMeta,
    content: &[u8],
) -> CaseResult {
    let got = store
        .get_bytes(key)
        .await
        .at(c, "get_after_failed_precondition")?;
    c.check(
        label,
        got == content,
        "a failed precondition changed the content",
    );
    let now = store
        .head(key)
        .await
        .at(c, "head_after_failed_precondition")?;
    if store.capabilities().metadata {
        c.check(
            label,
            now.content_type == before.content_type && now.metadata == before.metadata,
            format_args!(
                "a failed precondition changed the metadata: {:?} {:?} -> {:?} {:?}",
                before.content_type, before.metadata, now.content_type, now.metadata
            ),
        );
    }
    c.check(
        label,
        now.e_tag == before.e_tag && now.size == before.size,
        format_args!(
            "a failed precondition changed the entity tag or size: {:?} -> {:?}",
            before.e_tag, now.e_tag
        ),
    );
    Ok(())
}

/// Checks (under `label`, going on) that `r` is `PreconditionFailed`.
fn expect_precondition_failed<T: std::fmt::Debug>(
    c: &mut Checks,
    label: &'static str,
    r: Result<T, Error>,
    what: &str,
) -> bool {
    let failed = matches!(r, Err(Error::PreconditionFailed { .. }));
    c.check(
        label,
        failed,
        format_args!("{what}: expected PreconditionFailed, got {r:?}"),
    )
}

/// `get` and `head_with` under `If-Match` / `If-None-Match` (RFC 9110 §13): the current tag reads; a wrong
/// `If-Match` is `PreconditionFailed`; an `If-None-Match` of the current tag (or `*`) is `NotModified`; a
/// wrong `If-None-Match` reads; a missing key is still `NotFound`.
pub async fn conditional_reads(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    use crate::{GetOptions, ReadConditions};
    let meta = seed(c, store, "r").await?;
    let tag = c.ok(
        "entity_tag",
        meta.e_tag.clone().ok_or("head gave no entity tag"),
    )?;
    let get = |c: ReadConditions| async move {
        match store.get("r", GetOptions::conditions(c)).await {
            Ok(got) => got.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        }
    };
    let head = |c: ReadConditions| async move { store.head_with("r", c).await.map(drop) };
    // Every answer is its own check (the case goes on), labelled by the condition, so a declared server gap
    // can name exactly the answers it covers.
    for (label, name, cond, want) in [
        (
            "if_match_current",
            "If-Match current",
            ReadConditions::if_match(&tag),
            "ok",
        ),
        (
            "if_match_any",
            "If-Match *",
            ReadConditions::if_match("*"),
            "ok",
        ),
        (
            "if_match_wrong",
            "If-Match wrong",
            ReadConditions::if_match("\"wrong\""),
            "412",
        ),
        (
            "if_none_match_current",
            "If-None-Match current",
            ReadConditions::if_none_match(&tag),
            "304",
        ),
        (
            "if_none_match_any",
            "If-None-Match *",
            ReadConditions::if_none_match("*"),
            "304",
        ),
        (
            "if_none_match_wrong",
            "If-None-Match wrong",
            ReadConditions::if_none_match("\"wrong\""),
            "ok",
        ),
    ] {
        for (op, r) in [("get", get(cond.clone()).await), ("head", head(cond).await)] {
            let as_wanted = match want {
                "ok" => r.is_ok(),
                "412" => matches!(r, Err(Error::PreconditionFailed { .. })),
                _ => matches!(r, Err(Error::NotModified { .. })),
            };
            c.check(
                label,
                as_wanted,
                format_args!("{op} with {name}: wanted {want}, got {}", brief(&r)),
            );
        }
    }
    let r = store
        .get(
            "missing",
            GetOptions::conditions(ReadConditions::if_match(&tag)),
        )
        .await;
    expect_not_found(
        c,
        "get_missing_key_if",
        r.map(|g| g.meta),
        "get of a missing key with If-Match",
    )?;
    let r = store
        .head_with("missing", ReadConditions::if_none_match("*"))
        .await;
    expect_not_found(
        c,
        "head_missing_key_if",
        r,
        "head of a missing key with If-None-Match *",
    )?;
    Ok(())
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
