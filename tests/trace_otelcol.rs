//! OTLP export (feature `otlp`) against a real OpenTelemetry Collector: `avb::trace::init_otlp` sends the
//! spans of a publish and its delivery on the memory bus to the collector that `scripts/services up otelcol`
//! builds from the upstream Go modules (`scripts/services.d/otelcol/`: the core OTLP receiver, and an exporter
//! appending each batch to a file as one line of OTLP/JSON). The test parses that file and checks what the
//! collector decoded: `service.name`, the span names, and the publish → receive parentage.
//!
//! The exporter has no queue, so the collector writes a batch before it answers the export request: once
//! `flush()` has returned, the spans are in the file (no polling, no timing).
//!
//! Server: `AVB_TEST_OTELCOL_URL` (OTLP/HTTP) and `AVB_TEST_OTELCOL_TRACES` (the output file), from
//! `scripts/services env`; without them the test skips with the reason, under `AVB_TEST_REQUIRE_LIVE=1` it
//! fails. tests/trace_otlp.rs checks the wire format without a server (a receiver in the test).

#![cfg(all(feature = "otlp", feature = "testing"))]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/otlp_export.rs"]
mod otlp_export;

use serde_json::Value;

/// One span as the collector wrote it (OTLP/JSON: ids in lowercase hex, empty parent for a root).
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: Vec<(String, Value)>,
}

impl Span {
    fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `[{"key": k, "value": {"stringValue": …}}]` → `(k, the inner value)`.
fn attributes(list: Option<&Value>) -> Vec<(String, Value)> {
    let Some(list) = list.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|a| {
            let value = a
                .get("value")
                .and_then(Value::as_object)
                .and_then(|o| o.values().next().cloned())
                .unwrap_or(Value::Null);
            (str_field(a, "key"), value)
        })
        .collect()
}

/// Every span of every line of the collector's output (each line an `ExportTraceServiceRequest` in OTLP/JSON).
fn parse_output(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let request: Value = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!("line {} of the collector's output is not JSON: {e}", n + 1)
        });
        for rs in request["resourceSpans"].as_array().into_iter().flatten() {
            let resource = attributes(rs.pointer("/resource/attributes"));
            let service = resource
                .iter()
                .find(|(k, _)| k == "service.name")
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
                .to_string();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    spans.push(Span {
                        service: service.clone(),
                        name: str_field(s, "name"),
                        trace_id: str_field(s, "traceId"),
                        span_id: str_field(s, "spanId"),
                        parent_span_id: str_field(s, "parentSpanId"),
                        attributes: attributes(s.get("attributes")),
                    });
                }
            }
        }
    }
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_collector_receives_the_spans_with_the_trace_across_the_bus() {
    let Some(url) = avb::testing::live_server("AVB_TEST_OTELCOL_URL") else {
        return;
    };
    let Some(out) = avb::testing::harness_value("AVB_TEST_OTELCOL_TRACES") else {
        return;
    };
    // The collector's file holds every run since it started: this run's spans carry a service name of its own.
    let service = format!(
        "trace-otelcol-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );

    otlp_export::export_a_publish_and_its_delivery(url, &service, "otelcol").await;

    let text = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("AVB_TEST_OTELCOL_TRACES={out}: {e}"));
    let ours: Vec<Span> = parse_output(&text)
        .into_iter()
        .filter(|s| s.service == service)
        .collect();
    assert!(
        !ours.is_empty(),
        "the collector wrote no span of service.name={service} to {out}"
    );
    let find = |name: &str| {
        ours.iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no {name} span among {:?}",
                    ours.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            })
            .clone()
    };
    let (request, publish, receive) = (find("request"), find("publish"), find("receive"));
    assert_eq!(request.trace_id.len(), 32, "{request:?}");
    assert_eq!(request.parent_span_id, "", "the request span is a root");
    assert_eq!(publish.parent_span_id, request.span_id);
    assert_eq!(
        receive.parent_span_id, publish.span_id,
        "the consumer span's parent is the publish span"
    );
    assert_eq!(publish.trace_id, request.trace_id);
    assert_eq!(receive.trace_id, request.trace_id);
    assert_eq!(
        publish
            .attribute("messaging.system")
            .and_then(Value::as_str),
        Some("memory")
    );
    // The port call's own span, named <port>.<operation>, inside the publish span.
    let op = find("event_bus.publish");
    assert_eq!(op.parent_span_id, publish.span_id);
    assert_eq!(op.trace_id, request.trace_id);
}

#[test]
fn the_output_parser_reads_otlp_json_and_rejects_what_is_not() {
    let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","parentSpanId":"1112131415161718","name":"s","kind":1,"attributes":[{"key":"n","value":{"intValue":"7"}}],"status":{}}]}]}]}"#;
    let spans = parse_output(&format!("{line}\n\n{line}\n"));
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].service, "svc");
    assert_eq!(spans[0].trace_id, "0102030405060708090a0b0c0d0e0f10");
    assert_eq!(spans[0].parent_span_id, "1112131415161718");
    assert_eq!(spans[0].attribute("n"), Some(&Value::from("7")));
    let bad = std::panic::catch_unwind(|| parse_output("{not json"));
    assert!(
        bad.is_err(),
        "a broken line is a failure, not an empty result"
    );
}
