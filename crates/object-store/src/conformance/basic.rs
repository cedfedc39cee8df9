//! Reads, writes, listings and copies.

use super::{CaseResult, Context, Outcome, ensure, expect_not_found, pattern};
use crate::{GetOptions, GetRange, ListOptions, ObjectStore, PutOptions};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// Put, get (whole and streamed), head, overwrite, delete; deleting again succeeds.
pub async fn put_get_delete(store: &dyn ObjectStore) -> CaseResult {
    let data = pattern(10_000, 1);
    store
        .put("object", data.clone(), PutOptions::default())
        .await
        .ctx("put")?;
    ensure!(
        store.get_bytes("object").await.ctx("get")? == data,
        "get returned other bytes"
    );
    let head = store.head("object").await.ctx("head")?;
    ensure!(head.size == 10_000, "head size {} != 10000", head.size);
    ensure!(head.key == "object", "head key {:?}", head.key);
    let empty = Bytes::new();
    store
        .put("empty", empty, PutOptions::default())
        .await
        .ctx("put empty")?;
    ensure!(
        store.get_bytes("empty").await.ctx("get empty")?.is_empty(),
        "empty object not empty"
    );
    ensure!(
        store.head("empty").await.ctx("head empty")?.size == 0,
        "empty object size"
    );
    let replacement = pattern(10, 2);
    store
        .put("object", replacement.clone(), PutOptions::default())
        .await
        .ctx("overwrite")?;
    ensure!(
        store.get_bytes("object").await.ctx("get after overwrite")? == replacement,
        "overwrite lost"
    );
    store.delete("object").await.ctx("delete")?;
    expect_not_found(store.get_bytes("object").await, "get after delete")?;
    expect_not_found(store.head("object").await, "head after delete")?;
    store
        .delete("object")
        .await
        .ctx("delete of a missing key")?;
    Ok(Outcome::Passed)
}

