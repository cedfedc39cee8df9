//! Maps the AWS SDK's errors onto the port's [`Error`].

use crate::Error;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;

use super::SCHEME;

/// What the failed call was about.
pub(crate) struct Ctx<'a> {
    pub key: &'a str,
    pub bucket: &'a str,
    pub endpoint: &'a str,
    /// The call was a conditional create (`If-None-Match: *`): a 412/409 means "already exists".
    pub create: bool,
    /// The call was a compare-and-swap (`If-Match`): a missing key (404 `NoSuchKey`) or a 409 means the
    /// precondition failed.
    pub if_match: bool,
    /// The call was a read with `If-None-Match`: a 304 means "not modified" (on any other call it is an
    /// answer the backend cannot use).
    pub if_none_match: bool,
}

pub(crate) fn map<E>(
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ctx: &Ctx<'_>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_string);
    let request_id = err.request_id().map(str::to_string);
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            return Error::Unavailable {
                backend: SCHEME,
                endpoint: ctx.endpoint.to_string(),
                detail,
                source: Some(Box::new(err)),
            };
        }
        SdkError::ConstructionFailure(_) => {
            return Error::Backend {
                backend: SCHEME,
                detail,
                source: Some(Box::new(err)),
            };
        }
        _ => {}
    }
    let code_str = code.as_deref().unwrap_or("");
    let described = || {
        let mut d = format!("HTTP {}", status.map_or("?".into(), |s| s.to_string()));
        if !code_str.is_empty() {
            d.push_str(&format!(" {code_str}"));
        }
        if let Some(m) = err.message() {
            d.push_str(&format!(": {m}"));
        }
        if let Some(id) = &request_id {
            d.push_str(&format!(" (request id {id})"));
        }
        d
    };
    match (status, code_str) {
        // A server error is retryable whatever code its body claims (a body is only as reliable as the
        // server that just failed).
        (Some(429 | 500..=599), _) => Error::Unavailable {
            backend: SCHEME,
            endpoint: ctx.endpoint.to_string(),
            detail: described(),
            source: Some(Box::new(err)),
        },
        (Some(404 | 409), "NoSuchKey" | "NotFound" | "" | "ConditionalRequestConflict")
        | (_, "PreconditionFailed")
            if ctx.if_match =>
        {
            Error::PreconditionFailed {
                key: ctx.key.to_string(),
                detail: described(),
            }
        }
        (Some(304), _) | (_, "NotModified") if ctx.if_none_match => Error::NotModified {
            key: ctx.key.to_string(),
            e_tag: None,
        },
        (_, "NoSuchBucket") => Error::BucketNotFound {
            bucket: ctx.bucket.to_string(),
            endpoint: ctx.endpoint.to_string(),
        },
        (_, "NoSuchKey" | "NoSuchUpload" | "NotFound") | (Some(404), _) => Error::NotFound {
            key: ctx.key.to_string(),
        },
        (Some(403), _)
        | (_, "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken") => {
            Error::PermissionDenied {
                backend: SCHEME,
                endpoint: ctx.endpoint.to_string(),
                detail: described(),
            }
        }
        (Some(412 | 409), _) | (_, "PreconditionFailed" | "ConditionalRequestConflict")
            if ctx.create =>
        {
            Error::AlreadyExists {
                key: ctx.key.to_string(),
            }
        }
        (Some(412), _) | (_, "PreconditionFailed") => Error::PreconditionFailed {
            key: ctx.key.to_string(),
            detail: described(),
        },
        (_, "SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout") => {
            Error::Unavailable {
                backend: SCHEME,
                endpoint: ctx.endpoint.to_string(),
                detail: described(),
                source: Some(Box::new(err)),
            }
        }
        (_, "InvalidArgument" | "EntityTooSmall" | "InvalidPart" | "InvalidPartOrder") => {
            Error::InvalidArgument {
                detail: format!("{:?}: {}", ctx.key, described()),
            }
        }
        _ => Error::Backend {
            backend: SCHEME,
            detail: format!("{:?} at {}: {}", ctx.key, ctx.endpoint, described()),
            source: Some(Box::new(err)),
        },
    }
}
