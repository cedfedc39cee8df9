//! W3C trace context across every bus: one test body, run on memory, Redis, Kafka and Pulsar (each live
//! backend against the harness's server; `AVB_TEST_REQUIRE_LIVE=1` makes a missing server a failure).
//! A publish under a span injects `traceparent`; the consumer's `receive` span carries the same trace id
//! with the publisher's span as parent (checked on the recorded span fields, and — feature `otlp` — on the
//! OpenTelemetry spans as exported). The same run checks the delivery metrics: a nacked message comes back
//! with attempt 2 and moves `avb_event_bus_redeliveries_total`; a second body nacks a message on its last
//! attempt and checks `avb_event_bus_dead_lettered_total` against the dead-letter topic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/trace_capture.rs"]
mod trace_capture;

use avb::event_bus::{Delivery, EventBus, Message, Settings, StartPosition, Subscription, Topic};
use avb::layers::{Direct, Layer, metered::MeteredLayer};
use avb::metrics::Metrics;
use avb::trace::TraceContext;
use std::sync::Arc;
use std::time::Duration;
use trace_capture::Captured;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

fn settings() -> Settings {
    Settings {
        ack_timeout: Duration::from_secs(5),
        max_attempts: 5,
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        drain_timeout: Duration::from_secs(1),
        ..Settings::default()
    }
}

/// A safety net against a hang (not an assertion on time): a broker that never delivers fails the test.
async fn next(sub: &mut Subscription) -> Delivery {
    tokio::time::timeout(Duration::from_secs(60), sub.next())
        .await
        .expect("a delivery within 60 s")
        .expect("the subscription is open")
        .expect("a delivery, not an error")
}

