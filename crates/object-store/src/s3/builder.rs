//! [`S3Builder`]: every setting of the S3 backend; all validation happens in [`S3Builder::build`].

use super::S3Store;
use crate::{Error, Result};
use avb_core::config::{ObjectStoreConfig, S3Checksums, S3Profile};
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    retry::RetryConfig,
};

/// Default multipart part size for streamed puts: 8 MiB.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's smallest part (every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Builds an [`S3Store`].
///
/// | setting | variable (facade) | default |
/// |---|---|---|
/// | [`with_bucket`](Self::with_bucket) | `OBJECT_STORE_BUCKET` | required |
/// | [`with_endpoint`](Self::with_endpoint) | `AWS_ENDPOINT_URL` | AWS |
/// | [`with_region`](Self::with_region) | `AWS_REGION` | AWS: the SDK's chain; other endpoints: `us-east-1` |
/// | [`with_credentials`](Self::with_credentials) | `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` | the SDK's chain |
/// | [`with_profile`](Self::with_profile) | `OBJECT_STORE_S3_PROFILE` | from the endpoint |
/// | [`with_path_style`](Self::with_path_style) | `OBJECT_STORE_S3_PATH_STYLE` | `false` on AWS, else `true` |
/// | [`with_checksums`](Self::with_checksums) | `OBJECT_STORE_S3_CHECKSUMS` | `when_supported` on AWS, else `when_required` |
/// | [`with_part_size`](Self::with_part_size) | — | 8 MiB |
///
/// The SDK's own retries are off: retries belong to a layer above the backend (DESIGN §4), and a streamed
/// body cannot be replayed anyway.
#[derive(Clone, Default)]
pub struct S3Builder {
    bucket: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<(String, String)>,
    profile: Option<S3Profile>,
    path_style: Option<bool>,
    checksums: Option<S3Checksums>,
    part_size: Option<usize>,
    /// Problems found by [`S3Builder::with_config`], reported by `build`.
    problems: Vec<(String, String, String)>,
}

