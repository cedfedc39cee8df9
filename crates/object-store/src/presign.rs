//! Presigned URLs: a URL a plain HTTP client (a browser) can use for one object, without credentials, until
//! it expires. See [`ObjectStore::presign`](crate::ObjectStore::presign) and
//! [`Capabilities::presign`](crate::Capabilities::presign).
//!
//! Only the S3 backend presigns (SigV4 query signing: AWS, MinIO, the GCS interoperability profile). The
//! memory and fs backends answer [`Error::NotSupported`](crate::Error::NotSupported): they have no HTTP
//! endpoint to sign for (no local signed-URL handler is built).

use std::time::{Duration, SystemTime};

/// The HTTP method a presigned URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignMethod {
    /// Download the object.
    Get,
    /// Upload (replace) the object.
    Put,
}

/// What a presigned PUT pins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PresignConstraints {
    /// The `Content-Type` the upload must carry: signed, so a server that checks signatures refuses any
    /// other (only for [`PresignMethod::Put`]).
    pub content_type: Option<String>,
    /// The largest body the upload may carry. SigV4 query signing cannot bound a body (S3 enforces a
    /// length range only in browser POST policies), so the S3 backend answers
    /// [`Error::NotSupported`](crate::Error::NotSupported) rather than hand out a URL that does not enforce it.
    pub max_length: Option<u64>,
}

/// A presigned request: send `method` to `url` with `headers` (they are part of the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// The method.
    pub method: PresignMethod,
    /// The URL, credentials in its query (treat it as a secret until it expires).
    pub url: String,
    /// Headers the client must send as given (e.g. the pinned `Content-Type`).
    pub headers: Vec<(String, String)>,
    /// When the URL stops working.
    pub expires_at: SystemTime,
}

/// Longest validity SigV4 allows (7 days).
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

impl PresignConstraints {
    /// Only this content type.
    pub fn content_type(content_type: impl Into<String>) -> Self {
        Self {
            content_type: Some(content_type.into()),
            max_length: None,
        }
    }
}
