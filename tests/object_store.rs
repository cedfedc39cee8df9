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
use avb::object_store::conformance::{self, Expect, Harness, Runner, capability};
use avb::object_store::{Error, ObjectStore, PutOptions};
use bytes::Bytes;
use std::sync::Arc;

#[cfg(feature = "object-store-s3")]
#[path = "support/s3_servers.rs"]
mod s3_servers;

/// Runs the suite (printing one line per case as it goes) and asserts its exact result: the cases `expect`
/// lists as skipped are skipped for that capability, its deterministic gaps hold, every other case passes
/// (a stale deterministic gap is a difference too). The run writes under a root of its own and must leave
/// nothing there.
async fn run_expecting(harness: Harness, runner: Runner, expect: Expect) {
    let root = format!("conformance-{}", uuid::Uuid::new_v4().simple());
    let harness = harness.with_root(root.clone());
    conformance::run_all_with(&harness, &runner)
        .await
        .assert_exact(&expect);
    let left = harness.store.list_all(&format!("{root}/")).await.unwrap();
    assert!(
        left.is_empty(),
        "the run left {} objects under {root}/, e.g. {:?}",
        left.len(),
        left.first().map(|o| &o.key)
    );
}

#[tokio::test]
async fn memory_passes_conformance() {
    let store = Arc::new(avb::object_store::memory::MemoryStore::new());
    // No file system underneath (nothing to plant links in), no HTTP endpoint to presign for.
    let expect = Expect::all()
        .skipped("symlinks_not_followed", capability::SYMLINKS)
        .skipped("presigned_round_trip", capability::PRESIGN)
        .skipped("presigned_refusals", capability::PRESIGN);
    run_expecting(Harness::new(store), conformance::runner(), expect).await;
}

/// The store the Platform hands out (every operation behind the metered layer) is still a conforming
/// store: the wrapper changes no answer.
#[tokio::test]
async fn memory_behind_the_metered_layer_passes_conformance() {
    use avb::layers::{Direct, Layer, metered::MeteredLayer};
    let metrics = Arc::new(avb::metrics::Metrics::new());
    let store = Arc::new(avb::instrument::InstrumentedStore::new(
        Arc::new(avb::object_store::memory::MemoryStore::new()),
        MeteredLayer::new(metrics.clone(), "object_store", "memory").layer(Direct),
    ));
    let expect = Expect::all()
        .skipped("symlinks_not_followed", capability::SYMLINKS)
        .skipped("presigned_round_trip", capability::PRESIGN)
        .skipped("presigned_refusals", capability::PRESIGN);
    run_expecting(Harness::new(store), conformance::runner(), expect).await;
    assert!(metrics.encode().contains(
        r#"avb_object_store_operations_total{backend="memory",operation="put",result="ok"}"#
    ));
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
    let expect = Expect::all()
        .skipped("presigned_round_trip", capability::PRESIGN)
        .skipped("presigned_refusals", capability::PRESIGN);
    run_expecting(harness, conformance::runner(), expect).await;
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
    // Under the environment scope (`development` by default).
    assert!(
        dir.path().join("development/k").is_file(),
        "fs wrote elsewhere"
    );
}

