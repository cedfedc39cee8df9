//! S3 API store (feature `s3`, `aws-sdk-s3`): AWS S3, MinIO and other S3-compatible servers, and Google Cloud
//! Storage through its S3 interoperability (HMAC keys).
//!
//! The endpoint, region, credentials, path style and checksum mode come from [`S3Builder`]; the facade fills
//! it from `AWS_ENDPOINT_URL` & co., so switching MinIO → GCS → AWS needs no code change.
//!
//! **GCS** (profile `gcs`, inferred from `storage.googleapis.com`):
//! - checksums are computed and validated only when an operation requires them, so no flexible-checksum
//!   headers (`x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`, `x-amz-trailer`) and no `aws-chunked` bodies
//!   are sent, and CompleteMultipartUpload carries no composite CRC32 (which GCS answers with 412);
//! - CreateMultipartUpload (`POST`) and CopyObject (`PUT`) have no body, and the SDK sends them without
//!   `Content-Length`; GCS's front end answers that with **HTTP 411 Length Required**
//!   (arrow-rs-object-store#210 and #495, aws-sdk-rust#715). A client-wide interceptor adds
//!   `Content-Length: 0` to every body-less `PUT` and `POST` (valid HTTP for every server, so on every
//!   profile);
//! - conditional create and compare-and-swap are not declared (GCS's XML API has its own
//!   `x-goog-if-generation-match` instead of `If-None-Match`/`If-Match`, untested here, and refuses
//!   preconditions on multipart uploads with `400 NotImplemented`, opendal#8040), so
//!   [`PutMode::Create`](crate::PutMode::Create) and [`PutOptions::if_match`] are [`Error::NotSupported`].
//!
//! **Preconditions** go as `If-None-Match: *` / `If-Match` on PutObject and CompleteMultipartUpload (so a
//! streamed put through multipart keeps them); a conditional copy is a server-side multipart copy completed
//! under the precondition (`copy.rs`: the servers tested ignore CopyObject's own destination preconditions).
//! Read preconditions are sent and checked again against the answer's ETag (s3s-fs ignores them).
//!
//! **Presigned URLs** ([`ObjectStore::presign`]) use the SDK's SigV4 query presigning, from a client without
//! the `Content-Length: 0` interceptor (it would be signed, allowing only empty bodies). A PUT's content type
//! is a signed header: MinIO and s3s-fs refuse another one (HTTP 4xx), and refuse an expired URL; moto verifies no
//! signature, so it enforces neither. A maximum length cannot be signed into a query URL:
//! [`Error::NotSupported`].

mod builder;
mod conditions;
mod copy;
mod error;
mod length;
mod presign;

/// The AWS SDK this backend is built on (for raw access through [`S3Store::client`]).
pub use aws_sdk_s3 as sdk;
pub use builder::{DEFAULT_PART_SIZE, MIN_PART_SIZE, S3Builder};

use crate::config::S3Profile;
use crate::types::check_part_number;
use crate::{
    ByteStream, Capabilities, CopyOptions, DEFAULT_CONTENT_TYPE, Error, GetOptions, GetRange,
    GetResult, Health, ListOptions, ListPage, MultipartUpload, ObjectMeta, ObjectStore, PartId,
    PutOptions, PutResult, ReadConditions, Result, validate_key, validate_prefix,
};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use conditions::{Condition, sent};
use error::{Ctx, map};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The scheme and backend name.
pub const SCHEME: &str = "s3";

/// The S3 store. Build it with [`S3Builder`].
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    /// The same configuration without the `Content-Length: 0` interceptor, for [`ObjectStore::presign`].
    presign_client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: String,
    profile: S3Profile,
    part_size: usize,
    /// Multipart uploads started with a precondition ([`PutMode::Create`](crate::PutMode::Create) or
    /// [`PutOptions::if_match`]):
    /// completed with `If-None-Match: *` or `If-Match`.
    create_uploads: Arc<Mutex<HashMap<String, Condition>>>,
}

impl S3Store {
    /// The underlying SDK client (for operations the port does not cover).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The profile in effect.
    pub fn profile(&self) -> S3Profile {
        self.profile
    }

