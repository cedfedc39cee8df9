//! Content type and user metadata: round-trips, the default, and keys whose metadata could collide.

use super::{At, Subject, ensure};
use crate::{DEFAULT_CONTENT_TYPE, Error, GetOptions, PutOptions};
use avb_conformance::{CaseResult, Checks};
use bytes::Bytes;

/// Content type and user metadata round-trip through head, get and copy.
pub async fn metadata_and_content_type(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let options = PutOptions::default()
        .with_content_type("text/csv; charset=utf-8")
        .with_metadata("owner", "ana")
        .with_metadata("purpose", "conformance test 1");
    store
        .put("meta.csv", Bytes::from_static(b"a,b\n"), options.clone())
        .await
        .at(c, "put")?;
    let head = store.head("meta.csv").await.at(c, "head")?;
    ensure!(
        c,
        "content_type",
        head.content_type == options.content_type,
        "content type {:?}",
        head.content_type
    );
    ensure!(
        c,
        "metadata",
        head.metadata == options.metadata,
        "metadata {:?}",
        head.metadata
    );
    let got = store
        .get("meta.csv", GetOptions::default())
        .await
        .at(c, "get")?;
    ensure!(
        c,
        "get_metadata",
        got.meta.metadata == options.metadata,
        "get metadata {:?}",
        got.meta.metadata
    );
    ensure!(
        c,
        "get_content_type",
        got.meta.content_type == options.content_type,
        "get content type"
    );
    let bad = PutOptions::default().with_metadata("Bad Name", "x");
    let r = store.put("bad", Bytes::new(), bad).await;
    ensure!(
        c,
        "bad_metadata_name_refused",
        matches!(r, Err(Error::InvalidArgument { .. })),
        "bad metadata name gave {r:?}"
    );
    Ok(())
}

/// An object stored without a content type reports [`DEFAULT_CONTENT_TYPE`] from `head` and `get` on every
/// backend — whole, streamed, multipart, copied, and after an overwrite that drops an earlier content type.
pub async fn default_content_type(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let default = Some(DEFAULT_CONTENT_TYPE.to_string());
    store
        .put("plain", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .at(c, "put")?;
    let body: crate::ByteStream = Box::pin(futures::stream::iter([Ok(Bytes::from_static(b"s"))]));
    store
        .put_stream("streamed", body, PutOptions::default())
        .await
        .at(c, "put_stream")?;
    store
        .put("empty", Bytes::new(), PutOptions::default())
        .await
        .at(c, "put_empty")?;
    store
        .put(
            "was-typed",
            Bytes::from_static(b"x"),
            PutOptions::default().with_content_type("text/plain"),
        )
        .await
        .at(c, "put_typed")?;
    store
        .put("was-typed", Bytes::from_static(b"y"), PutOptions::default())
        .await
        .at(c, "overwrite_untyped")?;
    store.copy("plain", "copied").await.at(c, "copy")?;
    let mut keys = vec!["plain", "streamed", "empty", "was-typed", "copied"];
    if store.capabilities().multipart {
        let upload = store
            .create_multipart("multipart", PutOptions::default())
            .await
            .at(c, "create_multipart")?;
        let part = store
            .put_part(&upload, 1, Bytes::from_static(b"m"))
            .await
            .at(c, "put_part")?;
        store
            .complete_multipart(&upload, vec![part])
            .await
            .at(c, "complete")?;
        keys.push("multipart");
    }
    for key in keys {
        let head = store
            .head(key)
            .await
            .at_as(c, "head", format_args!("head {key}"))?;
        ensure!(
            c,
            "head_content_type_expected",
            head.content_type == default,
            "head {key}: content type {:?}, expected {default:?}",
            head.content_type
        );
        let got = store.get(key, GetOptions::default()).await.at_as(
            c,
            "get",
            format_args!("get {key}"),
        )?;
        ensure!(
            c,
            "get_content_type_expected",
            got.meta.content_type == default,
            "get {key}: content type {:?}, expected {default:?}",
            got.meta.content_type
        );
    }
    Ok(())
}

/// Keys that a backend storing metadata beside the object (a file-name suffix, a side directory) could
/// confuse — `a` and `a.json/b`, `b` and `b.json`, `.json` — each keep their own content type and metadata.
pub async fn metadata_keys_do_not_collide(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let keys = [
        "a",
        "a.json/b",
        "a.json.json",
        "b.json",
        "b",
        ".json",
        "c/d",
        "c/d.json/e",
        "c/d.meta",
        "x.meta/y",
        "x",
    ];
    let options = |i: usize| {
        PutOptions::default()
            .with_content_type(format!("text/x-{i}"))
            .with_metadata("n", i.to_string())
    };
    for (i, key) in keys.iter().enumerate() {
        store
            .put(key, Bytes::from(key.to_string()), options(i))
            .await
            .at_as(c, "put", format_args!("put {key:?}"))?;
    }
    for (i, key) in keys.iter().enumerate() {
        let head = store
            .head(key)
            .await
            .at_as(c, "head", format_args!("head {key:?}"))?;
        let want = options(i);
        ensure!(
            c,
            "own_metadata",
            head.content_type == want.content_type && head.metadata == want.metadata,
            "{key:?} reports {:?} {:?}, expected {:?} {:?}",
            head.content_type,
            head.metadata,
            want.content_type,
            want.metadata
        );
        ensure!(
            c,
            "own_bytes",
            store
                .get_bytes(key)
                .await
                .at_as(c, "get", format_args!("get {key:?}"))?
                == key.as_bytes(),
            "{key:?} holds other bytes"
        );
    }
    // Deleting one leaves the others' metadata alone.
    store.delete("a").await.at(c, "delete")?;
    let head = store.head("a.json/b").await.at(c, "head_json_b")?;
    ensure!(
        c,
        "delete_leaves_neighbour",
        head.content_type.as_deref() == Some("text/x-1"),
        "deleting \"a\" changed \"a.json/b\": {:?}",
        head.content_type
    );
    let r = store.put(
        "bad",
        Bytes::new(),
        PutOptions::default().with_content_type(""),
    );
    ensure!(
        c,
        "empty_content_type_refused",
        matches!(r.await, Err(Error::InvalidArgument { .. })),
        "an empty content type was accepted"
    );
    Ok(())
}
