//! Catalog benchmarks: the json backend's per-call cost and allocations (`list_methods`, `get_method`,
//! `validate_call`), and OpenMetadata paging through the adapter beside a raw `reqwest` loop doing the same
//! GETs against the same contract server (`scripts/services up openmetadata`). The ratio, not the absolute
//! time, is the result.
//!
//! Run with: `cargo bench --features catalog-openmetadata,testing --bench catalog -- --warm-up-time 1 --measurement-time 5`
//!
//! Allocations per call are counted with a counting global allocator (`stats_alloc`) over 1,000 calls and
//! printed at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failed setup must abort the run
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use avb::catalog::json::JsonCatalog;
use avb::catalog::openmetadata::OpenMetadataCatalog;
use avb::catalog::{Arg, Catalog, Inputs};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn valid() -> Inputs {
    [
        ("username".to_string(), Arg::Value(json!("ada"))),
        ("limit".to_string(), Arg::Value(json!(20))),
    ]
    .into()
}

fn invalid() -> Inputs {
    [
        ("limit".to_string(), Arg::Value(json!("ten"))),
        ("since".to_string(), Arg::Value(json!("2024"))),
    ]
    .into()
}

/// Allocations per call of `f`, over 1,000 calls.
fn allocations(rt: &tokio::runtime::Runtime, mut f: impl AsyncFnMut()) -> f64 {
    const N: usize = 1_000;
    let region = Region::new(GLOBAL);
    rt.block_on(async {
        for _ in 0..N {
            f().await;
        }
    });
    region.change().allocations as f64 / N as f64
}

fn json_backend(c: &mut Criterion) {
    let rt = runtime();
    let catalog = JsonCatalog::sample().unwrap();
    let (ok, bad) = (valid(), invalid());
    let mut g = c.benchmark_group("catalog_json");
    g.bench_function("list_methods(person)", |b| {
        b.iter(|| {
            rt.block_on(catalog.list_methods(Some(black_box("person"))))
                .unwrap()
        })
    });
    g.bench_function("list_methods(all)", |b| {
        b.iter(|| rt.block_on(catalog.list_methods(None)).unwrap())
    });
    g.bench_function("get_method", |b| {
        b.iter(|| {
            rt.block_on(catalog.get_method(black_box("crawler_twitter_posts")))
                .unwrap()
        })
    });
    g.bench_function("validate_call(valid)", |b| {
        b.iter(|| {
            rt.block_on(catalog.validate_call("crawler_twitter_posts", black_box(&ok)))
                .unwrap()
        })
    });
    g.bench_function("validate_call(3 mismatches)", |b| {
        b.iter(|| {
            rt.block_on(catalog.validate_call("crawler_twitter_posts", black_box(&bad)))
                .unwrap()
        })
    });
    g.finish();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), avb::catalog::json::SAMPLE).unwrap();
    let on_file = JsonCatalog::open(file.path()).unwrap();
    let rows: [(&str, f64); 6] = [
        (
            "list_methods(person)",
            allocations(&rt, async || {
                drop(catalog.list_methods(Some("person")).await)
            }),
        ),
        (
            "list_methods(all)",
            allocations(&rt, async || drop(catalog.list_methods(None).await)),
        ),
        (
            "validate_call(valid)",
            allocations(&rt, async || {
                drop(catalog.validate_call("crawler_twitter_posts", &ok).await)
            }),
        ),
        (
            "validate_call(3 mismatches)",
            allocations(&rt, async || {
                drop(catalog.validate_call("crawler_twitter_posts", &bad).await)
            }),
        ),
        (
            "validate_call(valid), file-backed",
            allocations(&rt, async || {
                drop(on_file.validate_call("crawler_twitter_posts", &ok).await)
            }),
        ),
        (
            "get_method, file-backed",
            allocations(&rt, async || {
                drop(on_file.get_method("crawler_twitter_posts").await)
            }),
        ),
    ];
    for (name, n) in rows {
        println!("allocations per call: {name}: {n:.1}");
    }
}

/// The raw loop: the same GETs (`fields=tags`, `limit`, `after`) with the same client settings, JSON parsed,
/// items collected; no mapping.
async fn raw_pages(http: &reqwest::Client, base: &str, token: &str, limit: u32) -> usize {
    let mut after: Option<String> = None;
    let mut items = Vec::new();
    loop {
        let mut url = url::Url::parse(&format!("{base}/v1/apiEndpoints")).unwrap();
        url.query_pairs_mut()
            .append_pair("fields", "tags")
            .append_pair("limit", &limit.to_string());
        if let Some(a) = &after {
            url.query_pairs_mut().append_pair("after", a);
        }
        let body = http
            .get(url)
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        items.append(page["data"].as_array_mut().unwrap());
        match page["paging"]["after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => return items.len(),
        }
    }
}

fn openmetadata_paging(c: &mut Criterion) {
    let Some(url) = avb::testing::live_server("AVB_TEST_OPENMETADATA_URL") else {
        return;
    };
    let Some(token) = avb::testing::harness_value("AVB_TEST_OPENMETADATA_TOKEN") else {
        return;
    };
    let rt = runtime();
    let base = url.trim_end_matches('/').to_string();
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut g = c.benchmark_group("catalog_openmetadata_paging");
    for limit in [2u32, 100] {
        let om = OpenMetadataCatalog::with_page_size(&url.parse().unwrap(), Some(&token), limit)
            .unwrap();
        assert_eq!(rt.block_on(om.list_methods(None)).unwrap().len(), 13);
        assert_eq!(rt.block_on(raw_pages(&http, &base, &token, limit)), 13);
        g.bench_function(format!("avb list_methods, pages of {limit}"), |b| {
            b.iter(|| rt.block_on(om.list_methods(None)).unwrap())
        });
        g.bench_function(format!("raw reqwest loop, pages of {limit}"), |b| {
            b.iter(|| rt.block_on(raw_pages(&http, &base, &token, limit)))
        });
    }
    g.finish();
}

criterion_group!(benches, json_backend, openmetadata_paging);
criterion_main!(benches);