    fn ctx<'a>(&'a self, key: &'a str, create: bool) -> Ctx<'a> {
        Ctx {
            key,
            bucket: &self.bucket,
            endpoint: &self.endpoint,
            create,
            if_match: false,
            if_none_match: false,
        }
    }

    fn create_uploads(&self) -> std::sync::MutexGuard<'_, HashMap<String, Condition>> {
        // Every update is one insert or remove: a poisoned set is still consistent.
        self.create_uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// The content type to send: the caller's, else [`DEFAULT_CONTENT_TYPE`] — servers differ on what they store
/// when none is sent (s3s-fs and moto vs AWS's `binary/octet-stream`).
fn content_type(options: &PutOptions) -> &str {
    options
        .content_type
        .as_deref()
        .unwrap_or(DEFAULT_CONTENT_TYPE)
}

fn metadata_map(m: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// One object's metadata from the fields GetObject and HeadObject both answer with.
fn object_meta(
    key: &str,
    size: u64,
    last_modified: Option<&aws_sdk_s3::primitives::DateTime>,
    e_tag: Option<&str>,
    content_type: Option<&str>,
    metadata: Option<&std::collections::HashMap<String, String>>,
) -> ObjectMeta {
    ObjectMeta {
        key: key.to_string(),
        size,
        last_modified: to_system_time(last_modified),
        e_tag: e_tag.map(str::to_string),
        content_type: content_type.map(str::to_string),
        metadata: metadata
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

fn to_system_time(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

fn size_of(n: Option<i64>) -> u64 {
    n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// `bytes start-end/total` → (start..end+1, total); `None` unless `start <= end < total`.
fn parse_content_range(value: &str) -> Option<(std::ops::Range<u64>, u64)> {
    let rest = value.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, total) = (
        start.parse::<u64>().ok()?,
        end.parse::<u64>().ok()?,
        total.parse::<u64>().ok()?,
    );
    (start <= end && end < total).then(|| (start..end + 1, total))
}

/// A 206 answer for an empty object: total 0 and no body, whatever the range part says. MinIO (2026-02)
/// answers a suffix range (`bytes=-N`) on an empty object with `206` and `Content-Range: bytes 0--1/0`,
/// which RFC 9110 does not allow (a suffix range of an empty representation is unsatisfiable); the only
/// reading of "total 0, Content-Length 0" is the whole empty object, as every other backend answers.
fn empty_object_range(value: &str, length: u64) -> Option<(std::ops::Range<u64>, u64)> {
    let (_, total) = value.strip_prefix("bytes ")?.rsplit_once('/')?;
    (length == 0 && total == "0").then_some((0..0, 0))
}

/// The `len` bytes of `body` from offset `start` (for a server that ignored `Range`).
fn slice_stream(body: ByteStream, start: u64, len: u64) -> ByteStream {
    Box::pin(futures::stream::unfold(
        (body, start, len),
        |(mut body, mut skip, mut left)| async move {
            use futures::TryStreamExt;
            loop {
                if left == 0 {
                    return None;
                }
                let mut chunk = match body.try_next().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => return None,
                    Err(e) => return Some((Err(e), (body, 0, 0))),
                };
                let drop = usize::try_from(skip).unwrap_or(usize::MAX).min(chunk.len());
                skip -= drop as u64;
                let _ = chunk.split_to(drop);
                if chunk.is_empty() {
                    continue;
                }
                let keep = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
                left -= keep as u64;
                chunk.truncate(keep);
                return Some((Ok(chunk), (body, skip, left)));
            }
        },
    ))
}

/// Percent-encodes a key for `x-amz-copy-source` (everything but unreserved characters and `/`).
fn encode_copy_source(bucket: &str, key: &str) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn body_stream(body: SdkBody, key: String, endpoint: String) -> ByteStream {
    // The key and endpoint ride along in the state (moved, never cloned per chunk) for the error path.
    Box::pin(futures::stream::unfold(
        Some((body, key, endpoint)),
        |state| async move {
            let (mut body, key, endpoint) = state?;
            match body.next().await {
                None => None,
                Some(Ok(chunk)) => Some((Ok(chunk), Some((body, key, endpoint)))),
                Some(Err(e)) => Some((
                    Err(Error::Unavailable {
                        backend: SCHEME,
                        endpoint,
                        detail: format!("reading the body of {key:?}: {e}"),
                        source: Some(Box::new(e)),
                    }),
                    None,
                )),
            }
        },
    ))
}

#[async_trait]
impl ObjectStore for S3Store {
    fn backend(&self) -> &'static str {
        SCHEME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_create: self.profile != S3Profile::Gcs,
            // GCS's XML API takes `x-goog-if-generation-match`, not `If-Match`, and refuses preconditions on
            // multipart uploads (`400 NotImplemented`, opendal#8040): not declared on that profile.
            conditional_update: self.profile != S3Profile::Gcs,
            // `If-Match` / `If-None-Match` on GET and HEAD: standard HTTP (untested here on GCS).
            conditional_read: true,
            presign: true,
            multipart: true,
            min_part_size: MIN_PART_SIZE,
            metadata: true,
            persistent: true,
            streaming: true,
        }
    }

    async fn put(&self, key: &str, data: Bytes, options: PutOptions) -> Result<PutResult> {
        validate_key(key)?;
        options.validate()?;
        let condition = self.check_create(&options)?;
        let (if_none_match, if_match) = Condition::headers(condition.as_ref());
        let len =
            i64::try_from(data.len()).map_err(|_| Error::invalid_argument("body too large"))?;
        let out = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(len)
            .body(SdkBody::from(data))
            .content_type(content_type(&options))
            .set_metadata(metadata_map(&options.metadata))
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .send()
            .await
            .map_err(|e| map(e, &self.ctx_for(key, condition.as_ref())))?;
        Ok(PutResult {
            e_tag: out.e_tag().map(str::to_string),
        })
    }

    async fn put_stream(
        &self,
        key: &str,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        validate_key(key)?;
        options.validate()?;
        self.check_create(&options)?;
        crate::backend::put_stream_in_parts(self, key, body, options, self.part_size).await
    }

    async fn get(&self, key: &str, options: GetOptions) -> Result<GetResult> {
        validate_key(key)?;
        options.conditions.validate()?;
        let ctx = Ctx {
            if_none_match: options.conditions.if_none_match.is_some(),
            ..self.ctx(key, false)
        };
        if let Some(r) = &options.range {
            r.check()?;
        }
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(options.range.as_ref().map(GetRange::to_header))
            .set_if_match(sent(&options.conditions.if_match))
            .set_if_none_match(sent(&options.conditions.if_none_match))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // A suffix longer than the object means the whole object (RFC 9110 §14.1.1), an empty one
            // included; some servers answer it with 500 (s3s-fs 0.14.1) or 416 instead. Only on that error
            // path: look the size up and read the whole object when the suffix covers it.
            Err(e)
                if matches!(options.range, Some(GetRange::Suffix(_)))
                    && e.raw_response().is_some_and(|r| {
                        r.status().is_server_error() || r.status().as_u16() == 416
                    }) =>
            {
                let size = self.head(key).await?.size;
                match options.range {
                    Some(GetRange::Suffix(n)) if n >= size => {
                        return self.get(key, GetOptions::default()).await;
                    }
                    _ => return Err(map(e, &ctx)),
                }
            }
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                let size = self.head(key).await?.size;
                let range = options.range.unwrap_or(GetRange::Offset(0));
                return Err(Error::InvalidRange {
                    key: key.into(),
                    range: range.to_string(),
                    size,
                });
            }
            Err(e) => return Err(map(e, &ctx)),
        };
        // Checked again on the answer (its ETag describes the body that came with it, so this is exact):
        // s3s-fs 0.14.1 ignores both headers on GET and HEAD.
        options.conditions.evaluate(key, out.e_tag())?;
        let length = size_of(out.content_length());
        let malformed = |what: String| Error::Backend {
            backend: SCHEME,
            detail: format!("{key:?}: the server answered {what}"),
            source: None,
        };
        let (range, size) = match out.content_range() {
            Some(value) => parse_content_range(value)
                .or_else(|| empty_object_range(value, length))
                .ok_or_else(|| malformed(format!("a malformed Content-Range {value:?}")))?,
            None => (0..length, length),
        };
        if range.end - range.start != length {
            return Err(malformed(format!(
                "Content-Range {:?} that disagrees with Content-Length {length}",
                out.content_range()
            )));
        }
        let meta = object_meta(
            key,
            size,
            out.last_modified(),
            out.e_tag(),
            out.content_type(),
            out.metadata(),
        );
        let ranged_answer = out.content_range().is_some();
        let mut body = body_stream(out.body, key.to_string(), self.endpoint.clone());
        // A server may ignore `Range` and send the whole object (HTTP allows it; some do for empty
        // objects): apply the range here, with the same answer as every other backend.
        let range = match &options.range {
            Some(requested) if !ranged_answer => {
                let wanted = requested.resolve(key, size)?;
                if wanted != range {
                    body = slice_stream(body, wanted.start, wanted.end - wanted.start);
                }
                wanted
            }
            _ => range,
        };
        Ok(GetResult { meta, range, body })
    }

