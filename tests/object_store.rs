//! The ObjectStore conformance suite against every backend: memory, fs (a temporary directory) and s3
//! (each S3 server from `scripts/services`: s3s-fs, moto and MinIO; skipped with a reason when it is not
//! running, failed under `AVB_TEST_REQUIRE_LIVE=1`). Plus the acceptance checks, on each S3 server:
//! configuration alone switches the backend, a missing bucket and a dead endpoint are distinct errors, and a
//! wrong key pair is `PermissionDenied` naming the endpoint (on the servers that verify signatures).
//!
//! Every conformance run asserts its exact result: which cases skip (and the capability they lack), which
//! declared server gaps fire (every run; racy ones may), and that every other case passes.
//!
//! Run with: `eval "$(scripts/services env)"; cargo test --all-features --test object_store`
// Test code: an unwrap that fails is the test (or benchmark) failing, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb::config::Config;
use avb::object_store::conformance::{self, Harness};
use avb::object_store::{Error, ObjectStore, PutOptions};
use bytes::Bytes;
use std::sync::Arc;

#[cfg(feature = "object-store-s3")]
#[path = "support/s3_servers.rs"]
mod s3_servers;

/// Exactly what a backend's run must show: the cases skipped (with the capability the reason names), the
/// declared server gaps that must fire every run, and those that may (races). Every other case must pass.
#[derive(Default)]
struct Expect {
    skipped: &'static [(&'static str, &'static str)],
    gaps: &'static [&'static str],
    racy_gaps: &'static [&'static str],
}

/// Memory, fs and every S3 server run every case but these; `symlinks_not_followed` needs a file system
/// underneath (only the fs harness plants links).
const NO_SYMLINKS: (&str, &str) = ("symlinks_not_followed", "a way to plant symbolic links");
const NO_PRESIGN: [(&str, &str); 2] = [
    ("presigned_round_trip", "backend lacks presign"),
    ("presigned_refusals", "backend lacks presign"),
];

async fn run_expecting(harness: Harness, expect: Expect) -> conformance::Report {
    let report = conformance::run_all(&harness).await;
    println!("{report}");
    assert!(report.failed.is_empty(), "{report}");
    let mut skipped: Vec<&str> = report.skipped.iter().map(|(case, _)| *case).collect();
    skipped.sort_unstable();
    let mut want: Vec<&str> = expect.skipped.iter().map(|(case, _)| *case).collect();
    want.sort_unstable();
    assert_eq!(skipped, want, "skipped cases: {report}");
    for (case, why) in expect.skipped {
        let (_, reason) = report.skipped.iter().find(|(c, _)| c == case).unwrap();
        assert!(
            reason.contains(why),
            "{case} skipped for {reason:?}, not {why:?}: {report}"
        );
    }
    for (case, _) in &report.expected_failures {
        assert!(
            expect.gaps.contains(case) || expect.racy_gaps.contains(case),
            "{case} failed as a gap not expected here: {report}"
        );
    }
    for case in expect.gaps {
        assert!(
            report.expected_failures.iter().any(|(c, _)| c == case),
            "the declared gap {case} did not fire (the server was fixed? remove the declaration): {report}"
        );
    }
    // Every other case passed: none left out, none counted twice.
    for case in conformance::CASES {
        let outcomes = usize::from(report.passed.contains(case))
            + usize::from(report.skipped.iter().any(|(c, _)| c == case))
            + usize::from(report.expected_failures.iter().any(|(c, _)| c == case));
        assert_eq!(outcomes, 1, "{case} has {outcomes} outcomes: {report}");
        if !expect.skipped.iter().any(|(c, _)| c == case)
            && !expect.gaps.contains(case)
            && !expect.racy_gaps.contains(case)
        {
            assert!(
                report.passed.contains(case),
                "{case} did not pass: {report}"
            );
        }
    }
    report
}

#[tokio::test]
async fn memory_passes_conformance() {
    let store = Arc::new(avb::object_store::memory::MemoryStore::new());
    let expect = Expect {
        skipped: &[NO_SYMLINKS, NO_PRESIGN[0], NO_PRESIGN[1]],
        ..Expect::default()
    };
    run_expecting(Harness::new(store), expect).await;
}

