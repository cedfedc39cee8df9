//! [`Delivery`] (one message handed to one consumer, to `ack` or `nack`) and [`Subscription`] (their stream).
//!
//! Backends implement [`Settle`] and [`Source`]; the portable types here own the "settled once" rule, so
//! every backend reports `nack` after `ack` the same way.

use crate::{Error, Message, Result, Topic};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// How a backend acks and nacks one delivery. Implemented by backends, called only through [`Delivery`].
#[async_trait::async_trait]
pub trait Settle: Send + Sync {
    /// Acknowledges the delivery: it will not be delivered to this group again.
    async fn ack(&self) -> Result<()>;
    /// Gives the delivery back: redelivered after `delay`, or dead-lettered after `max_attempts`.
    async fn nack(&self, delay: Duration, reason: &str) -> Result<()>;
    /// The delivery was dropped without `ack` or `nack` (a consumer went away). The default does nothing:
    /// the ack timeout redelivers it.
    fn dropped(&self) {}
}

/// How a backend produces deliveries for one subscription.
#[async_trait::async_trait]
pub trait Source: Send {
    /// The next delivery; `None` once the bus is closed.
    async fn next(&mut self) -> Option<Result<Delivery>>;
}

const OPEN: u8 = 0;
const BUSY: u8 = 1;
const ACKED: u8 = 2;
const NACKED: u8 = 3;

/// One message delivered to one consumer of a group. `ack` it when done, or `nack` it to have it
/// redelivered; a delivery that is dropped without either is redelivered too (at once where
/// [`crate::Capabilities::redeliver_on_drop`], else after the ack timeout).
pub struct Delivery {
    message: Arc<Message>,
    topic: Topic,
    group: String,
    attempt: u32,
    state: AtomicU8,
    settle: Box<dyn Settle>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("topic", &self.topic)
            .field("group", &self.group)
            .field("attempt", &self.attempt)
            .field("message", &self.message)
            .finish()
    }
}

impl Delivery {
    /// Builds a delivery (for backends).
    pub fn new(
        message: Arc<Message>,
        topic: Topic,
        group: String,
        attempt: u32,
        settle: Box<dyn Settle>,
    ) -> Self {
        Self {
            message,
            topic,
            group,
            attempt,
            state: AtomicU8::new(OPEN),
            settle,
        }
    }
    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }
    /// The topic it was published to.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }
    /// The consumer group it was delivered to.
    pub fn group(&self) -> &str {
        &self.group
    }
    /// Which delivery of this message to this group this is: 1 the first time, 2 after one redelivery …
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    fn begin(&self, attempted: &'static str) -> Result<()> {
        match self
            .state
            .compare_exchange(OPEN, BUSY, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(state) => Err(Error::AlreadySettled {
                message_id: self.message.id.to_string(),
                attempted,
                settled: match state {
                    ACKED => "acked",
                    NACKED => "nacked",
                    _ => "being acked or nacked",
                },
            }),
        }
    }

    fn finish(&self, result: &Result<()>, done: u8) {
        // A failed ack/nack (broker down) leaves the delivery open, so the caller may try again.
        let state = if result.is_ok() { done } else { OPEN };
        self.state.store(state, Ordering::Release);
    }

    /// Acknowledges the message. An error that [`Error::is_retryable`] leaves the delivery open to retry;
    /// a second `ack` or an `ack` after `nack` is [`Error::AlreadySettled`].
    pub async fn ack(&self) -> Result<()> {
        self.begin("ack")?;
        let result = self.settle.ack().await;
        self.finish(&result, ACKED);
        result
    }

    /// Gives the message back for redelivery after `delay` (at most
    /// [`crate::Capabilities::max_nack_delay`]); `reason` is kept as the last error, which the
    /// dead-letter topic's [`crate::HEADER_LAST_ERROR`] shows after `max_attempts`.
    pub async fn nack(&self, delay: Duration, reason: &str) -> Result<()> {
        self.begin("nack")?;
        let result = self.settle.nack(delay, reason).await;
        self.finish(&result, NACKED);
        result
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if *self.state.get_mut() == OPEN {
            self.settle.dropped();
        }
    }
}

/// A stream of [`Delivery`] for one member of one consumer group. Dropping it leaves the group; its
/// un-acked deliveries go to the other members.
pub struct Subscription {
    source: Box<dyn Source>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

impl Subscription {
    /// Wraps a backend's source.
    pub fn new(source: Box<dyn Source>) -> Self {
        Self { source }
    }
    /// Waits for the next delivery. `None` once the bus is closed. An `Err` that
    /// [`Error::is_retryable`] means the broker is unreachable for now; calling `next` again retries.
    pub async fn next(&mut self) -> Option<Result<Delivery>> {
        self.source.next().await
    }
}