/// The one body every backend runs.
async fn trace_crosses_the_bus(inner: Arc<dyn EventBus>) {
    let backend = inner.backend();
    let metrics = Arc::new(Metrics::new());
    let bus = avb::instrument::InstrumentedBus::new(
        inner,
        MeteredLayer::new(metrics.clone(), "event_bus", backend).layer(Direct),
    )
    .with_metrics(metrics.clone());

    let captured = Captured::default();
    #[cfg(feature = "otlp")]
    let (exporter, provider) = {
        let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        (exporter, provider)
    };
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    #[cfg(feature = "otlp")]
    let subscriber = subscriber.with(tracing_opentelemetry::layer().with_tracer(
        opentelemetry::trace::TracerProvider::tracer(&provider, "trace_bus"),
    ));
    let _default = tracing::subscriber::set_default(subscriber);

    let ws = avb::WorkspaceId::new("trace").unwrap();
    let name = format!("trace-{}", uuid::Uuid::new_v4().simple());
    let topic = Topic::new(&ws, name.clone()).unwrap();
    let mut sub = bus
        .subscribe(&topic, "readers", StartPosition::Earliest)
        .await
        .unwrap();

    let request = tracing::info_span!("request");
    bus.publish(&topic, Message::new(&b"traced"[..]))
        .instrument(request.clone())
        .await
        .unwrap();
    // A caller's own traceparent is kept as it is.
    let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    bus.publish(
        &topic,
        Message::new(&b"own"[..]).with_header("traceparent", own),
    )
    .await
    .unwrap();

    let d = next(&mut sub).await;
    assert_eq!(&d.message().payload[..], b"traced", "{backend}");
    let in_flight =
        format!(r#"avb_event_bus_in_flight_deliveries{{backend="{backend}",topic="{name}"}}"#);
    assert!(
        metrics.encode().contains(&format!("{in_flight} 1")),
        "{backend}: one delivery in flight\n{}",
        metrics.encode()
    );
    let sent = TraceContext::from_headers(&d.message().headers).unwrap_or_else(|| {
        panic!(
            "{backend}: no valid traceparent in {:?}",
            d.message().headers
        )
    });

    let publish = captured
        .spans_named("publish")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{backend}: no publish span"));
    assert_eq!(
        publish.parent,
        request.id().map(|i| i.into_u64()),
        "{backend}: publish is a child of the caller's span"
    );
    assert_eq!(publish.fields["trace_id"], sent.trace_id_hex(), "{backend}");
    assert_eq!(
        publish.fields["span_id"],
        sent.span_id_hex(),
        "{backend}: the header names the publish span as parent"
    );
    assert_eq!(publish.fields["messaging.system"], backend);

    let receive = captured.spans_named("receive");
    let receive = receive
        .first()
        .unwrap_or_else(|| panic!("{backend}: no receive span"));
    assert_eq!(
        receive.fields["trace_id"],
        sent.trace_id_hex(),
        "{backend}: same trace on the consumer side"
    );
    assert_eq!(
        receive.fields["parent_span_id"],
        sent.span_id_hex(),
        "{backend}: the publisher's span is the parent"
    );
    assert_eq!(receive.fields["messaging.delivery.attempt"], "1");

    // A redelivery: attempt 2, counted.
    d.nack(Duration::ZERO, "once more").await.unwrap();
    let mut seen_own = false;
    let again = loop {
        let d = next(&mut sub).await;
        if &d.message().payload[..] == b"own" {
            assert_eq!(
                d.message().headers["traceparent"],
                own,
                "{backend}: the caller's traceparent is kept"
            );
            seen_own = true;
            d.ack().await.unwrap();
            continue;
        }
        break d;
    };
    assert_eq!(again.attempt(), 2, "{backend}");
    again.ack().await.unwrap();
    if !seen_own {
        let d = next(&mut sub).await;
        assert_eq!(d.message().headers["traceparent"], own, "{backend}");
        d.ack().await.unwrap();
    }
    let text = metrics.encode();
    for line in [
        format!(r#"avb_event_bus_deliveries_total{{backend="{backend}",topic="{name}"}} 3"#),
        format!(r#"avb_event_bus_redeliveries_total{{backend="{backend}",topic="{name}"}} 1"#),
        format!("{in_flight} 0"),
    ] {
        assert!(
            text.contains(&line),
            "{backend}: missing {line:?} in\n{text}"
        );
    }

    #[cfg(feature = "otlp")]
    {
        drop(request);
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        let find = |n: &str| {
            spans
                .iter()
                .find(|s| s.name == n)
                .unwrap_or_else(|| panic!("{backend}: no exported {n} span in {spans:#?}"))
        };
        let (request, publish) = (find("request"), find("publish"));
        let receive = spans
            .iter()
            .find(|s| s.name == "receive" && s.parent_span_id == publish.span_context.span_id())
            .unwrap_or_else(|| {
                panic!("{backend}: no receive span with the publish span as parent: {spans:#?}")
            });
        assert_eq!(
            publish.parent_span_id,
            request.span_context.span_id(),
            "{backend}"
        );
        assert_eq!(
            publish.span_context.trace_id(),
            request.span_context.trace_id(),
            "{backend}"
        );
        assert_eq!(
            receive.span_context.trace_id(),
            publish.span_context.trace_id(),
            "{backend}"
        );
        assert!(receive.parent_span_is_remote, "{backend}");
        assert_eq!(
            format!("{:032x}", publish.span_context.trace_id()),
            sent.trace_id_hex()
        );
    }
    drop(sub);
    bus.close().await.unwrap();
}

/// The second body every backend runs: a message nacked on its last attempt is dead-lettered, and
/// `avb_event_bus_dead_lettered_total` counts it (the message is then read from the dead-letter topic, so
/// the count is not a guess).
async fn dead_lettering_is_counted(inner: Arc<dyn EventBus>, max_attempts: u32) {
    let backend = inner.backend();
    let metrics = Arc::new(Metrics::new());
    let bus = avb::instrument::InstrumentedBus::new(
        inner,
        MeteredLayer::new(metrics.clone(), "event_bus", backend).layer(Direct),
    )
    .with_metrics(metrics.clone())
    .with_max_attempts(max_attempts);
    let ws = avb::WorkspaceId::new("trace").unwrap();
    let name = format!("dlq-{}", uuid::Uuid::new_v4().simple());
    let topic = Topic::new(&ws, name.clone()).unwrap();
    let mut dead = bus
        .subscribe(&topic.dead_letter(), "dlq", StartPosition::Earliest)
        .await
        .unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let m = Message::new(&b"poison"[..]);
    bus.publish(&topic, m.clone()).await.unwrap();
    let counted =
        format!(r#"avb_event_bus_dead_lettered_total{{backend="{backend}",topic="{name}"}}"#);
    for attempt in 1..=max_attempts {
        let d = next(&mut sub).await;
        assert_eq!(d.attempt(), attempt, "{backend}");
        assert!(
            metrics.encode().contains(&format!("{counted} 0")),
            "{backend}: nothing dead-lettered before the last nack\n{}",
            metrics.encode()
        );
        d.nack(Duration::ZERO, "poison").await.unwrap();
    }
    let text = metrics.encode();
    assert!(text.contains(&format!("{counted} 1")), "{backend}\n{text}");
    let d = next(&mut dead).await;
    assert_eq!(
        d.message_id(),
        &m.id,
        "{backend}: the counted message is in the dead-letter topic"
    );
    d.ack().await.unwrap();
    drop((sub, dead));
    bus.close().await.unwrap();
}

/// Dead-lettering settings: two attempts, short backoff.
fn dlq_settings() -> Settings {
    Settings {
        max_attempts: 2,
        ..settings()
    }
}

#[cfg(feature = "event-bus-memory")]
fn memory(s: Settings) -> Arc<dyn EventBus> {
    Arc::new(
        avb::event_bus::memory::MemoryBus::builder()
            .with_settings(s)
            .build()
            .unwrap(),
    )
}

#[cfg(feature = "event-bus-memory")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_carries_the_trace() {
    trace_crosses_the_bus(memory(settings())).await;
    dead_lettering_is_counted(memory(dlq_settings()), 2).await;
}

#[cfg(feature = "event-bus-redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_carries_the_trace() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let redis = |s: Settings| -> Arc<dyn EventBus> {
        Arc::new(
            avb::event_bus::redis::RedisBus::builder()
                .with_url(&url)
                .with_settings(s)
                .with_claim_interval(Duration::from_millis(50))
                .build()
                .unwrap(),
        )
    };
    trace_crosses_the_bus(redis(settings())).await;
    dead_lettering_is_counted(redis(dlq_settings()), 2).await;
}

#[cfg(feature = "event-bus-kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_carries_the_trace() {
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let kafka = |s: Settings| -> Arc<dyn EventBus> {
        Arc::new(
            avb::event_bus::kafka::KafkaBus::builder()
                .with_bootstrap_servers([&bootstrap])
                .with_settings(s)
                .build()
                .unwrap(),
        )
    };
    trace_crosses_the_bus(kafka(settings())).await;
    dead_lettering_is_counted(kafka(dlq_settings()), 2).await;
}

