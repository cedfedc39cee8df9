//! Reads, writes, listings and copies.

use super::{At, Subject, ensure, expect_not_found, pattern};
use crate::{GetOptions, GetRange, ListOptions, PutOptions};
use avb_conformance::{CaseResult, Checks};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// Put, get (whole and streamed), head, overwrite, delete; deleting again succeeds.
pub async fn put_get_delete(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let data = pattern(10_000, 1);
    store
        .put("object", data.clone(), PutOptions::default())
        .await
        .at(c, "put")?;
    ensure!(
        c,
        "get_reads_back",
        store.get_bytes("object").await.at(c, "get")? == data,
        "get returned other bytes"
    );
    let head = store.head("object").await.at(c, "head")?;
    ensure!(
        c,
        "head_size",
        head.size == 10_000,
        "head size {} != 10000",
        head.size
    );
    ensure!(
        c,
        "head_key",
        head.key == "object",
        "head key {:?}",
        head.key
    );
    let empty = Bytes::new();
    store
        .put("empty", empty, PutOptions::default())
        .await
        .at(c, "put_empty")?;
    ensure!(
        c,
        "empty_object_reads_empty",
        store
            .get_bytes("empty")
            .await
            .at(c, "get_empty")?
            .is_empty(),
        "empty object not empty"
    );
    ensure!(
        c,
        "empty_object_size_0",
        store.head("empty").await.at(c, "head_empty")?.size == 0,
        "empty object size"
    );
    let replacement = pattern(10, 2);
    store
        .put("object", replacement.clone(), PutOptions::default())
        .await
        .at(c, "overwrite")?;
    ensure!(
        c,
        "overwrite_reads_back",
        store
            .get_bytes("object")
            .await
            .at(c, "get_after_overwrite")?
            == replacement,
        "overwrite lost"
    );
    store.delete("object").await.at(c, "delete")?;
    expect_not_found(
        c,
        "get_after_delete",
        store.get_bytes("object").await,
        "get after delete",
    )?;
    expect_not_found(
        c,
        "head_after_delete",
        store.head("object").await,
        "head after delete",
    )?;
    store.delete("object").await.at(c, "delete_missing_key")?;
    Ok(())
}

