//! The shared conformance suite (feature `conformance`): what every [`ObjectStore`] backend must do.
//!
//! Modelled on arrow-rs object_store's `integration.rs`: each case is a documented `pub async fn` taking the
//! store, and [`run_all`] runs them all. Every case works under its own unique prefix (a uuid), so cases and
//! reruns never see each other's data. Cases a backend cannot run are gated on [`Capabilities`], never on the
//! backend's name, and print `SKIPPED <case>: backend lacks <capability>`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_storage::{conformance, memory::MemoryStore};
//! let report = conformance::run_all(&conformance::Harness::new(std::sync::Arc::new(MemoryStore::new()))).await;
//! assert!(report.failed.is_empty(), "{report}");
//! # }
//! ```

use crate::{
    ByteStream, Capabilities, Error, GetOptions, GetRange, ListOptions, ObjectStore, PrefixStore,
    PutOptions,
};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

/// What a case concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// The backend lacks a capability the case needs (the reason names it).
    Skipped(String),
}

/// A case's result: `Err` carries what failed.
pub type CaseResult = Result<Outcome, String>;

/// What [`run_all`] runs against.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The store under test.
    pub store: Arc<dyn ObjectStore>,
    /// Size of the object [`stream_large`] streams through (default 100 MiB; 0 leaves the case out).
    pub large_object_size: u64,
    /// Keys [`list_paginated`] writes (default 1,050: past one 1,000-key page).
    pub pagination_keys: usize,
    /// Cases known to fail, possibly intermittently (races), because of the *server* behind the backend (not
    /// the adapter), with the reason: a failure is reported under [`Report::expected_failures`] instead of
    /// [`Report::failed`]; a pass counts as a pass.
    pub known_server_gaps: Vec<(&'static str, &'static str)>,
}

impl Harness {
    /// Defaults: a 100 MiB streamed object, 1,050 keys for pagination.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            large_object_size: 100 * 1024 * 1024,
            pagination_keys: 1_050,
            known_server_gaps: Vec::new(),
        }
    }

    /// Declares a case that fails because of the server (see [`Harness::known_server_gaps`]).
    pub fn with_known_server_gap(mut self, case: &'static str, reason: &'static str) -> Self {
        self.known_server_gaps.push((case, reason));
        self
    }
}

/// Cases passed, skipped and failed.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Names of the cases that passed.
    pub passed: Vec<&'static str>,
    /// Cases skipped, with the reason.
    pub skipped: Vec<(&'static str, String)>,
    /// Cases failed, with what failed.
    pub failed: Vec<(&'static str, String)>,
    /// Cases that failed as declared in [`Harness::known_server_gaps`], with the reason and the failure.
    pub expected_failures: Vec<(&'static str, String)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} passed, {} skipped, {} failed, {} expected failures (server gaps)",
            self.passed.len(),
            self.skipped.len(),
            self.failed.len(),
            self.expected_failures.len()
        )?;
        for (name, why) in &self.expected_failures {
            writeln!(f, "  EXPECTED FAILURE {name}: {why}")?;
        }
        for (name, why) in &self.skipped {
            writeln!(f, "  SKIPPED {name}: {why}")?;
        }
        for (name, why) in &self.failed {
            writeln!(f, "  FAILED {name}: {why}")?;
        }
        Ok(())
    }
}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// Adds what was being done to an error.
trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Context<T> for Result<T, Error> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

fn lacks(case: &str, capability: &str) -> CaseResult {
    let reason = format!("backend lacks {capability}");
    println!("SKIPPED {case}: {reason}");
    Ok(Outcome::Skipped(reason))
}

fn expect_not_found<T: fmt::Debug>(r: Result<T, Error>, what: &str) -> Result<(), String> {
    match r {
        Err(Error::NotFound { .. }) => Ok(()),
        other => Err(format!("{what}: expected NotFound, got {other:?}")),
    }
}

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

