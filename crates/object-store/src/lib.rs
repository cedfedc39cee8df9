//! The avb **ObjectStore** port: objects by key, with streamed bodies.
//!
//! [`ObjectStore`] puts (whole or streamed), gets (streamed, ranged), heads, deletes, lists (prefix, delimiter,
//! pagination), copies, and uploads in parts; content type and user metadata round-trip. Writes take
//! preconditions, declared in [`Capabilities`]: create-only ([`PutMode::Create`], `If-None-Match: *`) and
//! compare-and-swap ([`PutOptions::if_match`], `If-Match: <etag>`), on every write path — put, streamed put,
//! multipart complete and [`ObjectStore::copy_with`]; a failed precondition changes neither content nor
//! metadata. Reads take `If-Match` / `If-None-Match` ([`ReadConditions`]): [`Error::PreconditionFailed`] or
//! [`Error::NotModified`]. [`ObjectStore::presign`] gives a URL a plain HTTP client can `GET` or `PUT` until
//! it expires (S3 only, SigV4 query signing, the content type of a PUT pinned; memory and fs answer
//! [`Error::NotSupported`], declared by [`Capabilities::presign`]). Every failure is one portable [`Error`].
//!
//! | backend | module | cargo feature | notes |
//! |---|---|---|---|
//! | in-memory | [`memory`] | `memory` (default) | sandbox default; sandbox-only |
//! | local directory | [`fs`] | `fs` (default) | atomic writes (temp file + rename); no path escape |
//! | S3 API | `s3` | `s3` | AWS, MinIO, GCS through its S3 interoperability (`aws-sdk-s3`) |
//!
//! The shared conformance suite is `conformance` (feature `conformance`, on the conformance kit
//! `avb-conformance`); every backend's test is one call to `conformance::run_all` (or `run_all_with` and
//! the server's declared gaps) and an exact expectation of its result.
//!
//! Backend authors also need [`backend`] (helpers a backend builds on); services do not.
//!
//! Workspaces (tenants) are isolated by key prefix: [`for_workspace`] wraps any store.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> avb_object_store::Result<()> {
//! use avb_object_store::{ObjectStore, PutOptions, memory::MemoryStore};
//! let store = MemoryStore::new();
//! store.put("reports/q1.csv", "a,b\n1,2\n".into(), PutOptions::default()).await?;
//! assert_eq!(store.get_bytes("reports/q1.csv").await?, "a,b\n1,2\n");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod backend;
pub mod config;
mod error;
mod forward;
mod key;
mod open;
mod prefix;
mod presign;
mod types;
#[cfg(any(feature = "memory", feature = "fs"))]
mod util;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "fs")]
pub mod fs;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "s3")]
pub mod s3;

pub use avb_core::{Classify, ErrorClass, Health, NotCompiled};
pub use error::{BoxError, Error, Result};
pub use key::{MAX_KEY_LEN, validate_key, validate_prefix};
pub use open::open;
pub use prefix::{PrefixStore, for_workspace};
pub use presign::{MAX_PRESIGN_EXPIRY, PresignConstraints, PresignMethod, PresignedRequest};
pub use types::{
    ByteStream, Capabilities, CopyOptions, DEFAULT_CONTENT_TYPE, GetOptions, GetRange, GetResult,
    ListOptions, ListPage, MultipartUpload, ObjectMeta, PartId, PutMode, PutOptions, PutResult,
    ReadConditions,
};

use async_trait::async_trait;
use bytes::Bytes;

/// Most keys one [`ObjectStore::list`] page returns (S3's limit).
pub const MAX_LIST_PAGE: usize = 1000;