/// A missing object is `NotFound` for get (whole or ranged), head and copy — never an empty body — also
/// below another object's name (`file/below`).
pub async fn missing_is_not_found(store: &dyn ObjectStore) -> CaseResult {
    expect_not_found(
        store
            .get("nope", GetOptions::default())
            .await
            .map(|r| r.meta),
        "get",
    )?;
    expect_not_found(
        store
            .get("nope", GetOptions::range(GetRange::Bounded(0..10)))
            .await
            .map(|r| r.meta),
        "ranged get",
    )?;
    expect_not_found(store.head("dir/nope").await, "head")?;
    expect_not_found(store.copy("nope", "target").await, "copy from missing")?;
    // Below an object's name, as if it were a directory: nothing there either (not an I/O error).
    store
        .put("file", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .ctx("put file")?;
    expect_not_found(store.get_bytes("file/below").await, "get below an object")?;
    expect_not_found(store.head("file/below").await, "head below an object")?;
    store
        .delete("file/below")
        .await
        .ctx("delete below an object")?;
    expect_not_found(store.head("target").await, "copy target")?;
    Ok(Outcome::Passed)
}

/// Listing by prefix, with and without the `/` delimiter.
pub async fn list_prefix_and_delimiter(store: &dyn ObjectStore) -> CaseResult {
    let keys = ["a", "b/1", "b/2", "c/d/e", "cc", "c/f"];
    for k in keys {
        store
            .put(k, Bytes::from_static(b"x"), PutOptions::default())
            .await
            .ctx(k)?;
    }
    let names = |page: &crate::ListPage| {
        page.objects
            .iter()
            .map(|o| o.key.clone())
            .collect::<Vec<_>>()
    };
    let all = store.list(&ListOptions::prefix("")).await.ctx("list all")?;
    ensure!(
        names(&all) == ["a", "b/1", "b/2", "c/d/e", "c/f", "cc"],
        "list: {:?}",
        names(&all)
    );
    ensure!(all.next_token.is_none(), "one page expected");
    ensure!(all.objects.iter().all(|o| o.size == 1), "sizes in listing");
    let grouped = store
        .list(&ListOptions::prefix("").with_delimiter())
        .await
        .ctx("delimiter")?;
    ensure!(
        names(&grouped) == ["a", "cc"],
        "delimiter objects {:?}",
        names(&grouped)
    );
    ensure!(
        grouped.common_prefixes == ["b/", "c/"],
        "prefixes {:?}",
        grouped.common_prefixes
    );
    let sub = store
        .list(&ListOptions::prefix("c/").with_delimiter())
        .await
        .ctx("c/")?;
    ensure!(
        names(&sub) == ["c/f"] && sub.common_prefixes == ["c/d/"],
        "c/: {sub:?}"
    );
    let partial = store
        .list(&ListOptions::prefix("c"))
        .await
        .ctx("prefix c")?;
    ensure!(
        names(&partial) == ["c/d/e", "c/f", "cc"],
        "prefix c: {:?}",
        names(&partial)
    );
    let none = store
        .list(&ListOptions::prefix("zzz/"))
        .await
        .ctx("empty prefix")?;
    ensure!(
        none.objects.is_empty() && none.common_prefixes.is_empty(),
        "zzz/: {none:?}"
    );
    Ok(Outcome::Passed)
}

/// More keys than one page (1,000) hold: pages are full, ordered, without duplicates, and end.
pub async fn list_paginated(store: &dyn ObjectStore, count: usize) -> CaseResult {
    let keys: Vec<String> = (0..count).map(|i| format!("k/{i:05}")).collect();
    let puts = futures::stream::iter(keys.iter())
        .map(|k| store.put(k, Bytes::from_static(b"p"), PutOptions::default()))
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await;
    puts.ctx("put")?;
    let mut seen = Vec::new();
    let mut options = ListOptions::prefix("k/");
    let mut pages = 0;
    loop {
        let page = store.list(&options).await.ctx("list")?;
        pages += 1;
        ensure!(pages <= count / 1000 + 2, "pagination does not end");
        if page.next_token.is_some() {
            ensure!(
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
        seen == keys,
        "listed {} keys (expected {count}) or out of order",
        seen.len()
    );
    let mut small = ListOptions::prefix("k/").with_max_keys(250);
    let mut total = 0;
    let mut small_pages = 0;
    loop {
        let page = store.list(&small).await.ctx("list max_keys 250")?;
        ensure!(
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
    ensure!(total == count, "max_keys pages listed {total}");
    ensure!(
        small_pages >= count.div_ceil(250),
        "{small_pages} pages of 250"
    );
    let all = store.list_all("k/").await.ctx("list_all")?;
    ensure!(all.len() == count, "list_all listed {}", all.len());
    futures::stream::iter(keys.iter())
        .map(|k| store.delete(k))
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .ctx("cleanup")?;
    Ok(Outcome::Passed)
}

/// Keys with spaces, unicode, `%`, `+`, `?`, `#` and nested `/` round-trip through put, get, list and copy.
pub async fn weird_keys(store: &dyn ObjectStore) -> CaseResult {
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
            .ctx(&format!("put {k:?}"))?;
    }
    for k in keys {
        let got = store.get_bytes(k).await.ctx(&format!("get {k:?}"))?;
        ensure!(got == k.as_bytes(), "{k:?} read back {got:?}");
        store.head(k).await.ctx(&format!("head {k:?}"))?;
    }
    let listed: BTreeSet<String> = store
        .list_all("")
        .await
        .ctx("list")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    let expected: BTreeSet<String> = keys.iter().map(|k| k.to_string()).collect();
    ensure!(listed == expected, "listed {listed:?}");
    store
        .copy("emoji 🦀.bin", "copy of 100% ünï")
        .await
        .ctx("copy weird")?;
    ensure!(
        store.get_bytes("copy of 100% ünï").await.ctx("get copy")? == "emoji 🦀.bin".as_bytes(),
        "weird copy content"
    );
    let prefixed = store
        .list(&ListOptions::prefix("ünïcödé/").with_delimiter())
        .await
        .ctx("unicode prefix")?;
    ensure!(
        prefixed.common_prefixes == ["ünïcödé/ключ/"],
        "unicode prefixes {:?}",
        prefixed.common_prefixes
    );
    Ok(Outcome::Passed)
}

/// Copy duplicates bytes (and metadata), leaves the source, and overwrites the target.
pub async fn copy(store: &dyn ObjectStore) -> CaseResult {
    let options = PutOptions::default()
        .with_content_type("application/json")
        .with_metadata("k", "v");
    store
        .put("src", Bytes::from_static(b"{\"a\":1}"), options.clone())
        .await
        .ctx("put src")?;
    store
        .put("dst", Bytes::from_static(b"old"), PutOptions::default())
        .await
        .ctx("put dst")?;
    store.copy("src", "dst").await.ctx("copy")?;
    ensure!(
        store.get_bytes("dst").await.ctx("get dst")? == "{\"a\":1}",
        "copied bytes"
    );
    ensure!(
        store.get_bytes("src").await.ctx("get src")? == "{\"a\":1}",
        "source changed"
    );
    if store.capabilities().metadata {
        let head = store.head("dst").await.ctx("head dst")?;
        ensure!(
            head.content_type == options.content_type,
            "copied content type {:?}",
            head.content_type
        );
        ensure!(
            head.metadata == options.metadata,
            "copied metadata {:?}",
            head.metadata
        );
    }
    store
        .copy("src", "nested/dir/dst")
        .await
        .ctx("copy into a new directory")?;
    ensure!(
        store.head("nested/dir/dst").await.ctx("head nested")?.size == 7,
        "nested copy size"
    );
    Ok(Outcome::Passed)
}
