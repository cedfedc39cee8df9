//! [`Delivery`] (one message handed to one consumer, to `ack` or `nack`) and [`Subscription`] (their stream).
//!
//! Backends implement [`Settle`] and [`Source`]; the portable types here own the "settled once" rule, so
//! every backend reports `nack` after `ack` the same way.

use crate::{Error, Message, Result, Topic};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// A backend's handle on one delivery: a numeric tag and/or a string id, and the attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// A backend-chosen number (e.g. the in-memory delivery tag).
    pub tag: u64,
    /// A backend-chosen id (e.g. the Redis stream entry id); empty when unused.
    pub id: String,
    /// Which delivery this is (1 = first).
    pub attempt: u32,
}

/// How a backend acks and nacks deliveries. Implemented by backends (usually once per subscription, shared
/// by its deliveries), called only through [`Delivery`], which guarantees at most one successful
/// `ack`/`nack` per receipt.
#[async_trait::async_trait]
pub trait Settle: Send + Sync {
    /// Acknowledges the delivery: it will not be delivered to this group again.
    async fn ack(&self, receipt: &Receipt) -> Result<()>;
    /// Gives the delivery back: redelivered after `delay` (zero: after the backoff policy's
    /// [`crate::Settings::retry_delay`]), or dead-lettered after `max_attempts`.
    async fn nack(&self, receipt: &Receipt, delay: Duration, reason: &str) -> Result<()>;
    /// Moves the delivery's lease: it is not redelivered for `duration` from now. The default (a backend
    /// without [`crate::Capabilities::extend_lease`]) is [`Error::NotSupported`].
    async fn extend(&self, _receipt: &Receipt, _duration: Duration) -> Result<()> {
        Err(Error::NotSupported {
            operation: "extending a delivery's lease".into(),
            backend: "this",
            hint: "ack within the ack timeout, or raise it".into(),
        })
    }
    /// Acknowledges several deliveries of this settle at once (called by [`Delivery::ack_all`]): a backend
    /// with a native batch (one lock, one `XACK` for many) overrides it. The default acks one by one and
    /// stops at the first error; acking a receipt twice must be harmless (an ack after a failed batch ack
    /// retries all of them).
    async fn ack_batch(&self, receipts: &[&Receipt]) -> Result<()> {
        for receipt in receipts {
            match self.try_ack(receipt) {
                Some(result) => result?,
                None => self.ack(receipt).await?,
            }
        }
        Ok(())
    }
    /// A synchronous `ack` for backends that need no I/O; `None` (the default) uses [`Settle::ack`].
    fn try_ack(&self, _receipt: &Receipt) -> Option<Result<()>> {
        None
    }
    /// The delivery was dropped without `ack` or `nack` (a consumer went away). The default does nothing:
    /// the ack timeout redelivers it.
    fn dropped(&self, _receipt: &Receipt) {}
}

/// A [`Settle`] that also knows the topic and group its deliveries come from (e.g. one consumer group of
/// the in-memory bus). A delivery built with [`Delivery::from_origin`] holds just this one shared handle
/// instead of three (topic, group, settle): fewer reference-count updates per delivery on the hot path.
pub trait Origin: Settle {
    /// The topic the deliveries come from.
    fn topic(&self) -> &Topic;
    /// The consumer group they are delivered to.
    fn group(&self) -> &str;
}

