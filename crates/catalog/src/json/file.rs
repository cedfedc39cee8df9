//! A file's identity for change detection: one `stat`, no read.

use std::path::Path;
use std::time::SystemTime;

/// What identifies a version of the file: modification time (nanoseconds where the file system has them),
/// size and, on Unix, device and inode (a file replaced by rename is a new inode even within one
/// modification-time tick).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: (u64, u64),
}

/// The file's identity; `Ok(None)` when it does not exist.
pub(super) fn stamp(file: &Path) -> std::io::Result<Option<Stamp>> {
    match std::fs::metadata(file) {
        Ok(meta) => Ok(Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode: inode(&meta),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}