#[tokio::test]
async fn fs_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let store = avb::object_store::fs::FsStore::new(dir.path()).unwrap();
    // The fs backend has a file system underneath: the suite plants symbolic links in it.
    let symlinks = conformance::FsSymlinks::new(&store, outside.path()).unwrap();
    let harness = Harness::new(Arc::new(store)).with_symlinks(Arc::new(symlinks));
    // fs declares every capability but presigned URLs (it has no HTTP endpoint to sign for).
    let expect = Expect {
        skipped: &NO_PRESIGN,
        ..Expect::default()
    };
    run_expecting(harness, expect).await;
    assert_eq!(
        std::fs::read(outside.path().join("secret")).unwrap(),
        b"OUTSIDE"
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "something was written outside the store"
    );
}

#[tokio::test]
async fn configuration_alone_switches_memory_and_fs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    for pairs in [
        vec![("OBJECT_STORE", "memory")],
        vec![("OBJECT_STORE", "fs"), ("OBJECT_STORE_DIR", root.as_str())],
    ] {
        let config = Config::from_iter(pairs.clone()).unwrap();
        let store = avb::object_store::open(&config.object_store.backend)
            .await
            .unwrap();
        store
            .put("k", Bytes::from_static(b"v"), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(store.get_bytes("k").await.unwrap(), "v", "{pairs:?}");
    }
    assert!(dir.path().join("k").is_file(), "fs wrote elsewhere");
}

#[cfg(feature = "object-store-s3")]
mod s3 {
    use super::*;

    /// (endpoint, access key, secret key, bucket) of each server, for the checks below.
    fn servers(list: Vec<s3_servers::S3Server>) -> Vec<(String, String, String, String)> {
        list.into_iter()
            .map(|s| (s.url, s.key, s.secret, s.bucket))
            .collect()
    }

    /// The harness servers that verify SigV4 signatures (moto accepts any key pair).
    fn signature_checking() -> Vec<s3_servers::S3Server> {
        [s3_servers::s3s_fs(), s3_servers::minio()]
            .into_iter()
            .flatten()
            .collect()
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_iter(pairs.iter().copied()).unwrap()
    }

    #[tokio::test]
    async fn s3_passes_conformance() {
        let Some(server) = s3_servers::s3s_fs() else {
            return;
        };
        let store = server.builder().build().await.unwrap();
        assert!(store.health().await.is_up());
        // s3s-fs 0.14.1 checks If-None-Match and then writes, not atomically: of 8 racing creates, all 8 won
        // in one run here and exactly one in the next (timing-dependent).
        // AWS S3 and MinIO make the check atomic; the case stays in the suite for them (MinIO: below, no gap).
        let harness = Harness::new(Arc::new(store)).with_known_server_gap(
            "conditional_create_race",
            "s3s-fs 0.14.1 does not make If-None-Match atomic under concurrent puts",
        );
        let expect = Expect {
            skipped: &[NO_SYMLINKS],
            racy_gaps: &["conditional_create_race"],
            ..Expect::default()
        };
        run_expecting(harness, expect).await;
    }