/// How a backend produces deliveries for one subscription.
///
/// An implementation must keep [`Subscription::next`]'s promises: `next` is cancel-safe (no I/O whose
/// result would be lost lives inside its future: keep it in the source's state or in a task, and hand out
/// synchronously), an attempt counts a hand-out only, and dropping the source gives back what it read ahead
/// without counting an attempt. The conformance suite checks all three.
#[async_trait::async_trait]
pub trait Source: Send {
    /// The next delivery; `None` once the bus is closed. Must be cancel-safe (see the trait docs).
    async fn next(&mut self) -> Option<Result<Delivery>>;
    /// A delivery that is ready without waiting, if any (a fast path; the default has none).
    fn try_next(&mut self) -> Option<Result<Delivery>> {
        None
    }
    /// Up to `max` (≥ 1) deliveries: waits like [`Source::next`] for the first, then adds what is ready
    /// without waiting; `None` once the bus is closed. Must be cancel-safe like `next`. The default calls
    /// `next` once and then [`Source::try_next`] (an error after the first delivery ends the batch and is
    /// left for the next call to meet again); a backend overrides it to take many under one lock.
    async fn next_batch(&mut self, max: usize) -> Option<Result<Vec<Delivery>>> {
        let first = match self.next().await? {
            Ok(d) => d,
            Err(e) => return Some(Err(e)),
        };
        let mut batch = Vec::with_capacity(max.min(64));
        batch.push(first);
        while batch.len() < max {
            match self.try_next() {
                Some(Ok(d)) => batch.push(d),
                Some(Err(_)) | None => break,
            }
        }
        Some(Ok(batch))
    }
}

const OPEN: u8 = 0;
const BUSY: u8 = 1;
const ACKED: u8 = 2;
const NACKED: u8 = 3;

/// One message delivered to one consumer of a group. `ack` it when done, or `nack` it to have it
/// redelivered; a delivery that is dropped without either is redelivered too (after the backoff where
/// [`crate::Capabilities::redeliver_on_drop`], else after the ack timeout).
///
/// - **Lease.** A delivery is this consumer's for the ack timeout; a handler that works longer calls
///   [`Delivery::extend`] (again and again, as a heartbeat) so it is not redelivered behind its back.
/// - **Backoff.** A `nack` with a zero delay, a drop and a lapsed lease redeliver after the backoff policy
///   ([`crate::Settings::retry_delay`]: exponential with jitter, never a tight loop); a `nack` with an
///   explicit delay waits that delay.
/// - **Stable id.** [`Delivery::message_id`] is the same on every redelivery (and in the dead-letter topic):
///   at-least-once means a handler may see a message twice, so dedupe on it (e.g. with [`crate::Dedupe`]).
pub struct Delivery {
    message: Arc<Message>,
    from: Handle,
    receipt: Receipt,
    state: AtomicU8,
    /// Told how this delivery ends ([`Delivery::watched`]); `None` on a backend's own deliveries.
    watch: Option<Arc<dyn Watch>>,
}

/// How a watched delivery ended (see [`Watch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// Acked (by [`Delivery::ack`] or [`Delivery::ack_all`]).
    Acked,
    /// Nacked: the backend redelivers it, or dead-letters it after `max_attempts`.
    Nacked,
    /// Dropped without `ack` or `nack`: the backend redelivers it (see [`Delivery`]).
    Dropped,
    /// Dropped while an `ack`, `nack` or `extend` of it had been cancelled mid-call: the backend may or
    /// may not have settled it.
    Abandoned,
}

/// Watches deliveries for instrumentation (a gauge of deliveries in flight, a count of dead letters)
/// without wrapping them: [`Delivery::watched`] attaches one, and it is told exactly once how the
/// delivery ended. Settling is unchanged (the backend's, one call for a batch), so a watch costs a
/// reference count per delivery, not a second delivery.
pub trait Watch: Send + Sync {
    /// `delivery` ended `how`; called once per watched delivery, after a successful settlement or when it
    /// is dropped. Must not block.
    fn ended(&self, delivery: &Delivery, how: Ended);
}

/// Two watches of one delivery, told in the order they were attached.
struct Both(Arc<dyn Watch>, Arc<dyn Watch>);

impl Watch for Both {
    fn ended(&self, delivery: &Delivery, how: Ended) {
        self.0.ended(delivery, how);
        self.1.ended(delivery, how);
    }
}

/// Where a delivery comes from and how it is settled.
/// One word or two: a delivery stays small (its size is what a batch moves), with its watch beside it.
enum Handle {
    Parts(Arc<Parts>),
    Origin(Arc<dyn Origin>),
}

/// What [`Delivery::new`] is given, kept together behind one pointer.
struct Parts {
    topic: Arc<Topic>,
    group: Arc<str>,
    settle: Arc<dyn Settle>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("topic", self.topic())
            .field("group", &self.group())
            .field("attempt", &self.receipt.attempt)
            .field("message", &self.message)
            .finish()
    }
}

