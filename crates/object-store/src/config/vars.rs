//! The ObjectStore variables: each described once (the registry, `avb vars` and the README table are made
//! from these constants).

use avb_core::config::keys::{Key, key, secret};

/// `OBJECT_STORE`.
pub const OBJECT_STORE: Key = key(
    "OBJECT_STORE",
    "object store",
    "`memory`, `fs`, `s3`",
    "sandbox: `memory`; live: `s3`",
    "ObjectStore backend. `memory` is sandbox-only.",
);

/// `OBJECT_STORE_DIR`.
pub const OBJECT_STORE_DIR: Key = key(
    "OBJECT_STORE_DIR",
    "object store",
    "directory",
    "sandbox: `.avb/objects`; live: required for `fs`",
    "Root directory of the `fs` backend.",
);

/// `OBJECT_STORE_BUCKET`.
pub const OBJECT_STORE_BUCKET: Key = key(
    "OBJECT_STORE_BUCKET",
    "object store",
    "bucket name",
    "required for `OBJECT_STORE=s3`",
    "Bucket of the `s3` backend.",
);

/// `AWS_ENDPOINT_URL`.
pub const AWS_ENDPOINT_URL: Key = key(
    "AWS_ENDPOINT_URL",
    "object store",
    "`http(s)://` URL",
    "unset (AWS)",
    "S3 endpoint: MinIO, GCS (`https://storage.googleapis.com`) or AWS, with no code change.",
);

/// `AWS_REGION`.
pub const AWS_REGION: Key = key(
    "AWS_REGION",
    "object store",
    "region",
    "unset: with `AWS_ENDPOINT_URL` and static credentials `us-east-1`; else the AWS SDK's chain (with an endpoint, falling back to `us-east-1`)",
    "S3 region (`avb mode` states the one used).",
);

/// `AWS_ACCESS_KEY_ID`.
pub const AWS_ACCESS_KEY_ID: Key = secret(
    "AWS_ACCESS_KEY_ID",
    "object store",
    "key id",
    "Static S3 credentials; set with `AWS_SECRET_ACCESS_KEY` or neither (then the AWS SDK's chain).",
);

/// `AWS_SECRET_ACCESS_KEY`.
pub const AWS_SECRET_ACCESS_KEY: Key = secret(
    "AWS_SECRET_ACCESS_KEY",
    "object store",
    "secret key",
    "Static S3 credentials; set with `AWS_ACCESS_KEY_ID`.",
);

/// `OBJECT_STORE_S3_PROFILE`.
pub const OBJECT_STORE_S3_PROFILE: Key = key(
    "OBJECT_STORE_S3_PROFILE",
    "object store",
    "`aws`, `gcs`, `generic`",
    "from `AWS_ENDPOINT_URL`: unset or `*.amazonaws.com` → `aws`, `storage.googleapis.com` → `gcs`, else `generic`",
    "Which S3 implementation the endpoint is; decides the defaults below and the GCS workarounds (checksums only when required, no conditional create; every profile sends `Content-Length: 0` on body-less PUT/POST, which GCS requires).",
);

/// `OBJECT_STORE_S3_PATH_STYLE`.
pub const OBJECT_STORE_S3_PATH_STYLE: Key = key(
    "OBJECT_STORE_S3_PATH_STYLE",
    "object store",
    "`true`, `false`",
    "`false` for `aws`, `true` otherwise",
    "Path-style requests (`endpoint/bucket/key`) instead of virtual-hosted (`bucket.endpoint/key`).",
);

/// `OBJECT_STORE_S3_CHECKSUMS`.
pub const OBJECT_STORE_S3_CHECKSUMS: Key = key(
    "OBJECT_STORE_S3_CHECKSUMS",
    "object store",
    "`when_required`, `when_supported`",
    "`when_supported` for `aws`, `when_required` otherwise",
    "When the S3 client sends request checksums and validates response checksums. GCS rejects the flexible-checksum headers: `gcs` requires `when_required`.",
);

/// `OBJECT_STORE_S3_PREFIX`.
pub const OBJECT_STORE_S3_PREFIX: Key = key(
    "OBJECT_STORE_S3_PREFIX",
    "object store",
    "key segments, e.g. `avb/prod`",
    "unset (bucket root)",
    "Every key lives under this prefix in the bucket (shares one bucket between deployments).",
);

/// Every variable of the port, in documentation order.
pub const VARS: &[Key] = &[
    OBJECT_STORE,
    OBJECT_STORE_DIR,
    OBJECT_STORE_BUCKET,
    AWS_ENDPOINT_URL,
    AWS_REGION,
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    OBJECT_STORE_S3_PROFILE,
    OBJECT_STORE_S3_PATH_STYLE,
    OBJECT_STORE_S3_CHECKSUMS,
    OBJECT_STORE_S3_PREFIX,
];
