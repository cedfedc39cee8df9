//! The ports behind a layer stack ([`crate::layers`]): each wrapper implements its port's trait by running
//! every operation through the stack, so the service code is the same with or without it. The
//! [`crate::Platform`] wraps the EventBus and Auth ports in the metered layer; the other ports join as
//! their wrappers are written (docs/platform.md).
//!
//! Each port's error converts a [`Refusal`](crate::layers::Refusal) of a layer into its own retryable
//! variant (here, since the refusal is the facade's type).

mod auth;
mod event_bus;

pub use auth::InstrumentedAuth;
pub use event_bus::InstrumentedBus;
