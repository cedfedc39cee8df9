//! Keys and list prefixes that try to leave their place: `.`/`..` segments, absolute paths, empty segments,
//! symbolic links. DESIGN §3: keys and list prefixes obey the same rules on every backend, and no operation
//! reaches outside the workspace or the store root.

use super::{CaseResult, Context, Outcome, Symlinks, ensure, lacks};
use crate::{
    Error, GetOptions, ListOptions, MultipartUpload, ObjectStore, PartId, PutOptions, for_workspace,
};
use avb_core::WorkspaceId;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// Keys no backend accepts.
const BAD_KEYS: &[&str] = &[
    "../escape",
    "a/../../b",
    "/absolute",
    "a//b",
    "trailing/",
    "",
    "./a",
    ".",
    "..",
    "a/.",
    "a/..",
];

/// List prefixes no backend accepts.
const BAD_PREFIXES: &[&str] = &[
    "../",
    "..",
    "../../../",
    "a/../",
    "a/..",
    "./",
    ".",
    "a/./",
    "/",
    "/abs",
    "a//",
    "//",
];

fn invalid<T: fmt::Debug>(r: crate::Result<T>, what: &str) -> Result<(), String> {
    match r {
        Err(Error::InvalidKey { .. }) => Ok(()),
        other => Err(format!("{what}: expected InvalidKey, got {other:?}")),
    }
}

/// Every operation that takes `key` refuses it with `InvalidKey` (a forged upload for `key` included).
async fn refused_everywhere(store: &dyn ObjectStore, key: &str, good: &str) -> Result<(), String> {
    let data = || Bytes::from_static(b"x");
    invalid(
        store.put(key, data(), PutOptions::default()).await,
        &format!("put {key:?}"),
    )?;
    let body: crate::ByteStream = Box::pin(futures::stream::iter([Ok(data())]));
    invalid(
        store.put_stream(key, body, PutOptions::default()).await,
        &format!("put_stream {key:?}"),
    )?;
    invalid(
        store.get(key, GetOptions::default()).await.map(|r| r.meta),
        &format!("get {key:?}"),
    )?;
    invalid(store.head(key).await, &format!("head {key:?}"))?;
    invalid(store.delete(key).await, &format!("delete {key:?}"))?;
    invalid(store.copy(key, good).await, &format!("copy from {key:?}"))?;
    invalid(store.copy(good, key).await, &format!("copy to {key:?}"))?;
    invalid(
        store.create_multipart(key, PutOptions::default()).await,
        &format!("create_multipart {key:?}"),
    )?;
    if store.capabilities().multipart {
        // An upload of a good key, presented with the bad key: refused before it reaches anything.
        let upload = store
            .create_multipart(good, PutOptions::default())
            .await
            .ctx("create_multipart of a good key")?;
        let forged = MultipartUpload {
            key: key.to_string(),
            upload_id: upload.upload_id.clone(),
        };
        invalid(
            store.put_part(&forged, 1, data()).await,
            &format!("put_part of {key:?}"),
        )?;
        let part = PartId {
            part_number: 1,
            e_tag: "\"x\"".into(),
        };
        invalid(
            store.complete_multipart(&forged, vec![part]).await,
            &format!("complete_multipart of {key:?}"),
        )?;
        invalid(
            store.abort_multipart(&forged).await,
            &format!("abort_multipart of {key:?}"),
        )?;
        store.abort_multipart(&upload).await.ctx("abort")?;
    }
    Ok(())
}

/// Keys that could escape a directory or are ambiguous are `InvalidKey` for every operation that takes a
/// key, and such list prefixes are `InvalidKey` for `list`, on every backend.
pub async fn invalid_keys(store: &dyn ObjectStore) -> CaseResult {
    for key in BAD_KEYS {
        refused_everywhere(store, key, "good").await?;
    }
    for prefix in BAD_PREFIXES {
        invalid(
            store.list(&ListOptions::prefix(*prefix)).await,
            &format!("list {prefix:?}"),
        )?;
        invalid(
            store
                .list(&ListOptions::prefix(*prefix).with_delimiter())
                .await,
            &format!("list {prefix:?} with delimiter"),
        )?;
    }
    Ok(Outcome::Passed)
}

fn workspace(id: &str) -> Result<WorkspaceId, String> {
    WorkspaceId::new(id).map_err(|e| e.to_string())
}

fn keys(objects: Vec<crate::ObjectMeta>) -> Vec<String> {
    objects.into_iter().map(|o| o.key).collect()
}

