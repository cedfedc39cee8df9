//! OTLP export (feature `otlp`): `avb::trace::init_otlp` sends the spans of a publish, its delivery and a
//! port call to an OTLP/HTTP receiver. The receiver lives in this test: a plain HTTP/1.1 listener that
//! decodes each `POST /v1/traces` body as an `ExportTraceServiceRequest` (protobuf, `opentelemetry-proto`),
//! so the wire format is checked in every run without a server. tests/trace_otelcol.rs exports to a real
//! OpenTelemetry Collector (`scripts/services up otelcol`); see docs/observability.md.

#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/otlp_export.rs"]
mod otlp_export;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Requests received: (path, content type, decoded body).
type Received = Arc<Mutex<Vec<(String, String, ExportTraceServiceRequest)>>>;

/// Serves one HTTP/1.1 connection: reads requests, decodes their protobuf bodies, answers 200.
async fn serve(stream: tokio::net::TcpStream, received: Received) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut h = String::new();
            read.read_line(&mut h).await.unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        read.read_exact(&mut body).await.unwrap();
        let decoded = ExportTraceServiceRequest::decode(&body[..]).expect("an OTLP protobuf body");
        received.lock().unwrap().push((path, content_type, decoded));
        write
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            Value::IntValue(i) => Some(i.to_string()),
            other => Some(format!("{other:?}")),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_receiver_with_the_trace_across_the_bus() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let r = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, r.clone()));
        }
    });

    otlp_export::export_a_publish_and_its_delivery(
        format!("http://{addr}"),
        "trace-otlp-test",
        "otlp",
    )
    .await;

    let got = received.lock().unwrap().clone();
    assert!(!got.is_empty(), "the receiver got nothing");
    for (path, content_type, _) in &got {
        assert_eq!(path, "/v1/traces");
        assert_eq!(content_type, "application/x-protobuf");
    }
    let mut spans = Vec::new();
    for (_, _, request) in &got {
        for rs in &request.resource_spans {
            let resource = rs.resource.as_ref().unwrap();
            let service = resource
                .attributes
                .iter()
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.clone())
                .and_then(|v| v.value);
            assert!(
                format!("{service:?}").contains("trace-otlp-test"),
                "{service:?}"
            );
            for ss in &rs.scope_spans {
                spans.extend(ss.spans.iter().cloned());
            }
        }
    }
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no {name} span among {:?}",
                    spans.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            })
            .clone()
    };
    let (request, publish, receive) = (find("request"), find("publish"), find("receive"));
    assert_eq!(publish.parent_span_id, request.span_id);
    assert_eq!(
        receive.parent_span_id, publish.span_id,
        "the consumer span's parent is the publish span"
    );
    assert_eq!(receive.trace_id, request.trace_id);
    assert_eq!(
        attribute(&publish, "messaging.system").as_deref(),
        Some("memory")
    );
    // The port call's own span, named <port>.<operation>, inside the publish span.
    let op = find("event_bus.publish");
    assert_eq!(op.parent_span_id, publish.span_id);
    assert_eq!(attribute(&op, "avb.operation").as_deref(), Some("publish"));
}

#[test]
fn a_bad_endpoint_is_refused_naming_the_variable_without_its_credentials() {
    for bad in [
        "ftp://collector:4318",
        "not a url",
        "http://user:pw-secret@collector:4318",
        "http://collector:4318/?api_key=pw-secret",
    ] {
        let err = avb::config::Config::from_iter([("OTEL_EXPORTER_OTLP_ENDPOINT", bad)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{err}");
        assert!(!err.contains("pw-secret"), "{err}");
    }
    let ok = avb::config::Config::from_iter(Vec::<(String, String)>::new()).unwrap();
    assert_eq!(ok.otlp_endpoint, None);
}