impl Delivery {
    /// Builds a delivery (for backends). The parts are kept behind one new allocation; a backend on a hot
    /// path implements [`Origin`] once per subscription and uses [`Delivery::from_origin`] instead.
    pub fn new(
        message: Arc<Message>,
        topic: Arc<Topic>,
        group: Arc<str>,
        receipt: Receipt,
        settle: Arc<dyn Settle>,
    ) -> Self {
        Self {
            message,
            from: Handle::Parts(Arc::new(Parts {
                topic,
                group,
                settle,
            })),
            receipt,
            state: AtomicU8::new(OPEN),
            watch: None,
        }
    }
    /// Builds a delivery whose topic, group and settlement come from one [`Origin`] (for backends).
    pub fn from_origin(message: Arc<Message>, receipt: Receipt, origin: Arc<dyn Origin>) -> Self {
        Self {
            message,
            from: Handle::Origin(origin),
            receipt,
            state: AtomicU8::new(OPEN),
            watch: None,
        }
    }
    /// This delivery, with `watch` told how it ends (for instrumentation: see [`Watch`]). A delivery can
    /// carry several watches; each is told once.
    pub fn watched(mut self, watch: Arc<dyn Watch>) -> Self {
        self.watch = Some(match self.watch.take() {
            None => watch,
            Some(first) => Arc::new(Both(first, watch)),
        });
        self
    }
    fn tell(&self, how: Ended) {
        if let Some(watch) = &self.watch {
            watch.ended(self, how);
        }
    }
    fn settle(&self) -> &dyn Settle {
        match &self.from {
            Handle::Parts(parts) => parts.settle.as_ref(),
            Handle::Origin(origin) => origin.as_ref(),
        }
    }
    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }
    /// The topic it was published to.
    pub fn topic(&self) -> &Topic {
        match &self.from {
            Handle::Parts(parts) => &parts.topic,
            Handle::Origin(origin) => origin.topic(),
        }
    }
    /// The consumer group it was delivered to.
    pub fn group(&self) -> &str {
        match &self.from {
            Handle::Parts(parts) => &parts.group,
            Handle::Origin(origin) => origin.group(),
        }
    }
    /// The message's id: stable across redeliveries and dead-lettering, the key to dedupe on.
    pub fn message_id(&self) -> &crate::MessageId {
        &self.message.id
    }
    /// Which delivery of this message to this group this is: 1 the first time, 2 after one redelivery …
    pub fn attempt(&self) -> u32 {
        self.receipt.attempt
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
        let settle = self.settle();
        let result = match settle.try_ack(&self.receipt) {
            Some(result) => result,
            None => settle.ack(&self.receipt).await,
        };
        self.finish(&result, ACKED);
        if result.is_ok() {
            self.tell(Ended::Acked);
        }
        result
    }

    /// Gives the message back for redelivery after `delay` (at most
    /// [`crate::Capabilities::max_nack_delay`]); a zero `delay` means "no explicit delay": the backoff
    /// policy ([`crate::Settings::retry_delay`]) decides, so a handler that keeps failing never spins.
    /// `reason` is kept as the last error, which the dead-letter topic's [`crate::HEADER_LAST_ERROR`]
    /// shows after `max_attempts`.
    pub async fn nack(&self, delay: Duration, reason: &str) -> Result<()> {
        self.begin("nack")?;
        let result = self.settle().nack(&self.receipt, delay, reason).await;
        self.finish(&result, NACKED);
        if result.is_ok() {
            self.tell(Ended::Nacked);
        }
        result
    }
}