/// Runs every case, each under a fresh unique prefix of `harness.store`.
pub async fn run_all(harness: &Harness) -> Report {
    let run = uuid::Uuid::new_v4();
    let mut report = Report::default();
    let names: &[&'static str] = &[
        "put_get_delete",
        "missing_is_not_found",
        "invalid_keys",
        "metadata_and_content_type",
        "list_prefix_and_delimiter",
        "list_paginated",
        "weird_keys",
        "ranged_reads",
        "copy",
        "conditional_create",
        "conditional_create_race",
        "multipart",
        "multipart_aborted",
        "put_stream_in_parts",
        "failed_stream_leaves_nothing",
        "stream_large",
        "concurrent_writers",
        "workspace_isolation",
    ];
    for &name in names {
        if name == "stream_large" && harness.large_object_size == 0 {
            continue;
        }
        let prefix = format!("conformance/{run}/{name}");
        let scoped: Arc<dyn ObjectStore> = match PrefixStore::new(harness.store.clone(), &prefix) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                report
                    .failed
                    .push((name, format!("prefix {prefix:?}: {e}")));
                continue;
            }
        };
        let result = run_case(name, &scoped, harness).await;
        let gap = harness
            .known_server_gaps
            .iter()
            .find(|(case, _)| *case == name)
            .map(|(_, reason)| *reason);
        match (result, gap) {
            (Ok(Outcome::Passed), _) => report.passed.push(name),
            (Ok(Outcome::Skipped(why)), _) => report.skipped.push((name, why)),
            (Err(why), None) => report.failed.push((name, why)),
            (Err(why), Some(reason)) => {
                println!("EXPECTED FAILURE {name}: {reason}: {why}");
                report
                    .expected_failures
                    .push((name, format!("{reason}: {why}")));
            }
        }
    }
    report
}

async fn run_case(name: &str, store: &Arc<dyn ObjectStore>, harness: &Harness) -> CaseResult {
    let s = store.as_ref();
    match name {
        "put_get_delete" => put_get_delete(s).await,
        "missing_is_not_found" => missing_is_not_found(s).await,
        "invalid_keys" => invalid_keys(s).await,
        "metadata_and_content_type" => metadata_and_content_type(s).await,
        "list_prefix_and_delimiter" => list_prefix_and_delimiter(s).await,
        "list_paginated" => list_paginated(s, harness.pagination_keys).await,
        "weird_keys" => weird_keys(s).await,
        "ranged_reads" => ranged_reads(s).await,
        "copy" => copy(s).await,
        "conditional_create" => conditional_create(s).await,
        "conditional_create_race" => conditional_create_race(s).await,
        "multipart" => multipart(s).await,
        "multipart_aborted" => multipart_aborted(s).await,
        "put_stream_in_parts" => put_stream_in_parts(s).await,
        "failed_stream_leaves_nothing" => failed_stream_leaves_nothing(s).await,
        "stream_large" => stream_large(s, harness.large_object_size).await,
        "concurrent_writers" => concurrent_writers(s).await,
        "workspace_isolation" => workspace_isolation(store.clone()).await,
        other => Err(format!("unknown case {other}")),
    }
}

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

/// A missing object is `NotFound` for get (whole or ranged), head and copy — never an empty body.
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
    expect_not_found(store.head("target").await, "copy target")?;
    Ok(Outcome::Passed)
}

/// Keys that could escape a directory or are ambiguous are `InvalidKey` on every backend.
pub async fn invalid_keys(store: &dyn ObjectStore) -> CaseResult {
    for key in [
        "../escape",
        "a/../../b",
        "/absolute",
        "a//b",
        "trailing/",
        "",
        "./a",
    ] {
        let r = store
            .put(key, Bytes::from_static(b"x"), PutOptions::default())
            .await;
        ensure!(
            matches!(r, Err(Error::InvalidKey { .. })),
            "put {key:?} gave {r:?}"
        );
        let r = store.get_bytes(key).await;
        ensure!(
            matches!(r, Err(Error::InvalidKey { .. })),
            "get {key:?} gave {r:?}"
        );
    }
    Ok(Outcome::Passed)
}

