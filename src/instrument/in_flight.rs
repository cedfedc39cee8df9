//! In-flight deliveries: a subscription of the instrumented bus hands out each delivery re-wrapped around
//! the backend's, and counts it in `avb_event_bus_in_flight_deliveries` until it is acked, nacked or
//! dropped. Every settlement is forwarded to the backend's delivery, so every promise of the port holds
//! (the conformance suite runs through this wrapper: `tests/event_bus.rs`); [`Delivery::ack_all`] of a
//! batch stays one backend call (one `XACK`, one lock).

use avb_event_bus::backend::{Receipt, Settle};
use avb_event_bus::{Delivery, Error, Result, Topic};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counts one delivery in flight while it lives.
struct Token(Gauge);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A backend delivery held for the wrapper handed out, and its count.
struct Held {
    delivery: Delivery,
    token: Token,
}

/// One subscription's wrapper deliveries: their backend deliveries by tag.
pub(crate) struct InFlight {
    open: Mutex<HashMap<u64, Held>>,
    next: AtomicU64,
    gauge: Gauge,
    topic: Arc<Topic>,
    group: Arc<str>,
    dead_letter: Option<DeadLetter>,
}

/// When a settlement dead-letters: a nack (or, where the backend redelivers on drop, a drop) of attempt
/// `max_attempts` or later; counted in `counter`.
pub(crate) struct DeadLetter {
    /// The bus's `max_attempts`.
    pub(crate) max_attempts: u32,
    /// Whether a dropped delivery is redelivered at once (so a dropped last attempt is dead-lettered).
    pub(crate) on_drop: bool,
    /// `avb_event_bus_dead_lettered_total` of the topic.
    pub(crate) counter: Counter,
}

impl DeadLetter {
    fn count(&self, attempt: u32) {
        if attempt >= self.max_attempts {
            self.counter.inc();
        }
    }
}

fn gone() -> Error {
    Error::Backend {
        backend: "layers",
        reason: "this delivery was given back when an earlier call on it was cancelled".into(),
        source: None,
    }
}

impl InFlight {
    /// Tracks the deliveries of one subscription (`topic`, `group`) in `gauge`.
    pub(crate) fn new(
        gauge: Gauge,
        topic: &Topic,
        group: &str,
        dead_letter: Option<DeadLetter>,
    ) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            gauge,
            topic: Arc::new(topic.clone()),
            group: Arc::from(group),
            dead_letter,
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Held>> {
        match self.open.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The delivery to hand out in place of `delivery`.
    pub(crate) fn wrap(self: &Arc<Self>, delivery: Delivery) -> Delivery {
        let tag = self.next.fetch_add(1, Ordering::Relaxed);
        let message = Arc::new(delivery.message().clone());
        let receipt = Receipt {
            tag,
            id: String::new(),
            attempt: delivery.attempt(),
        };
        self.gauge.inc();
        let held = Held {
            delivery,
            token: Token(self.gauge.clone()),
        };
        self.open().insert(tag, held);
        let settle: Arc<dyn Settle> = self.clone();
        Delivery::new(
            message,
            self.topic.clone(),
            self.group.clone(),
            receipt,
            settle,
        )
    }

    fn take(&self, receipt: &Receipt) -> Result<Held> {
        self.open().remove(&receipt.tag).ok_or_else(gone)
    }

    fn put_back(&self, tag: u64, held: Held) {
        self.open().insert(tag, held);
    }
}

#[async_trait::async_trait]
impl Settle for InFlight {
    async fn ack(&self, receipt: &Receipt) -> Result<()> {
        let held = self.take(receipt)?;
        let result = held.delivery.ack().await;
        if result.is_err() {
            self.put_back(receipt.tag, held);
        }
        result
    }

    async fn nack(&self, receipt: &Receipt, delay: Duration, reason: &str) -> Result<()> {
        let held = self.take(receipt)?;
        let result = held.delivery.nack(delay, reason).await;
        match (&result, &self.dead_letter) {
            (Err(_), _) => self.put_back(receipt.tag, held),
            (Ok(()), Some(dl)) => dl.count(receipt.attempt),
            (Ok(()), None) => {}
        }
        result
    }

    async fn extend(&self, receipt: &Receipt, duration: Duration) -> Result<()> {
        let held = self.take(receipt)?;
        let result = held.delivery.extend(duration).await;
        self.put_back(receipt.tag, held);
        result
    }

    async fn ack_batch(&self, receipts: &[&Receipt]) -> Result<()> {
        let mut tokens = Vec::with_capacity(receipts.len());
        let mut deliveries = Vec::with_capacity(receipts.len());
        {
            let mut open = self.open();
            for r in receipts {
                match open.remove(&r.tag) {
                    Some(held) => {
                        tokens.push((r.tag, held.token));
                        deliveries.push(held.delivery);
                    }
                    None => {
                        // Put back what was taken: the batch is all or nothing.
                        for ((tag, token), delivery) in tokens.into_iter().zip(deliveries) {
                            open.insert(tag, Held { delivery, token });
                        }
                        return Err(gone());
                    }
                }
            }
        }
        let result = Delivery::ack_all(&deliveries).await;
        if result.is_err() {
            let mut open = self.open();
            for ((tag, token), delivery) in tokens.into_iter().zip(deliveries) {
                open.insert(tag, Held { delivery, token });
            }
        }
        result
    }

    fn dropped(&self, receipt: &Receipt) {
        // The backend's delivery is dropped too: it redelivers (or dead-letters) as it would have.
        let held = self.open().remove(&receipt.tag);
        if let (Some(_), Some(dl)) = (held, &self.dead_letter)
            && dl.on_drop
        {
            dl.count(receipt.attempt);
        }
    }
}
