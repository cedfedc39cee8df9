//! Conditional, multipart, streamed and concurrent writes.

use super::{CaseResult, Context, Outcome, ensure, expect_not_found, lacks, pattern};
use crate::{ByteStream, Capabilities, Error, GetOptions, ObjectStore, PutOptions};
use bytes::Bytes;
use futures::TryStreamExt;

/// Create-only puts: the first wins, later ones are `AlreadyExists` and change nothing. A backend without
/// the capability must say `NotSupported`, not overwrite.
pub async fn conditional_create(store: &dyn ObjectStore) -> CaseResult {
    if !store.capabilities().conditional_create {
        let r = store
            .put("c", Bytes::from_static(b"1"), PutOptions::create())
            .await;
        ensure!(
            matches!(r, Err(Error::NotSupported { .. })),
            "Create without the capability gave {r:?}"
        );
        return lacks("conditional_create", "conditional_create");
    }
    store
        .put("c", Bytes::from_static(b"first"), PutOptions::create())
        .await
        .ctx("first create")?;
    let r = store
        .put("c", Bytes::from_static(b"second"), PutOptions::create())
        .await;
    ensure!(
        matches!(r, Err(Error::AlreadyExists { .. })),
        "second create gave {r:?}"
    );
    ensure!(
        store.get_bytes("c").await.ctx("get")? == "first",
        "create overwrote"
    );
    Ok(Outcome::Passed)
}

/// Of 8 concurrent create-only puts of one key, exactly one succeeds (the create is atomic).
pub async fn conditional_create_race(store: &dyn ObjectStore) -> CaseResult {
    if !store.capabilities().conditional_create {
        return lacks("conditional_create_race", "conditional_create");
    }
    let attempts =
        (0..8u8).map(|i| store.put("race", Bytes::from(vec![i; 1024]), PutOptions::create()));
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let lost = results
        .iter()
        .filter(|r| matches!(r, Err(Error::AlreadyExists { .. })))
        .count();
    ensure!(
        won == 1 && lost == 7,
        "8 racing creates: {won} won, {lost} AlreadyExists: {results:?}"
    );
    Ok(Outcome::Passed)
}

/// A multipart upload of two parts (the first at the backend's minimum part size) with content type. While
/// the upload is open, part numbers outside 1..=10,000 are `InvalidArgument`; once it is completed, no part
/// is accepted and the object stays as completed.
pub async fn multipart(store: &dyn ObjectStore) -> CaseResult {
    let caps: Capabilities = store.capabilities();
    if !caps.multipart {
        return lacks("multipart", "multipart");
    }
    let first = pattern(caps.min_part_size.max(1024), 3);
    let second = pattern(1234, 4);
    let options = PutOptions::default().with_content_type("application/octet-stream");
    let upload = store
        .create_multipart("mp/object", options)
        .await
        .ctx("create")?;
    let p1 = store
        .put_part(&upload, 1, first.clone())
        .await
        .ctx("part 1")?;
    let p2 = store
        .put_part(&upload, 2, second.clone())
        .await
        .ctx("part 2")?;
    expect_not_found(store.head("mp/object").await, "object before complete")?;
    // Part numbers outside 1..=10,000 are refused while the upload is still open: the refusal is the part
    // number's, not the upload's (after `complete` any part is refused, whatever its number).
    for bad in [0, crate::types::MAX_PART_NUMBER + 1] {
        let r = store.put_part(&upload, bad, Bytes::from_static(b"x")).await;
        ensure!(
            matches!(r, Err(Error::InvalidArgument { .. })),
            "part number {bad} on an open upload gave {r:?}"
        );
    }
    store
        .complete_multipart(&upload, vec![p1, p2])
        .await
        .ctx("complete")?;
    let got = store.get_bytes("mp/object").await.ctx("get")?;
    ensure!(
        got.len() == first.len() + second.len(),
        "size {}",
        got.len()
    );
    ensure!(
        got[..first.len()] == first[..] && got[first.len()..] == second[..],
        "content"
    );
    if caps.metadata {
        let head = store.head("mp/object").await.ctx("head")?;
        ensure!(
            head.content_type.as_deref() == Some("application/octet-stream"),
            "content type {:?}",
            head.content_type
        );
    }
    let r = store
        .put_part(&upload, 3, Bytes::from_static(b"late"))
        .await;
    ensure!(
        r.is_err(),
        "a part for a completed upload was accepted: {r:?}"
    );
    let after = store
        .get_bytes("mp/object")
        .await
        .ctx("get after a late part")?;
    ensure!(after == got, "a late part changed the completed object");
    Ok(Outcome::Passed)
}

