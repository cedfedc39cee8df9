//! For implementing a backend; services do not need this.
//!
//! A backend hands out deliveries through a [`Source`] (one per subscription, wrapped by
//! [`Subscription::new`](crate::Subscription::new)) and settles them through a [`Settle`] (or an [`Origin`],
//! which also knows the topic and group); each delivery carries the backend's [`Receipt`]. The portable
//! [`Delivery`](crate::Delivery) owns the "settled once" rule, so a backend implements only these narrow
//! traits. [`check_group`] validates a consumer-group name the same way on every backend.
//!
//! The conformance suite (feature `conformance`) checks what these traits promise.

pub use crate::delivery::{Origin, Receipt, Settle, Source};
pub use crate::types::check_group;
