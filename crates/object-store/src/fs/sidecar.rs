//! Sidecars: each key's content type and user metadata, in a JSON file at the key's own path under
//! `<root>/.avb/sidecar/`.

use super::{FsStore, RESERVED, SCHEME, SIDECARS};
use crate::{Error, PutMode, PutOptions, Result};
use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::PathBuf;

impl FsStore {
    /// Where `key`'s sidecar lives: the key's own path, mirrored under `<root>/.avb/sidecar/`. The sidecar
    /// tree has exactly the shape of the object tree (no suffix is added to any name), so two keys' sidecars
    /// collide exactly when the keys themselves cannot coexist (`a` and `a/b`), which the object tree already
    /// refuses. (A suffix such as `a.json` made key `a`'s sidecar the directory of key `a.json/b`'s.)
    pub(super) fn meta_path(&self, key: &str) -> PathBuf {
        key.split('/').fold(self.meta_root(), |p, s| p.join(s))
    }

    pub(super) fn meta_root(&self) -> PathBuf {
        self.root.join(RESERVED).join(SIDECARS)
    }

    pub(super) async fn read_sidecar(
        &self,
        key: &str,
    ) -> Result<(Option<String>, BTreeMap<String, String>)> {
        match tokio::fs::read(self.meta_path(key)).await {
            Ok(bytes) => {
                let v: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Backend {
                        backend: SCHEME,
                        detail: format!("metadata of {key:?} is corrupt: {e}"),
                        source: Some(Box::new(e)),
                    })?;
                if v["key"].as_str() != Some(key) {
                    // Not this key's record (left by an older layout): the object has no metadata.
                    return Ok((None, BTreeMap::new()));
                }
                Ok(options_from_json(&v))
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                Ok((None, BTreeMap::new()))
            }
            Err(e) => Err(self.err(key)(e)),
        }
    }

    pub(super) async fn write_sidecar(&self, key: &str, options: &PutOptions) -> Result<()> {
        let path = self.meta_path(key);
        if options.content_type.is_none() && options.metadata.is_empty() {
            return match tokio::fs::remove_file(&path).await {
                Err(e) if !matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                    Err(self.conflict(key, e))
                }
                _ => Ok(()),
            };
        }
        let json = options_to_json(key, options).to_string();
        let tmp = self.tmp_path();
        tokio::fs::write(&tmp, json).await.map_err(self.err(key))?;
        self.commit(key, &tmp, &path, PutMode::Overwrite).await
    }
}

pub(super) fn options_to_json(key: &str, options: &PutOptions) -> serde_json::Value {
    serde_json::json!({
        "key": key,
        "create": options.mode == PutMode::Create,
        "content_type": options.content_type,
        "metadata": options.metadata,
        "if_match": options.if_match,
    })
}

pub(super) fn options_from_json(
    v: &serde_json::Value,
) -> (Option<String>, BTreeMap<String, String>) {
    let content_type = v["content_type"].as_str().map(str::to_string);
    let metadata = v["metadata"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    (content_type, metadata)
}
