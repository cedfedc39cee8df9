//! Traces: a `tracing` span for every port operation, W3C trace context carried publisher → consumer in
//! the EventBus message headers on every backend, and (feature `otlp`) export over OTLP. Span names and
//! attributes: `docs/observability.md`.
//!
//! - **Default build** (no OpenTelemetry): [`TraceContext`] parses and formats `traceparent` without
//!   dependencies. A publish keeps a `traceparent` the caller set, or starts one (a new trace, the producer
//!   span's id as parent) and records `trace_id`/`span_id` on the `publish` span; a delivery's `receive`
//!   span records the `trace_id` and `parent_span_id` it carries. A handler continues the trace in its
//!   own messages with [`TraceContext::from_headers`] + [`TraceContext::child`] + [`TraceContext::inject`].
//! - **Feature `otlp`** with an OpenTelemetry layer installed ([`init_otlp`], or your own
//!   `tracing-opentelemetry` layer): the `publish` span is a child of the current span and its context is
//!   what the message carries; the `receive` span (and [`delivery_span`]) has the remote context as parent.
//!
//! A malformed `traceparent` from the wire is ignored with a debug log: the delivery is handed out anyway,
//! its span starts a new trace.

mod context;
#[cfg(feature = "otlp")]
mod otlp;

pub use context::{MAX_TRACESTATE, TRACEPARENT, TRACESTATE, TraceContext, TraceParentError};
#[cfg(feature = "otlp")]
pub use otlp::{OtlpError, OtlpGuard, init_otlp};

use avb_event_bus::Delivery;
use tracing::field::Empty;

/// The context a publish under `span` (the `publish` span) carries: the OpenTelemetry context of `span`
/// when an OpenTelemetry layer records it (feature `otlp`), otherwise a new trace whose parent span is
/// `span` (its ids recorded on it).
pub(crate) fn producer_context(span: &tracing::Span) -> TraceContext {
    #[cfg(feature = "otlp")]
    if let Some(c) = otlp::span_context(span) {
        span.record("trace_id", c.trace_id_hex());
        span.record("span_id", c.span_id_hex());
        return c;
    }
    let c = TraceContext::new_root();
    span.record("trace_id", c.trace_id_hex());
    span.record("span_id", c.span_id_hex());
    c
}

/// Makes `span` a child of the context `delivery`'s message carries (if it carries a valid one) and
/// records its `trace_id` and `parent_span_id`.
fn continue_remote(span: &tracing::Span, delivery: &Delivery) {
    if span.is_disabled() {
        return;
    }
    let Some(remote) = TraceContext::from_headers(&delivery.message().headers) else {
        return;
    };
    span.record("trace_id", remote.trace_id_hex());
    span.record("parent_span_id", remote.span_id_hex());
    #[cfg(feature = "otlp")]
    otlp::set_remote_parent(span, &remote);
    #[cfg(not(feature = "otlp"))]
    let _ = remote;
}

/// The `receive` span of one delivery (kind consumer), opened and closed by the instrumented bus when it
/// hands the delivery out.
pub(crate) fn receive_span(backend: &'static str, delivery: &Delivery) -> tracing::Span {
    let span = tracing::info_span!(
        "receive",
        otel.kind = "consumer",
        messaging.system = backend,
        messaging.operation.type = "receive",
        messaging.destination.name = %delivery.topic(),
        messaging.consumer.group.name = delivery.group(),
        messaging.message.id = delivery.message_id().as_str(),
        messaging.delivery.attempt = delivery.attempt(),
        trace_id = Empty,
        parent_span_id = Empty,
    );
    continue_remote(&span, delivery);
    span
}

/// A `process` span (kind consumer) for a handler's work on `delivery`, a child of the context its
/// publisher sent: instrument the handler with it (`handle(d).instrument(avb::trace::delivery_span(&d))`)
/// and whatever it calls (a publish included) joins the publisher's trace.
pub fn delivery_span(delivery: &Delivery) -> tracing::Span {
    let span = tracing::info_span!(
        "process",
        otel.kind = "consumer",
        messaging.operation.type = "process",
        messaging.destination.name = %delivery.topic(),
        messaging.consumer.group.name = delivery.group(),
        messaging.message.id = delivery.message_id().as_str(),
        messaging.delivery.attempt = delivery.attempt(),
        trace_id = Empty,
        parent_span_id = Empty,
    );
    continue_remote(&span, delivery);
    span
}
