//! Keys and list prefixes that try to leave their place: `.`/`..` segments, absolute paths, empty segments,
//! symbolic links. DESIGN §3: keys and list prefixes obey the same rules on every backend, and no operation
//! reaches outside the workspace or the store root.

use super::{At, Subject, ensure};
use crate::{
    Error, GetOptions, ListOptions, MultipartUpload, ObjectStore, PartId, PutOptions, for_workspace,
};
use avb_conformance::{Abort, CaseResult, Checks};
use avb_core::WorkspaceId;
use bytes::Bytes;
use std::fmt;

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

/// Checks (under `invalid_key`, going on) that `r` is `InvalidKey`.
fn invalid<T: fmt::Debug>(c: &mut Checks, r: crate::Result<T>, what: impl fmt::Display) -> bool {
    let refused = matches!(r, Err(Error::InvalidKey { .. }));
    c.check(
        "invalid_key",
        refused,
        format_args!("{what}: expected InvalidKey, got {r:?}"),
    )
}

/// Every operation that takes `key` refuses it with `InvalidKey` (a forged upload for `key` included).
async fn refused_everywhere(
    c: &mut Checks,
    store: &dyn ObjectStore,
    key: &str,
    good: &str,
) -> CaseResult {
    let data = || Bytes::from_static(b"x");
    invalid(
        c,
        store.put(key, data(), PutOptions::default()).await,
        format_args!("put {key:?}"),
    );
    let body: crate::ByteStream = Box::pin(futures::stream::iter([Ok(data())]));
    invalid(
        c,
        store.put_stream(key, body, PutOptions::default()).await,
        format_args!("put_stream {key:?}"),
    );
    invalid(
        c,
        store.get(key, GetOptions::default()).await.map(|r| r.meta),
        format_args!("get {key:?}"),
    );
    invalid(c, store.head(key).await, format_args!("head {key:?}"));
    invalid(c, store.delete(key).await, format_args!("delete {key:?}"));
    invalid(
        c,
        store.copy(key, good).await,
        format_args!("copy from {key:?}"),
    );
    invalid(
        c,
        store.copy(good, key).await,
        format_args!("copy to {key:?}"),
    );
    invalid(
        c,
        store.create_multipart(key, PutOptions::default()).await,
        format_args!("create_multipart {key:?}"),
    );
    if store.capabilities().multipart {
        // An upload of a good key, presented with the bad key: refused before it reaches anything.
        let upload = store
            .create_multipart(good, PutOptions::default())
            .await
            .at(c, "create_multipart_good_key")?;
        let forged = MultipartUpload {
            key: key.to_string(),
            upload_id: upload.upload_id.clone(),
        };
        invalid(
            c,
            store.put_part(&forged, 1, data()).await,
            format_args!("put_part of {key:?}"),
        );
        let part = PartId {
            part_number: 1,
            e_tag: "\"x\"".into(),
        };
        invalid(
            c,
            store.complete_multipart(&forged, vec![part]).await,
            format_args!("complete_multipart of {key:?}"),
        );
        invalid(
            c,
            store.abort_multipart(&forged).await,
            format_args!("abort_multipart of {key:?}"),
        );
        store.abort_multipart(&upload).await.at(c, "abort")?;
    }
    Ok(())
}

/// Keys that could escape a directory or are ambiguous are `InvalidKey` for every operation that takes a
/// key, and such list prefixes are `InvalidKey` for `list`, on every backend.
pub async fn invalid_keys(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    refusals(c, store.as_ref()).await
}

/// [`invalid_keys`] on the harness store itself, not only through the scoping wrapper in front of it (these
/// calls only ever fail, so they touch nothing outside the case's prefix).
pub async fn invalid_keys_unscoped(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.harness().store.clone();
    refusals(c, store.as_ref()).await
}

async fn refusals(c: &mut Checks, store: &dyn ObjectStore) -> CaseResult {
    for key in BAD_KEYS {
        refused_everywhere(c, store, key, "good").await?;
    }
    for prefix in BAD_PREFIXES {
        invalid(
            c,
            store.list(&ListOptions::prefix(*prefix)).await,
            format_args!("list {prefix:?}"),
        );
        invalid(
            c,
            store
                .list(&ListOptions::prefix(*prefix).with_delimiter())
                .await,
            format_args!("list {prefix:?} with delimiter"),
        );
    }
    Ok(())
}

fn workspace(c: &mut Checks, id: &str) -> Result<WorkspaceId, Abort> {
    c.ok("workspace_id", WorkspaceId::new(id))
}

fn keys(objects: Vec<crate::ObjectMeta>) -> Vec<String> {
    objects.into_iter().map(|o| o.key).collect()
}