/// One workspace cannot name another's objects — or anything above the store — through `..`, `.`, absolute
/// or empty segments, in any operation or list prefix; and nothing it tries changes the other's objects.
pub async fn traversal_through_workspace(store: Arc<dyn ObjectStore>) -> CaseResult {
    let acme = for_workspace(store.clone(), &workspace("acme")?);
    let other = for_workspace(store.clone(), &workspace("other")?);
    other
        .put("x", Bytes::from_static(b"OTHER"), PutOptions::default())
        .await
        .ctx("put other/x")?;
    other
        .put("sub/y", Bytes::from_static(b"OTHER"), PutOptions::default())
        .await
        .ctx("put other/sub/y")?;
    for key in [
        "../other/x",
        "../../ws/other/x",
        "sub/../../other/x",
        "../other/sub/y",
        "./x",
        "../x",
        "/ws/other/x",
    ] {
        refused_everywhere(acme.as_ref(), key, "mine").await?;
    }
    for prefix in [
        "../",
        "../other/",
        "../other",
        "../../",
        "../../../",
        "..",
        "sub/../../other/",
        "./",
        "/",
        "/ws/other/",
    ] {
        for options in [
            ListOptions::prefix(prefix),
            ListOptions::prefix(prefix).with_delimiter(),
        ] {
            invalid(
                acme.list(&options).await,
                &format!("acme lists {options:?}"),
            )?;
        }
    }
    let mine = keys(acme.list_all("").await.ctx("acme list_all")?);
    ensure!(mine.is_empty(), "acme sees {mine:?}");
    let theirs = keys(other.list_all("").await.ctx("other list_all")?);
    ensure!(
        theirs == ["sub/y", "x"],
        "other's objects changed: {theirs:?}"
    );
    ensure!(
        other.get_bytes("x").await.ctx("get other/x")? == "OTHER",
        "other's object was overwritten"
    );
    let raw = keys(store.list_all("").await.ctx("raw list_all")?);
    ensure!(
        raw == ["ws/other/sub/y", "ws/other/x"],
        "the store holds {raw:?}"
    );
    // A store prefix is a key: it cannot climb either.
    for prefix in ["ws/../x", "..", "a/./b", "/abs"] {
        let r = crate::PrefixStore::new(store.clone(), prefix).map(|p| p.prefix().to_string());
        invalid(r, &format!("PrefixStore::new({prefix:?})"))?;
    }
    Ok(Outcome::Passed)
}

/// Symbolic links planted under the store (by [`Symlinks`]; a backend with a file system underneath) are
/// never followed: a link to another workspace's directory, to another workspace's object, or to a directory
/// outside the store reads, writes, deletes, copies and lists nothing through it (`InvalidKey`, or absent from
/// listings). `prefix` is the case's prefix in the harness store.
pub async fn symlinks_not_followed(
    store: Arc<dyn ObjectStore>,
    symlinks: Option<&dyn Symlinks>,
    prefix: &str,
) -> CaseResult {
    let Some(symlinks) = symlinks else {
        return lacks(
            "symlinks_not_followed",
            "a way to plant symbolic links (no file system underneath; Harness::symlinks is None)",
        );
    };
    let acme = for_workspace(store.clone(), &workspace("acme")?);
    let other = for_workspace(store.clone(), &workspace("other")?);
    other
        .put(
            "secret",
            Bytes::from_static(b"OTHER"),
            PutOptions::default(),
        )
        .await
        .ctx("put other/secret")?;
    other
        .put(
            "dir/file",
            Bytes::from_static(b"OTHER"),
            PutOptions::default(),
        )
        .await
        .ctx("put other/dir/file")?;
    acme.put("mine", Bytes::from_static(b"ACME"), PutOptions::default())
        .await
        .ctx("put acme/mine")?;
    let raw = |k: &str| format!("{prefix}/{k}");
    symlinks.link(&raw("ws/acme/link"), &raw("ws/other"))?;
    symlinks.link(&raw("ws/acme/leaf"), &raw("ws/other/secret"))?;
    symlinks.link_outside(&raw("ws/acme/out"))?;
    for key in [
        "link/secret",
        "link/dir/file",
        "leaf",
        "out/secret",
        "link/new",
        "out/new",
    ] {
        invalid(
            acme.get(key, GetOptions::default()).await.map(|r| r.meta),
            &format!("get {key:?}"),
        )?;
        invalid(acme.head(key).await, &format!("head {key:?}"))?;
        invalid(
            acme.put(key, Bytes::from_static(b"x"), PutOptions::default())
                .await,
            &format!("put {key:?}"),
        )?;
        invalid(acme.delete(key).await, &format!("delete {key:?}"))?;
        invalid(
            acme.copy(key, "stolen").await,
            &format!("copy from {key:?}"),
        )?;
        invalid(acme.copy("mine", key).await, &format!("copy to {key:?}"))?;
        invalid(
            acme.create_multipart(key, PutOptions::default()).await,
            &format!("create_multipart {key:?}"),
        )?;
    }
    for p in ["", "l", "link/", "link/dir/", "out/", "leaf", "o"] {
        for options in [
            ListOptions::prefix(p),
            ListOptions::prefix(p).with_delimiter(),
        ] {
            let page = acme.list(&options).await.ctx(&format!("list {p:?}"))?;
            let listed = keys(page.objects);
            let expected: &[&str] = if "mine".starts_with(p) {
                &["mine"]
            } else {
                &[]
            };
            ensure!(
                listed == expected,
                "list {options:?} followed a link: {listed:?}"
            );
            ensure!(
                page.common_prefixes.is_empty(),
                "list {options:?} shows links as prefixes: {:?}",
                page.common_prefixes
            );
        }
    }
    let theirs = keys(other.list_all("").await.ctx("other list_all")?);
    ensure!(
        theirs == ["dir/file", "secret"],
        "other's objects changed: {theirs:?}"
    );
    ensure!(
        other.get_bytes("secret").await.ctx("get other/secret")? == "OTHER",
        "other's object was overwritten through a link"
    );
    expect_absent(acme.head("stolen").await, "copy through a link")?;
    Ok(Outcome::Passed)
}

fn expect_absent<T: fmt::Debug>(r: crate::Result<T>, what: &str) -> Result<(), String> {
    super::expect_not_found(r, what)
}