#[cfg(feature = "event-bus-pulsar")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulsar_carries_the_trace() {
    let Some(url) = avb::testing::live_server("AVB_TEST_PULSAR_URL") else {
        return;
    };
    let Some(admin) = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL") else {
        return;
    };
    let pulsar = |s: Settings| -> Arc<dyn EventBus> {
        Arc::new(
            avb::event_bus::pulsar::PulsarBus::builder()
                .with_url(&url)
                .with_admin_url(&admin)
                .with_tenant("avb-test")
                .with_settings(s)
                .build()
                .unwrap(),
        )
    };
    trace_crosses_the_bus(pulsar(settings())).await;
    dead_lettering_is_counted(pulsar(dlq_settings()), 2).await;
}

/// The in-flight gauge follows batches and drops too: three handed out at once count 3, `ack_all` settles
/// them in one call and the gauge is back to 0; a dropped delivery leaves the gauge and comes back.
#[cfg(feature = "event-bus-memory")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_follows_batches_and_drops() {
    let metrics = Arc::new(Metrics::new());
    let inner: Arc<dyn EventBus> = Arc::new(
        avb::event_bus::memory::MemoryBus::builder()
            .with_settings(settings())
            .build()
            .unwrap(),
    );
    let bus = avb::instrument::InstrumentedBus::new(
        inner,
        MeteredLayer::new(metrics.clone(), "event_bus", "memory").layer(Direct),
    )
    .with_metrics(metrics.clone());
    let topic = Topic::new(&avb::WorkspaceId::new("trace").unwrap(), "batched").unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let messages = (0..4u8).map(|i| Message::new(vec![i])).collect();
    bus.publish_batch(&topic, messages).await.unwrap();
    let gauge = |n: u32| {
        format!(r#"avb_event_bus_in_flight_deliveries{{backend="memory",topic="batched"}} {n}"#)
    };
    let mut batch = Vec::new();
    while batch.len() < 3 {
        batch.extend(sub.next_batch(3 - batch.len()).await.unwrap().unwrap());
    }
    assert!(metrics.encode().contains(&gauge(3)), "{}", metrics.encode());
    Delivery::ack_all(&batch).await.unwrap();
    assert!(metrics.encode().contains(&gauge(0)), "{}", metrics.encode());
    // Acking again is refused as on the backend's own deliveries.
    assert!(batch[0].ack().await.is_err());
    let d = next(&mut sub).await;
    assert_eq!(d.attempt(), 1);
    assert!(metrics.encode().contains(&gauge(1)));
    drop(d);
    assert!(metrics.encode().contains(&gauge(0)), "{}", metrics.encode());
    let again = next(&mut sub).await;
    assert_eq!(
        (again.attempt(), &again.message().payload[..]),
        (2, &[3u8][..])
    );
    again.ack().await.unwrap();
    let text = metrics.encode();
    assert!(text.contains(&gauge(0)), "{text}");
    assert!(
        text.contains(r#"avb_event_bus_redeliveries_total{backend="memory",topic="batched"} 1"#),
        "{text}"
    );
    bus.close().await.unwrap();
}

/// A malformed `traceparent` the publisher set is passed on untouched (it is the caller's header) and the
/// consumer side ignores it: the delivery is handed out, its `receive` span links to no remote parent.
#[cfg(feature = "event-bus-memory")]
#[tokio::test]
async fn a_malformed_traceparent_is_passed_on_and_ignored() {
    let inner: Arc<dyn EventBus> = Arc::new(
        avb::event_bus::memory::MemoryBus::builder()
            .with_settings(settings())
            .build()
            .unwrap(),
    );
    let metrics = Arc::new(Metrics::new());
    let bus = avb::instrument::InstrumentedBus::new(
        inner,
        MeteredLayer::new(metrics.clone(), "event_bus", "memory").layer(Direct),
    )
    .with_metrics(metrics);
    let captured = Captured::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    let topic = Topic::new(&avb::WorkspaceId::new("trace").unwrap(), "malformed").unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let bad = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    bus.publish(
        &topic,
        Message::new(&b"x"[..]).with_header("traceparent", bad),
    )
    .await
    .unwrap();
    let d = next(&mut sub).await;
    assert_eq!(d.message().headers["traceparent"], bad);
    let receive = captured.spans_named("receive");
    assert_eq!(receive.len(), 1);
    assert!(!receive[0].fields.contains_key("trace_id"), "{receive:?}");
    assert!(
        !receive[0].fields.contains_key("parent_span_id"),
        "{receive:?}"
    );
    let debug = captured.events.lock().unwrap().clone();
    assert!(
        debug.iter().any(|e| e
            .get("message")
            .is_some_and(|m| m.contains("malformed traceparent"))),
        "{debug:?}"
    );
    d.ack().await.unwrap();
}

/// The Platform's bus counts dead-lettering with the configured `EVENT_BUS_MAX_ATTEMPTS`, and a publish
/// under a span carries the trace — a service gets both without wiring anything.
#[cfg(feature = "event-bus-memory")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_bus_counts_dead_lettering_with_the_configured_attempts() {
    let platform = avb::Platform::from_pairs([
        ("EVENT_BUS_MAX_ATTEMPTS", "1"),
        ("EVENT_BUS_RETRY_MIN_MS", "10"),
    ])
    .await
    .unwrap();
    let bus = platform.ports().event_bus().clone();
    let topic = Topic::new(&avb::WorkspaceId::new("trace").unwrap(), "platform").unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new(&b"once"[..]))
        .await
        .unwrap();
    let d = next(&mut sub).await;
    d.nack(Duration::ZERO, "no").await.unwrap();
    let text = platform.metrics().encode();
    for line in [
        r#"avb_event_bus_dead_lettered_total{backend="memory",topic="platform"} 1"#,
        r#"avb_event_bus_deliveries_total{backend="memory",topic="platform"} 1"#,
        r#"avb_event_bus_in_flight_deliveries{backend="memory",topic="platform"} 0"#,
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}
