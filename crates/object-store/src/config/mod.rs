//! The ObjectStore's configuration: which backend `OBJECT_STORE` chose and its settings, read and checked
//! here (once), shown as the startup summary's line, and turned into a store by [`open`](crate::open). The
//! S3 rules (profile inferred from the endpoint, path style and checksums by profile, GCS refusing flexible
//! checksums) are functions here, used by the reader and by [`S3Builder`](crate::s3::S3Builder) alike.
//!
//! ```
//! use avb_core::config::PortConfig;
//! use avb_object_store::config::{ObjectStoreConfig, S3Profile};
//! let port = ObjectStoreConfig::from_pairs([
//!     ("OBJECT_STORE", "s3"),
//!     ("OBJECT_STORE_BUCKET", "avb-data"),
//!     ("AWS_ENDPOINT_URL", "https://storage.googleapis.com"),
//! ])
//! .unwrap();
//! assert!(matches!(port.backend, ObjectStoreConfig::S3 { profile: S3Profile::Gcs, .. }));
//! ```

use avb_core::ResourceScope;
use avb_core::config::keys::{Key, key, secret};
use avb_core::config::{PortConfig, Problem, Reader, Scrubber, Secret, ServiceUrl};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

avb_core::choice! {
    /// ObjectStore backend (`OBJECT_STORE`).
    ObjectStoreKind { /** In-process store. */ Memory = "memory", /** Local directory. */ Fs = "fs", /** S3 API (MinIO, AWS, GCS interop). */ S3 = "s3" }
}
avb_core::backend_kind!(ObjectStoreKind, OBJECT_STORE, sandbox: Memory, live: S3, sandbox_only: [Memory]);

// The port's variables: each described once (the registry, `avb vars` and the README table are made
// from these constants).

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
    "Every key lives under this prefix in the bucket (shares one bucket between deployments); the environment scope (`AVB_RESOURCE_SCOPE`) comes below it: `<prefix>/<scope>/<key>`.",
);

/// `OBJECT_STORE_S3_TIMEOUT_MS`.
pub const OBJECT_STORE_S3_TIMEOUT_MS: Key = key(
    "OBJECT_STORE_S3_TIMEOUT_MS",
    "object store",
    "milliseconds, 1–3600000",
    "`120000`",
    "Time limit from sending an S3 request to the first byte of its answer (an upload's body included), so a server that accepts and never answers is an error, not a hang; connecting has its own 10 s limit, and a transfer that stalls after the first byte is cut by the AWS SDK's stalled-stream protection.",
);

/// The default of `OBJECT_STORE_S3_TIMEOUT_MS`.
pub const S3_DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

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
    OBJECT_STORE_S3_TIMEOUT_MS,
];

/// The `fs` backend's root in the sandbox when `OBJECT_STORE_DIR` is unset.
pub const DEFAULT_SANDBOX_DIR: &str = ".avb/objects";

/// The region the S3 backend signs with when `AWS_REGION` is unset and an endpoint is set (static
/// credentials; or the AWS SDK's chain has none): S3-compatible servers ignore it, SigV4 needs one.
pub const S3_DEFAULT_REGION: &str = "us-east-1";

/// Static S3 credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Secret,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Secret,
}

/// Which S3 implementation the endpoint is (`OBJECT_STORE_S3_PROFILE`): decides defaults and workarounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum S3Profile {
    /// AWS S3 itself (no `AWS_ENDPOINT_URL`).
    Aws,
    /// Google Cloud Storage through its S3 interoperability (HMAC keys): checksums only when required, no
    /// conditional create (the `Content-Length: 0` GCS needs on body-less PUT/POST is sent on every profile).
    Gcs,
    /// Any other S3-compatible server (MinIO, s3s, Ceph…).
    Generic,
}

