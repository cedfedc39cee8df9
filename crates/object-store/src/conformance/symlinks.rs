//! [`FsSymlinks`]: the [`Symlinks`] hook for the fs backend.

use super::Symlinks;
use std::path::{Path, PathBuf};

/// Plants symbolic links under an [`FsStore`](crate::fs::FsStore)'s root; `outside` is a directory outside
/// the root where [`Symlinks::link_outside`] points (a file `secret` is written there).
#[derive(Debug, Clone)]
pub struct FsSymlinks {
    root: PathBuf,
    outside: PathBuf,
}

impl FsSymlinks {
    /// Links under `store`'s root, and to `outside`.
    pub fn new(store: &crate::fs::FsStore, outside: impl AsRef<Path>) -> std::io::Result<Self> {
        let outside = outside.as_ref().to_path_buf();
        std::fs::create_dir_all(&outside)?;
        std::fs::write(outside.join("secret"), b"OUTSIDE")?;
        Ok(Self {
            root: store.root().to_path_buf(),
            outside,
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        key.split('/').fold(self.root.clone(), |p, s| p.join(s))
    }

    fn plant(&self, link: &str, target: &Path) -> Result<(), String> {
        let at = self.path(link);
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("mkdir for {link:?}: {e}"))?;
        }
        std::os::unix::fs::symlink(target, &at).map_err(|e| format!("symlink {link:?}: {e}"))
    }
}

impl Symlinks for FsSymlinks {
    fn link(&self, link: &str, target: &str) -> Result<(), String> {
        self.plant(link, &self.path(target))
    }

    fn link_outside(&self, link: &str) -> Result<(), String> {
        self.plant(link, &self.outside)
    }
}
