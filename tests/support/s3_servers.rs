//! The harness's S3 servers (`scripts/services`), for the live ObjectStore tests that run against each of
//! them: s3s-fs, moto and MinIO. Each lookup skips with a printed reason when its server is not running, and
//! fails instead under `AVB_TEST_REQUIRE_LIVE=1` (see `avb::testing`).
//!
//! Included by the test files that need it with `#[path = "support/s3_servers.rs"] mod s3_servers;`.
#![allow(dead_code)] // each test file uses a subset

use avb::testing::{harness_value, live_server};

/// One S3 server of the harness: a display name, its endpoint and the bucket and key pair the harness made.
#[derive(Debug, Clone)]
pub struct S3Server {
    pub name: &'static str,
    pub url: String,
    pub key: String,
    pub secret: String,
    pub bucket: String,
}

impl S3Server {
    /// A builder for this server, the harness's bucket and key pair set.
    pub fn builder(&self) -> avb::object_store::s3::S3Builder {
        avb::object_store::s3::S3Builder::new()
            .with_endpoint(&self.url)
            .with_bucket(&self.bucket)
            .with_credentials(&self.key, &self.secret)
    }

    /// `host:port` of the endpoint (for a proxy in front of it).
    pub fn host_port(&self) -> String {
        let parsed = url::Url::parse(&self.url).expect("harness S3 URL");
        format!(
            "{}:{}",
            parsed.host_str().expect("harness S3 URL has a host"),
            parsed
                .port_or_known_default()
                .expect("harness S3 URL has a port")
        )
    }
}

/// s3s-fs (`AVB_TEST_S3_*`), the harness's first S3 server.
pub fn s3s_fs() -> Option<S3Server> {
    Some(S3Server {
        name: "s3s-fs",
        url: live_server("AVB_TEST_S3_URL")?,
        key: harness_value("AVB_TEST_S3_ACCESS_KEY")?,
        secret: harness_value("AVB_TEST_S3_SECRET_KEY")?,
        bucket: harness_value("AVB_TEST_S3_BUCKET")?,
    })
}

/// moto (`AVB_TEST_MOTO_*`). It does not verify signatures, so any key pair works.
pub fn moto() -> Option<S3Server> {
    Some(S3Server {
        name: "moto",
        url: live_server("AVB_TEST_MOTO_URL")?,
        key: "moto-any-key".into(),
        secret: "moto-any-secret".into(),
        bucket: harness_value("AVB_TEST_MOTO_BUCKET")?,
    })
}

/// MinIO (`AVB_TEST_MINIO_*`), the server the requirements name for the sandbox object store.
pub fn minio() -> Option<S3Server> {
    Some(S3Server {
        name: "minio",
        url: live_server("AVB_TEST_MINIO_URL")?,
        key: harness_value("AVB_TEST_MINIO_ACCESS_KEY")?,
        secret: harness_value("AVB_TEST_MINIO_SECRET_KEY")?,
        bucket: harness_value("AVB_TEST_MINIO_BUCKET")?,
    })
}

/// Every harness S3 server that runs (each missing one skipped visibly, or failed under
/// `AVB_TEST_REQUIRE_LIVE=1`).
pub fn all() -> Vec<S3Server> {
    [s3s_fs(), moto(), minio()].into_iter().flatten().collect()
}
