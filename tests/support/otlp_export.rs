//! The traffic both OTLP export tests send (tests/trace_otlp.rs to a receiver inside the test,
//! tests/trace_otelcol.rs to a real collector): one publish under a `request` span and its delivery on the
//! memory bus behind the metered layer, exported by `avb::trace::init_otlp`.

use avb::event_bus::{EventBus, Message, StartPosition, Topic};
use avb::layers::{Direct, Layer, metered::MeteredLayer};
use std::sync::Arc;
use tracing::Instrument;

/// Installs the exporter for `url` — read as a service gets it, `OTEL_EXPORTER_OTLP_ENDPOINT` through the
/// configuration — as `service`; publishes and consumes one message in workspace `workspace`; then flushes
/// and stops the exporter, so every span has been sent when this returns.
pub async fn export_a_publish_and_its_delivery(url: String, service: &str, workspace: &str) {
    let config = avb::config::Config::from_iter([("OTEL_EXPORTER_OTLP_ENDPOINT", url)]).unwrap();
    let endpoint = config.otlp_endpoint.clone().expect("the endpoint is read");
    let guard = avb::trace::init_otlp(endpoint.expose().as_str(), service).unwrap();

    let inner: Arc<dyn EventBus> = Arc::new(
        avb::event_bus::memory::MemoryBus::builder()
            .build()
            .unwrap(),
    );
    let metrics = Arc::new(avb::metrics::Metrics::new());
    let bus = avb::instrument::InstrumentedBus::new(
        inner,
        MeteredLayer::new(metrics, "event_bus", "memory").layer(Direct),
    );
    let topic = Topic::new(&avb::WorkspaceId::new(workspace).unwrap(), "orders").unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new(&b"hello"[..]))
        .instrument(tracing::info_span!("request"))
        .await
        .unwrap();
    let d = sub.next().await.unwrap().unwrap();
    d.ack().await.unwrap();
    // The blocking HTTP client must not run (nor be dropped) on a runtime thread.
    tokio::task::spawn_blocking(move || {
        guard.flush();
        drop(guard);
    })
    .await
    .unwrap();
}
