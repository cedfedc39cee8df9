//! Metrics of the ports, in Prometheus' text format (`GET /metrics` of [`crate::http`]):
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `avb_<port>_operations_total` | `backend`, `operation`, `result` (`ok` or the error class: `retryable`, `not_found`, …) | calls of each port operation |
//! | `avb_<port>_operation_duration_seconds` | `backend`, `operation` | their latency (histogram, 100 µs … 26 s) |
//! | `avb_auth_decisions_total` | `backend`, `decision` (`accepted`, or the refusal's class) | every token the Auth port judged |
//! | `avb_event_bus_publish_failures_total` | `backend`, `class` | publishes (single or batch) that failed |
//! | `avb_event_bus_deliveries_total` | `backend`, `topic` | deliveries handed out by the Platform's subscriptions |
//! | `avb_event_bus_redeliveries_total` | `backend`, `topic` | those with attempt > 1 (a nack, a drop or a lapsed lease before) |
//! | `avb_event_bus_in_flight_deliveries` | `backend`, `topic` | gauge: handed out and not yet acked, nacked or dropped |
//! | `avb_event_bus_dead_lettered_total` | `backend`, `topic` | messages a nack (or, where dropped deliveries come back at once, a drop) of the last attempt dead-lettered (needs `InstrumentedBus::with_max_attempts`; the Platform sets it) |
//! | `avb_event_bus_consumer_lag` | `backend`, `topic`, `group` | gauge: messages the group has not settled (waiting + in flight), from [`avb_event_bus::EventBus::backlog`] at scrape time (see `backlog`) |
//! | `avb_event_bus_dead_letter_depth` | `backend`, `topic` | gauge: messages on the topic's dead-letter topic, likewise |
//! | `avb_llm_time_to_first_token_seconds` | `backend`, `model` | streamed chats: from the call to the first token (histogram, 10 ms … 164 s) |
//! | `avb_llm_tokens_total` | `backend`, `model`, `type` (`input`, `output`) | tokens the provider counted (chat: on the answer; stream: at its end) |
//!
//! **Cardinality.** `topic` is the topic's name without its workspace (workspaces are tenants: unbounded),
//! and at most [`MAX_TOPICS`] distinct names get a label of their own; later ones share `topic="other"`.
//! `model` is bounded the same way ([`MAX_MODELS`]).
//!
//! Counts are exact; latency is timed on one call in [`SAMPLE_EVERY`] per thread, so the clock is not read
//! twice on every sub-microsecond call.
//!
//! `<port>` is `event_bus`, `auth`, `object_store`, `catalog` or `llm`. The [`crate::Platform`] records every
//! port into one [`Metrics`] through the metered layer ([`crate::layers::metered`]); the LLM's `chat_stream`
//! latency is its time to the first token.

mod backlog;

pub use backlog::{BACKLOG_TIMEOUT, MAX_GROUPS, MAX_WATCHES};

use avb_core::ErrorClass;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

/// One call in this many (per thread) is timed for the latency histograms.
pub const SAMPLE_EVERY: u32 = 16;

/// The most distinct `topic` label values; later topics are counted under `other`.
pub const MAX_TOPICS: usize = 64;
/// The most distinct `model` label values; later models are counted under `other`.
pub const MAX_MODELS: usize = 16;

/// The ports, as metric names spell them.
pub const PORTS: [&str; 5] = ["event_bus", "auth", "object_store", "catalog", "llm"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    backend: String,
    operation: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryLabels {
    port: String,
    backend: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    backend: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    backend: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    backend: String,
    class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    backend: String,
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    backend: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    backend: String,
    model: String,
    r#type: String,
}

/// Label values seen so far, at most `max`: a new value beyond that is `other`.
#[derive(Debug)]
struct Bounded {
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
    max: usize,
}

impl Bounded {
    fn new(max: usize) -> Self {
        Self {
            seen: Default::default(),
            max,
        }
    }

    fn label(&self, value: &str) -> String {
        let mut seen = match self.seen.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.contains(value) {
            return value.to_string();
        }
        if seen.len() < self.max {
            seen.insert(value.to_string());
            return value.to_string();
        }
        "other".to_string()
    }
}

/// What a subscription's deliveries move: the delivery and redelivery counters of its topic.
#[derive(Debug, Clone)]
pub struct DeliveryHandles {
    deliveries: Counter,
    redeliveries: Counter,
    in_flight: Gauge,
    dead_lettered: Counter,
}

impl DeliveryHandles {
    /// The topic's gauge of deliveries handed out and not yet settled.
    pub fn in_flight(&self) -> Gauge {
        self.in_flight.clone()
    }

    /// The topic's counter of messages dead-lettered by a settlement.
    pub fn dead_lettered(&self) -> Counter {
        self.dead_lettered.clone()
    }

    /// Counts one delivery handed out with `attempt` (a redelivery when > 1).
    pub fn record(&self, attempt: u32) {
        self.deliveries.inc();
        if attempt > 1 {
            self.redeliveries.inc();
        }
    }
}

type Latency = Family<LatencyLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 10))
}

