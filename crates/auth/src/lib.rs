//! The avb **Auth** port.
//!
//! A bearer token in, a typed principal out. Backends: trust-all, local issuer (sandbox); Keycloak/OIDC (live).
//!
//! This crate is the port's home. Its trait, backends and conformance suite are not written yet;
//! they arrive with the port's own issue. The backend is already *selected* at startup by
//! [`avb_core::config`](../avb_core/config/index.html) through `AUTH_MODE`, so a service can resolve and
//! print its configuration today.
