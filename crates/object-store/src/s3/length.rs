//! `Content-Length: 0` on every body-less `PUT` and `POST` the backend sends.
//!
//! The SDK sends some requests without a body and without `Content-Length`: CreateMultipartUpload
//! (`POST ?uploads`) and CopyObject (`PUT` with `x-amz-copy-source`) among them. GCS's front end answers such a
//! `PUT`/`POST` with **HTTP 411 Length Required** (arrow-rs-object-store#210 and #495, aws-sdk-rust#715;
//! OpenDAL sends `Content-Length: 0`). RFC 9110 §8.6 says a user agent should send `Content-Length` for a
//! request whose method defines a meaning for content even when it is empty, so this is valid for every
//! server: one client-wide interceptor covers every operation, present and future, rather than one patch per
//! request.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;

/// Adds `Content-Length: 0` to a `PUT` or `POST` that has an empty body and no length (nor chunked encoding).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BodylessContentLength;

impl BodylessContentLength {
    /// Whether a request of `method` whose body is `body` (`None`: streamed, length unknown) and headers say
    /// nothing of the length needs the header.
    pub(crate) fn needs_header(
        method: &str,
        body: Option<&[u8]>,
        has_length: bool,
        chunked: bool,
    ) -> bool {
        matches!(method, "PUT" | "POST")
            && body.is_some_and(<[u8]>::is_empty)
            && !has_length
            && !chunked
    }
}

impl Intercept for BodylessContentLength {
    fn name(&self) -> &'static str {
        "avb BodylessContentLength"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let headers = request.headers();
        let chunked = headers
            .get("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let needs = Self::needs_header(
            request.method(),
            request.body().bytes(),
            headers.get("content-length").is_some(),
            chunked,
        );
        if needs {
            request.headers_mut().insert("content-length", "0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::BodylessContentLength as B;

    #[test]
    fn only_bodyless_puts_and_posts_without_a_length() {
        assert!(B::needs_header("PUT", Some(b""), false, false));
        assert!(B::needs_header("POST", Some(b""), false, false));
        assert!(!B::needs_header("PUT", Some(b"x"), false, false));
        assert!(!B::needs_header("PUT", Some(b""), true, false));
        assert!(!B::needs_header("PUT", Some(b""), false, true));
        assert!(!B::needs_header("PUT", None, false, false));
        for method in ["GET", "HEAD", "DELETE"] {
            assert!(
                !B::needs_header(method, Some(b""), false, false),
                "{method}"
            );
        }
    }
}