    async fn head_with(&self, key: &str, conditions: ReadConditions) -> Result<ObjectMeta> {
        validate_key(key)?;
        conditions.validate()?;
        let ctx = Ctx {
            if_none_match: conditions.if_none_match.is_some(),
            ..self.ctx(key, false)
        };
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_match(sent(&conditions.if_match))
            .set_if_none_match(sent(&conditions.if_none_match))
            .send()
            .await
            .map_err(|e| map(e, &ctx))?;
        conditions.evaluate(key, out.e_tag())?;
        Ok(object_meta(
            key,
            size_of(out.content_length()),
            out.last_modified(),
            out.e_tag(),
            out.content_type(),
            out.metadata(),
        ))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        let r = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match r.map_err(|e| map(e, &self.ctx(key, false))) {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        validate_prefix(&options.prefix)?;
        let max = i32::try_from(options.page_size()).unwrap_or(1000);
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .set_prefix((!options.prefix.is_empty()).then(|| options.prefix.clone()))
            .set_delimiter(options.delimiter.then(|| "/".to_string()))
            .max_keys(max)
            .set_continuation_token(options.page_token.clone())
            .send()
            .await
            .map_err(|e| map(e, &self.ctx(&options.prefix, false)))?;
        let objects = out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ObjectMeta {
                    key: o.key()?.to_string(),
                    size: size_of(o.size()),
                    last_modified: to_system_time(o.last_modified()),
                    e_tag: o.e_tag().map(str::to_string),
                    content_type: None,
                    metadata: BTreeMap::new(),
                })
            })
            .collect();
        let common_prefixes = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_string))
            .collect();
        let next_token = if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_string)
        } else {
            None
        };
        Ok(ListPage {
            objects,
            common_prefixes,
            next_token,
        })
    }

    async fn copy_with(&self, from: &str, to: &str, options: CopyOptions) -> Result<()> {
        validate_key(from)?;
        validate_key(to)?;
        // With a precondition: a multipart copy completed under it (see `copy.rs`).
        if let Some(condition) = self.check_conditions(options.mode, options.if_match.as_deref())? {
            return self.conditional_copy(from, to, condition).await;
        }
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(encode_copy_source(&self.bucket, from))
            .send()
            .await
            .map_err(|e| map(e, &self.ctx(from, false)))?;
        Ok(())
    }

    async fn create_multipart(&self, key: &str, options: PutOptions) -> Result<MultipartUpload> {
        validate_key(key)?;
        options.validate()?;
        let condition = self.check_create(&options)?;
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type(&options))
            .set_metadata(metadata_map(&options.metadata))
            .send()
            .await
            .map_err(|e| map(e, &self.ctx(key, false)))?;
        let upload_id = out
            .upload_id()
            .map(str::to_string)
            .ok_or_else(|| Error::Backend {
                backend: SCHEME,
                detail: format!("CreateMultipartUpload for {key:?} returned no upload id"),
                source: None,
            })?;
        if let Some(condition) = condition {
            self.create_uploads().insert(upload_id.clone(), condition);
        }
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
        validate_key(&upload.key)?;
        check_part_number(part_number)?;
        let len =
            i64::try_from(data.len()).map_err(|_| Error::invalid_argument("part too large"))?;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .part_number(i32::try_from(part_number).unwrap_or(i32::MAX))
            .content_length(len)
            .body(SdkBody::from(data))
            .send()
            .await
            .map_err(|e| map(e, &self.ctx(&upload.key, false)))?;
        let e_tag = out
            .e_tag()
            .map(str::to_string)
            .ok_or_else(|| Error::Backend {
                backend: SCHEME,
                detail: format!(
                    "UploadPart {part_number} of {:?} returned no ETag",
                    upload.key
                ),
                source: None,
            })?;
        Ok(PartId { part_number, e_tag })
    }

    async fn complete_multipart(
        &self,
        upload: &MultipartUpload,
        parts: Vec<PartId>,
    ) -> Result<PutResult> {
        validate_key(&upload.key)?;
        let condition = self.create_uploads().get(&upload.upload_id).cloned();
        let (if_none_match, if_match) = Condition::headers(condition.as_ref());
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        CompletedPart::builder()
                            .part_number(i32::try_from(p.part_number).unwrap_or(i32::MAX))
                            .e_tag(&p.e_tag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .multipart_upload(completed)
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .send()
            .await
            .map_err(|e| map(e, &self.ctx_for(&upload.key, condition.as_ref())))?;
        self.create_uploads().remove(&upload.upload_id);
        Ok(PutResult {
            e_tag: out.e_tag().map(str::to_string),
        })
    }

    async fn abort_multipart(&self, upload: &MultipartUpload) -> Result<()> {
        validate_key(&upload.key)?;
        self.create_uploads().remove(&upload.upload_id);
        let r = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .send()
            .await;
        match r.map_err(|e| map(e, &self.ctx(&upload.key, false))) {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn presign(
        &self,
        method: crate::PresignMethod,
        key: &str,
        expires_in: std::time::Duration,
        constraints: crate::PresignConstraints,
    ) -> Result<crate::PresignedRequest> {
        self.presign_request(method, key, expires_in, constraints)
            .await
    }

    async fn health(&self) -> Health {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Health::up(SCHEME),
            Err(e) => Health::down(SCHEME, map(e, &self.ctx("", false)).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses() {
        assert_eq!(parse_content_range("bytes 0-9/100"), Some((0..10, 100)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("garbage"), None);
        // Reversed, past the total, or at u64::MAX: refused (a reversed range made `get` underflow).
        assert_eq!(parse_content_range("bytes 5-2/10"), None);
        assert_eq!(parse_content_range("bytes 0-10/10"), None);
        assert_eq!(
            parse_content_range(&format!("bytes 0-{}/{}", u64::MAX, u64::MAX)),
            None
        );
    }

    #[test]
    fn minio_empty_object_suffix_answer_is_the_empty_object() {
        // MinIO's answer to `Range: bytes=-1` on an empty object (206, Content-Length 0).
        assert_eq!(parse_content_range("bytes 0--1/0"), None);
        assert_eq!(empty_object_range("bytes 0--1/0", 0), Some((0..0, 0)));
        // Only with total 0 and no body: anything else stays a malformed answer.
        assert_eq!(empty_object_range("bytes 0--1/0", 1), None);
        assert_eq!(empty_object_range("bytes 0--1/10", 0), None);
        assert_eq!(empty_object_range("bytes 0--1/00", 0), None);
        assert_eq!(empty_object_range("garbage/0", 0), None);
    }

    #[tokio::test]
    async fn a_range_the_server_ignored_is_applied_here() {
        use futures::TryStreamExt;
        let chunks = ["abc", "def", "gh"].map(|c| Ok(Bytes::from_static(c.as_bytes())));
        let body: ByteStream = Box::pin(futures::stream::iter(chunks));
        let parts: Vec<Bytes> = slice_stream(body, 2, 4).try_collect().await.unwrap();
        assert_eq!(parts.concat(), b"cdef");
        let chunks = ["abc", "def"].map(|c| Ok(Bytes::from_static(c.as_bytes())));
        let body: ByteStream = Box::pin(futures::stream::iter(chunks));
        let parts: Vec<Bytes> = slice_stream(body, 0, 6).try_collect().await.unwrap();
        assert_eq!(parts.concat(), b"abcdef");
    }

    #[test]
    fn copy_source_is_percent_encoded() {
        assert_eq!(encode_copy_source("b", "a b/ü%+"), "b/a%20b/%C3%BC%25%2B");
    }
}
