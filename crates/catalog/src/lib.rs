//! The avb **Catalog** port.
//!
//! Methods and ontology lookup with input validation. Backends: JSON file (sandbox); OpenMetadata (live).
//!
//! This crate is the port's home. Its trait, backends and conformance suite are not written yet;
//! they arrive with the port's own issue. The backend is already *selected* at startup by
//! [`config`] through `DATA_CATALOG`, so a service can resolve and
//! print its configuration today.

pub mod config;