impl S3Profile {
    /// The variable's spellings.
    pub const NAMES: [(&'static str, S3Profile); 3] = [
        ("aws", S3Profile::Aws),
        ("gcs", S3Profile::Gcs),
        ("generic", S3Profile::Generic),
    ];

    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            S3Profile::Aws => "aws",
            S3Profile::Gcs => "gcs",
            S3Profile::Generic => "generic",
        }
    }

    /// The profile an endpoint host implies: none or `*.amazonaws.com` → AWS, `storage.googleapis.com` →
    /// GCS, anything else generic.
    pub fn infer(endpoint_host: Option<&str>) -> S3Profile {
        match endpoint_host {
            None => S3Profile::Aws,
            Some("storage.googleapis.com") => S3Profile::Gcs,
            Some(h) if h == "amazonaws.com" || h.ends_with(".amazonaws.com") => S3Profile::Aws,
            Some(_) => S3Profile::Generic,
        }
    }

    /// Path-style addressing unless AWS.
    pub fn default_path_style(self) -> bool {
        self != S3Profile::Aws
    }

    /// Checksums whenever supported on AWS; only when required elsewhere.
    pub fn default_checksums(self) -> S3Checksums {
        match self {
            S3Profile::Aws => S3Checksums::WhenSupported,
            S3Profile::Gcs | S3Profile::Generic => S3Checksums::WhenRequired,
        }
    }

    /// Refuses a checksum setting the server rejects: `Err` says what is allowed.
    pub fn check_checksums(self, checksums: S3Checksums) -> Result<(), &'static str> {
        match (self, checksums) {
            (S3Profile::Gcs, S3Checksums::WhenSupported) => Err(
                "when_required with OBJECT_STORE_S3_PROFILE=gcs (GCS rejects the flexible-checksum headers)",
            ),
            _ => Ok(()),
        }
    }
}

/// When the S3 client computes request checksums and validates response checksums
/// (`OBJECT_STORE_S3_CHECKSUMS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum S3Checksums {
    /// Only for operations whose API requires one: no flexible-checksum headers, no aws-chunked bodies
    /// (what GCS and older S3-compatible servers accept).
    WhenRequired,
    /// Whenever the operation supports one (the AWS SDK's default).
    WhenSupported,
}

impl S3Checksums {
    /// The variable's spellings.
    pub const NAMES: [(&'static str, S3Checksums); 2] = [
        ("when_required", S3Checksums::WhenRequired),
        ("when_supported", S3Checksums::WhenSupported),
    ];

    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            S3Checksums::WhenRequired => "when_required",
            S3Checksums::WhenSupported => "when_supported",
        }
    }
}

/// A duration as whole milliseconds (the JSON form of `*_MS` settings).
fn millis<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// ObjectStore backend and its settings.
#[allow(
    clippy::large_enum_variant,
    reason = "resolved once at startup and matched by field: boxing the S3 settings buys nothing"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ObjectStoreConfig {
    /// In-process store (sandbox only).
    Memory,
    /// Local directory.
    Fs {
        /// `OBJECT_STORE_DIR`.
        root: PathBuf,
        /// The environment scope: every key lives under `<scope>/` in the directory (`AVB_RESOURCE_SCOPE`,
        /// default the environment).
        scope: ResourceScope,
    },
    /// S3 API.
    S3 {
        /// `OBJECT_STORE_BUCKET`.
        bucket: String,
        /// `AWS_ENDPOINT_URL`; `None` is AWS itself.
        endpoint: Option<ServiceUrl>,
        /// `AWS_REGION`. `None`: with an endpoint and static credentials, [`S3_DEFAULT_REGION`]; with an
        /// endpoint only, the AWS SDK's chain, else [`S3_DEFAULT_REGION`]; without an endpoint, the chain
        /// (which must have one). The summary states which.
        region: Option<String>,
        /// Static credentials; `None` uses the AWS SDK's chain.
        credentials: Option<S3Credentials>,
        /// `OBJECT_STORE_S3_PROFILE`, or inferred from the endpoint.
        profile: S3Profile,
        /// `OBJECT_STORE_S3_PATH_STYLE`: `bucket` in the path instead of the host name.
        path_style: bool,
        /// `OBJECT_STORE_S3_CHECKSUMS`.
        checksums: S3Checksums,
        /// `OBJECT_STORE_S3_PREFIX`: every key lives under this prefix (without a trailing `/`).
        prefix: Option<String>,
        /// `OBJECT_STORE_S3_TIMEOUT_MS`: from sending a request to the first byte of its answer.
        #[serde(rename = "timeout_ms", serialize_with = "millis")]
        timeout: std::time::Duration,
        /// The environment scope: every key lives under `[<prefix>/]<scope>/` (`AVB_RESOURCE_SCOPE`,
        /// default the environment).
        scope: ResourceScope,
    },
}