    /// The same suite against a second S3 implementation (moto), to catch assumptions that only hold for
    /// s3s-fs. moto does not verify signatures, so any key pair works.
    #[tokio::test]
    async fn s3_on_moto_passes_conformance() {
        let Some(server) = s3_servers::moto() else {
            return;
        };
        let store = server.builder().build().await.unwrap();
        assert!(store.health().await.is_up());
        // moto's server intermittently answers 500 to concurrent overwrites of one key (its log: "ValueError:
        // I/O operation on closed file" in the PUT handler): a server bug, seen under the parallel test run.
        // moto checks If-None-Match and then writes, like s3s-fs, not atomically: a clean-clone CI run here
        // saw 2 of 8 racing creates win (most runs: exactly one).
        let harness = Harness::new(Arc::new(store))
            .with_known_server_gap(
                "concurrent_writers",
                "moto 5.2.5 server intermittently answers HTTP 500 to concurrent overwrites of one key",
            )
            .with_known_server_gap(
                "conditional_create_race",
                "moto 5.2.5 does not make If-None-Match atomic under concurrent puts",
            );
        // moto 5.2.5 honours If-Match on PutObject but ignores it on CompleteMultipartUpload (it completed
        // the upload over an object with another entity tag): every write path through multipart — a
        // streamed put past one part, multipart complete, and the conditional copy built on it — writes
        // despite a wrong If-Match. Only that failure is tolerated; any other failure of these cases fails.
        let harness = [
            "preconditions_put_stream",
            "preconditions_multipart",
            "preconditions_copy",
        ]
        .into_iter()
        .fold(harness, |h, case| {
            h.with_known_server_gap_when(
                case,
                "moto 5.2.5 ignores If-Match on CompleteMultipartUpload",
                moto_ignores_if_match_on_complete,
            )
        });
        // moto does not verify signatures (any key pair works), so nothing in a presigned URL is enforced:
        // it served an expired presigned GET and took a presigned PUT with another content type than the
        // signed one (both HTTP 200). Only answers of that shape are tolerated.
        let harness = harness.with_known_server_gap_when(
            "presigned_refusals",
            "moto 5.2.5 does not verify signatures, so it enforces neither expiry nor signed headers",
            moto_enforces_no_signature,
        );
        let expect = Expect {
            skipped: &[NO_SYMLINKS],
            gaps: &[
                "preconditions_put_stream",
                "preconditions_multipart",
                "preconditions_copy",
                "presigned_refusals",
            ],
            racy_gaps: &["concurrent_writers", "conditional_create_race"],
        };
        run_expecting(harness, expect).await;
    }

    /// The failure of `presigned_refusals` when the server accepted (2xx) what the signature forbids.
    fn moto_enforces_no_signature(failure: &str) -> bool {
        failure.split("; ").all(|item| {
            item.starts_with("an expired presigned GET answered HTTP 2")
                || item.starts_with("a presigned PUT with another content type answered HTTP 2")
        })
    }

    /// The failure of a multipart write with a wrong `If-Match` that succeeded anyway.
    fn moto_ignores_if_match_on_complete(failure: &str) -> bool {
        failure.contains("with a wrong If-Match: expected PreconditionFailed, got Ok(")
    }

    /// The same suite against MinIO, the server the requirements name, with NO known gap: MinIO makes
    /// `If-None-Match: *` atomic, so exactly one of the racing creates in `conditional_create_race` must win.
    #[tokio::test]
    async fn s3_on_minio_passes_conformance() {
        let Some(server) = s3_servers::minio() else {
            return;
        };
        let store = server.builder().build().await.unwrap();
        assert!(store.health().await.is_up());
        // No gap declared: every case but the symlink one (no file system underneath) must pass, the race
        // and every precondition and presign case included.
        let expect = Expect {
            skipped: &[NO_SYMLINKS],
            ..Expect::default()
        };
        run_expecting(Harness::new(Arc::new(store)), expect).await;
    }

