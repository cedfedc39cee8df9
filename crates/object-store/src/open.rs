//! [`open`]: the ObjectStore `OBJECT_STORE` chose (and `AWS_ENDPOINT_URL` & co.): no code change between
//! memory, a local directory, MinIO, GCS and AWS. One exhaustive `match` over [`ObjectStoreConfig`]: a new
//! backend does not compile until it is wired here; one left out of this build is [`Error::NotCompiled`].
//!
//! | `OBJECT_STORE` | cargo feature of `avb` (of this crate) |
//! |---|---|
//! | `memory` | `object-store-memory` (`memory`), default |
//! | `fs` | `object-store-fs` (`fs`), default |
//! | `s3` | `object-store-s3` (`s3`) |

use crate::config::ObjectStoreConfig;
use crate::{Error, ObjectStore};
use avb_core::ResourceScope;
use std::sync::Arc;

/// Builds the configured store. For `fs` and `s3` every key lives under the environment scope,
/// `[<OBJECT_STORE_S3_PREFIX>/]<scope>/<key>` (a [`PrefixStore`](crate::PrefixStore); nothing outside it is
/// visible or reachable; `docs/isolation.md`); the in-process `memory` store needs no scope.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use avb_core::config::PortConfig;
/// use avb_object_store::config::ObjectStoreConfig;
/// let config = ObjectStoreConfig::from_pairs([("OBJECT_STORE", "memory")])?;
/// let store = avb_object_store::open(&config.backend).await?;
/// assert_eq!(store.backend(), "memory");
/// # Ok(()) }
/// ```
pub async fn open(config: &ObjectStoreConfig) -> Result<Arc<dyn ObjectStore>, Error> {
    match config {
        ObjectStoreConfig::Memory => memory(),
        ObjectStoreConfig::Fs { root, scope } => scoped(fs(root)?, None, scope),
        ObjectStoreConfig::S3 { prefix, scope, .. } => {
            scoped(s3(config).await?, prefix.as_deref(), scope)
        }
    }
}

/// `store` under `[<prefix>/]<scope>` (as it is when both are absent).
fn scoped(
    store: Arc<dyn ObjectStore>,
    prefix: Option<&str>,
    scope: &ResourceScope,
) -> Result<Arc<dyn ObjectStore>, Error> {
    let full = match (prefix, scope.as_str()) {
        (None, None) => return Ok(store),
        (Some(p), None) => p.to_string(),
        (None, Some(s)) => s.to_string(),
        (Some(p), Some(s)) => format!("{}/{s}", p.trim_end_matches('/')),
    };
    Ok(Arc::new(crate::PrefixStore::new(store, &full)?))
}

#[cfg(feature = "memory")]
fn memory() -> Result<Arc<dyn ObjectStore>, Error> {
    Ok(Arc::new(crate::memory::MemoryStore::new()))
}

#[cfg(not(feature = "memory"))]
fn memory() -> Result<Arc<dyn ObjectStore>, Error> {
    Err(not_compiled("memory", "object-store-memory"))
}

#[cfg(feature = "fs")]
fn fs(root: &std::path::Path) -> Result<Arc<dyn ObjectStore>, Error> {
    Ok(Arc::new(crate::fs::FsStore::new(root)?))
}

#[cfg(not(feature = "fs"))]
fn fs(_: &std::path::Path) -> Result<Arc<dyn ObjectStore>, Error> {
    Err(not_compiled("fs", "object-store-fs"))
}

#[cfg(feature = "s3")]
async fn s3(config: &ObjectStoreConfig) -> Result<Arc<dyn ObjectStore>, Error> {
    Ok(Arc::new(
        crate::s3::S3Builder::from_config(config)?.build().await?,
    ))
}

#[cfg(not(feature = "s3"))]
async fn s3(_: &ObjectStoreConfig) -> Result<Arc<dyn ObjectStore>, Error> {
    Err(not_compiled("s3", "object-store-s3"))
}

#[cfg_attr(
    all(feature = "memory", feature = "fs", feature = "s3"),
    allow(dead_code)
)]
fn not_compiled(backend: &str, feature: &'static str) -> Error {
    Error::from(avb_core::NotCompiled {
        backend: format!("OBJECT_STORE={backend}"),
        feature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::config::PortConfig;

    fn config(pairs: &[(&str, &str)]) -> ObjectStoreConfig {
        ObjectStoreConfig::from_pairs(pairs.iter().copied())
            .unwrap_or_else(|e| panic!("{e}"))
            .backend
    }

    #[cfg(feature = "fs")]
    #[tokio::test]
    async fn fs_is_wired() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let store = open(&config(&[
            ("OBJECT_STORE", "fs"),
            ("OBJECT_STORE_DIR", root.as_str()),
        ]))
        .await
        .unwrap();
        assert_eq!(store.backend(), "fs");
    }

    // Two environments on one directory: neither sees the other's keys, and no key climbs out of its
    // scope.
    #[cfg(feature = "fs")]
    #[tokio::test]
    async fn fs_environments_share_nothing_on_one_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let open_in = |env: &'static str| {
            let root = root.clone();
            async move {
                open(&config(&[
                    ("AVB_ENV", env),
                    ("OBJECT_STORE", "fs"),
                    ("OBJECT_STORE_DIR", root.as_str()),
                ]))
                .await
                .unwrap()
            }
        };
        let dev = open_in("development").await;
        let prod = open_in("production").await;
        let v = |s: &'static str| bytes::Bytes::from_static(s.as_bytes());
        dev.put("ws/a/k", v("dev"), Default::default())
            .await
            .unwrap();
        prod.put("ws/a/k", v("prod"), Default::default())
            .await
            .unwrap();
        assert_eq!(dev.get_bytes("ws/a/k").await.unwrap(), v("dev"));
        assert_eq!(prod.get_bytes("ws/a/k").await.unwrap(), v("prod"));
        assert!(dir.path().join("development/ws/a/k").is_file());
        assert!(dir.path().join("production/ws/a/k").is_file());
        for bad in [
            "../production/ws/a/k",
            "/production/ws/a/k",
            "ws/../../production/ws/a/k",
        ] {
            assert!(
                matches!(dev.get_bytes(bad).await, Err(Error::InvalidKey { .. })),
                "{bad}"
            );
        }
    }

    #[cfg(not(feature = "s3"))]
    #[tokio::test]
    async fn s3_without_its_feature_names_the_feature() {
        let err = open(&config(&[
            ("OBJECT_STORE", "s3"),
            ("OBJECT_STORE_BUCKET", "b"),
        ]))
        .await
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("object-store-s3"), "{err}");
    }
}
