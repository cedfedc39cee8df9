//! Explicit wiring: one function per port turns the resolved [`Config`](crate::config::Config) into a
//! backend, with one exhaustive `match` and a `#[cfg(feature = …)]` arm per optional backend.

pub mod storage;