fn ttft_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

/// What one successful call moves: its `ok` counter, its latency histogram (when timed), and for Auth its
/// `accepted` decision.
#[derive(Debug, Clone)]
pub struct OkHandles {
    ok: Counter,
    latency: Histogram,
    decision: Option<Counter>,
}

impl OkHandles {
    /// Counts one successful call (and its latency, when it was timed).
    #[inline]
    pub fn record_ok(&self, took: Option<Duration>) {
        self.ok.inc();
        if let Some(d) = &self.decision {
            d.inc();
        }
        if let Some(took) = took {
            self.latency.observe(took.as_secs_f64());
        }
    }
}

/// Every metric avb records, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    operations: [Family<OperationLabels, Counter>; 5],
    latency: [Latency; 5],
    auth_decisions: Family<DecisionLabels, Counter>,
    publish_failures: Family<FailureLabels, Counter>,
    deliveries: Family<TopicLabels, Counter>,
    redeliveries: Family<TopicLabels, Counter>,
    in_flight: Family<TopicLabels, Gauge>,
    dead_lettered: Family<TopicLabels, Counter>,
    retries: Family<RetryLabels, Counter>,
    topics: Bounded,
    backlog: backlog::BacklogGauges,
    time_to_first_token: Family<ModelLabels, Histogram, fn() -> Histogram>,
    tokens: Family<TokenLabels, Counter>,
    models: Bounded,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let operations: [Family<OperationLabels, Counter>; 5] = Default::default();
        let latency: [Latency; 5] =
            std::array::from_fn(|_| Family::new_with_constructor(latency_histogram as fn() -> _));
        for (i, port) in PORTS.iter().enumerate() {
            registry.register(
                format!("avb_{port}_operations"),
                format!("Calls of the {port} port's operations, by backend, operation and result"),
                operations[i].clone(),
            );
            registry.register(
                format!("avb_{port}_operation_duration_seconds"),
                format!("Latency of the {port} port's operations"),
                latency[i].clone(),
            );
        }
        let auth_decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "avb_auth_decisions",
            "Tokens the Auth port judged, by backend and decision (accepted, or the refusal's class)",
            auth_decisions.clone(),
        );
        let publish_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "avb_event_bus_publish_failures",
            "Publishes (single or batch) that failed, by backend and error class",
            publish_failures.clone(),
        );
        let deliveries = Family::<TopicLabels, Counter>::default();
        registry.register(
            "avb_event_bus_deliveries",
            "Deliveries handed out, by backend and topic (workspace left out; at most MAX_TOPICS names, then other)",
            deliveries.clone(),
        );
        let redeliveries = Family::<TopicLabels, Counter>::default();
        registry.register(
            "avb_event_bus_redeliveries",
            "Deliveries handed out with attempt > 1, by backend and topic",
            redeliveries.clone(),
        );
        let in_flight = Family::<TopicLabels, Gauge>::default();
        registry.register(
            "avb_event_bus_in_flight_deliveries",
            "Deliveries handed out and not yet acked, nacked or dropped, by backend and topic",
            in_flight.clone(),
        );
        let dead_lettered = Family::<TopicLabels, Counter>::default();
        registry.register(
            "avb_event_bus_dead_lettered",
            "Messages dead-lettered by a nack (or a drop) of their last attempt, by backend and topic",
            dead_lettered.clone(),
        );
        let retries = Family::<RetryLabels, Counter>::default();
        registry.register(
            "avb_layer_retries",
            "Calls started again by the retry layer (after a retryable failure, within the budget), by port, backend and operation",
            retries.clone(),
        );
        let backlog = backlog::BacklogGauges::new();
        registry.register(
            "avb_event_bus_consumer_lag",
            "Messages a consumer group has not settled yet (waiting and in flight), by backend, topic and group, read at scrape time",
            backlog.lag.clone(),
        );
        registry.register(
            "avb_event_bus_dead_letter_depth",
            "Messages on the topic's dead-letter topic, by backend and topic, read at scrape time",
            backlog.dead_letters.clone(),
        );
        let time_to_first_token = Family::new_with_constructor(ttft_histogram as fn() -> Histogram);
        registry.register(
            "avb_llm_time_to_first_token_seconds",
            "Streamed chats: time from the call to the first token, by backend and model",
            time_to_first_token.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "avb_llm_tokens",
            "Tokens the LLM provider counted, by backend, model and type (input, output)",
            tokens.clone(),
        );
        Self {
            registry,
            operations,
            latency,
            auth_decisions,
            publish_failures,
            deliveries,
            redeliveries,
            in_flight,
            dead_lettered,
            retries,
            topics: Bounded::new(MAX_TOPICS),
            backlog,
            time_to_first_token,
            tokens,
            models: Bounded::new(MAX_MODELS),
        }
    }

    /// What the retry layer calls on each retry of `port`'s calls on `backend` (see
    /// [`Stack::count_retries`](crate::layers::defaults::Stack::count_retries)): counts
    /// `avb_layer_retries_total{port,backend,operation}`.
    pub fn retry_counter(
        self: &Arc<Self>,
        port: &'static str,
        backend: &'static str,
    ) -> crate::layers::defaults::RetryCounter {
        let metrics = Arc::downgrade(self);
        Arc::new(move |operation: &'static str| {
            if let Some(m) = metrics.upgrade() {
                m.retries
                    .get_or_create(&RetryLabels {
                        port: port.to_string(),
                        backend: backend.to_string(),
                        operation: operation.to_string(),
                    })
                    .inc();
            }
        })
    }

    /// The delivery counters of `topic` (its name, without the workspace) on `backend`, resolved once per
    /// subscription.
    pub fn delivery_handles(&self, backend: &str, topic: &str) -> DeliveryHandles {
        let labels = TopicLabels {
            backend: backend.to_string(),
            topic: self.topics.label(topic),
        };
        DeliveryHandles {
            deliveries: self.deliveries.get_or_create(&labels).clone(),
            redeliveries: self.redeliveries.get_or_create(&labels).clone(),
            in_flight: self.in_flight.get_or_create(&labels).clone(),
            dead_lettered: self.dead_lettered.get_or_create(&labels).clone(),
        }
    }

    /// Records an LLM call's token counts (and, for a stream, its time to the first token).
    pub fn record_llm(
        &self,
        backend: &str,
        model: &str,
        input_tokens: u32,
        output_tokens: u32,
        time_to_first_token: Option<Duration>,
    ) {
        let model = self.models.label(model);
        if let Some(t) = time_to_first_token {
            self.time_to_first_token
                .get_or_create(&ModelLabels {
                    backend: backend.to_string(),
                    model: model.clone(),
                })
                .observe(t.as_secs_f64());
        }
        for (kind, n) in [("input", input_tokens), ("output", output_tokens)] {
            self.tokens
                .get_or_create(&TokenLabels {
                    backend: backend.to_string(),
                    model: model.clone(),
                    r#type: kind.to_string(),
                })
                .inc_by(u64::from(n));
        }
    }

    /// Records one call of `port`'s `operation` on `backend`: its result (`Ok`, or the error's class) and
    /// how long it took (`None`: not timed — the metered layer times a sample of the calls). An unknown
    /// port name is ignored.
    pub fn record(
        &self,
        port: &str,
        backend: &str,
        operation: &str,
        result: Result<(), ErrorClass>,
        took: Option<Duration>,
    ) {
        match result {
            Ok(()) => {
                if let Some(h) = self.handles(port, backend, operation) {
                    h.record_ok(took);
                }
            }
            Err(class) => self.record_error(port, backend, operation, class, took),
        }
    }

    /// The metrics one successful call of `port`'s `operation` on `backend` moves, resolved once (the
    /// metered layer keeps them, so a call touches no map and allocates nothing). `None` for an unknown
    /// port.
    pub fn handles(&self, port: &str, backend: &str, operation: &str) -> Option<OkHandles> {
        let i = PORTS.iter().position(|p| *p == port)?;
        let ok = self.operations[i]
            .get_or_create(&OperationLabels {
                backend: backend.to_string(),
                operation: operation.to_string(),
                result: "ok".to_string(),
            })
            .clone();
        let latency = self.latency[i]
            .get_or_create(&LatencyLabels {
                backend: backend.to_string(),
                operation: operation.to_string(),
            })
            .clone();
        let decision = (port == "auth" && operation.starts_with("authenticate")).then(|| {
            self.auth_decisions
                .get_or_create(&DecisionLabels {
                    backend: backend.to_string(),
                    decision: "accepted".to_string(),
                })
                .clone()
        });
        Some(OkHandles {
            ok,
            latency,
            decision,
        })
    }

    /// Records a failed call (the slow path: errors are rare).
    pub fn record_error(
        &self,
        port: &str,
        backend: &str,
        operation: &str,
        class: ErrorClass,
        took: Option<Duration>,
    ) {
        let Some(i) = PORTS.iter().position(|p| *p == port) else {
            return;
        };
        let result = class.as_str();
        self.operations[i]
            .get_or_create(&OperationLabels {
                backend: backend.to_string(),
                operation: operation.to_string(),
                result: result.to_string(),
            })
            .inc();
        if let Some(took) = took {
            self.latency[i]
                .get_or_create(&LatencyLabels {
                    backend: backend.to_string(),
                    operation: operation.to_string(),
                })
                .observe(took.as_secs_f64());
        }
        if port == "auth" && operation.starts_with("authenticate") {
            self.auth_decisions
                .get_or_create(&DecisionLabels {
                    backend: backend.to_string(),
                    decision: result.to_string(),
                })
                .inc();
        }
        if port == "event_bus" && operation.starts_with("publish") {
            self.publish_failures
                .get_or_create(&FailureLabels {
                    backend: backend.to_string(),
                    class: result.to_string(),
                })
                .inc();
        }
    }

    /// The Prometheus text exposition of every metric (OpenMetrics text, ending `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            out = format!("# encoding the metrics failed: {e}\n# EOF\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_encode_as_prometheus_text_with_the_documented_names() {
        let m = Metrics::new();
        m.record(
            "event_bus",
            "memory",
            "publish",
            Ok(()),
            Some(Duration::from_micros(50)),
        );
        m.record(
            "event_bus",
            "memory",
            "publish",
            Ok(()),
            Some(Duration::from_micros(70)),
        );
        m.record(
            "event_bus",
            "redis",
            "publish_batch",
            Err(ErrorClass::Retryable),
            Some(Duration::from_millis(3)),
        );
        m.record(
            "auth",
            "local",
            "authenticate",
            Err(ErrorClass::Unauthorized),
            None,
        );
        m.record("auth", "local", "authenticate", Ok(()), None);
        m.record("nope", "x", "y", Ok(()), None);
        let text = m.encode();
        for line in [
            r#"avb_event_bus_operations_total{backend="memory",operation="publish",result="ok"} 2"#,
            r#"avb_event_bus_operations_total{backend="redis",operation="publish_batch",result="retryable"} 1"#,
            r#"avb_event_bus_publish_failures_total{backend="redis",class="retryable"} 1"#,
            r#"avb_auth_decisions_total{backend="local",decision="unauthorized"} 1"#,
            r#"avb_auth_decisions_total{backend="local",decision="accepted"} 1"#,
            r#"avb_event_bus_operation_duration_seconds_count{backend="memory",operation="publish"} 2"#,
            "# EOF",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert!(!text.contains("nope"), "{text}");
    }

    #[test]
    fn topic_labels_are_bounded() {
        let m = Metrics::new();
        for i in 0..MAX_TOPICS + 3 {
            m.delivery_handles("memory", &format!("t{i}")).record(2);
        }
        let text = m.encode();
        let last = MAX_TOPICS - 1;
        assert!(
            text.contains(&format!(
                r#"avb_event_bus_deliveries_total{{backend="memory",topic="t{last}"}} 1"#
            )),
            "{text}"
        );
        assert!(
            !text.contains(&format!(r#"topic="t{MAX_TOPICS}""#)),
            "{text}"
        );
        assert!(
            text.contains(r#"avb_event_bus_redeliveries_total{backend="memory",topic="other"} 3"#),
            "{text}"
        );
    }

    #[test]
    fn llm_tokens_and_time_to_first_token_are_recorded_with_bounded_models() {
        let m = Metrics::new();
        m.record_llm("openai", "m0", 5, 7, Some(Duration::from_millis(120)));
        for i in 0..MAX_MODELS + 1 {
            m.record_llm("openai", &format!("x{i}"), 1, 0, None);
        }
        let text = m.encode();
        for line in [
            r#"avb_llm_tokens_total{backend="openai",model="m0",type="input"} 5"#,
            r#"avb_llm_tokens_total{backend="openai",model="m0",type="output"} 7"#,
            r#"avb_llm_time_to_first_token_seconds_count{backend="openai",model="m0"} 1"#,
            r#"avb_llm_tokens_total{backend="openai",model="other",type="input"} 2"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }
}