/// A missing object is `NotFound` for get (whole or ranged), head and copy — never an empty body — also
/// below another object's name (`file/below`).
pub async fn missing_is_not_found(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    expect_not_found(
        c,
        "get",
        store
            .get("nope", GetOptions::default())
            .await
            .map(|r| r.meta),
        "get",
    )?;
    expect_not_found(
        c,
        "ranged_get",
        store
            .get("nope", GetOptions::range(GetRange::Bounded(0..10)))
            .await
            .map(|r| r.meta),
        "ranged get",
    )?;
    expect_not_found(c, "head", store.head("dir/nope").await, "head")?;
    expect_not_found(
        c,
        "copy_from_missing",
        store.copy("nope", "target").await,
        "copy from missing",
    )?;
    // Below an object's name, as if it were a directory: nothing there either (not an I/O error).
    store
        .put("file", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .at(c, "put_file")?;
    expect_not_found(
        c,
        "get_below_object",
        store.get_bytes("file/below").await,
        "get below an object",
    )?;
    expect_not_found(
        c,
        "head_below_object",
        store.head("file/below").await,
        "head below an object",
    )?;
    store
        .delete("file/below")
        .await
        .at(c, "delete_below_object")?;
    expect_not_found(c, "copy_target", store.head("target").await, "copy target")?;
    Ok(())
}

/// Listing by prefix, with and without the `/` delimiter.
pub async fn list_prefix_and_delimiter(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let keys = ["a", "b/1", "b/2", "c/d/e", "cc", "c/f"];
    for k in keys {
        store
            .put(k, Bytes::from_static(b"x"), PutOptions::default())
            .await
            .at_as(c, "put", k)?;
    }
    let names = |page: &crate::ListPage| {
        page.objects
            .iter()
            .map(|o| o.key.clone())
            .collect::<Vec<_>>()
    };
    let all = store
        .list(&ListOptions::prefix(""))
        .await
        .at(c, "list_all")?;
    ensure!(
        c,
        "list",
        names(&all) == ["a", "b/1", "b/2", "c/d/e", "c/f", "cc"],
        "list: {:?}",
        names(&all)
    );
    ensure!(c, "one_page", all.next_token.is_none(), "one page expected");
    ensure!(
        c,
        "listing_sizes",
        all.objects.iter().all(|o| o.size == 1),
        "sizes in listing"
    );
    let grouped = store
        .list(&ListOptions::prefix("").with_delimiter())
        .await
        .at(c, "delimiter")?;
    ensure!(
        c,
        "delimiter_objects",
        names(&grouped) == ["a", "cc"],
        "delimiter objects {:?}",
        names(&grouped)
    );
    ensure!(
        c,
        "prefixes",
        grouped.common_prefixes == ["b/", "c/"],
        "prefixes {:?}",
        grouped.common_prefixes
    );
    let sub = store
        .list(&ListOptions::prefix("c/").with_delimiter())
        .await
        .at(c, "c")?;
    ensure!(
        c,
        "sub_prefix",
        names(&sub) == ["c/f"] && sub.common_prefixes == ["c/d/"],
        "c/: {sub:?}"
    );
    let partial = store
        .list(&ListOptions::prefix("c"))
        .await
        .at(c, "prefix_c")?;
    ensure!(
        c,
        "prefix_c",
        names(&partial) == ["c/d/e", "c/f", "cc"],
        "prefix c: {:?}",
        names(&partial)
    );
    let none = store
        .list(&ListOptions::prefix("zzz/"))
        .await
        .at(c, "empty_prefix")?;
    ensure!(
        c,
        "empty_listing",
        none.objects.is_empty() && none.common_prefixes.is_empty(),
        "zzz/: {none:?}"
    );
    Ok(())
}

/// More keys than one page (1,000) hold: pages are full, ordered, without duplicates, and end.
pub async fn list_paginated(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let count = s.harness().pagination_keys;
    let keys: Vec<String> = (0..count).map(|i| format!("k/{i:05}")).collect();
    // The futures are collected first (no stream combinator's closure is held across an await), so the
    // case's future is `Send` for every lifetime.
    let puts: Vec<_> = keys
        .iter()
        .map(|k| store.put(k, Bytes::from_static(b"p"), PutOptions::default()))
        .collect();
    let puts = futures::stream::iter(puts)
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await;
    puts.at(c, "put")?;
    let mut seen = Vec::new();
    let mut options = ListOptions::prefix("k/");
    let mut pages = 0;
    loop {
        let page = store.list(&options).await.at(c, "list")?;
        pages += 1;
        ensure!(
            c,
            "pagination_ends",
            pages <= count / 1000 + 2,
            "pagination does not end"
        );
        if page.next_token.is_some() {
            ensure!(
                c,
                "full_pages",
                page.objects.len() == 1000,
                "a non-final page held {} keys",
                page.objects.len()
            );
        }
        seen.extend(page.objects.into_iter().map(|o| o.key));
        match page.next_token {
            Some(t) => options.page_token = Some(t),
            None => break,
        }
    }
    ensure!(
        c,
        "all_keys_in_order",
        seen == keys,
        "listed {} keys (expected {count}) or out of order",
        seen.len()
    );
    let mut small = ListOptions::prefix("k/").with_max_keys(250);
    let mut total = 0;
    let mut small_pages = 0;
    loop {
        let page = store.list(&small).await.at(c, "list_max_keys_250")?;
        ensure!(
            c,
            "max_keys_respected",
            page.objects.len() <= 250,
            "page of {} > max_keys 250",
            page.objects.len()
        );
        total += page.objects.len();
        small_pages += 1;
        match page.next_token {
            Some(t) => small.page_token = Some(t),
            None => break,
        }
    }
    ensure!(
        c,
        "max_keys_total",
        total == count,
        "max_keys pages listed {total}"
    );
    ensure!(
        c,
        "page_count",
        small_pages >= count.div_ceil(250),
        "{small_pages} pages of 250"
    );
    let all = store.list_all("k/").await.at(c, "list_all")?;
    ensure!(
        c,
        "list_all_total",
        all.len() == count,
        "list_all listed {}",
        all.len()
    );
    let deletes: Vec<_> = keys.iter().map(|k| store.delete(k)).collect();
    futures::stream::iter(deletes)
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .at(c, "cleanup")?;
    Ok(())
}

/// Keys with spaces, unicode, `%`, `+`, `?`, `#` and nested `/` round-trip through put, get, list and copy.
pub async fn weird_keys(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let keys = [
        "with space",
        "ünïcödé/ключ/数据",
        "100%",
        "percent%20encoded-looking",
        "plus+sign",
        "query?x=1&y=2",
        "hash#fragment",
        "emoji 🦀.bin",
        "deep/ly/nested/path/file.txt",
        "brackets[1](2){3}",
        "quote's \"double\"",
        "tilde~ comma, semi; colon:",
        "..dots../x..",
    ];
    for k in keys {
        store
            .put(
                k,
                Bytes::copy_from_slice(k.as_bytes()),
                PutOptions::default(),
            )
            .await
            .at_as(c, "put", format_args!("put {k:?}"))?;
    }
    for k in keys {
        let got = store
            .get_bytes(k)
            .await
            .at_as(c, "get", format_args!("get {k:?}"))?;
        ensure!(
            c,
            "reads_back",
            got == k.as_bytes(),
            "{k:?} read back {got:?}"
        );
        store
            .head(k)
            .await
            .at_as(c, "head", format_args!("head {k:?}"))?;
    }
    let listed: BTreeSet<String> = store
        .list_all("")
        .await
        .at(c, "list")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    let expected: BTreeSet<String> = keys.iter().map(|k| k.to_string()).collect();
    ensure!(c, "listed", listed == expected, "listed {listed:?}");
    store
        .copy("emoji 🦀.bin", "copy of 100% ünï")
        .await
        .at(c, "copy_weird")?;
    ensure!(
        c,
        "copy_content",
        store
            .get_bytes("copy of 100% ünï")
            .await
            .at(c, "get_copy")?
            == "emoji 🦀.bin".as_bytes(),
        "weird copy content"
    );
    let prefixed = store
        .list(&ListOptions::prefix("ünïcödé/").with_delimiter())
        .await
        .at(c, "unicode_prefix")?;
    ensure!(
        c,
        "unicode_prefixes",
        prefixed.common_prefixes == ["ünïcödé/ключ/"],
        "unicode prefixes {:?}",
        prefixed.common_prefixes
    );
    Ok(())
}

/// Copy duplicates bytes (and metadata), leaves the source, and overwrites the target.
pub async fn copy(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let store = s.store(c)?;
    let store = store.as_ref();
    let options = PutOptions::default()
        .with_content_type("application/json")
        .with_metadata("k", "v");
    store
        .put("src", Bytes::from_static(b"{\"a\":1}"), options.clone())
        .await
        .at(c, "put_src")?;
    store
        .put("dst", Bytes::from_static(b"old"), PutOptions::default())
        .await
        .at(c, "put_dst")?;
    store.copy("src", "dst").await.at(c, "copy")?;
    ensure!(
        c,
        "copy_bytes",
        store.get_bytes("dst").await.at(c, "get_dst")? == "{\"a\":1}",
        "copied bytes"
    );
    ensure!(
        c,
        "source_intact",
        store.get_bytes("src").await.at(c, "get_src")? == "{\"a\":1}",
        "source changed"
    );
    if store.capabilities().metadata {
        let head = store.head("dst").await.at(c, "head_dst")?;
        ensure!(
            c,
            "copied_content_type",
            head.content_type == options.content_type,
            "copied content type {:?}",
            head.content_type
        );
        ensure!(
            c,
            "copied_metadata",
            head.metadata == options.metadata,
            "copied metadata {:?}",
            head.metadata
        );
    }
    store
        .copy("src", "nested/dir/dst")
        .await
        .at(c, "copy_into_new_directory")?;
    ensure!(
        c,
        "nested_copy_size",
        store
            .head("nested/dir/dst")
            .await
            .at(c, "head_nested")?
            .size
            == 7,
        "nested copy size"
    );
    Ok(())
}
