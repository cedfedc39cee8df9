//! Local-directory store: one file per object under a root directory.
//!
//! - Writes are atomic: the body goes to a temporary file under `<root>/.avb/tmp/`, is synced, then renamed
//!   over the key (or hard-linked, for a conditional create, which fails atomically when the key exists).
//! - Keys map to paths segment by segment; [`validate_key`] already refuses `..`, `.`, absolute and empty
//!   segments, and every component is checked not to be a symbolic link, so no key reaches outside the root.
//!   The first segment `.avb` is reserved for the store's own files.
//! - Content type and user metadata live in a JSON sidecar at the key's own path under
//!   `<root>/.avb/sidecar/` (the same tree shape as the objects, so no key's sidecar can collide with another
//!   key's; objects of a store written with the earlier `<root>/.avb/meta/<key>.json` layout report the
//!   default content type and no metadata).
//! - Deleting a key removes the directories it leaves empty.
//! - A key cannot be both an object and a prefix of other keys (`a` and `a/b`): the file system cannot hold
//!   a file and a directory under one name. Such a put fails with [`Error::InvalidKey`].

mod sidecar;
#[cfg(test)]
mod tests;

use crate::types::{check_part_number, e_tag_matches};
use crate::{
    ByteStream, Capabilities, CopyOptions, DEFAULT_CONTENT_TYPE, Error, GetOptions, GetResult,
    Health, ListOptions, ListPage, MultipartUpload, ObjectMeta, ObjectStore, PartId, PutMode,
    PutOptions, PutResult, ReadConditions, Result, validate_key, validate_prefix,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use sidecar::{options_from_json, options_to_json};
use std::collections::BTreeMap;
use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The scheme and backend name.
pub const SCHEME: &str = "fs";
const RESERVED: &str = ".avb";
const READ_CHUNK: usize = 64 * 1024;
/// The sidecar tree under `.avb/` (see [`FsStore::meta_path`]).
const SIDECARS: &str = "sidecar";
/// Attempts at moving a finished file into place when a concurrent delete pruned its new directory.
const COMMIT_ATTEMPTS: usize = 3;

/// The local-directory store.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    /// Held across the check and the write of a compare-and-swap ([`PutOptions::if_match`]), so two of them
    /// in this process never both win (another process writing the same root is not serialised).
    cas: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl FsStore {
    /// Opens (creating if needed) the store rooted at `root`.
    pub fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        let io = |e: std::io::Error| io_error(e, &root.display().to_string(), root);
        std::fs::create_dir_all(root.join(RESERVED).join("tmp")).map_err(io)?;
        let root = std::fs::canonicalize(root).map_err(io)?;
        Ok(Self {
            root,
            cas: std::sync::Arc::default(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn check_key(key: &str) -> Result<()> {
        validate_key(key)?;
        if key == RESERVED || key.starts_with(".avb/") {
            return Err(Error::InvalidKey {
                key: key.into(),
                reason: "the first segment `.avb` is reserved by the fs backend".into(),
            });
        }
        Ok(())
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        Self::check_key(key)?;
        Ok(key.split('/').fold(self.root.clone(), |p, s| p.join(s)))
    }

    fn tmp_path(&self) -> PathBuf {
        self.root
            .join(RESERVED)
            .join("tmp")
            .join(format!("{:032x}", crate::util::rand_id()))
    }

    fn upload_dir(&self, upload_id: &str) -> Result<PathBuf> {
        if upload_id.is_empty() || !upload_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid_argument(format!(
                "upload id {upload_id:?} is not one of this store's"
            )));
        }
        Ok(self.root.join(RESERVED).join("multipart").join(upload_id))
    }

    fn err(&self, key: &str) -> impl Fn(std::io::Error) -> Error + '_ {
        let key = key.to_string();
        move |e| io_error(e, &key, &self.root)
    }

    /// Refuses a path whose components below the root include a symbolic link.
    async fn no_symlinks(&self, key: &str, path: &Path) -> Result<()> {
        let mut current = self.root.clone();
        let rel = path
            .strip_prefix(&self.root)
            .map_err(|_| Error::InvalidKey {
                key: key.into(),
                reason: "resolves outside the store's root".into(),
            })?;
        for component in rel.components() {
            current.push(component);
            match tokio::fs::symlink_metadata(&current).await {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::InvalidKey {
                        key: key.into(),
                        reason: format!(
                            "{} is a symbolic link; the fs backend does not follow links",
                            current.display()
                        ),
                    });
                }
                Ok(_) => {}
                // Nothing further down exists (or a file is in the way: the caller reports that
                // conflict): no link either.
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                    return Ok(());
                }
                Err(e) => return Err(self.err(key)(e)),
            }
        }
        Ok(())
    }

    /// Moves the finished temporary file `tmp` to `target`; removes `tmp` on failure.
    async fn commit(&self, key: &str, tmp: &Path, target: &Path, mode: PutMode) -> Result<()> {
        let result = async {
            let mut attempt = 1;
            loop {
                // Links first: no directory is made through a link (perhaps outside the root).
                self.no_symlinks(key, target).await?;
                self.make_parent(key, target).await?;
                let moved = match mode {
                    PutMode::Overwrite => tokio::fs::rename(tmp, target).await,
                    PutMode::Create => tokio::fs::hard_link(tmp, target).await,
                };
                match moved {
                    Ok(()) => {
                        if mode == PutMode::Create {
                            let _ = tokio::fs::remove_file(tmp).await;
                        }
                        return Ok(());
                    }
                    Err(e) if mode == PutMode::Create && e.kind() == ErrorKind::AlreadyExists => {
                        return Err(Error::AlreadyExists {
                            key: key.to_string(),
                        });
                    }
                    // A concurrent delete pruned the directory just made: make it again.
                    Err(e) if e.kind() == ErrorKind::NotFound && attempt < COMMIT_ATTEMPTS => {
                        attempt += 1;
                    }
                    Err(e) => return Err(self.conflict(key, e)),
                }
            }
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(tmp).await;
        }
        result
    }

    /// Creates `target`'s directory; a file where a directory must go is the `a` vs `a/…` conflict.
    async fn make_parent(&self, key: &str, target: &Path) -> Result<()> {
        match target.parent() {
            Some(parent) => tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| self.conflict(key, e)),
            None => Ok(()),
        }
    }

    /// Removes the directories above `path` that became empty, up to (not including) `top`, so a deleted
    /// `a/b` leaves no directory `a` in the way of a later key `a`. A directory still in use stays.
    async fn prune_empty_parents(path: &Path, top: &Path) {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == top || !d.starts_with(top) || tokio::fs::remove_dir(d).await.is_err() {
                break;
            }
            dir = d.parent();
        }
    }

    fn conflict(&self, key: &str, e: std::io::Error) -> Error {
        match e.kind() {
            ErrorKind::IsADirectory
            | ErrorKind::NotADirectory
            | ErrorKind::DirectoryNotEmpty
            | ErrorKind::AlreadyExists => Error::InvalidKey {
                key: key.into(),
                reason: "the fs backend cannot hold both `a` and `a/…` keys (file vs directory)"
                    .into(),
            },
            _ => self.err(key)(e),
        }
    }

    /// Writes `body` to a fresh temporary file and syncs it.
    async fn write_tmp(&self, key: &str, mut body: ByteStream) -> Result<PathBuf> {
        let tmp = self.tmp_path();
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await.map_err(self.err(key))?;
            while let Some(chunk) = body.try_next().await? {
                file.write_all(&chunk).await.map_err(self.err(key))?;
            }
            file.sync_all().await.map_err(self.err(key))
        }
        .await;
        match result {
            Ok(()) => Ok(tmp),
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    async fn finish_put(&self, key: &str, tmp: PathBuf, options: PutOptions) -> Result<PutResult> {
        let target = self.path(key)?;
        match options.mode {
            PutMode::Overwrite => {
                // Refuse a link or an `a` vs `a/…` conflict before touching the metadata, so a refused put
                // leaves no sidecar behind.
                if let Err(e) = self.no_symlinks(key, &target).await {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(e);
                }
                let in_the_way = match self.make_parent(key, &target).await {
                    Err(e) => Some(e),
                    Ok(()) => match tokio::fs::symlink_metadata(&target).await {
                        Ok(m) if m.is_dir() => {
                            Some(self.conflict(key, std::io::Error::from(ErrorKind::IsADirectory)))
                        }
                        _ => None,
                    },
                };
                if let Some(e) = in_the_way {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(e);
                }
                // Compare-and-swap: check and write under the lock, and before the sidecar, so a failed
                // precondition changes neither the body nor the metadata.
                let _guard = match &options.if_match {
                    Some(_) => Some(self.cas.lock().await),
                    None => None,
                };
                if let Some(wanted) = &options.if_match {
                    let stored = match tokio::fs::symlink_metadata(&target).await {
                        Ok(m) if m.is_file() => Some(e_tag(&m)),
                        _ => None,
                    };
                    if !e_tag_matches(stored.as_deref(), wanted) {
                        let _ = tokio::fs::remove_file(&tmp).await;
                        return Err(Error::PreconditionFailed {
                            key: key.to_string(),
                            detail: format!(
                                "If-Match {wanted}: the object's entity tag is {stored:?}"
                            ),
                        });
                    }
                }
                // Metadata first: a reader never sees the new body with the old metadata.
                if let Err(e) = self.write_sidecar(key, &options).await {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(e);
                }
                self.commit(key, &tmp, &target, PutMode::Overwrite).await?;
            }
            PutMode::Create => {
                self.commit(key, &tmp, &target, PutMode::Create).await?;
                self.write_sidecar(key, &options).await?;
            }
        }
        let meta = tokio::fs::metadata(&target).await.map_err(self.err(key))?;
        Ok(PutResult {
            e_tag: Some(e_tag(&meta)),
        })
    }

    async fn stat(&self, key: &str) -> Result<(PathBuf, std::fs::Metadata)> {
        let path = self.path(key)?;
        self.no_symlinks(key, &path).await?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok((path, m)),
            Ok(_) => Err(Error::NotFound { key: key.into() }),
            Err(e) => Err(self.err(key)(e)),
        }
    }

    fn list_sync(&self, options: &ListOptions) -> std::io::Result<Vec<(String, ObjectMeta)>> {
        // Start from the deepest directory the prefix names, so listing a small prefix stays cheap.
        let dir_part = match options.prefix.rfind('/') {
            Some(i) => &options.prefix[..i],
            None => "",
        };
        // The prefix was validated like a key (no `.`/`..`/empty segment); still, every directory on the way
        // down must be a real directory, not a symbolic link: listing follows no link.
        let mut start = self.root.clone();
        let mut base = String::new();
        for segment in dir_part.split('/').filter(|s| !s.is_empty()) {
            start.push(segment);
            match std::fs::symlink_metadata(&start) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Ok(Vec::new()),
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e),
            }
            base.push_str(segment);
            base.push('/');
        }
        let mut out = Vec::new();
        let mut stack = vec![(start, base)];
        while let Some((dir, key_prefix)) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue; // not a key this store wrote
                };
                if key_prefix.is_empty() && name == RESERVED {
                    continue;
                }
                let key = format!("{key_prefix}{name}");
                // `DirEntry::file_type` does not follow links: a link is neither a directory to descend
                // into nor an object to show.
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    let as_prefix = format!("{key}/");
                    if as_prefix.starts_with(&options.prefix)
                        || options.prefix.starts_with(&as_prefix)
                    {
                        stack.push((entry.path(), as_prefix));
                    }
                } else if kind.is_file() && key.starts_with(&options.prefix) {
                    let meta = entry.metadata()?;
                    out.push((key.clone(), object_meta(key, &meta)));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

fn e_tag(meta: &std::fs::Metadata) -> String {
    let nanos = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{:x}\"", meta.len(), nanos)
}