    #[tokio::test]
    async fn object_store_s3_switches_with_zero_code_changes() {
        for (url, key, secret, bucket) in servers(s3_servers::all()) {
            // Exactly what a deployment sets; the code below is the same for memory, fs, MinIO, GCS and AWS.
            let config = config(&[
                ("AVB_ENV", "production"),
                ("OBJECT_STORE", "s3"),
                ("AWS_ENDPOINT_URL", &url),
                ("OBJECT_STORE_BUCKET", &bucket),
                ("AWS_ACCESS_KEY_ID", &key),
                ("AWS_SECRET_ACCESS_KEY", &secret),
                ("OBJECT_STORE_S3_PREFIX", "zero-code-change"),
                ("EVENT_BUS", "redis"),
                ("REDIS_URL", "redis://127.0.0.1:16379"),
                ("AUTH_MODE", "keycloak"),
                ("OIDC_ISSUER_URL", "http://127.0.0.1:18080/realms/avb"),
                ("OIDC_AUDIENCE", "avb-api"),
                ("DATA_CATALOG", "json"),
                ("DATA_CATALOG_FILE", "stub-catalog.json"),
                ("LLM_PROVIDER", "ollama"),
                ("LLM_API_URL", "http://127.0.0.1:11434"),
                ("LLM_MODEL", "gemma3:270m"),
            ]);
            let store = avb::object_store::open(&config.object_store.backend)
                .await
                .unwrap();
            assert_eq!(store.backend(), "s3");
            let key_name = format!("switch-{}", std::process::id());
            store
                .put(
                    &key_name,
                    Bytes::from_static(b"live"),
                    PutOptions::default(),
                )
                .await
                .unwrap();
            assert_eq!(store.get_bytes(&key_name).await.unwrap(), "live");
            // The prefix from OBJECT_STORE_S3_PREFIX is where the object really lives.
            let raw = avb::object_store::s3::S3Builder::new()
                .with_endpoint(url)
                .with_bucket(bucket)
                .with_credentials(key, secret)
                .build()
                .await
                .unwrap();
            let raw_key = format!("zero-code-change/{key_name}");
            assert_eq!(raw.get_bytes(&raw_key).await.unwrap(), "live");
            store.delete(&key_name).await.unwrap();
            assert!(raw.head(&raw_key).await.unwrap_err().is_not_found());
        }
    }

    #[tokio::test]
    async fn wrong_key_pair_is_permission_denied_naming_the_endpoint() {
        for (url, key, _secret, bucket) in servers(signature_checking()) {
            let config = config(&[
                ("OBJECT_STORE", "s3"),
                ("AWS_ENDPOINT_URL", &url),
                ("OBJECT_STORE_BUCKET", &bucket),
                ("AWS_ACCESS_KEY_ID", &key),
                ("AWS_SECRET_ACCESS_KEY", "definitely-not-the-secret"),
            ]);
            let store = avb::object_store::open(&config.object_store.backend)
                .await
                .unwrap();
            for err in [
                store
                    .put("x", Bytes::from_static(b"x"), PutOptions::default())
                    .await
                    .unwrap_err(),
                store.get_bytes("x").await.unwrap_err(),
                store.head("x").await.unwrap_err(),
                store.list_all("").await.unwrap_err(),
            ] {
                assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
                let text = err.to_string();
                assert!(text.contains(url.trim_end_matches('/')), "{text}");
                assert!(
                    !text.contains("definitely-not-the-secret"),
                    "secret leaked: {text}"
                );
                assert!(!err.is_retryable());
            }
            let health = store.health().await;
            assert!(!health.is_up(), "{health:?}");
            // An unknown access key id too.
            let config = config_with_key(&url, &bucket, "no-such-key-id");
            let store = avb::object_store::open(&config.object_store.backend)
                .await
                .unwrap();
            let err = store.get_bytes("x").await.unwrap_err();
            assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
        }
    }

    fn config_with_key(url: &str, bucket: &str, key: &str) -> Config {
        config(&[
            ("OBJECT_STORE", "s3"),
            ("AWS_ENDPOINT_URL", url),
            ("OBJECT_STORE_BUCKET", bucket),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", "whatever"),
        ])
    }

    #[tokio::test]
    async fn missing_bucket_and_dead_endpoint_are_distinct_errors() {
        for (url, key, secret, _bucket) in servers(s3_servers::all()) {
            let store = avb::object_store::s3::S3Builder::new()
                .with_endpoint(&url)
                .with_bucket("no-such-bucket-avb")
                .with_credentials(&key, &secret)
                .build()
                .await
                .unwrap();
            let err = store.get_bytes("x").await.unwrap_err();
            assert!(
                matches!(err, Error::BucketNotFound { .. } | Error::NotFound { .. }),
                "{err:?}"
            );
            let dead = avb::object_store::s3::S3Builder::new()
                .with_endpoint("http://127.0.0.1:1")
                .with_bucket("b")
                .with_credentials(&key, &secret)
                .build()
                .await
                .unwrap();
            let err = dead.get_bytes("x").await.unwrap_err();
            assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
            assert!(err.is_retryable());
            assert!(err.to_string().contains("http://127.0.0.1:1"), "{err}");
        }
    }
}