impl S3Builder {
    /// No settings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The settings resolved by [`avb_core::config`]; `None` unless `config` is the S3 variant.
    pub fn from_config(config: &ObjectStoreConfig) -> Option<Self> {
        match config {
            ObjectStoreConfig::S3 {
                bucket,
                endpoint,
                region,
                credentials,
                profile,
                path_style,
                checksums,
                ..
            } => {
                let mut b = Self::new()
                    .with_bucket(bucket)
                    .with_profile(*profile)
                    .with_path_style(*path_style)
                    .with_checksums(*checksums);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e.expose().as_str());
                }
                if let Some(r) = region {
                    b = b.with_region(r);
                }
                if let Some(c) = credentials {
                    b = b.with_credentials(c.access_key_id.expose(), c.secret_access_key.expose());
                }
                Some(b)
            }
            _ => None,
        }
    }

    /// Sets one setting by its variable name (the table above); an unknown name or a bad value is reported
    /// by [`build`](Self::build), naming the variable, the value and what is allowed.
    pub fn with_config(mut self, key: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        let mut bad = |expected: &str, shown: &str| {
            self.problems
                .push((key.to_string(), shown.to_string(), expected.to_string()));
        };
        match key {
            "OBJECT_STORE_BUCKET" => self.bucket = Some(value),
            "AWS_ENDPOINT_URL" => self.endpoint = Some(value),
            "AWS_REGION" => self.region = Some(value),
            "AWS_ACCESS_KEY_ID" => {
                let secret = self.credentials.take().map(|c| c.1).unwrap_or_default();
                self.credentials = Some((value, secret));
            }
            "AWS_SECRET_ACCESS_KEY" => {
                let id = self.credentials.take().map(|c| c.0).unwrap_or_default();
                self.credentials = Some((id, value));
            }
            "OBJECT_STORE_S3_PROFILE" => match value.as_str() {
                "aws" => self.profile = Some(S3Profile::Aws),
                "gcs" => self.profile = Some(S3Profile::Gcs),
                "generic" => self.profile = Some(S3Profile::Generic),
                _ => bad("one of aws, gcs, generic", &value),
            },
            "OBJECT_STORE_S3_PATH_STYLE" => match value.as_str() {
                "true" => self.path_style = Some(true),
                "false" => self.path_style = Some(false),
                _ => bad("one of true, false", &value),
            },
            "OBJECT_STORE_S3_CHECKSUMS" => match value.as_str() {
                "when_required" => self.checksums = Some(S3Checksums::WhenRequired),
                "when_supported" => self.checksums = Some(S3Checksums::WhenSupported),
                _ => bad("one of when_required, when_supported", &value),
            },
            _ => bad(
                "one of OBJECT_STORE_BUCKET, AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, OBJECT_STORE_S3_PROFILE, OBJECT_STORE_S3_PATH_STYLE, OBJECT_STORE_S3_CHECKSUMS (an unknown setting)",
                "(not shown)",
            ),
        }
        self
    }

    /// [`with_config`](Self::with_config) for each pair.
    #[allow(clippy::should_implement_trait)] // the envy/figment convention, as `Config::from_iter`
    pub fn from_iter<K: AsRef<str>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        pairs
            .into_iter()
            .fold(Self::new(), |b, (k, v)| b.with_config(k.as_ref(), v))
    }

    /// The bucket.
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = Some(bucket.into());
        self
    }
    /// An S3-compatible endpoint (MinIO, GCS `https://storage.googleapis.com`, …).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
    /// The region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
    /// Static credentials (otherwise the AWS SDK's chain: environment, profile, web identity, IMDS…).
    pub fn with_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some((access_key_id.into(), secret_access_key.into()));
        self
    }
    /// Which S3 implementation the endpoint is.
    pub fn with_profile(mut self, profile: S3Profile) -> Self {
        self.profile = Some(profile);
        self
    }
    /// Path-style addressing.
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.path_style = Some(path_style);
        self
    }
    /// When checksums are computed and validated.
    pub fn with_checksums(mut self, checksums: S3Checksums) -> Self {
        self.checksums = Some(checksums);
        self
    }
    /// Part size of streamed puts (at least 5 MiB; checked in `build`).
    pub fn with_part_size(mut self, part_size: usize) -> Self {
        self.part_size = Some(part_size);
        self
    }

    fn invalid(key: &str, value: &str, expected: &str) -> Error {
        Error::InvalidConfig {
            key: key.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }

    /// Validates the settings and creates the client (no request is sent).
    pub async fn build(self) -> Result<S3Store> {
        if let Some((key, value, expected)) = self.problems.first() {
            return Err(Self::invalid(key, value, expected));
        }
        if let Some((id, secret)) = &self.credentials
            && (id.is_empty() || secret.is_empty())
        {
            let (set, unset) = if id.is_empty() {
                ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
            } else {
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            };
            return Err(Self::invalid(
                unset,
                "",
                &format!("set together with {set} (or neither, for the AWS SDK's chain)"),
            ));
        }
        let bucket = match self.bucket {
            Some(b) if !b.is_empty() && !b.contains('/') => b,
            other => {
                return Err(Self::invalid(
                    "OBJECT_STORE_BUCKET",
                    other.as_deref().unwrap_or(""),
                    "a bucket name without '/'",
                ));
            }
        };
        let endpoint = match &self.endpoint {
            None => None,
            Some(e) => match url::Url::parse(e) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    Some(u)
                }
                _ => {
                    return Err(Self::invalid(
                        "AWS_ENDPOINT_URL",
                        &avb_core::config::redact_raw(e),
                        "an http:// or https:// URL with a host",
                    ));
                }
            },
        };
        let profile = self
            .profile
            .unwrap_or_else(|| infer_profile(endpoint.as_ref()));
        let checksums = self.checksums.unwrap_or(match profile {
            S3Profile::Aws => S3Checksums::WhenSupported,
            _ => S3Checksums::WhenRequired,
        });
        if profile == S3Profile::Gcs && checksums == S3Checksums::WhenSupported {
            return Err(Self::invalid(
                "OBJECT_STORE_S3_CHECKSUMS",
                checksums.as_str(),
                "when_required with the gcs profile (GCS rejects the flexible-checksum headers)",
            ));
        }
        let part_size = self.part_size.unwrap_or(DEFAULT_PART_SIZE);
        if part_size < MIN_PART_SIZE {
            return Err(Self::invalid(
                "part size",
                &part_size.to_string(),
                "at least 5242880 bytes (5 MiB, S3's smallest part)",
            ));
        }
        let path_style = self.path_style.unwrap_or(profile != S3Profile::Aws);
        // Static settings need nothing from the environment; anything missing comes from the SDK's chain.
        let (mut config, chain_region) =
            if self.credentials.is_some() && (self.region.is_some() || endpoint.is_some()) {
                let b = aws_sdk_s3::Config::builder().behavior_version(BehaviorVersion::latest());
                (b, None)
            } else {
                let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
                (
                    aws_sdk_s3::config::Builder::from(&sdk),
                    sdk.region().cloned(),
                )
            };
        if let Some((id, secret)) = &self.credentials {
            config = config.credentials_provider(Credentials::new(id, secret, None, None, "avb"));
        }
        let region = match (&self.region, &endpoint) {
            (Some(r), _) => Some(Region::new(r.clone())),
            (None, _) if chain_region.is_some() => chain_region,
            // Non-AWS endpoints ignore the region but SigV4 needs one.
            (None, Some(_)) => Some(Region::new(avb_core::config::S3_DEFAULT_REGION)),
            (None, None) => None,
        };
        // The label names the region actually used (the SDK chain's answer, when it was asked).
        let label = match &endpoint {
            Some(u) => avb_core::config::redact_raw(u.as_str().trim_end_matches('/')),
            None => format!(
                "AWS S3 ({})",
                region
                    .as_ref()
                    .map_or("no region: the AWS SDK chain found none", |r| r.as_ref())
            ),
        };
        config = config.region(region);
        if let Some(u) = &endpoint {
            config = config.endpoint_url(u.as_str().trim_end_matches('/'));
        }
        let (request, response) = match checksums {
            S3Checksums::WhenRequired => (
                RequestChecksumCalculation::WhenRequired,
                ResponseChecksumValidation::WhenRequired,
            ),
            _ => (
                RequestChecksumCalculation::WhenSupported,
                ResponseChecksumValidation::WhenSupported,
            ),
        };
        let config = config
            .force_path_style(path_style)
            .request_checksum_calculation(request)
            .response_checksum_validation(response)
            .retry_config(RetryConfig::disabled());
        // Presigning signs what the request carries: without the `Content-Length: 0` interceptor, or a
        // presigned PUT would only accept an empty body. Checksums only when required: a presigned URL
        // carries no body to checksum.
        let presign_config = config
            .clone()
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .build();
        let config = config
            .interceptor(super::length::BodylessContentLength)
            .build();
        if config.region().is_none() {
            return Err(Self::invalid(
                "AWS_REGION",
                "",
                "a region (none found in the AWS SDK's chain either)",
            ));
        }
        Ok(S3Store {
            client: aws_sdk_s3::Client::from_conf(config),
            presign_client: aws_sdk_s3::Client::from_conf(presign_config),
            bucket,
            endpoint: label,
            profile,
            part_size,
            create_uploads: Default::default(),
        })
    }
}

