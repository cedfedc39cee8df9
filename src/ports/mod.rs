//! Wiring from the resolved [`crate::config::Config`] to each port's backend: one exhaustive `match` per
//! port, `#[cfg(feature = ..)]` arms, and an error naming the cargo feature for a backend not compiled in.

pub mod eventbus;