impl Delivery {
    /// Acknowledges every delivery in `batch` with as few backend calls as it can: deliveries of one
    /// subscription (consecutive in the slice, as [`Subscription::next_batch`] hands them out) are settled
    /// with one call (memory: one lock; Redis: one `XACK` for all). The same rules as [`Delivery::ack`]
    /// hold for each: if one of them is already acked, nacked or being settled, nothing is acked and the
    /// error is [`Error::AlreadySettled`] for that one. A backend error leaves the deliveries of the failing
    /// subscription and every later one open, so the same call can be retried (those acked before stay
    /// acked: a retry then reports them as [`Error::AlreadySettled`]; a batch from one subscription is
    /// all or nothing).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> avb_event_bus::Result<()> {
    /// use avb_event_bus::{Delivery, EventBus, Message, StartPosition, Topic, memory::MemoryBus};
    /// let bus = MemoryBus::builder().build()?;
    /// let topic = Topic::new(&avb_core::WorkspaceId::new("acme").expect("valid"), "clicks")?;
    /// let mut sub = bus.subscribe(&topic, "stats", StartPosition::Earliest).await?;
    /// bus.publish_batch(&topic, (0..5u8).map(|i| Message::new(vec![i])).collect()).await?;
    /// let batch = sub.next_batch(3).await.expect("open")?;
    /// assert_eq!(batch.len(), 3); // at most `max`; the other two wait for the next call
    /// Delivery::ack_all(&batch).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ack_all(batch: &[Delivery]) -> Result<()> {
        for (i, d) in batch.iter().enumerate() {
            if let Err(e) = d.begin("ack") {
                for begun in &batch[..i] {
                    begun.state.store(OPEN, Ordering::Release);
                }
                return Err(e);
            }
        }
        let mut receipts: Vec<&Receipt> = Vec::with_capacity(batch.len());
        let mut rest = batch;
        while let Some(first) = rest.first() {
            let settle = first.settle();
            let run = rest
                .iter()
                .take_while(|d| same_settle(d.settle(), settle))
                .count();
            let (now, later) = rest.split_at(run);
            receipts.clear();
            receipts.extend(now.iter().map(|d| &d.receipt));
            let result = settle.ack_batch(&receipts).await;
            if result.is_err() {
                for d in rest {
                    d.state.store(OPEN, Ordering::Release);
                }
                return result;
            }
            for d in now {
                d.state.store(ACKED, Ordering::Release);
                d.tell(Ended::Acked);
            }
            rest = later;
        }
        Ok(())
    }

    /// Extends the lease: the message is not redelivered (to this or any other member) for `duration`
    /// from now, at most [`crate::Capabilities::max_lease_extension`]; call it again to hold it longer.
    /// Needs [`crate::Capabilities::extend_lease`] (else [`Error::NotSupported`]).
    ///
    /// Errors: [`Error::AlreadySettled`] after `ack`/`nack`; [`Error::LeaseLost`] when the lease already
    /// lapsed (the message is being redelivered: stop working on it or be ready for a duplicate);
    /// [`Error::DelayTooLong`] over the maximum; a retryable error when the broker is unreachable.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> avb_event_bus::Result<()> {
    /// use avb_event_bus::{EventBus, Message, StartPosition, Topic, memory::MemoryBus};
    /// use std::time::Duration;
    /// let bus = MemoryBus::builder().with_ack_timeout(Duration::from_secs(1)).build()?;
    /// let topic = Topic::new(&avb_core::WorkspaceId::new("acme").expect("valid"), "reports")?;
    /// let mut sub = bus.subscribe(&topic, "render", StartPosition::Earliest).await?;
    /// bus.publish(&topic, Message::new(&b"big report"[..])).await?;
    /// let d = sub.next().await.expect("open")?;
    /// d.extend(Duration::from_secs(60)).await?; // a long job: held for a minute from now
    /// d.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn extend(&self, duration: Duration) -> Result<()> {
        self.begin("extend")?;
        let result = match self.settle().extend(&self.receipt, duration).await {
            Err(Error::LeaseLost { backend, .. }) => Err(Error::LeaseLost {
                message_id: self.message.id.to_string(),
                backend,
            }),
            other => other,
        };
        self.state.store(OPEN, Ordering::Release);
        result
    }
}

/// Whether two deliveries are settled through the same backend object (one subscription's, one group's).
fn same_settle(a: &dyn Settle, b: &dyn Settle) -> bool {
    std::ptr::addr_eq(std::ptr::from_ref(a), std::ptr::from_ref(b))
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let state = *self.state.get_mut();
        if state == OPEN {
            self.settle().dropped(&self.receipt);
        }
        if self.watch.is_some() {
            match state {
                OPEN => self.tell(Ended::Dropped),
                BUSY => self.tell(Ended::Abandoned),
                _ => {} // told when it was settled
            }
        }
    }
}