const HTTP: &[&str] = &["http", "https"];

fn credentials(r: &mut Reader<'_>) -> Option<Option<S3Credentials>> {
    match (
        r.is_set(&AWS_ACCESS_KEY_ID),
        r.is_set(&AWS_SECRET_ACCESS_KEY),
    ) {
        (false, false) => Some(None),
        (true, true) => {
            let id = r.value(&AWS_ACCESS_KEY_ID);
            let secret = r.value(&AWS_SECRET_ACCESS_KEY);
            Some(Some(S3Credentials {
                access_key_id: Secret::new(id?),
                secret_access_key: Secret::new(secret?),
            }))
        }
        (id, _) => {
            let (set, unset) = if id {
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            } else {
                ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
            };
            r.problem(Problem::Conflict {
                keys: vec![unset.into(), set.into()],
                reason: format!("{set} is set but {unset} is not: set both for static credentials, or neither for the AWS SDK's chain"),
            });
            None
        }
    }
}

fn checksums(r: &mut Reader<'_>, profile: S3Profile) -> Option<S3Checksums> {
    let chosen = r.choice(
        &OBJECT_STORE_S3_CHECKSUMS,
        &S3Checksums::NAMES,
        profile.default_checksums(),
    )?;
    match profile.check_checksums(chosen) {
        Ok(()) => Some(chosen),
        Err(expected) => {
            r.invalid(&OBJECT_STORE_S3_CHECKSUMS, chosen.as_str(), expected);
            None
        }
    }
}

fn prefix(r: &mut Reader<'_>) -> Option<Option<String>> {
    let Some(value) = r.optional(&OBJECT_STORE_S3_PREFIX)? else {
        return Some(None);
    };
    let trimmed = value.trim_end_matches('/');
    let bad = trimmed.is_empty()
        || trimmed.starts_with('/')
        || trimmed.chars().any(char::is_control)
        || trimmed
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        r.invalid(&OBJECT_STORE_S3_PREFIX, &value, "key segments separated by '/' (no leading '/', no empty, '.' or '..' segment), e.g. `avb/prod`");
        return None;
    }
    Some(Some(trimmed.to_string()))
}

fn s3(r: &mut Reader<'_>, needed_by: &str) -> Option<ObjectStoreConfig> {
    let bucket = r
        .required(&OBJECT_STORE_BUCKET, needed_by, "avb-data")
        .map(str::to_string);
    let endpoint = r.optional_url(&AWS_ENDPOINT_URL, HTTP);
    let region = r.optional(&AWS_REGION);
    let credentials = credentials(r);
    let scope = r.resource_scope();
    let timeout = r.integer(
        &OBJECT_STORE_S3_TIMEOUT_MS,
        S3_DEFAULT_TIMEOUT.as_millis() as u64,
        1..=3_600_000,
    );
    let endpoint = endpoint?;
    let inferred = S3Profile::infer(endpoint.as_ref().and_then(|e| e.expose().host_str()));
    let profile = r.choice(&OBJECT_STORE_S3_PROFILE, &S3Profile::NAMES, inferred);
    let (path_style, checksums, prefix) = match profile {
        Some(p) => (
            r.bool_with_default(&OBJECT_STORE_S3_PATH_STYLE, p.default_path_style()),
            checksums(r, p),
            prefix(r),
        ),
        None => (None, None, None),
    };
    Some(ObjectStoreConfig::S3 {
        bucket: bucket?,
        endpoint,
        region: region?,
        credentials: credentials?,
        profile: profile?,
        path_style: path_style?,
        checksums: checksums?,
        prefix: prefix?,
        scope: scope?,
        timeout: std::time::Duration::from_millis(timeout?),
    })
}

