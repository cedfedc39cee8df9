//! Unit tests of the fs backend.

use super::*;

#[tokio::test]
async fn symlinks_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"outside").unwrap();
    let root = tempfile::tempdir().unwrap();
    let store = FsStore::new(root.path()).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
    let err = store.get_bytes("link/secret").await.unwrap_err();
    assert!(matches!(err, Error::InvalidKey { .. }), "{err:?}");
    let err = store
        .put("link/new", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidKey { .. }), "{err:?}");
    assert!(!outside.path().join("new").exists());
}

#[tokio::test]
async fn reserved_and_escaping_keys_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let store = FsStore::new(root.path()).unwrap();
    for key in [".avb/tmp/x", "../x", "/etc/passwd", "a/../../x"] {
        let err = store
            .put(key, Bytes::from_static(b"x"), PutOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidKey { .. }), "{key}: {err:?}");
    }
    // Listing never shows the store's own files.
    store
        .put("visible", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .unwrap();
    store
        .put(
            "meta",
            Bytes::from_static(b"x"),
            PutOptions::default().with_content_type("a/b"),
        )
        .await
        .unwrap();
    for prefix in [".avb/", ".avb/meta/", ".a"] {
        let page = store.list(&ListOptions::prefix(prefix)).await.unwrap();
        assert!(page.objects.is_empty(), "{prefix}: {page:?}");
    }
    let keys: Vec<_> = store
        .list_all("")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["meta", "visible"]);
}

#[tokio::test]
async fn object_and_prefix_of_one_name_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let store = FsStore::new(root.path()).unwrap();
    store
        .put("a/b", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .unwrap();
    let err = store
        .put("a", Bytes::from_static(b"y"), PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidKey { .. }), "{err:?}");
    store
        .put("f", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .unwrap();
    let err = store
        .put("f/g", Bytes::from_static(b"y"), PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidKey { .. }), "{err:?}");
    assert!(store.get_bytes("a").await.unwrap_err().is_not_found());
    assert_eq!(store.get_bytes("f").await.unwrap(), "x");
}

#[tokio::test]
async fn failed_stream_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let store = FsStore::new(root.path()).unwrap();
    let body: ByteStream = Box::pin(futures::stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(Error::invalid_argument("client went away")),
    ]));
    assert!(
        store
            .put_stream("k", body, PutOptions::default())
            .await
            .is_err()
    );
    assert!(store.head("k").await.unwrap_err().is_not_found());
    let tmp = std::fs::read_dir(root.path().join(".avb/tmp"))
        .unwrap()
        .count();
    assert_eq!(tmp, 0, "temporary file left behind");
}

/// go-cloud#3725: a failed create-only write still rewrote fileblob's metadata sidecar. Here the sidecar
/// file itself (bytes and modification time) and the object file stay as they were after a failed
/// create-only put, a failed compare-and-swap, a failed multipart complete and a failed copy.
#[tokio::test]
async fn failed_preconditions_leave_the_sidecar_file_alone() {
    let root = tempfile::tempdir().unwrap();
    let store = FsStore::new(root.path()).unwrap();
    let original = PutOptions::default()
        .with_content_type("text/plain")
        .with_metadata("who", "original");
    store
        .put("k", Bytes::from_static(b"original"), original.clone())
        .await
        .unwrap();
    store
        .put("src", Bytes::from_static(b"other"), original)
        .await
        .unwrap();
    let sidecar = store.meta_path("k");
    let snapshot = || {
        let meta = std::fs::metadata(&sidecar).unwrap();
        let object = std::fs::metadata(root.path().join("k")).unwrap();
        (
            std::fs::read(&sidecar).unwrap(),
            meta.modified().unwrap(),
            object.modified().unwrap(),
        )
    };
    let before = snapshot();
    let other = |o: PutOptions| o.with_content_type("a/b").with_metadata("who", "intruder");
    let r = store
        .put("k", Bytes::from_static(b"x"), other(PutOptions::create()))
        .await;
    assert!(matches!(r, Err(Error::AlreadyExists { .. })), "{r:?}");
    let r = store
        .put(
            "k",
            Bytes::from_static(b"x"),
            other(PutOptions::if_match("\"no\"")),
        )
        .await;
    assert!(matches!(r, Err(Error::PreconditionFailed { .. })), "{r:?}");
    let upload = store
        .create_multipart("k", other(PutOptions::if_match("\"no\"")))
        .await
        .unwrap();
    let part = store
        .put_part(&upload, 1, Bytes::from_static(b"x"))
        .await
        .unwrap();
    let r = store.complete_multipart(&upload, vec![part]).await;
    assert!(matches!(r, Err(Error::PreconditionFailed { .. })), "{r:?}");
    for options in [
        CopyOptions {
            mode: PutMode::Create,
            if_match: None,
        },
        CopyOptions {
            mode: PutMode::Overwrite,
            if_match: Some("\"no\"".into()),
        },
    ] {
        let r = store.copy_with("src", "k", options).await;
        assert!(r.is_err(), "{r:?}");
    }
    assert_eq!(
        snapshot(),
        before,
        "a failed precondition touched the files"
    );
    assert_eq!(store.get_bytes("k").await.unwrap(), "original");
    // Nothing left in the temporary directory either.
    let tmp = std::fs::read_dir(root.path().join(".avb/tmp"))
        .unwrap()
        .count();
    assert_eq!(tmp, 0, "temporary files left behind");
}
