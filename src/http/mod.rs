//! The HTTP surface of a [`Platform`] (feature `http`, axum): mount [`router`] into the service's router.
//!
//! | route | answer |
//! |---|---|
//! | `GET /health` | the health report: `{"status": "healthy"\|"degraded"\|"unhealthy", "mode", "environment", "components": {<port>: {"status", "backend", "reason"?}}}`; HTTP 200, or 503 when unhealthy |
//! | `GET /ready` | readiness: the same report; 200 only while every used port is up and no shutdown has started, else 503 |
//! | `GET /api/v2/system/dev-mode` | `{"mode", "environment", "switchable", "features": {<port>: {"backend", "summary"}}}` |
//! | `POST /api/v2/system/dev-mode` | body `{"mode": "sandbox"\|"live"}`: switches the mode ([`Platform::switch_mode`]) and answers like `GET`. 403 outside `development`; unless auth is `none`, a bearer token the current Auth port accepts with role `owner` or `admin` (401 without a valid one, 403 without the role); 415 unless `Content-Type: application/json` (no cross-site form post can switch); 400 for a body or mode it cannot read (naming the allowed values); 422 when the new mode's configuration is invalid or its ports cannot be built (its problems listed; nothing changed) |
//! | `GET /metrics` | Prometheus/OpenMetrics text of [`crate::metrics`] |
//! | `GET /console` | the dev console (development only, else 404): mode badge, each port's backend, health and capabilities, what the sandbox bypasses, the mode toggle ([`console`]) |
//! | `GET /console/console.js`, `/console/console.css` | its script and style sheet (embedded; development only) |
//! | `GET /api/v2/system/events` | the console's server-sent events (development only, else 404): `event: state` with the console's state on connect, on every mode switch and when health changes ([`events`]) |
//!
//! Every error body is `{"error": "<message>", "problems": [..]?}`; no secret appears in any answer (the
//! configuration's summaries are redacted, health reasons scrubbed).
//!
//! Modules: [`dev_mode`] (the dev-mode API), [`console`] (the page and its state), [`events`] (the SSE feed).

pub mod console;
pub mod dev_mode;
pub mod events;

use crate::Platform;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;

pub use dev_mode::SWITCH_ROLES;

/// The routes above, over `platform`.
pub fn router(platform: Arc<Platform>) -> axum::Router {
    let hub = Arc::new(events::Hub::new(platform.clone()));
    axum::Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route(
            "/api/v2/system/dev-mode",
            get(dev_mode::dev_mode).post(dev_mode::switch),
        )
        .route("/metrics", get(metrics))
        .with_state(platform)
        .merge(console::routes(hub.clone()))
        .merge(events::routes(hub))
}

/// Readiness ([`Platform::ready`]): 200 only while every used port is up and the platform is not shutting
/// down (so an orchestrator sends traffic only then, and stops when one fails); 503 otherwise. The body is
/// the health report.
async fn ready(State(platform): State<Arc<Platform>>) -> Response {
    let (ready, report) = platform.ready().await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

async fn health(State(platform): State<Arc<Platform>>) -> Response {
    let report = platform.health().await;
    let status = if report.status == crate::health::Overall::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(report)).into_response()
}

async fn metrics(State(platform): State<Arc<Platform>>) -> Response {
    platform
        .metrics()
        .refresh_backlog(crate::metrics::BACKLOG_TIMEOUT)
        .await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        platform.metrics().encode(),
    )
        .into_response()
}

pub(crate) fn error(
    status: StatusCode,
    message: impl Into<String>,
    problems: Vec<String>,
) -> Response {
    let mut body = json!({ "error": message.into() });
    if !problems.is_empty() {
        body["problems"] = json!(problems);
    }
    (status, Json(body)).into_response()
}
