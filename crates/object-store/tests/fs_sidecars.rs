//! The fs backend keeps each key's content type and metadata in a sidecar file: no key may collide with
//! another key's sidecar. Property: for any two keys built from names that suffix-based sidecar schemes
//! confuse (`a`, `a.json`, `.json`, …), both keep their own metadata whenever the file system can hold both
//! keys at all (it cannot hold `a` and `a/b`: the second put is `InvalidKey` and changes nothing).
#![cfg(feature = "fs")]
// Test code: an unwrap that fails is the test failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb_object_store::fs::FsStore;
use avb_object_store::{DEFAULT_CONTENT_TYPE, Error, ObjectStore, PutOptions};
use bytes::Bytes;
use proptest::prelude::*;

fn segment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "a.json",
        ".json",
        "json",
        "a.json.json",
        "meta",
        ".avbx",
        "a.meta",
        "b.json",
    ])
    .prop_map(str::to_string)
}

fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..4).prop_map(|s| s.join("/"))
}

fn options(n: u8) -> PutOptions {
    PutOptions::default()
        .with_content_type(format!("text/x-{n}"))
        .with_metadata("n", n.to_string())
}

/// `a` and `a/…` cannot coexist on a file system.
fn nested(a: &str, b: &str) -> bool {
    a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

async fn check_pair(first: String, second: String) -> Result<(), TestCaseError> {
    if first == second {
        return Ok(());
    }
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path()).unwrap();
    store
        .put(&first, Bytes::from(first.clone()), options(1))
        .await
        .unwrap();
    let r = store
        .put(&second, Bytes::from(second.clone()), options(2))
        .await;
    let second_stored = if nested(&first, &second) {
        prop_assert!(
            matches!(r, Err(Error::InvalidKey { .. })),
            "{second:?} after {first:?}: {r:?}"
        );
        false
    } else {
        prop_assert!(r.is_ok(), "{second:?} after {first:?}: {r:?}");
        true
    };
    let head = store.head(&first).await.unwrap();
    prop_assert_eq!(head.content_type, options(1).content_type, "{:?}", first);
    prop_assert_eq!(head.metadata, options(1).metadata);
    prop_assert_eq!(store.get_bytes(&first).await.unwrap(), first.as_bytes());
    if second_stored {
        let head = store.head(&second).await.unwrap();
        prop_assert_eq!(head.content_type, options(2).content_type, "{:?}", second);
        prop_assert_eq!(head.metadata, options(2).metadata);
        // Deleting the first leaves the second's metadata; rewriting the first without a content type
        // gives it the default, not a stale or foreign one.
        store.delete(&first).await.unwrap();
        let head = store.head(&second).await.unwrap();
        prop_assert_eq!(head.content_type, options(2).content_type);
        store
            .put(&first, Bytes::new(), PutOptions::default())
            .await
            .unwrap();
        let head = store.head(&first).await.unwrap();
        prop_assert_eq!(head.content_type.as_deref(), Some(DEFAULT_CONTENT_TYPE));
        prop_assert!(head.metadata.is_empty(), "{:?}", head.metadata);
    }
    // Delete everything: the directories a key made go with it, so the nested one can now be written.
    store.delete(&first).await.unwrap();
    store.delete(&second).await.unwrap();
    prop_assert!(store.list_all("").await.unwrap().is_empty());
    store
        .put(&second, Bytes::new(), options(3))
        .await
        .map_err(|e| TestCaseError::fail(format!("{second:?} after deleting all: {e}")))?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_key_collides_with_another_keys_sidecar(first in key(), second in key()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(check_pair(first, second))?;
    }
}

/// The pair from the report: `a` with a content type, then `a.json/b`.
#[tokio::test]
async fn a_and_a_json_slash_b_keep_their_own_metadata() {
    check_pair("a".into(), "a.json/b".into()).await.unwrap();
    check_pair("a.json/b".into(), "a".into()).await.unwrap();
}

/// A deleted `a/b` leaves no directory `a` behind to block a later key `a` (in the object tree or the
/// sidecar tree).
#[tokio::test]
async fn deleting_a_nested_key_frees_its_parent_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path()).unwrap();
    store.put("a/b/c", Bytes::new(), options(1)).await.unwrap();
    store.delete("a/b/c").await.unwrap();
    store
        .put("a", Bytes::from_static(b"x"), options(2))
        .await
        .unwrap();
    assert_eq!(
        store.head("a").await.unwrap().content_type,
        options(2).content_type
    );
}
