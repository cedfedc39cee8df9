//! No key or list prefix lets one workspace reach another's objects or files outside the store, on the
//! memory and fs backends. Property over strings built from path-like pieces (`..`, `.`, `/`, names): whatever
//! a workspace lists, reads or writes with such a string, it sees only its own objects (or a clear
//! `InvalidKey`/`NotFound`), and the other workspace's objects and a file beside the store root stay as they
//! were. (The s3 backends run the same refusals in the conformance cases `invalid_keys` and
//! `traversal_through_workspace`.)
#![cfg(all(feature = "memory", feature = "fs"))]
// Test code: an unwrap that fails is the test failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb_core::WorkspaceId;
use avb_object_store::fs::FsStore;
use avb_object_store::memory::MemoryStore;
use avb_object_store::{Error, ListOptions, ObjectStore, PutOptions, for_workspace};
use bytes::Bytes;
use proptest::prelude::*;
use std::sync::Arc;

fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "..", ".", "/", "/", "a", "x", "ws", "other", "acme", "outside", "..a",
    ])
}

fn path_like() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 1..9).prop_map(|p| p.concat())
}

struct World {
    _dir: tempfile::TempDir,
    outside: std::path::PathBuf,
    stores: Vec<Arc<dyn ObjectStore>>,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("x");
    std::fs::write(&outside, b"OUTSIDE").unwrap();
    let fs = FsStore::new(dir.path().join("root")).unwrap();
    let stores: Vec<Arc<dyn ObjectStore>> = vec![Arc::new(MemoryStore::new()), Arc::new(fs)];
    for store in &stores {
        for (ws, body) in [("acme", "ACME"), ("other", "OTHER")] {
            let scoped = for_workspace(store.clone(), &WorkspaceId::new(ws).unwrap());
            for key in ["x", "a/x"] {
                scoped
                    .put(key, Bytes::from(body), PutOptions::default())
                    .await
                    .unwrap();
            }
        }
    }
    World {
        _dir: dir,
        outside,
        stores,
    }
}

async fn check(world: &World, s: &str) -> Result<(), TestCaseError> {
    for store in &world.stores {
        let backend = store.backend();
        let acme = for_workspace(store.clone(), &WorkspaceId::new("acme").unwrap());
        let other = for_workspace(store.clone(), &WorkspaceId::new("other").unwrap());
        for options in [
            ListOptions::prefix(s),
            ListOptions::prefix(s).with_delimiter(),
        ] {
            match acme.list(&options).await {
                Ok(page) => {
                    for meta in page.objects {
                        prop_assert!(
                            ["x", "a/x"].contains(&meta.key.as_str()),
                            "{backend}: list {s:?} showed {:?}",
                            meta.key
                        );
                    }
                    for p in page.common_prefixes {
                        prop_assert_eq!(p.as_str(), "a/", "{}: list {:?}", backend, s);
                    }
                }
                Err(Error::InvalidKey { .. }) => {}
                Err(e) => return Err(TestCaseError::fail(format!("{backend}: list {s:?}: {e}"))),
            }
        }
        match acme.get_bytes(s).await {
            Ok(bytes) => prop_assert_eq!(bytes, "ACME", "{}: get {:?}", backend, s),
            Err(Error::InvalidKey { .. } | Error::NotFound { .. }) => {}
            Err(e) => return Err(TestCaseError::fail(format!("{backend}: get {s:?}: {e}"))),
        }
        match acme
            .put(s, Bytes::from_static(b"EVIL"), PutOptions::default())
            .await
        {
            Ok(_) => {
                prop_assert_eq!(acme.get_bytes(s).await.unwrap(), "EVIL");
                acme.delete(s).await.unwrap();
                // Put back what a legitimate key overwrote.
                if ["x", "a/x"].contains(&s) {
                    acme.put(s, Bytes::from_static(b"ACME"), PutOptions::default())
                        .await
                        .unwrap();
                }
            }
            // InvalidKey: refused; on fs, also `a` vs `a/…` conflicts.
            Err(Error::InvalidKey { .. }) => {}
            Err(e) => return Err(TestCaseError::fail(format!("{backend}: put {s:?}: {e}"))),
        }
        for key in ["x", "a/x"] {
            prop_assert_eq!(
                other.get_bytes(key).await.unwrap(),
                "OTHER",
                "{}: {:?} reached the other workspace",
                backend,
                s
            );
        }
        let raw: Vec<String> = store
            .list_all("")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        prop_assert_eq!(
            raw,
            ["ws/acme/a/x", "ws/acme/x", "ws/other/a/x", "ws/other/x"],
            "{}: after {:?}",
            backend,
            s
        );
    }
    prop_assert_eq!(std::fs::read(&world.outside).unwrap(), b"OUTSIDE");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_string_reaches_outside_the_workspace(s in path_like()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let world = world().await;
            check(&world, &s).await
        })?;
    }
}
