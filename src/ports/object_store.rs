//! The ObjectStore chosen by `OBJECT_STORE` (and `AWS_ENDPOINT_URL` & co.): no code change between memory,
//! a local directory, MinIO, GCS and AWS.
//!
//! | cargo feature (this crate) | backend |
//! |---|---|
//! | `object-store-memory` (default) | `OBJECT_STORE=memory` |
//! | `object-store-fs` (default) | `OBJECT_STORE=fs` |
//! | `object-store-s3` | `OBJECT_STORE=s3` |

use avb_core::config::{Config, ObjectStoreConfig};
use avb_object_store::{Error, ObjectStore};
use std::sync::Arc;

/// Builds the configured store. A backend that exists but was not compiled in is
/// [`Error::NotCompiled`], naming the cargo feature that enables it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = avb::config::Config::from_iter([("OBJECT_STORE", "memory")])?;
/// let store = avb::ports::object_store::object_store(&config).await?;
/// assert_eq!(store.backend(), "memory");
/// # Ok(()) }
/// ```
pub async fn object_store(config: &Config) -> Result<Arc<dyn ObjectStore>, Error> {
    let backend = &config.object_store.backend;
    match backend {
        #[cfg(feature = "object-store-memory")]
        ObjectStoreConfig::Memory => Ok(Arc::new(avb_object_store::memory::MemoryStore::new())),
        #[cfg(not(feature = "object-store-memory"))]
        ObjectStoreConfig::Memory => Err(Error::NotCompiled(avb_core::NotCompiled {
            backend: "OBJECT_STORE=memory".into(),
            feature: "object-store-memory",
        })),
        #[cfg(feature = "object-store-fs")]
        ObjectStoreConfig::Fs { root } => Ok(Arc::new(avb_object_store::fs::FsStore::new(root)?)),
        #[cfg(not(feature = "object-store-fs"))]
        ObjectStoreConfig::Fs { .. } => Err(Error::NotCompiled(avb_core::NotCompiled {
            backend: "OBJECT_STORE=fs".into(),
            feature: "object-store-fs",
        })),
        #[cfg(feature = "object-store-s3")]
        ObjectStoreConfig::S3 { prefix, .. } => {
            let builder =
                avb_object_store::s3::S3Builder::from_config(backend).ok_or_else(|| {
                    Error::Backend {
                        backend: "s3",
                        detail: "the S3 settings did not convert".into(),
                        source: None,
                    }
                })?;
            let store: Arc<dyn ObjectStore> = Arc::new(builder.build().await?);
            match prefix {
                Some(p) => Ok(Arc::new(avb_object_store::PrefixStore::new(store, p)?)),
                None => Ok(store),
            }
        }
        #[cfg(not(feature = "object-store-s3"))]
        ObjectStoreConfig::S3 { .. } => Err(Error::NotCompiled(avb_core::NotCompiled {
            backend: "OBJECT_STORE=s3".into(),
            feature: "object-store-s3",
        })),
        // `ObjectStoreConfig` is non-exhaustive across crates; a variant added to avb-core lands here until
        // it is wired.
        #[allow(unreachable_patterns)]
        _ => Err(Error::NotCompiled(avb_core::NotCompiled {
            backend: "unknown".into(),
            feature: "a newer avb with this backend wired in",
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "object-store-fs")]
    #[tokio::test]
    async fn fs_is_wired() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let config =
            Config::from_iter([("OBJECT_STORE", "fs"), ("OBJECT_STORE_DIR", root.as_str())])
                .unwrap();
        let store = object_store(&config).await.unwrap();
        assert_eq!(store.backend(), "fs");
    }

    #[cfg(not(feature = "object-store-s3"))]
    #[tokio::test]
    async fn s3_without_its_feature_names_the_feature() {
        let config =
            Config::from_iter([("OBJECT_STORE", "s3"), ("OBJECT_STORE_BUCKET", "b")]).unwrap();
        let err = object_store(&config).await.unwrap_err().to_string();
        assert!(err.contains("object-store-s3"), "{err}");
    }
}