/// An aborted upload leaves no object, and the upload cannot be completed afterwards.
pub async fn multipart_aborted(store: &dyn ObjectStore) -> CaseResult {
    let caps = store.capabilities();
    if !caps.multipart {
        return lacks("multipart_aborted", "multipart");
    }
    let upload = store
        .create_multipart("aborted", PutOptions::default())
        .await
        .ctx("create")?;
    let p1 = store
        .put_part(&upload, 1, pattern(caps.min_part_size.max(1024), 5))
        .await
        .ctx("part")?;
    store.abort_multipart(&upload).await.ctx("abort")?;
    expect_not_found(store.head("aborted").await, "head after abort")?;
    let r = store.complete_multipart(&upload, vec![p1]).await;
    ensure!(r.is_err(), "completing an aborted upload succeeded");
    expect_not_found(
        store.head("aborted").await,
        "head after completing an aborted upload",
    )?;
    Ok(Outcome::Passed)
}

fn chunked(total: usize, chunk: usize, seed: u8) -> ByteStream {
    let chunks: Vec<crate::Result<Bytes>> = (0..total.div_ceil(chunk))
        .map(|i| {
            Ok(pattern(
                chunk.min(total - i * chunk),
                seed.wrapping_add(i as u8),
            ))
        })
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

/// `put_stream` of 12 MiB in 64 KiB chunks (past S3's 5 MiB minimum part, into multipart territory).
pub async fn put_stream_in_parts(store: &dyn ObjectStore) -> CaseResult {
    let (total, chunk) = (12 * 1024 * 1024, 64 * 1024);
    store
        .put_stream(
            "streamed",
            chunked(total, chunk, 9),
            PutOptions::default().with_content_type("text/plain"),
        )
        .await
        .ctx("put_stream")?;
    let got = store.get_bytes("streamed").await.ctx("get")?;
    ensure!(got.len() == total, "size {}", got.len());
    let expected: Vec<Bytes> = chunked(total, chunk, 9)
        .try_collect()
        .await
        .ctx("expected")?;
    ensure!(got == expected.concat(), "streamed content differs");
    if store.capabilities().metadata {
        let head = store.head("streamed").await.ctx("head")?;
        ensure!(
            head.content_type.as_deref() == Some("text/plain"),
            "content type {:?}",
            head.content_type
        );
    }
    store.delete("streamed").await.ctx("delete")?;
    Ok(Outcome::Passed)
}

/// A body stream that fails midway fails the put and leaves nothing (and does not clobber an old object).
pub async fn failed_stream_leaves_nothing(store: &dyn ObjectStore) -> CaseResult {
    for size in [1024usize, 9 * 1024 * 1024] {
        let key = format!("broken-{size}");
        let mut chunks: Vec<crate::Result<Bytes>> = vec![Ok(pattern(size, 1))];
        chunks.push(Err(Error::invalid_argument("the client went away")));
        let r = store
            .put_stream(
                &key,
                Box::pin(futures::stream::iter(chunks)),
                PutOptions::default(),
            )
            .await;
        ensure!(r.is_err(), "a failing stream of {size} bytes was stored");
        expect_not_found(store.head(&key).await, "after a failed stream")?;
    }
    store
        .put("kept", Bytes::from_static(b"old"), PutOptions::default())
        .await
        .ctx("put old")?;
    let chunks: Vec<crate::Result<Bytes>> =
        vec![Ok(pattern(10, 1)), Err(Error::invalid_argument("boom"))];
    let r = store
        .put_stream(
            "kept",
            Box::pin(futures::stream::iter(chunks)),
            PutOptions::default(),
        )
        .await;
    ensure!(r.is_err(), "failing overwrite succeeded");
    ensure!(
        store.get_bytes("kept").await.ctx("get old")? == "old",
        "a failed overwrite clobbered the object"
    );
    Ok(Outcome::Passed)
}

/// A generated body of `size` bytes, 1 MiB per chunk, reproducible from the offset.
pub fn generated_body(size: u64) -> ByteStream {
    const CHUNK: u64 = 1024 * 1024;
    let stream = futures::stream::unfold(0u64, move |offset| async move {
        (offset < size).then(|| {
            let len = CHUNK.min(size - offset);
            (Ok(generated_chunk(offset, len)), offset + len)
        })
    });
    Box::pin(stream)
}

fn generated_byte(offset: u64) -> u8 {
    (offset.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn generated_chunk(offset: u64, len: u64) -> Bytes {
    (offset..offset + len)
        .map(generated_byte)
        .collect::<Vec<u8>>()
        .into()
}

/// Streams a generated object of `size` bytes in and out, checking every byte as it arrives — neither side
/// holds the object whole (measure the process's peak memory around this call to prove it).
pub async fn stream_large(store: &dyn ObjectStore, size: u64) -> CaseResult {
    store
        .put_stream("large", generated_body(size), PutOptions::default())
        .await
        .ctx("put_stream")?;
    let head = store.head("large").await.ctx("head")?;
    ensure!(head.size == size, "stored {} bytes of {size}", head.size);
    let got = store.get("large", GetOptions::default()).await.ctx("get")?;
    let mut body = got.body;
    let mut offset = 0u64;
    while let Some(chunk) = body.try_next().await.ctx("read")? {
        for (i, b) in chunk.iter().enumerate() {
            let at = offset + i as u64;
            ensure!(*b == generated_byte(at), "byte {at} differs");
        }
        offset += chunk.len() as u64;
    }
    ensure!(offset == size, "read {offset} bytes of {size}");
    store.delete("large").await.ctx("delete")?;
    Ok(Outcome::Passed)
}

/// 16 writers on distinct keys and 8 on one shared key, concurrently: every distinct key holds its writer's
/// bytes, and the shared key holds exactly one writer's whole body (no torn or mixed write).
pub async fn concurrent_writers(store: &dyn ObjectStore) -> CaseResult {
    let size = 256 * 1024;
    let distinct = (0..16u8).map(|i| store.put_owned(format!("w/{i}"), Bytes::from(vec![i; size])));
    let shared =
        (0..8u8).map(|i| store.put_owned("shared".to_string(), Bytes::from(vec![100 + i; size])));
    let results = futures::future::join_all(distinct.chain(shared)).await;
    for r in results {
        r.ctx("concurrent put")?;
    }
    for i in 0..16u8 {
        let got = store
            .get_bytes(&format!("w/{i}"))
            .await
            .ctx("get distinct")?;
        ensure!(
            got.len() == size && got.iter().all(|b| *b == i),
            "w/{i} has other bytes"
        );
    }
    let got = store.get_bytes("shared").await.ctx("get shared")?;
    let first = got.first().copied().unwrap_or(0);
    ensure!(
        got.len() == size && (100..108).contains(&first) && got.iter().all(|b| *b == first),
        "shared key holds a torn write ({} bytes, first {first})",
        got.len()
    );
    Ok(Outcome::Passed)
}

trait PutOwned {
    fn put_owned(
        &self,
        key: String,
        data: Bytes,
    ) -> futures::future::BoxFuture<'_, crate::Result<crate::PutResult>>;
}

impl PutOwned for dyn ObjectStore + '_ {
    fn put_owned(
        &self,
        key: String,
        data: Bytes,
    ) -> futures::future::BoxFuture<'_, crate::Result<crate::PutResult>> {
        Box::pin(async move { self.put(&key, data, PutOptions::default()).await })
    }
}
