//! In-flight deliveries: a subscription of the instrumented bus counts each delivery it hands out in
//! `avb_event_bus_in_flight_deliveries` until it is acked, nacked or dropped, and counts the settlements
//! that dead-letter. It watches the backend's own delivery ([`Delivery::watched`]) instead of wrapping it,
//! so settling is the backend's unchanged (every promise of the port holds: the conformance suite runs
//! through it, `tests/event_bus.rs`; [`Delivery::ack_all`] of a batch stays one backend call) and a
//! delivery costs a gauge increment and a reference count, not a second delivery.

use avb_event_bus::{Delivery, Ended, Watch};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;

/// One subscription's deliveries in flight (its gauge) and its dead letters.
pub(crate) struct InFlight {
    gauge: Gauge,
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

impl InFlight {
    /// Tracks the deliveries of one subscription in `gauge`.
    pub(crate) fn new(gauge: Gauge, dead_letter: Option<DeadLetter>) -> Arc<Self> {
        Arc::new(Self { gauge, dead_letter })
    }

    /// `delivery`, counted in flight until it ends.
    pub(crate) fn watch(self: &Arc<Self>, delivery: Delivery) -> Delivery {
        self.gauge.inc();
        delivery.watched(self.clone())
    }
}

impl Watch for InFlight {
    fn ended(&self, delivery: &Delivery, how: Ended) {
        self.gauge.dec();
        if let Some(dl) = &self.dead_letter {
            match how {
                Ended::Nacked => dl.count(delivery.attempt()),
                Ended::Dropped if dl.on_drop => dl.count(delivery.attempt()),
                _ => {}
            }
        }
    }
}
