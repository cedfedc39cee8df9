//! Presigned URLs (SigV4 query signing, through `aws-sdk-s3`'s presigning).

use super::{S3Store, SCHEME, error::map};
use crate::{
    Error, MAX_PRESIGN_EXPIRY, PresignConstraints, PresignMethod, PresignedRequest, Result,
    validate_key,
};
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::{Duration, SystemTime};

impl S3Store {
    pub(super) async fn presign_request(
        &self,
        method: PresignMethod,
        key: &str,
        expires_in: Duration,
        constraints: PresignConstraints,
    ) -> Result<PresignedRequest> {
        validate_key(key)?;
        if expires_in.is_zero() || expires_in > MAX_PRESIGN_EXPIRY {
            return Err(Error::invalid_argument(format!(
                "a presigned URL lives more than 0 s and at most 7 days, not {expires_in:?}"
            )));
        }
        if constraints.max_length.is_some() {
            return Err(Error::NotSupported {
                operation: "max_length on a presigned URL (SigV4 query signing cannot bound a body)",
                backend: SCHEME,
            });
        }
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|e| Error::invalid_argument(format!("presigning: {e}")))?;
        let presigned = match method {
            PresignMethod::Get => {
                if constraints.content_type.is_some() {
                    return Err(Error::invalid_argument(
                        "a content type constrains a presigned PUT, not a GET",
                    ));
                }
                self.presign_client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .presigned(config)
                    .await
                    .map_err(|e| map(e, &self.ctx(key, false)))?
            }
            PresignMethod::Put => {
                let options = crate::PutOptions {
                    content_type: constraints.content_type.clone(),
                    ..crate::PutOptions::default()
                };
                options.validate()?;
                self.presign_client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .set_content_type(constraints.content_type)
                    .presigned(config)
                    .await
                    .map_err(|e| map(e, &self.ctx(key, false)))?
            }
        };
        let headers = presigned
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Ok(PresignedRequest {
            method,
            url: presigned.uri().to_string(),
            headers,
            expires_at: SystemTime::now() + expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectStore;

    async fn store() -> crate::s3::S3Store {
        crate::s3::S3Builder::new()
            .with_endpoint("http://127.0.0.1:1")
            .with_bucket("b")
            .with_region("us-east-1")
            .with_credentials("AKIDEXAMPLE", "not-a-real-secret")
            .build()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn presign_refuses_what_it_cannot_enforce_and_bad_arguments() {
        let s = store().await;
        let hour = Duration::from_secs(3600);
        let r = s
            .presign(
                PresignMethod::Put,
                "k",
                hour,
                PresignConstraints {
                    content_type: None,
                    max_length: Some(10),
                },
            )
            .await;
        assert!(matches!(r, Err(Error::NotSupported { .. })), "{r:?}");
        for expiry in [Duration::ZERO, MAX_PRESIGN_EXPIRY + Duration::from_secs(1)] {
            let r = s
                .presign(
                    PresignMethod::Get,
                    "k",
                    expiry,
                    PresignConstraints::default(),
                )
                .await;
            assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{r:?}");
        }
        let r = s
            .presign(
                PresignMethod::Get,
                "k",
                hour,
                PresignConstraints::content_type("a/b"),
            )
            .await;
        assert!(matches!(r, Err(Error::InvalidArgument { .. })), "{r:?}");
        let r = s
            .presign(
                PresignMethod::Get,
                "../k",
                hour,
                PresignConstraints::default(),
            )
            .await;
        assert!(matches!(r, Err(Error::InvalidKey { .. })), "{r:?}");
    }

    #[tokio::test]
    async fn a_presigned_put_signs_the_content_type_and_no_length() {
        let s = store().await;
        let put = s
            .presign(
                PresignMethod::Put,
                "dir/k",
                Duration::from_secs(60),
                PresignConstraints::content_type("text/plain"),
            )
            .await
            .unwrap();
        assert!(
            put.url.starts_with("http://127.0.0.1:1/b/dir/k?"),
            "{}",
            put.url
        );
        assert!(put.url.contains("X-Amz-Signature="), "{}", put.url);
        assert!(
            put.url.contains("X-Amz-SignedHeaders=content-type%3Bhost"),
            "{}",
            put.url
        );
        assert_eq!(
            put.headers,
            vec![("content-type".into(), "text/plain".into())]
        );
    }
}
