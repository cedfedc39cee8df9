//! Ranged reads, on ordinary and on empty objects.

use super::{At, Subject, ensure, pattern};
use crate::{Error, GetOptions, GetRange, PutOptions};
use avb_conformance::{CaseResult, Checks};

/// Bounded, open-ended and suffix ranges; ranges past the end are clamped or `InvalidRange`.
pub async fn ranged_reads(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let data = pattern(1000, 7);
    store
        .put("r", data.clone(), PutOptions::default())
        .await
        .at(c, "put")?;
    let cases = [
        (GetRange::Bounded(10..20), 10..20),
        (GetRange::Bounded(0..1), 0..1),
        (GetRange::Offset(990), 990..1000),
        (GetRange::Suffix(5), 995..1000),
        (GetRange::Suffix(5000), 0..1000),
        (GetRange::Bounded(995..2000), 995..1000),
    ];
    for (range, expected) in cases {
        let got = store
            .get("r", GetOptions::range(range.clone()))
            .await
            .at_as(c, "get", format_args!("get {range}"))?;
        ensure!(
            c,
            "range",
            got.range == expected,
            "{range}: range {:?} != {expected:?}",
            got.range
        );
        ensure!(
            c,
            "meta_size",
            got.meta.size == 1000,
            "{range}: meta.size {}",
            got.meta.size
        );
        let bytes = got
            .bytes()
            .await
            .at_as(c, "body", format_args!("body {range}"))?;
        let (s, e) = (expected.start as usize, expected.end as usize);
        ensure!(
            c,
            "range_bytes",
            bytes == data.slice(s..e),
            "{range}: wrong bytes"
        );
    }
    let r = store
        .get("r", GetOptions::range(GetRange::Offset(1000)))
        .await
        .map(|r| r.range);
    ensure!(
        c,
        "offset_at_end_invalid_range",
        matches!(r, Err(Error::InvalidRange { size: 1000, .. })),
        "offset at end gave {r:?}"
    );
    let r = store
        .get("r", GetOptions::range(GetRange::Bounded(5..5)))
        .await
        .map(|r| r.range);
    ensure!(
        c,
        "empty_range_invalid",
        matches!(r, Err(Error::InvalidArgument { .. })),
        "empty range gave {r:?}"
    );
    Ok(())
}

/// Ranges on an empty object give one answer on every backend: the whole (empty) object without a range
/// or with a suffix range (RFC 9110 §14.1.1), and `InvalidRange` for any start, which lies past the end.
pub async fn empty_object_ranges(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    store
        .put("empty", bytes::Bytes::new(), PutOptions::default())
        .await
        .at(c, "put")?;
    let mut whole = vec![None];
    whole.extend([1, 10, 5000].map(|n| Some(GetRange::Suffix(n))));
    for range in whole {
        let options = GetOptions {
            range: range.clone(),
            ..GetOptions::default()
        };
        let got =
            store
                .get("empty", options)
                .await
                .at_as(c, "get", format_args!("get {range:?}"))?;
        ensure!(
            c,
            "range",
            got.range == (0..0),
            "{range:?}: range {:?}",
            got.range
        );
        ensure!(
            c,
            "size",
            got.meta.size == 0,
            "{range:?}: size {}",
            got.meta.size
        );
        let bytes = got
            .bytes()
            .await
            .at_as(c, "body", format_args!("body {range:?}"))?;
        ensure!(
            c,
            "bytes",
            bytes.is_empty(),
            "{range:?}: {} bytes",
            bytes.len()
        );
    }
    for range in [
        GetRange::Offset(0),
        GetRange::Offset(5),
        GetRange::Bounded(0..1),
        GetRange::Bounded(0..10),
        GetRange::Bounded(5..10),
    ] {
        let r = store
            .get("empty", GetOptions::range(range.clone()))
            .await
            .map(|r| r.range);
        ensure!(
            c,
            "empty_object",
            matches!(r, Err(Error::InvalidRange { size: 0, .. })),
            "{range} on an empty object gave {r:?}"
        );
    }
    // Past the end of a non-empty object too: InvalidRange with the size, never a retryable error.
    store
        .put("three", pattern(3, 1), PutOptions::default())
        .await
        .at(c, "put_three")?;
    for range in [
        GetRange::Offset(3),
        GetRange::Offset(4),
        GetRange::Bounded(3..9),
    ] {
        let r = store
            .get("three", GetOptions::range(range.clone()))
            .await
            .map(|r| r.range);
        ensure!(
            c,
            "past_end_invalid_range",
            matches!(r, Err(Error::InvalidRange { size: 3, .. })),
            "{range} on a 3-byte object gave {r:?}"
        );
    }
    Ok(())
}
