//! Explicit wiring: one function per port turns the resolved [`Config`](crate::config::Config) into the
//! chosen backend, with one `match` over the port's backends and `#[cfg(feature = ..)]` arms.

pub mod auth;