/// One workspace cannot name another's objects — or anything above the store — through `..`, `.`, absolute
/// or empty segments, in any operation or list prefix; and nothing it tries changes the other's objects.
pub async fn traversal_through_workspace(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let acme = for_workspace(store.clone(), &workspace(c, "acme")?);
    let other = for_workspace(store.clone(), &workspace(c, "other")?);
    other
        .put("x", Bytes::from_static(b"OTHER"), PutOptions::default())
        .await
        .at(c, "put_other_x")?;
    other
        .put("sub/y", Bytes::from_static(b"OTHER"), PutOptions::default())
        .await
        .at(c, "put_other_sub_y")?;
    for key in [
        "../other/x",
        "../../ws/other/x",
        "sub/../../other/x",
        "../other/sub/y",
        "./x",
        "../x",
        "/ws/other/x",
    ] {
        refused_everywhere(c, acme.as_ref(), key, "mine").await?;
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
                c,
                acme.list(&options).await,
                format_args!("acme lists {options:?}"),
            );
        }
    }
    let mine = keys(acme.list_all("").await.at(c, "acme_list_all")?);
    ensure!(
        c,
        "acme_sees_nothing",
        mine.is_empty(),
        "acme sees {mine:?}"
    );
    let theirs = keys(other.list_all("").await.at(c, "other_list_all")?);
    ensure!(
        c,
        "other_objects_intact",
        theirs == ["sub/y", "x"],
        "other's objects changed: {theirs:?}"
    );
    ensure!(
        c,
        "other_object_intact",
        other.get_bytes("x").await.at(c, "get_other_x")? == "OTHER",
        "other's object was overwritten"
    );
    let raw = keys(store.list_all("").await.at(c, "raw_list_all")?);
    ensure!(
        c,
        "store_holds_only_other",
        raw == ["ws/other/sub/y", "ws/other/x"],
        "the store holds {raw:?}"
    );
    // A store prefix is a key: it cannot climb either.
    for prefix in ["ws/../x", "..", "a/./b", "/abs"] {
        let r = crate::PrefixStore::new(store.clone(), prefix).map(|p| p.prefix().to_string());
        invalid(c, r, format_args!("PrefixStore::new({prefix:?})"));
    }
    Ok(())
}

/// Symbolic links planted under the store (by [`Symlinks`]; a backend with a file system underneath) are
/// never followed: a link to another workspace's directory, to another workspace's object, or to a directory
/// outside the store reads, writes, deletes, copies and lists nothing through it (`InvalidKey`, or absent from
/// listings). Needs [`capability::SYMLINKS`](super::capability::SYMLINKS).
pub async fn symlinks_not_followed(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let Some(symlinks) = s.harness().symlinks.clone() else {
        // The kit skips the case before it runs when the harness has no way to plant links.
        return Err(c.fail("symlinks", "the harness has no Symlinks"));
    };
    let prefix = s.prefix(c);
    let store = s.store(c)?;
    let acme = for_workspace(store.clone(), &workspace(c, "acme")?);
    let other = for_workspace(store.clone(), &workspace(c, "other")?);
    other
        .put(
            "secret",
            Bytes::from_static(b"OTHER"),
            PutOptions::default(),
        )
        .await
        .at(c, "put_other_secret")?;
    other
        .put(
            "dir/file",
            Bytes::from_static(b"OTHER"),
            PutOptions::default(),
        )
        .await
        .at(c, "put_other_dir_file")?;
    acme.put("mine", Bytes::from_static(b"ACME"), PutOptions::default())
        .await
        .at(c, "put_acme_mine")?;
    let raw = |k: &str| format!("{prefix}/{k}");
    c.ok(
        "plant_link",
        symlinks.link(&raw("ws/acme/link"), &raw("ws/other")),
    )?;
    c.ok(
        "plant_link",
        symlinks.link(&raw("ws/acme/leaf"), &raw("ws/other/secret")),
    )?;
    c.ok("plant_link", symlinks.link_outside(&raw("ws/acme/out")))?;
    for key in [
        "link/secret",
        "link/dir/file",
        "leaf",
        "out/secret",
        "link/new",
        "out/new",
    ] {
        invalid(
            c,
            acme.get(key, GetOptions::default()).await.map(|r| r.meta),
            format_args!("get {key:?}"),
        );
        invalid(c, acme.head(key).await, format_args!("head {key:?}"));
        invalid(
            c,
            acme.put(key, Bytes::from_static(b"x"), PutOptions::default())
                .await,
            format_args!("put {key:?}"),
        );
        invalid(c, acme.delete(key).await, format_args!("delete {key:?}"));
        invalid(
            c,
            acme.copy(key, "stolen").await,
            format_args!("copy from {key:?}"),
        );
        invalid(
            c,
            acme.copy("mine", key).await,
            format_args!("copy to {key:?}"),
        );
        invalid(
            c,
            acme.create_multipart(key, PutOptions::default()).await,
            format_args!("create_multipart {key:?}"),
        );
    }
    for p in ["", "l", "link/", "link/dir/", "out/", "leaf", "o"] {
        for options in [
            ListOptions::prefix(p),
            ListOptions::prefix(p).with_delimiter(),
        ] {
            let page = acme
                .list(&options)
                .await
                .at_as(c, "list", format_args!("list {p:?}"))?;
            let listed = keys(page.objects);
            let expected: &[&str] = if "mine".starts_with(p) {
                &["mine"]
            } else {
                &[]
            };
            ensure!(
                c,
                "links_not_listed",
                listed == expected,
                "list {options:?} followed a link: {listed:?}"
            );
            ensure!(
                c,
                "links_not_prefixes",
                page.common_prefixes.is_empty(),
                "list {options:?} shows links as prefixes: {:?}",
                page.common_prefixes
            );
        }
    }
    let theirs = keys(other.list_all("").await.at(c, "other_list_all")?);
    ensure!(
        c,
        "other_objects_intact",
        theirs == ["dir/file", "secret"],
        "other's objects changed: {theirs:?}"
    );
    ensure!(
        c,
        "other_object_intact",
        other.get_bytes("secret").await.at(c, "get_other_secret")? == "OTHER",
        "other's object was overwritten through a link"
    );
    super::expect_not_found(
        c,
        "nothing_copied_through_link",
        acme.head("stolen").await,
        "copy through a link",
    )?;
    Ok(())
}