impl PortConfig for ObjectStoreConfig {
    type Kind = ObjectStoreKind;
    const NAME: &'static str = "object_store";
    const VARS: &'static [Key] = VARS;

    fn read(kind: ObjectStoreKind, r: &mut Reader<'_>, needed_by: &str) -> Option<Self> {
        match kind {
            ObjectStoreKind::Memory => Some(ObjectStoreConfig::Memory),
            ObjectStoreKind::Fs => {
                let root = r.sandbox_default(&OBJECT_STORE_DIR, DEFAULT_SANDBOX_DIR, needed_by);
                let scope = r.resource_scope();
                Some(ObjectStoreConfig::Fs {
                    root: root?.into(),
                    scope: scope?,
                })
            }
            ObjectStoreKind::S3 => s3(r, needed_by),
        }
    }

    fn kind(&self) -> ObjectStoreKind {
        match self {
            ObjectStoreConfig::Memory => ObjectStoreKind::Memory,
            ObjectStoreConfig::Fs { .. } => ObjectStoreKind::Fs,
            ObjectStoreConfig::S3 { .. } => ObjectStoreKind::S3,
        }
    }

    fn secrets<'a>(&'a self, out: &mut Scrubber<'a>) {
        match self {
            ObjectStoreConfig::Memory | ObjectStoreConfig::Fs { .. } => {}
            ObjectStoreConfig::S3 {
                endpoint,
                credentials,
                ..
            } => {
                if let Some(endpoint) = endpoint {
                    out.url(endpoint);
                }
                if let Some(c) = credentials {
                    out.secret(&c.access_key_id).secret(&c.secret_access_key);
                }
            }
        }
    }
}

impl fmt::Display for ObjectStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectStoreConfig::Memory => f.write_str("memory (in-process)"),
            ObjectStoreConfig::Fs { root, scope } => {
                write!(f, "fs {}, scope {scope}", root.display())
            }
            ObjectStoreConfig::S3 {
                bucket,
                endpoint,
                region,
                credentials,
                profile,
                path_style,
                checksums,
                prefix,
                scope,
                timeout,
            } => {
                write!(f, "s3 bucket {bucket:?}")?;
                if let Some(prefix) = prefix {
                    write!(f, " prefix {prefix:?}")?;
                }
                write!(f, " scope {scope}")?;
                f.write_str(" at ")?;
                match endpoint {
                    Some(e) => write!(f, "{e}")?,
                    None => f.write_str("AWS")?,
                }
                f.write_str(", region ")?;
                match (region, endpoint, credentials) {
                    (Some(region), _, _) => f.write_str(region)?,
                    // The rules of `S3Builder::build`: static credentials with an endpoint need nothing from
                    // the SDK's chain; the chain is read otherwise, and a non-AWS endpoint falls back to
                    // us-east-1 (SigV4 needs a region; such servers ignore it).
                    (None, Some(_), Some(_)) => write!(
                        f,
                        "{S3_DEFAULT_REGION} (AWS_REGION unset: the default for an endpoint with static credentials)"
                    )?,
                    (None, Some(_), None) => {
                        write!(f, "from the AWS SDK chain, else {S3_DEFAULT_REGION}")?
                    }
                    (None, None, _) => f.write_str("from the AWS SDK chain (required)")?,
                }
                write!(
                    f,
                    ", profile {}, {}-style, checksums {}",
                    profile.as_str(),
                    if *path_style { "path" } else { "virtual-host" },
                    checksums.as_str()
                )?;
                f.write_str(if credentials.is_some() {
                    ", static credentials ***"
                } else {
                    ", credentials from the AWS SDK chain"
                })?;
                write!(f, ", answer within {} ms", timeout.as_millis())
            }
        }
    }
}

#[cfg(test)]
mod tests;
