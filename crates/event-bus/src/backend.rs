//! For implementing a backend; services do not need this.
//!
//! A backend hands out deliveries through a [`Source`] (one per subscription, wrapped by
//! [`Subscription::new`](crate::Subscription::new)) and settles them through a [`Settle`] (or an [`Origin`],
//! which also knows the topic and group); each delivery carries the backend's [`Receipt`]. The portable
//! [`Delivery`](crate::Delivery) owns the "settled once" rule, so a backend implements only these narrow
//! traits. [`check_group`] validates a consumer-group name the same way on every backend; [`drain_wait`] is
//! the wait of every backend's draining `close()`.
//!
//! The conformance suite (feature `conformance`) checks what these traits promise.

pub use crate::delivery::{Origin, Receipt, Settle, Source};
pub use crate::types::check_group;

use std::time::Duration;

/// The wait of a draining `close()`: polls `busy` every `poll` until it answers `false` or `drain_timeout`
/// has passed (then `close` returns anyway; what is still in flight comes back by redelivery).
pub async fn drain_wait(drain_timeout: Duration, poll: Duration, mut busy: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + drain_timeout;
    while busy() {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(poll.min(deadline - now)).await;
    }
}
