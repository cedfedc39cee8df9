//! Conditional, multipart, streamed and concurrent writes.

use super::{At, Subject, ensure, expect_not_found, pattern};
use crate::{ByteStream, Capabilities, Error, GetOptions, ObjectStore, PutOptions};
use avb_conformance::{CaseResult, Checks};
use bytes::Bytes;
use futures::TryStreamExt;

/// Create-only puts: the first wins, later ones are `AlreadyExists` and change nothing. (A backend without
/// the capability must say `NotSupported`, not overwrite: [`undeclared_capabilities_refused`].)
pub async fn conditional_create(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    store
        .put("c", Bytes::from_static(b"first"), PutOptions::create())
        .await
        .at(c, "first_create")?;
    let r = store
        .put("c", Bytes::from_static(b"second"), PutOptions::create())
        .await;
    ensure!(
        c,
        "second_create",
        matches!(r, Err(Error::AlreadyExists { .. })),
        "second create gave {r:?}"
    );
    ensure!(
        c,
        "create_keeps_first",
        store.get_bytes("c").await.at(c, "get")? == "first",
        "create overwrote"
    );
    Ok(())
}

/// Of 8 concurrent create-only puts of one key, exactly one succeeds (the create is atomic).
pub async fn conditional_create_race(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let attempts =
        (0..8u8).map(|i| store.put("race", Bytes::from(vec![i; 1024]), PutOptions::create()));
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let lost = results
        .iter()
        .filter(|r| matches!(r, Err(Error::AlreadyExists { .. })))
        .count();
    c.check(
        "one_winner",
        won == 1 && lost == 7,
        format_args!("8 racing creates: {won} won, {lost} AlreadyExists: {results:?}"),
    );
    Ok(())
}

/// A multipart upload of two parts (the first at the backend's minimum part size) with content type. While
/// the upload is open, part numbers outside 1..=10,000 are `InvalidArgument`; once it is completed, no part
/// is accepted and the object stays as completed.
pub async fn multipart(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let caps: Capabilities = store.capabilities();
    let first = pattern(caps.min_part_size.max(1024), 3);
    let second = pattern(1234, 4);
    let options = PutOptions::default().with_content_type("application/octet-stream");
    let upload = store
        .create_multipart("mp/object", options)
        .await
        .at(c, "create")?;
    let p1 = store
        .put_part(&upload, 1, first.clone())
        .await
        .at(c, "part_1")?;
    let p2 = store
        .put_part(&upload, 2, second.clone())
        .await
        .at(c, "part_2")?;
    expect_not_found(
        c,
        "object_before_complete",
        store.head("mp/object").await,
        "object before complete",
    )?;
    // Part numbers outside 1..=10,000 are refused while the upload is still open: the refusal is the part
    // number's, not the upload's (after `complete` any part is refused, whatever its number).
    for bad in [0, crate::types::MAX_PART_NUMBER + 1] {
        let r = store.put_part(&upload, bad, Bytes::from_static(b"x")).await;
        ensure!(
            c,
            "part_number_range",
            matches!(r, Err(Error::InvalidArgument { .. })),
            "part number {bad} on an open upload gave {r:?}"
        );
    }
    store
        .complete_multipart(&upload, vec![p1, p2])
        .await
        .at(c, "complete")?;
    let got = store.get_bytes("mp/object").await.at(c, "get")?;
    ensure!(
        c,
        "size",
        got.len() == first.len() + second.len(),
        "size {}",
        got.len()
    );
    ensure!(
        c,
        "content",
        got[..first.len()] == first[..] && got[first.len()..] == second[..],
        "content"
    );
    if caps.metadata {
        let head = store.head("mp/object").await.at(c, "head")?;
        ensure!(
            c,
            "content_type",
            head.content_type.as_deref() == Some("application/octet-stream"),
            "content type {:?}",
            head.content_type
        );
    }
    let r = store
        .put_part(&upload, 3, Bytes::from_static(b"late"))
        .await;
    ensure!(
        c,
        "late_part_refused",
        r.is_err(),
        "a part for a completed upload was accepted: {r:?}"
    );
    let after = store
        .get_bytes("mp/object")
        .await
        .at(c, "get_after_late_part")?;
    ensure!(
        c,
        "late_part_changes_nothing",
        after == got,
        "a late part changed the completed object"
    );
    Ok(())
}