fn infer_profile(endpoint: Option<&url::Url>) -> S3Profile {
    match endpoint.and_then(url::Url::host_str) {
        None => S3Profile::Aws,
        Some("storage.googleapis.com") => S3Profile::Gcs,
        Some(h) if h == "amazonaws.com" || h.ends_with(".amazonaws.com") => S3Profile::Aws,
        Some(_) => S3Profile::Generic,
    }
}

impl std::fmt::Debug for S3Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Builder")
            .field("bucket", &self.bucket)
            .field(
                "endpoint",
                &self.endpoint.as_deref().map(avb_core::config::redact_raw),
            )
            .field("region", &self.region)
            .field(
                "credentials",
                &self
                    .credentials
                    .as_ref()
                    .map(|_| avb_core::config::REDACTED),
            )
            .field("profile", &self.profile)
            .field("path_style", &self.path_style)
            .field("checksums", &self.checksums)
            .field("part_size", &self.part_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn with_config_errors_name_variable_value_and_allowed_values() {
        for (key, value, allowed) in [
            (
                "OBJECT_STORE_S3_PROFILE",
                "minio",
                "one of aws, gcs, generic",
            ),
            ("OBJECT_STORE_S3_PATH_STYLE", "yes", "one of true, false"),
            ("OBJECT_STORE_S3_CHECKSUMS", "never", "when_required"),
        ] {
            let err = S3Builder::from_iter([("OBJECT_STORE_BUCKET", "b"), (key, value)])
                .build()
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(key) && err.contains(value) && err.contains(allowed),
                "{err}"
            );
        }
        let err = S3Builder::from_iter([("OBJECT_STORE_BUKET", "b")])
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("OBJECT_STORE_BUKET") && err.contains("OBJECT_STORE_BUCKET"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn build_checks_bucket_endpoint_part_size_and_key_pair() {
        let ok = || {
            S3Builder::from_iter([
                ("OBJECT_STORE_BUCKET", "b"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
                ("AWS_ACCESS_KEY_ID", "id"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
            ])
        };
        let store = ok().build().await.unwrap();
        assert_eq!(store.profile(), S3Profile::Generic);
        let err = ok()
            .with_bucket("a/b")
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("OBJECT_STORE_BUCKET"), "{err}");
        let err = ok()
            .with_endpoint("ftp://x")
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("AWS_ENDPOINT_URL"), "{err}");
        let err = ok()
            .with_part_size(1024)
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("5 MiB"), "{err}");
        let err = ok()
            .with_config("AWS_SECRET_ACCESS_KEY", "")
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("AWS_SECRET_ACCESS_KEY"), "{err}");
        let err = ok()
            .with_endpoint("https://storage.googleapis.com")
            .with_checksums(S3Checksums::WhenSupported)
            .build()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("OBJECT_STORE_S3_CHECKSUMS"), "{err}");
        let debug = format!("{:?}", ok());
        assert!(!debug.contains("secret\""), "credentials leaked: {debug}");
    }
}