/// A stream of [`Delivery`] for one member of one consumer group. Dropping it leaves the group: its
/// un-acked deliveries go to the other members, and what the backend read ahead but never handed out goes
/// back untouched (its attempt count unchanged).
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
    ///
    /// The [`Delivery::attempt`] counts hand-outs to the application: 1 the first time `next` returns a
    /// message, one more for each redelivery. Messages a backend read ahead and never handed out do not count.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel-safe, on every backend: if the future it returns is dropped before it
    /// completes (a [`tokio::time::timeout`] that fires, the losing branch of a `tokio::select!`), no
    /// message is lost and no attempt count changes; the next call gets what this one would have.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> avb_event_bus::Result<()> {
    /// use avb_event_bus::{EventBus, Message, StartPosition, Topic, memory::MemoryBus};
    /// use std::time::Duration;
    /// let bus = MemoryBus::builder().build()?;
    /// let ws = avb_core::WorkspaceId::new("acme").expect("a valid id");
    /// let (orders, refunds) = (Topic::new(&ws, "orders")?, Topic::new(&ws, "refunds")?);
    /// let mut a = bus.subscribe(&orders, "billing", StartPosition::Earliest).await?;
    /// let mut b = bus.subscribe(&refunds, "billing", StartPosition::Earliest).await?;
    /// bus.publish(&refunds, Message::new(&b"refund 1"[..])).await?;
    /// // Whichever branch loses is dropped mid-wait; nothing it was waiting for is lost.
    /// let d = tokio::select! {
    ///     Some(d) = a.next() => d?,
    ///     Some(d) = b.next() => d?,
    /// };
    /// assert_eq!((d.attempt(), &d.message().payload[..]), (1, &b"refund 1"[..]));
    /// d.ack().await?;
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Result<Delivery>> {
        match self.source.try_next() {
            Some(ready) => Some(ready),
            None => self.source.next().await,
        }
    }

    /// A delivery that is ready now, without waiting: what [`Subscription::next`] would return at once,
    /// or `None` when it would wait (nothing ready, a backend that always waits for I/O, or a closed bus —
    /// `next` tells which). Every promise of `next` holds for what it hands out.
    pub fn try_next(&mut self) -> Option<Result<Delivery>> {
        self.source.try_next()
    }

    /// Waits for the next deliveries: at least one and at most `max` (a `max` of 0 counts as 1), taken
    /// together (one lock and one wake-up on the in-memory bus; what one Redis `XREADGROUP COUNT n` read).
    /// `None` once the bus is closed. Each delivery is settled on its own or all at once with
    /// [`Delivery::ack_all`]; every promise of [`Subscription::next`] holds for each delivery (attempts,
    /// per-key order, redelivery, dead-lettering), and this method is cancel-safe in the same way.
    pub async fn next_batch(&mut self, max: usize) -> Option<Result<Vec<Delivery>>> {
        self.source.next_batch(max.max(1)).await
    }
}