/// An aborted upload leaves no object, and the upload cannot be completed afterwards.
pub async fn multipart_aborted(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let caps = store.capabilities();
    let upload = store
        .create_multipart("aborted", PutOptions::default())
        .await
        .at(c, "create")?;
    let p1 = store
        .put_part(&upload, 1, pattern(caps.min_part_size.max(1024), 5))
        .await
        .at(c, "part")?;
    store.abort_multipart(&upload).await.at(c, "abort")?;
    expect_not_found(
        c,
        "head_after_abort",
        store.head("aborted").await,
        "head after abort",
    )?;
    let r = store.complete_multipart(&upload, vec![p1]).await;
    ensure!(
        c,
        "aborted_cannot_complete",
        r.is_err(),
        "completing an aborted upload succeeded"
    );
    expect_not_found(
        c,
        "head_after_completing_aborted",
        store.head("aborted").await,
        "head after completing an aborted upload",
    )?;
    Ok(())
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
pub async fn put_stream_in_parts(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let (total, chunk) = (12 * 1024 * 1024, 64 * 1024);
    store
        .put_stream(
            "streamed",
            chunked(total, chunk, 9),
            PutOptions::default().with_content_type("text/plain"),
        )
        .await
        .at(c, "put_stream")?;
    let got = store.get_bytes("streamed").await.at(c, "get")?;
    ensure!(c, "size", got.len() == total, "size {}", got.len());
    let expected: Vec<Bytes> = chunked(total, chunk, 9)
        .try_collect()
        .await
        .at(c, "expected")?;
    ensure!(
        c,
        "streamed_content",
        got == expected.concat(),
        "streamed content differs"
    );
    if store.capabilities().metadata {
        let head = store.head("streamed").await.at(c, "head")?;
        ensure!(
            c,
            "content_type",
            head.content_type.as_deref() == Some("text/plain"),
            "content type {:?}",
            head.content_type
        );
    }
    store.delete("streamed").await.at(c, "delete")?;
    Ok(())
}

/// A body stream that fails midway fails the put and leaves nothing (and does not clobber an old object).
pub async fn failed_stream_leaves_nothing(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
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
        ensure!(
            c,
            "failing_stream_refused",
            r.is_err(),
            "a failing stream of {size} bytes was stored"
        );
        expect_not_found(
            c,
            "after_failed_stream",
            store.head(&key).await,
            "after a failed stream",
        )?;
    }
    store
        .put("kept", Bytes::from_static(b"old"), PutOptions::default())
        .await
        .at(c, "put_old")?;
    let chunks: Vec<crate::Result<Bytes>> =
        vec![Ok(pattern(10, 1)), Err(Error::invalid_argument("boom"))];
    let r = store
        .put_stream(
            "kept",
            Box::pin(futures::stream::iter(chunks)),
            PutOptions::default(),
        )
        .await;
    ensure!(
        c,
        "failing_overwrite_refused",
        r.is_err(),
        "failing overwrite succeeded"
    );
    ensure!(
        c,
        "failed_overwrite_keeps_old",
        store.get_bytes("kept").await.at(c, "get_old")? == "old",
        "a failed overwrite clobbered the object"
    );
    Ok(())
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

/// Streams a generated object of [`Harness::large_object_size`](super::Harness::large_object_size) bytes in
/// and out, checking every byte as it arrives — neither side holds the object whole (measure the process's
/// peak memory around [`stream_through`] to prove it).
pub async fn stream_large(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    stream_through(c, store.as_ref(), s.harness().large_object_size).await
}

/// The body of [`stream_large`] on any store, for `size` bytes (the memory test measures the process's peak
/// around it: `Checks::new("stream_large")` collects its failures).
pub async fn stream_through(c: &mut Checks, store: &dyn ObjectStore, size: u64) -> CaseResult {
    store
        .put_stream("large", generated_body(size), PutOptions::default())
        .await
        .at(c, "put_stream")?;
    let head = store.head("large").await.at(c, "head")?;
    ensure!(
        c,
        "stored_bytes",
        head.size == size,
        "stored {} bytes of {size}",
        head.size
    );
    let got = store
        .get("large", GetOptions::default())
        .await
        .at(c, "get")?;
    let mut body = got.body;
    let mut offset = 0u64;
    while let Some(chunk) = body.try_next().await.at(c, "read")? {
        for (i, b) in chunk.iter().enumerate() {
            let at = offset + i as u64;
            ensure!(
                c,
                "bytes_as_generated",
                *b == generated_byte(at),
                "byte {at} differs"
            );
        }
        offset += chunk.len() as u64;
    }
    ensure!(
        c,
        "read_bytes",
        offset == size,
        "read {offset} bytes of {size}"
    );
    store.delete("large").await.at(c, "delete")?;
    Ok(())
}

/// 16 writers on distinct keys and 8 on one shared key, concurrently: every distinct key holds its writer's
/// bytes, and the shared key holds exactly one writer's whole body (no torn or mixed write).
pub async fn concurrent_writers(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let size = 256 * 1024;
    let distinct = (0..16u8).map(|i| store.put_owned(format!("w/{i}"), Bytes::from(vec![i; size])));
    let shared =
        (0..8u8).map(|i| store.put_owned("shared".to_string(), Bytes::from(vec![100 + i; size])));
    let results = futures::future::join_all(distinct.chain(shared)).await;
    // Each put is its own check (the case goes on): a server failing some of them under load shows as
    // those puts' failures, and the content checks below still run.
    for (i, r) in results.iter().enumerate() {
        let (label, writer) = if i < 16 {
            ("distinct_put", i)
        } else {
            ("shared_put", i - 16)
        };
        if let Err(e) = r {
            c.check(label, false, format_args!("concurrent put #{writer}: {e}"));
        }
    }
    for i in 0..16u8 {
        let got = store
            .get_bytes(&format!("w/{i}"))
            .await
            .at(c, "get_distinct")?;
        c.check(
            "distinct_content",
            got.len() == size && got.iter().all(|b| *b == i),
            format_args!("w/{i} has other bytes"),
        );
    }
    let got = store.get_bytes("shared").await.at(c, "get_shared")?;
    let first = got.first().copied().unwrap_or(0);
    ensure!(
        c,
        "shared_not_torn",
        got.len() == size && (100..108).contains(&first) && got.iter().all(|b| *b == first),
        "shared key holds a torn write ({} bytes, first {first})",
        got.len()
    );
    Ok(())
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
