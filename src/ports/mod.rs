//! Explicit wiring: one function per port turns the resolved [`Config`](crate::config::Config) into the
//! chosen backend, with one `match` over the port's backends and a `#[cfg(feature = …)]` arm per optional
//! backend; a backend that was not compiled in is an error naming the cargo feature that enables it.

pub mod auth;
pub mod event_bus;
pub mod object_store;
