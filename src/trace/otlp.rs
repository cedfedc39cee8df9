//! OpenTelemetry glue (feature `otlp`): the trace context of a `tracing` span, a remote parent, and
//! [`init_otlp`] (a `tracing` subscriber exporting every span over OTLP/HTTP with protobuf bodies).

use super::TraceContext;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// The OpenTelemetry context of `span`, when an OpenTelemetry layer records it.
pub(crate) fn span_context(span: &tracing::Span) -> Option<TraceContext> {
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let sc = context.span().span_context().clone();
    if !sc.is_valid() {
        return None;
    }
    let state = sc.trace_state().header();
    Some(TraceContext {
        trace_id: sc.trace_id().to_bytes(),
        span_id: sc.span_id().to_bytes(),
        flags: sc.trace_flags().to_u8(),
        state: (!state.is_empty()).then_some(state),
    })
}

/// Makes `remote` the parent of `span` (before it starts). Without an OpenTelemetry layer this does
/// nothing (the ids are recorded as fields by the caller).
pub(crate) fn set_remote_parent(span: &tracing::Span, remote: &TraceContext) {
    let state = remote
        .state
        .as_deref()
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    let sc = SpanContext::new(
        TraceId::from_bytes(remote.trace_id),
        SpanId::from_bytes(remote.span_id),
        TraceFlags::new(remote.flags),
        true,
        state,
    );
    let parent = opentelemetry::Context::new().with_remote_span_context(sc);
    if let Err(e) = span.set_parent(parent) {
        tracing::debug!(error = %e, "could not set the remote parent of a consumer span");
    }
}

/// Why [`init_otlp`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OtlpError {
    /// The endpoint is not an `http://` or `https://` URL.
    Endpoint {
        /// The endpoint given.
        endpoint: String,
        /// Why it was refused.
        reason: String,
    },
    /// The exporter could not be built.
    Exporter(String),
    /// A global `tracing` subscriber is already installed.
    AlreadyInstalled,
}

impl std::fmt::Display for OtlpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OtlpError::Endpoint { endpoint, reason } => write!(
                f,
                "OTEL_EXPORTER_OTLP_ENDPOINT={endpoint:?} is invalid: {reason} (expected an http:// or https:// URL, e.g. http://127.0.0.1:4318)"
            ),
            OtlpError::Exporter(e) => write!(f, "the OTLP exporter could not be built: {e}"),
            OtlpError::AlreadyInstalled => {
                f.write_str("a global tracing subscriber is already installed")
            }
        }
    }
}

impl std::error::Error for OtlpError {}

/// Keeps the exporter running; dropping it (or [`OtlpGuard::shutdown`]) flushes the spans not yet sent.
#[derive(Debug)]
pub struct OtlpGuard {
    provider: SdkTracerProvider,
}

impl OtlpGuard {
    /// Sends the spans not yet sent and stops the exporter.
    pub fn shutdown(self) {
        // Drop does it.
    }

    /// Sends the spans finished so far.
    pub fn flush(&self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::debug!(error = %e, "flushing the OTLP exporter failed");
        }
    }
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::debug!(error = %e, "stopping the OTLP exporter failed");
        }
    }
}

/// The tracer provider exporting to `endpoint` (the base URL, e.g. `http://127.0.0.1:4318`; spans go to
/// `<endpoint>/v1/traces`, OTLP/HTTP with protobuf bodies), batching in a background thread, with
/// `service.name` = `service`.
pub(crate) fn provider(endpoint: &str, service: &str) -> Result<SdkTracerProvider, OtlpError> {
    use opentelemetry_otlp::WithExportConfig;
    let url = url::Url::parse(endpoint).map_err(|e| OtlpError::Endpoint {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OtlpError::Endpoint {
            endpoint: endpoint.to_string(),
            reason: format!("scheme {:?}", url.scheme()),
        });
    }
    let traces = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces)
        .build()
        .map_err(|e| OtlpError::Exporter(e.to_string()))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service.to_string())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Installs a global `tracing` subscriber that exports every span (avb's and the service's) to the OTLP
/// receiver at `endpoint` — the value of `OTEL_EXPORTER_OTLP_ENDPOINT` ([`crate::config::Config::otlp_endpoint`]),
/// e.g. `http://127.0.0.1:4318` — as service `service`. Keep the guard for the life of the process.
///
/// To combine export with your own layers (a log formatter, a filter), build the layer yourself with
/// `tracing-opentelemetry`; avb's spans need nothing more than an OpenTelemetry layer to be exported.
pub fn init_otlp(endpoint: &str, service: &str) -> Result<OtlpGuard, OtlpError> {
    // The blocking HTTP client starts a runtime of its own, which must not happen on a thread that runs
    // an async runtime (a service calls this from `main` under `#[tokio::main]`): build it on another.
    let (endpoint, service) = (endpoint.to_string(), service.to_string());
    let provider = std::thread::spawn(move || provider(&endpoint, &service))
        .join()
        .map_err(|_| OtlpError::Exporter("building the exporter panicked".into()))??;
    let tracer = provider.tracer("avb");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber).map_err(|_| OtlpError::AlreadyInstalled)?;
    Ok(OtlpGuard { provider })
}