/// Content type and user metadata round-trip through head, get and copy.
pub async fn metadata_and_content_type(store: &dyn ObjectStore) -> CaseResult {
    if !store.capabilities().metadata {
        return lacks("metadata_and_content_type", "metadata");
    }
    let options = PutOptions::default()
        .with_content_type("text/csv; charset=utf-8")
        .with_metadata("owner", "ana")
        .with_metadata("purpose", "conformance test 1");
    store
        .put("meta.csv", Bytes::from_static(b"a,b\n"), options.clone())
        .await
        .ctx("put")?;
    let head = store.head("meta.csv").await.ctx("head")?;
    ensure!(
        head.content_type == options.content_type,
        "content type {:?}",
        head.content_type
    );
    ensure!(
        head.metadata == options.metadata,
        "metadata {:?}",
        head.metadata
    );
    let got = store
        .get("meta.csv", GetOptions::default())
        .await
        .ctx("get")?;
    ensure!(
        got.meta.metadata == options.metadata,
        "get metadata {:?}",
        got.meta.metadata
    );
    ensure!(
        got.meta.content_type == options.content_type,
        "get content type"
    );
    let bad = PutOptions::default().with_metadata("Bad Name", "x");
    let r = store.put("bad", Bytes::new(), bad).await;
    ensure!(
        matches!(r, Err(Error::InvalidArgument { .. })),
        "bad metadata name gave {r:?}"
    );
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

/// Bounded, open-ended and suffix ranges; ranges past the end are clamped or `InvalidRange`.
pub async fn ranged_reads(store: &dyn ObjectStore) -> CaseResult {
    let data = pattern(1000, 7);
    store
        .put("r", data.clone(), PutOptions::default())
        .await
        .ctx("put")?;
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
            .ctx(&format!("get {range}"))?;
        ensure!(
            got.range == expected,
            "{range}: range {:?} != {expected:?}",
            got.range
        );
        ensure!(
            got.meta.size == 1000,
            "{range}: meta.size {}",
            got.meta.size
        );
        let bytes = got.bytes().await.ctx(&format!("body {range}"))?;
        let (s, e) = (expected.start as usize, expected.end as usize);
        ensure!(bytes == data.slice(s..e), "{range}: wrong bytes");
    }
    let r = store
        .get("r", GetOptions::range(GetRange::Offset(1000)))
        .await
        .map(|r| r.range);
    ensure!(
        matches!(r, Err(Error::InvalidRange { size: 1000, .. })),
        "offset at end gave {r:?}"
    );
    let r = store
        .get("r", GetOptions::range(GetRange::Bounded(5..5)))
        .await
        .map(|r| r.range);
    ensure!(
        matches!(r, Err(Error::InvalidArgument { .. })),
        "empty range gave {r:?}"
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

/// A multipart upload of two parts (the first at the backend's minimum part size) with content type.
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
    let r = store.put_part(&upload, 0, Bytes::new()).await;
    ensure!(r.is_err(), "part number 0 accepted");
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

/// Two workspaces writing the same key never see each other's object or listing.
pub async fn workspace_isolation(store: Arc<dyn ObjectStore>) -> CaseResult {
    let (a_id, b_id) = match (
        avb_core::WorkspaceId::new("team-a"),
        avb_core::WorkspaceId::new("team-b"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err("workspace ids".into()),
    };
    let a = crate::for_workspace(store.clone(), &a_id);
    let b = crate::for_workspace(store.clone(), &b_id);
    a.put("report", Bytes::from_static(b"A"), PutOptions::default())
        .await
        .ctx("put a")?;
    b.put("report", Bytes::from_static(b"B"), PutOptions::default())
        .await
        .ctx("put b")?;
    ensure!(
        a.get_bytes("report").await.ctx("get a")? == "A",
        "workspace a reads b's data"
    );
    ensure!(
        b.get_bytes("report").await.ctx("get b")? == "B",
        "workspace b reads a's data"
    );
    a.put("only-a", Bytes::from_static(b"x"), PutOptions::default())
        .await
        .ctx("put only-a")?;
    let b_keys: Vec<String> = b
        .list_all("")
        .await
        .ctx("list b")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    ensure!(b_keys == ["report"], "workspace b lists {b_keys:?}");
    expect_not_found(b.head("only-a").await, "b heads a's key")?;
    let raw: Vec<String> = store
        .list_all("")
        .await
        .ctx("list raw")?
        .into_iter()
        .map(|o| o.key)
        .collect();
    ensure!(
        raw.contains(&"ws/team-a/report".to_string()),
        "prefix layout {raw:?}"
    );
    Ok(Outcome::Passed)
}
