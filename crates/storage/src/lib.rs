//! The avb **ObjectStore** port.
//!
//! Objects by key: streamed put/get, ranged reads, listing, multipart, conditional create. Backends: memory, local filesystem (sandbox); S3 API — MinIO, AWS, GCS interop (live).
//!
//! This crate is the port's home. Its trait, backends and conformance suite are not written yet;
//! they arrive with the port's own issue. The backend is already *selected* at startup by
//! [`avb_core::config`](../avb_core/config/index.html) through `OBJECT_STORE`, so a service can resolve and
//! print its configuration today.