/// An object store. Implementations are cheap to share behind `Arc<dyn ObjectStore>`.
///
/// Keys are validated by [`validate_key`] on every backend, so a key that works on one works on all.
#[async_trait]
pub trait ObjectStore: std::fmt::Debug + Send + Sync + 'static {
    /// The backend's name (`memory`, `fs`, `s3`), for errors and health. Never branch on it: use
    /// [`ObjectStore::capabilities`].
    fn backend(&self) -> &'static str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Writes a whole object. With [`PutMode::Create`], fails with [`Error::AlreadyExists`] when the key exists
    /// (or [`Error::NotSupported`] when `capabilities().conditional_create` is false). With
    /// [`PutOptions::if_match`], fails with [`Error::PreconditionFailed`] unless the object exists with that
    /// entity tag (or [`Error::NotSupported`] without `capabilities().conditional_update`). A failed
    /// precondition changes neither content nor metadata, on every write path.
    async fn put(&self, key: &str, data: Bytes, options: PutOptions) -> Result<PutResult>;

    /// Writes an object from a stream without holding it whole in memory (backends bound their buffering,
    /// e.g. to one multipart part). A stream error aborts the write: nothing is left under `key`.
    async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult>;

    /// Reads an object (or a range of it) as a stream. A missing key is [`Error::NotFound`]; with
    /// [`GetOptions::conditions`], a failed `If-Match` is [`Error::PreconditionFailed`] and a matching
    /// `If-None-Match` is [`Error::NotModified`] (see [`Capabilities::conditional_read`]).
    async fn get(&self, key: &str, options: GetOptions) -> Result<GetResult>;

    /// An object's metadata, including content type and user metadata.
    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        self.head_with(key, ReadConditions::default()).await
    }

    /// [`ObjectStore::head`] under read preconditions, answered as by [`ObjectStore::get`].
    async fn head_with(&self, key: &str, conditions: ReadConditions) -> Result<ObjectMeta>;

    /// Deletes an object. Deleting a missing key succeeds (as on S3).
    async fn delete(&self, key: &str) -> Result<()>;

    /// One page of keys under `options.prefix`, in lexicographic (byte) order. With a delimiter, keys
    /// containing it after the prefix are grouped into [`ListPage::common_prefixes`].
    async fn list(&self, options: &ListOptions) -> Result<ListPage>;

    /// Copies an object with its content type and user metadata. A missing source is [`Error::NotFound`].
    async fn copy(&self, from: &str, to: &str) -> Result<()> {
        self.copy_with(from, to, CopyOptions::default()).await
    }

    /// [`ObjectStore::copy`] with preconditions on the destination: create-only ([`Error::AlreadyExists`]) or
    /// compare-and-swap ([`Error::PreconditionFailed`]); a failed precondition changes nothing.
    async fn copy_with(&self, from: &str, to: &str, options: CopyOptions) -> Result<()>;

    /// Starts a multipart upload.
    async fn create_multipart(&self, key: &str, options: PutOptions) -> Result<MultipartUpload>;

    /// Uploads part `part_number` (1-based, up to 10,000). Every part but the last must be at least
    /// `capabilities().min_part_size` bytes.
    async fn put_part(
        &self,
        upload: &MultipartUpload,
        part_number: u32,
        data: Bytes,
    ) -> Result<PartId>;

    /// Completes the upload from these parts, in order; the object appears atomically.
    async fn complete_multipart(
        &self,
        upload: &MultipartUpload,
        parts: Vec<PartId>,
    ) -> Result<PutResult>;

    /// Abandons the upload; its parts are discarded and no object appears.
    async fn abort_multipart(&self, upload: &MultipartUpload) -> Result<()>;

    /// A URL a plain HTTP client can use to `GET` or `PUT` `key` until `expires_in` passes (at most
    /// [`MAX_PRESIGN_EXPIRY`]), with `constraints` pinned for a PUT. Through [`for_workspace`] the key is the
    /// workspace's, like every other key. Without `capabilities().presign` (memory, fs), or for a constraint
    /// the backend cannot enforce, [`Error::NotSupported`].
    async fn presign(
        &self,
        method: PresignMethod,
        key: &str,
        expires_in: std::time::Duration,
        constraints: PresignConstraints,
    ) -> Result<PresignedRequest>;

    /// Whether the backend answers.
    async fn health(&self) -> Health;

    /// Reads a whole object into memory.
    async fn get_bytes(&self, key: &str) -> Result<Bytes> {
        self.get(key, GetOptions::default()).await?.bytes().await
    }

    /// Every key under `prefix` (no delimiter), following pagination to the end.
    async fn list_all(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut options = ListOptions::prefix(prefix);
        let mut out = Vec::new();
        loop {
            let page = self.list(&options).await?;
            out.extend(page.objects);
            match page.next_token {
                Some(token) => options.page_token = Some(token),
                None => return Ok(out),
            }
        }
    }
}