#[cfg(test)]
mod watch_tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    /// A settle whose `ack` fails while `failing`, and pends forever while `stalled` (no `try_ack`: the
    /// async path); it counts its backend calls.
    #[derive(Default)]
    struct Backend {
        failing: std::sync::atomic::AtomicBool,
        stalled: std::sync::atomic::AtomicBool,
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Settle for Backend {
        async fn ack(&self, _: &Receipt) -> Result<()> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.stalled.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            if self.failing.load(Ordering::SeqCst) {
                return Err(Error::Unavailable {
                    backend: "test",
                    reason: "down".into(),
                    source: None,
                });
            }
            Ok(())
        }
        async fn nack(&self, _: &Receipt, _: Duration, _: &str) -> Result<()> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn ack_batch(&self, receipts: &[&Receipt]) -> Result<()> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            assert!(!receipts.is_empty());
            Ok(())
        }
    }

    /// Records every ending it is told, with the delivery's attempt.
    #[derive(Default)]
    struct Log(Mutex<Vec<(u32, Ended)>>);

    impl Watch for Log {
        fn ended(&self, delivery: &Delivery, how: Ended) {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((delivery.attempt(), how));
        }
    }

    impl Log {
        fn take(&self) -> Vec<(u32, Ended)> {
            std::mem::take(
                &mut *self
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        }
    }

    fn delivery(backend: &Arc<Backend>, attempt: u32, log: &Arc<Log>) -> Delivery {
        let ws = avb_core::WorkspaceId::new("w").unwrap_or_else(|e| panic!("{e}"));
        let topic = Topic::new(&ws, "t").unwrap_or_else(|e| panic!("{e}"));
        let settle: Arc<dyn Settle> = backend.clone();
        Delivery::new(
            Arc::new(Message::new(&b"m"[..])),
            Arc::new(topic),
            Arc::from("g"),
            Receipt {
                attempt,
                ..Receipt::default()
            },
            settle,
        )
        .watched(log.clone())
    }

    #[tokio::test]
    async fn a_watch_is_told_once_how_each_delivery_ended() {
        let backend = Arc::new(Backend::default());
        let log = Arc::new(Log::default());

        let d = delivery(&backend, 1, &log);
        d.ack().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(d.ack().await.is_err(), "acked once");
        drop(d);
        assert_eq!(
            log.take(),
            vec![(1, Ended::Acked)],
            "told at the ack, not again at the drop"
        );

        let d = delivery(&backend, 2, &log);
        d.nack(Duration::ZERO, "no")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        drop(d);
        assert_eq!(log.take(), vec![(2, Ended::Nacked)]);

        drop(delivery(&backend, 3, &log));
        assert_eq!(log.take(), vec![(3, Ended::Dropped)]);

        // A failed ack leaves it open and untold; the retry that succeeds tells.
        let d = delivery(&backend, 4, &log);
        backend.failing.store(true, Ordering::SeqCst);
        assert!(d.ack().await.is_err());
        assert_eq!(log.take(), vec![]);
        backend.failing.store(false, Ordering::SeqCst);
        d.ack().await.unwrap_or_else(|e| panic!("{e}"));
        drop(d);
        assert_eq!(log.take(), vec![(4, Ended::Acked)]);

        // A batch of watched deliveries is still one backend call, and each is told.
        let calls = backend.calls.load(Ordering::SeqCst);
        let batch: Vec<Delivery> = (5..8).map(|a| delivery(&backend, a, &log)).collect();
        Delivery::ack_all(&batch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(backend.calls.load(Ordering::SeqCst), calls + 1);
        drop(batch);
        assert_eq!(
            log.take(),
            vec![(5, Ended::Acked), (6, Ended::Acked), (7, Ended::Acked)]
        );

        // An ack cancelled mid-call, then the delivery dropped: told it was abandoned, once.
        backend.stalled.store(true, Ordering::SeqCst);
        let d = delivery(&backend, 8, &log);
        let cancelled = tokio::time::timeout(Duration::from_millis(10), d.ack()).await;
        assert!(cancelled.is_err(), "the stalled ack never answers");
        assert_eq!(log.take(), vec![]);
        drop(d);
        assert_eq!(log.take(), vec![(8, Ended::Abandoned)]);
    }

    /// A delivery is what a batch moves and every hand-out builds: a watch must not make it bigger than
    /// it was without one (96 bytes).
    #[test]
    fn a_delivery_stays_small() {
        assert!(
            std::mem::size_of::<Delivery>() <= 88,
            "{}",
            std::mem::size_of::<Delivery>()
        );
    }

    #[tokio::test]
    async fn every_watch_of_a_delivery_is_told() {
        let backend = Arc::new(Backend::default());
        let (first, second) = (Arc::new(Log::default()), Arc::new(Log::default()));
        let d = delivery(&backend, 1, &first).watched(second.clone());
        drop(d);
        assert_eq!(first.take(), vec![(1, Ended::Dropped)]);
        assert_eq!(second.take(), vec![(1, Ended::Dropped)]);
    }
}
