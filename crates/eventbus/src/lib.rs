//! The avb **EventBus** port.
//!
//! At-least-once publish/subscribe with consumer groups, per-key order and dead-letter topics. Backends: in-memory, Redis Streams (sandbox); Pulsar, Kafka (live).
//!
//! This crate is the port's home. Its trait, backends and conformance suite are not written yet;
//! they arrive with the port's own issue. The backend is already *selected* at startup by
//! [`avb_core::config`](../avb_core/config/index.html) through `EVENT_BUS`, so a service can resolve and
//! print its configuration today.