#[cfg(feature = "object-store-s3")]
mod s3 {
    use super::*;
    use avb::object_store::conformance::{Gap, GapKind};

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
        let runner = conformance::runner().gap(Gap::intermittent(
            "conditional_create_race",
            "one_winner",
            "s3s-fs 0.14.1",
            "If-None-Match is checked, then the object written: not atomic under concurrent puts",
        ));
        let expect = Expect::all().skipped("symlinks_not_followed", capability::SYMLINKS);
        run_expecting(Harness::new(Arc::new(store)), runner, expect).await;
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
        let runner = conformance::runner().gaps(MOTO_GAPS);
        let mut expect = Expect::all().skipped("symlinks_not_followed", capability::SYMLINKS);
        for gap in MOTO_GAPS
            .iter()
            .filter(|g| g.kind == GapKind::Deterministic)
        {
            expect = expect.gap(gap.case, gap.check);
        }
        run_expecting(Harness::new(Arc::new(store)), runner, expect).await;
    }

    const MOTO: &str = "moto 5.2.5";
    /// moto 5.2.5 honours If-Match on PutObject but ignores it on CompleteMultipartUpload (it completed the
    /// upload over an object with another entity tag): every write path through multipart — a streamed put
    /// past one part, multipart complete, and the conditional copy built on it — writes despite a wrong
    /// If-Match, and creates the object despite an If-Match on a missing key (two checks, one cause).
    const IF_MATCH_ON_COMPLETE: &str = "ignores If-Match on CompleteMultipartUpload";
    /// moto does not verify signatures (any key pair works), so nothing in a presigned URL is enforced: it
    /// serves an expired presigned GET and takes a presigned PUT with another content type than the signed
    /// one (both HTTP 200).
    const NO_SIGNATURE_CHECKS: &str =
        "does not verify signatures, so it enforces neither expiry nor signed headers";

    /// moto's known gaps: each waives one check's specific failure; the rest of its case still runs.
    const MOTO_GAPS: [Gap; 10] = [
        // moto's server intermittently answers 500 to concurrent overwrites of one key (its log: "ValueError:
        // I/O operation on closed file" in the PUT handler), seen under the parallel test run.
        Gap::intermittent(
            "concurrent_writers",
            "shared_put",
            MOTO,
            "intermittently answers HTTP 500 to concurrent overwrites of one key",
        )
        .when(answered_500),
        // moto checks If-None-Match and then writes, like s3s-fs, not atomically: a clean-clone CI run here
        // saw 2 of 8 racing creates win (most runs: exactly one).
        Gap::intermittent(
            "conditional_create_race",
            "one_winner",
            MOTO,
            "If-None-Match is checked, then the object written: not atomic under concurrent puts",
        ),
        Gap::deterministic(
            "preconditions_put_stream",
            "wrong_if_match_refused",
            MOTO,
            IF_MATCH_ON_COMPLETE,
        )
        .when(wrote_anyway),
        Gap::deterministic(
            "preconditions_put_stream",
            "missing_key_if_match_refused",
            MOTO,
            IF_MATCH_ON_COMPLETE,
        )
        .when(wrote_anyway),
        Gap::deterministic(
            "preconditions_multipart",
            "wrong_if_match_refused",
            MOTO,
            IF_MATCH_ON_COMPLETE,
        )
        .when(wrote_anyway),
        Gap::deterministic(
            "preconditions_multipart",
            "missing_key_if_match_refused",
            MOTO,
            IF_MATCH_ON_COMPLETE,
        )
        .when(wrote_anyway),
        Gap::deterministic(
            "preconditions_copy",
            "wrong_if_match_refused",
            MOTO,
            IF_MATCH_ON_COMPLETE,
        )
        .when(wrote_anyway),
        Gap::deterministic(
            "preconditions_copy",
            "missing_key_if_match_refused",
            MOTO,
            IF_MATCH_ON_COMPLETE,
        )
        .when(wrote_anyway),
        Gap::deterministic(
            "presigned_refusals",
            "expired_get_refused",
            MOTO,
            NO_SIGNATURE_CHECKS,
        )
        .when(answered_2xx),
        Gap::deterministic(
            "presigned_refusals",
            "other_content_type_refused",
            MOTO,
            NO_SIGNATURE_CHECKS,
        )
        .when(answered_2xx),
    ];

    /// A put the server failed with HTTP 500.
    fn answered_500(failure: &str) -> bool {
        failure.contains("is unavailable: HTTP 500")
    }

    /// A presigned request the server accepted (2xx) although the signature forbids it.
    fn answered_2xx(failure: &str) -> bool {
        failure.contains("answered HTTP 2")
    }

    /// A write with an `If-Match` that should have failed, and succeeded.
    fn wrote_anyway(failure: &str) -> bool {
        failure.contains("expected PreconditionFailed, got Ok(")
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
        let expect = Expect::all().skipped("symlinks_not_followed", capability::SYMLINKS);
        run_expecting(Harness::new(Arc::new(store)), conformance::runner(), expect).await;
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
            // The prefix from OBJECT_STORE_S3_PREFIX, then the environment's scope, is where the object
            // really lives.
            let raw = avb::object_store::s3::S3Builder::new()
                .with_endpoint(url)
                .with_bucket(bucket)
                .with_credentials(key, secret)
                .build()
                .await
                .unwrap();
            let raw_key = format!("zero-code-change/production/{key_name}");
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
