//! [`S3Builder`]: every setting of the S3 backend; all validation happens in [`S3Builder::build`].

use super::S3Store;
use crate::config::{ObjectStoreConfig, S3_DEFAULT_REGION, S3Checksums, S3Profile};
use crate::{Error, Result};
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    retry::RetryConfig, timeout::TimeoutConfig,
};
use std::time::Duration;

/// The time limit on connecting to the endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
/// | [`with_timeout`](Self::with_timeout) | `OBJECT_STORE_S3_TIMEOUT_MS` | 120 s |
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
    timeout: Option<Duration>,
}

impl S3Builder {
    /// No settings yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The builder for the settings of `config` (read and checked once by [`crate::config`]); an error
    /// unless `config` is the S3 variant. The key prefix (`OBJECT_STORE_S3_PREFIX`) and the environment
    /// scope are not the client's: [`open`](crate::open) wraps the store in a
    /// [`PrefixStore`](crate::PrefixStore).
    pub fn from_config(config: &ObjectStoreConfig) -> Result<Self> {
        let ObjectStoreConfig::S3 {
            bucket,
            endpoint,
            region,
            credentials,
            profile,
            path_style,
            checksums,
            prefix: _,
            scope: _,
            timeout,
        } = config
        else {
            return Err(Error::NotSupported {
                operation: "building the S3 store from a configuration of another backend",
                backend: "s3",
            });
        };
        let b = Self {
            bucket: Some(bucket.clone()),
            endpoint: endpoint.as_ref().map(|e| e.expose().as_str().to_string()),
            region: region.clone(),
            credentials: credentials.as_ref().map(|c| {
                (
                    c.access_key_id.expose().to_string(),
                    c.secret_access_key.expose().to_string(),
                )
            }),
            profile: Some(*profile),
            path_style: Some(*path_style),
            checksums: Some(*checksums),
            part_size: None,
            timeout: Some(*timeout),
        };
        Ok(b)
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
    /// The time limit from sending a request to the first byte of its answer (an upload's body
    /// included): a server that accepts and never answers is a retryable error after it, not a hang.
    /// Connecting has its own limit ([`CONNECT_TIMEOUT`]); a transfer that stalls after the first byte is
    /// cut by the AWS SDK's stalled-stream protection.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
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
            .unwrap_or_else(|| S3Profile::infer(endpoint.as_ref().and_then(url::Url::host_str)));
        let checksums = self.checksums.unwrap_or(profile.default_checksums());
        if let Err(expected) = profile.check_checksums(checksums) {
            return Err(Self::invalid(
                "OBJECT_STORE_S3_CHECKSUMS",
                checksums.as_str(),
                expected,
            ));
        }
        let timeout = self.timeout.unwrap_or(crate::config::S3_DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(Self::invalid(
                "OBJECT_STORE_S3_TIMEOUT_MS",
                "0",
                "a time limit above zero",
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
        let path_style = self.path_style.unwrap_or(profile.default_path_style());
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
            (None, Some(_)) => Some(Region::new(S3_DEFAULT_REGION)),
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
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(timeout)
                    .build(),
            );
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
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn build_checks_bucket_endpoint_part_size_and_key_pair() {
        let ok = || {
            S3Builder::new()
                .with_bucket("b")
                .with_endpoint("http://127.0.0.1:9")
                .with_credentials("id", "secret")
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
            .with_credentials("id", "")
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
