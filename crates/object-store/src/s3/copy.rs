//! Copies with a precondition on the destination.
//!
//! `CopyObject` takes `If-None-Match` / `If-Match` for its destination on AWS (2025), but none of the three
//! servers the suite runs on honoured them (2026-11: s3s-fs 0.14.1, moto 5.2.5 and MinIO all overwrote the
//! destination of a create-only copy). So a conditional copy is a server-side multipart copy instead:
//! `CreateMultipartUpload` with the source's content type and metadata, `UploadPartCopy` of the source (in
//! parts of at most 5 GiB, S3's limit), and `CompleteMultipartUpload` carrying the precondition — the write
//! path the conditional-write conformance cases already hold every server to. No byte passes through this
//! process, and a failed precondition leaves the destination untouched (the upload is aborted).

use super::{Condition, S3Store, SCHEME, encode_copy_source, error::map};
use crate::{Error, ObjectStore, PartId, PutMode, PutOptions, Result};

/// Largest part `UploadPartCopy` copies (S3's limit).
const MAX_COPY_PART: u64 = 5 * 1024 * 1024 * 1024;

impl S3Store {
    pub(super) async fn conditional_copy(
        &self,
        from: &str,
        to: &str,
        condition: Condition,
    ) -> Result<()> {
        let source = self.head(from).await?;
        let (mode, if_match) = match condition {
            Condition::Create => (PutMode::Create, None),
            Condition::IfMatch(tag) => (PutMode::Overwrite, Some(tag)),
        };
        let options = PutOptions {
            mode,
            content_type: source.content_type,
            metadata: source.metadata,
            if_match,
        };
        let upload = self.create_multipart(to, options).await?;
        let result = async {
            let mut parts = Vec::new();
            let mut start = 0u64;
            loop {
                let number = u32::try_from(parts.len() + 1)
                    .map_err(|_| Error::invalid_argument("too many copy parts"))?;
                let end = source.size.min(start.saturating_add(MAX_COPY_PART));
                let range = (source.size > MAX_COPY_PART)
                    .then(|| format!("bytes={start}-{}", end.saturating_sub(1)));
                let out = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(to)
                    .upload_id(&upload.upload_id)
                    .part_number(i32::try_from(number).unwrap_or(i32::MAX))
                    .copy_source(encode_copy_source(&self.bucket, from))
                    .set_copy_source_range(range)
                    .send()
                    .await
                    .map_err(|e| map(e, &self.ctx(from, false)))?;
                let e_tag = out
                    .copy_part_result()
                    .and_then(|r| r.e_tag())
                    .map(str::to_string)
                    .ok_or_else(|| Error::Backend {
                        backend: SCHEME,
                        detail: format!("UploadPartCopy of {from:?} returned no ETag"),
                        source: None,
                    })?;
                parts.push(PartId {
                    part_number: number,
                    e_tag,
                });
                start = end;
                if start >= source.size {
                    return Ok(parts);
                }
            }
        }
        .await;
        let completed = match result {
            Ok(parts) => self.complete_multipart(&upload, parts).await.map(drop),
            Err(e) => Err(e),
        };
        if completed.is_err() {
            // The precondition failed (or a part did): discard the upload; the destination is untouched.
            let _ = self.abort_multipart(&upload).await;
        }
        completed
    }
}
