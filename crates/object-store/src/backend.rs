//! For implementing a backend; services do not need this.
//!
//! [`put_stream_in_parts`] turns a streamed put into a multipart upload with bounded memory, for backends
//! whose native API has no streamed put of unknown length (S3).

use crate::{
    ByteStream, Error, MultipartUpload, ObjectStore, PartId, PutOptions, PutResult, Result,
};
use futures::TryStreamExt;

/// Drains `body` into parts of `part_size` bytes and uploads them through `store`'s multipart API, keeping
/// at most one part in memory. A body no larger than one part is written with a single `put`. On any error
/// the upload is aborted, so nothing appears under `key`.
pub async fn put_stream_in_parts(
    store: &(impl ObjectStore + ?Sized),
    key: &str,
    mut body: ByteStream,
    options: PutOptions,
    part_size: usize,
) -> Result<PutResult> {
    let part_size = part_size.max(1);
    let mut buffer = bytes::BytesMut::new();
    // Fill the first part; a small object is a single put.
    while buffer.len() < part_size {
        match body.try_next().await? {
            Some(chunk) => buffer.extend_from_slice(&chunk),
            None => return store.put(key, buffer.freeze(), options).await,
        }
    }
    let upload = store.create_multipart(key, options).await?;
    let result = upload_parts(store, &upload, &mut body, buffer, part_size).await;
    match result {
        Ok(parts) => store.complete_multipart(&upload, parts).await,
        Err(e) => {
            // The write failed; discard what was uploaded so far. The original error is what matters.
            let _ = store.abort_multipart(&upload).await;
            Err(e)
        }
    }
}

async fn upload_parts(
    store: &(impl ObjectStore + ?Sized),
    upload: &MultipartUpload,
    body: &mut ByteStream,
    mut buffer: bytes::BytesMut,
    part_size: usize,
) -> Result<Vec<PartId>> {
    let mut parts = Vec::new();
    let mut ended = false;
    loop {
        while !ended && buffer.len() < part_size {
            match body.try_next().await? {
                Some(chunk) => buffer.extend_from_slice(&chunk),
                None => ended = true,
            }
        }
        if buffer.is_empty() {
            break;
        }
        let take = buffer.len().min(part_size);
        let part = buffer.split_to(take).freeze();
        let number = u32::try_from(parts.len() + 1)
            .map_err(|_| Error::invalid_argument("more than u32::MAX parts"))?;
        parts.push(store.put_part(upload, number, part).await?);
        if ended && buffer.is_empty() {
            break;
        }
    }
    Ok(parts)
}
