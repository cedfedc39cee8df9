//! The ports behind a layer stack ([`crate::layers`]): each wrapper implements its port's trait by running
//! every operation through the stack, so the service code is the same with or without it. The
//! [`crate::Platform`] wraps every port in the metered layer ([`crate::Ports::instrumented`]).
//!
//! Each port's error converts a [`Refusal`](crate::layers::Refusal) of a layer into its own retryable
//! variant (here, since the refusal is the facade's type).

mod auth;
mod catalog;
mod event_bus;
mod in_flight;
mod llm;
mod object_store;

pub use auth::InstrumentedAuth;
pub use catalog::InstrumentedCatalog;
pub use event_bus::InstrumentedBus;
pub use llm::InstrumentedLlm;
pub use object_store::InstrumentedStore;