fn object_meta(key: String, meta: &std::fs::Metadata) -> ObjectMeta {
    ObjectMeta {
        key,
        size: meta.len(),
        last_modified: meta.modified().ok(),
        e_tag: Some(e_tag(meta)),
        content_type: None,
        metadata: BTreeMap::new(),
    }
}

fn io_error(e: std::io::Error, key: &str, root: &Path) -> Error {
    match e.kind() {
        // `a/b` when `a` is a file: no such object either.
        ErrorKind::NotFound | ErrorKind::NotADirectory => Error::NotFound { key: key.into() },
        ErrorKind::PermissionDenied => Error::PermissionDenied {
            backend: SCHEME,
            endpoint: root.display().to_string(),
            detail: format!("{key:?}: {e}"),
        },
        _ => Error::Backend {
            backend: SCHEME,
            detail: format!("{key:?} under {}: {e}", root.display()),
            source: Some(Box::new(e)),
        },
    }
}

#[async_trait]
impl ObjectStore for FsStore {
    fn backend(&self) -> &'static str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_create: true,
            conditional_update: true,
            conditional_read: true,
            presign: false,
            multipart: true,
            min_part_size: 0,
            metadata: true,
            persistent: true,
            streaming: true,
        }
    }

    async fn put(&self, key: &str, data: Bytes, options: PutOptions) -> Result<PutResult> {
        self.put_stream(
            key,
            Box::pin(futures::stream::once(async { Ok(data) })),
            options,
        )
        .await
    }

    async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        Self::check_key(key)?;
        options.validate()?;
        let tmp = self.write_tmp(key, body).await?;
        self.finish_put(key, tmp, options).await
    }

    async fn get(&self, key: &str, options: GetOptions) -> Result<GetResult> {
        options.conditions.validate()?;
        let (path, fs_meta) = self.stat(key).await?;
        options.conditions.evaluate(key, Some(&e_tag(&fs_meta)))?;
        let size = fs_meta.len();
        let range = match &options.range {
            Some(r) => {
                r.check()?;
                r.resolve(key, size)?
            }
            None => 0..size,
        };
        let mut file = tokio::fs::File::open(&path).await.map_err(self.err(key))?;
        file.seek(SeekFrom::Start(range.start))
            .await
            .map_err(self.err(key))?;
        let (content_type, metadata) = self.read_sidecar(key).await?;
        let mut meta = object_meta(key.to_string(), &fs_meta);
        meta.content_type = content_type.or_else(|| Some(DEFAULT_CONTENT_TYPE.to_string()));
        meta.metadata = metadata;
        let (owned_key, root) = (key.to_string(), self.root.clone());
        let reader = file.take(range.end - range.start);
        let body = tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK)
            .map(move |r| r.map_err(|e| io_error(e, &owned_key, &root)));
        Ok(GetResult {
            meta,
            range,
            body: Box::pin(body),
        })
    }

    async fn head_with(&self, key: &str, conditions: ReadConditions) -> Result<ObjectMeta> {
        conditions.validate()?;
        let (_, fs_meta) = self.stat(key).await?;
        conditions.evaluate(key, Some(&e_tag(&fs_meta)))?;
        let (content_type, metadata) = self.read_sidecar(key).await?;
        let mut meta = object_meta(key.to_string(), &fs_meta);
        meta.content_type = content_type.or_else(|| Some(DEFAULT_CONTENT_TYPE.to_string()));
        meta.metadata = metadata;
        Ok(meta)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        self.no_symlinks(key, &path).await?;
        for (p, top) in [
            (path, self.root.clone()),
            (self.meta_path(key), self.meta_root()),
        ] {
            match tokio::fs::remove_file(&p).await {
                Ok(()) => Self::prune_empty_parents(&p, &top).await,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
                    ) => {}
                Err(e) => return Err(self.err(key)(e)),
            }
        }
        Ok(())
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        validate_prefix(&options.prefix)?;
        if options.prefix.starts_with(".avb/") {
            // The store's own files are not objects (no key can start with `.avb/`).
            return Ok(ListPage::default());
        }
        let store = self.clone();
        let opts = options.clone();
        let all = tokio::task::spawn_blocking(move || store.list_sync(&opts))
            .await
            .map_err(|e| Error::Backend {
                backend: SCHEME,
                detail: format!("listing task failed: {e}"),
                source: None,
            })?
            .map_err(self.err(&options.prefix))?;
        let (objects, common_prefixes, next_token) =
            crate::util::paginate(all.iter().map(|(k, m)| (k.as_str(), m.clone())), options);
        Ok(ListPage {
            objects,
            common_prefixes,
            next_token,
        })
    }

    async fn copy_with(&self, from: &str, to: &str, options: CopyOptions) -> Result<()> {
        Self::check_key(to)?;
        options.validate()?;
        let source = self.get(from, GetOptions::default()).await?;
        let options = PutOptions {
            mode: options.mode,
            content_type: source.meta.content_type,
            metadata: source.meta.metadata,
            if_match: options.if_match,
        };
        let tmp = self.write_tmp(to, source.body).await?;
        self.finish_put(to, tmp, options).await.map(drop)
    }

    async fn create_multipart(&self, key: &str, options: PutOptions) -> Result<MultipartUpload> {
        let path = self.path(key)?;
        self.no_symlinks(key, &path).await?;
        options.validate()?;
        let upload_id = format!("{:032x}", crate::util::rand_id());
        let dir = self.upload_dir(&upload_id)?;
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(self.err(key))?;
        let json = options_to_json(key, &options).to_string();
        tokio::fs::write(dir.join("upload.json"), json)
            .await
            .map_err(self.err(key))?;
        Ok(MultipartUpload {
            key: key.to_string(),
            upload_id,
        })
    }

    async fn put_part(
        &self,
        upload: &MultipartUpload,
        part_number: u32,
        data: Bytes,
    ) -> Result<PartId> {
        check_part_number(part_number)?;
        let dir = self.check_upload(upload).await?;
        let tmp = self.tmp_path();
        tokio::fs::write(&tmp, &data)
            .await
            .map_err(self.err(&upload.key))?;
        let target = dir.join(format!("part-{part_number:05}"));
        if let Err(e) = tokio::fs::rename(&tmp, &target).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(self.err(&upload.key)(e));
        }
        Ok(PartId {
            part_number,
            e_tag: format!("\"{:x}\"", data.len()),
        })
    }

    async fn complete_multipart(
        &self,
        upload: &MultipartUpload,
        parts: Vec<PartId>,
    ) -> Result<PutResult> {
        let dir = self.check_upload(upload).await?;
        let text = tokio::fs::read(dir.join("upload.json"))
            .await
            .map_err(self.err(&upload.key))?;
        let v: serde_json::Value = serde_json::from_slice(&text).map_err(|e| Error::Backend {
            backend: SCHEME,
            detail: format!("upload record of {:?} is corrupt: {e}", upload.key),
            source: None,
        })?;
        let (content_type, metadata) = options_from_json(&v);
        let mode = if v["create"].as_bool() == Some(true) {
            PutMode::Create
        } else {
            PutMode::Overwrite
        };
        let mut previous = 0;
        let mut paths = Vec::new();
        for part in &parts {
            if part.part_number <= previous {
                return Err(Error::invalid_argument("parts must be in ascending order"));
            }
            previous = part.part_number;
            paths.push(dir.join(format!("part-{:05}", part.part_number)));
        }
        let key = upload.key.clone();
        let tmp = self.tmp_path();
        let result = async {
            let mut out = tokio::fs::File::create(&tmp)
                .await
                .map_err(self.err(&key))?;
            for (path, part) in paths.iter().zip(&parts) {
                let mut input = tokio::fs::File::open(path).await.map_err(|e| {
                    if e.kind() == ErrorKind::NotFound {
                        Error::invalid_argument(format!(
                            "part {} was not uploaded",
                            part.part_number
                        ))
                    } else {
                        self.err(&key)(e)
                    }
                })?;
                tokio::io::copy(&mut input, &mut out)
                    .await
                    .map_err(self.err(&key))?;
            }
            out.sync_all().await.map_err(self.err(&key))
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        let options = PutOptions {
            mode,
            content_type,
            metadata,
            if_match: v["if_match"].as_str().map(str::to_string),
        };
        let put = self.finish_put(&key, tmp, options).await?;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        Ok(put)
    }

    async fn abort_multipart(&self, upload: &MultipartUpload) -> Result<()> {
        // Only the upload of this key: another key's (another workspace's) upload id aborts nothing.
        let dir = match self.check_upload(upload).await {
            Ok(dir) => dir,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(self.err(&upload.key)(e)),
            _ => Ok(()),
        }
    }

    async fn presign(
        &self,
        _method: crate::PresignMethod,
        key: &str,
        _expires_in: std::time::Duration,
        _constraints: crate::PresignConstraints,
    ) -> Result<crate::PresignedRequest> {
        Self::check_key(key)?;
        Err(Error::NotSupported {
            operation: "presigned URLs (no HTTP endpoint to sign for)",
            backend: SCHEME,
        })
    }

    async fn health(&self) -> Health {
        match tokio::fs::metadata(self.root.join(RESERVED).join("tmp")).await {
            Ok(m) if m.is_dir() => Health::up(SCHEME),
            Ok(_) => Health::down(SCHEME, "the store's .avb/tmp is not a directory"),
            Err(e) => Health::down(SCHEME, format!("{}: {e}", self.root.display())),
        }
    }
}

impl FsStore {
    async fn check_upload(&self, upload: &MultipartUpload) -> Result<PathBuf> {
        Self::check_key(&upload.key)?;
        let dir = self.upload_dir(&upload.upload_id)?;
        let text = match tokio::fs::read(dir.join("upload.json")).await {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    key: upload.key.clone(),
                });
            }
            Err(e) => return Err(self.err(&upload.key)(e)),
        };
        let v: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
        if v["key"].as_str() != Some(upload.key.as_str()) {
            return Err(Error::NotFound {
                key: upload.key.clone(),
            });
        }
        Ok(dir)
    }
}
