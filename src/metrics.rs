//! Metrics of the ports, in Prometheus' text format (`GET /metrics` of [`crate::http`]):
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `avb_<port>_operations_total` | `backend`, `operation`, `result` (`ok` or the error class: `retryable`, `not_found`, …) | calls of each port operation |
//! | `avb_<port>_operation_duration_seconds` | `backend`, `operation` | their latency (histogram, 100 µs … 26 s) |
//! | `avb_auth_decisions_total` | `backend`, `decision` (`accepted`, or the refusal's class) | every token the Auth port judged |
//! | `avb_event_bus_publish_failures_total` | `backend`, `class` | publishes (single or batch) that failed |
//!
//! Counts are exact; latency is timed on one call in [`SAMPLE_EVERY`] per thread, so the clock is not read
//! twice on every sub-microsecond call.
//!
//! `<port>` is `event_bus`, `auth`, `object_store`, `catalog` or `llm`. The [`crate::Platform`] records every
//! port into one [`Metrics`] through the metered layer ([`crate::layers::metered`]); the LLM's `chat_stream`
//! latency is its time to the first token.

use avb_core::ErrorClass;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// One call in this many (per thread) is timed for the latency histograms.
pub const SAMPLE_EVERY: u32 = 16;

/// The ports, as metric names spell them.
pub const PORTS: [&str; 5] = ["event_bus", "auth", "object_store", "catalog", "llm"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    backend: String,
    operation: String,
    result: String,
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

type Latency = Family<LatencyLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 10))
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
        Self {
            registry,
            operations,
            latency,
            auth_decisions,
            publish_failures,
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
}
