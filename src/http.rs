//! The HTTP surface of a [`Platform`] (feature `http`, axum): mount [`router`] into the service's router.
//!
//! | route | answer |
//! |---|---|
//! | `GET /health` | the health report: `{"status": "healthy"\|"degraded"\|"unhealthy", "mode", "environment", "components": {<port>: {"status", "backend", "reason"?}}}`; HTTP 200, or 503 when unhealthy |
//! | `GET /ready` | readiness: the same report; 200 only while every used port is up and no shutdown has started, else 503 |
//! | `GET /api/v2/system/dev-mode` | `{"mode", "environment", "switchable", "features": {<port>: {"backend", "summary"}}}` |
//! | `POST /api/v2/system/dev-mode` | body `{"mode": "sandbox"\|"live"}`: switches the mode ([`Platform::switch_mode`]) and answers like `GET`. 403 outside `development`; unless auth is `none`, a bearer token the current Auth port accepts with role `owner` or `admin` (401 without a valid one, 403 without the role); 400 for a body or mode it cannot read (naming the allowed values); 422 when the new mode's configuration is invalid or its ports cannot be built (its problems listed; nothing changed) |
//! | `GET /metrics` | Prometheus/OpenMetrics text of [`crate::metrics`] |
//!
//! Every error body is `{"error": "<message>", "problems": [..]?}`; no secret appears in any answer (the
//! configuration's summaries are redacted, health reasons scrubbed).

use crate::config::{AuthConfig, Choice, Mode};
use crate::{Platform, Ports, SwitchError};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

/// The roles that may switch the mode (when auth is not `none`).
pub const SWITCH_ROLES: [&str; 2] = ["owner", "admin"];

/// The routes above, over `platform`.
pub fn router(platform: Arc<Platform>) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/api/v2/system/dev-mode", get(dev_mode).post(switch))
        .route("/metrics", get(metrics))
        .with_state(platform)
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

fn dev_mode_body(platform: &Platform, ports: &Ports) -> Value {
    let config = ports.config();
    // The ports the service uses (an unused port is absent).
    let features: serde_json::Map<String, Value> = ports
        .uses()
        .iter()
        .map(|p| {
            let feature = json!({"backend": ports.backend(p), "summary": ports.summary(p)});
            (p.name().to_string(), feature)
        })
        .collect();
    json!({
        "mode": config.mode.as_str(),
        "environment": config.environment.to_string(),
        "switchable": platform.can_switch(),
        "features": features,
    })
}

async fn metrics(State(platform): State<Arc<Platform>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        platform.metrics().encode(),
    )
        .into_response()
}

async fn dev_mode(State(platform): State<Arc<Platform>>) -> Json<Value> {
    Json(dev_mode_body(&platform, &platform.ports()))
}

fn error(status: StatusCode, message: impl Into<String>, problems: Vec<String>) -> Response {
    let mut body = json!({ "error": message.into() });
    if !problems.is_empty() {
        body["problems"] = json!(problems);
    }
    (status, Json(body)).into_response()
}

/// `Err` is the refusal to send when the caller may not switch.
async fn authorize(ports: &Ports, headers: &HeaderMap) -> Result<(), Response> {
    if matches!(ports.config().auth.backend, AuthConfig::None { .. }) {
        return Ok(());
    }
    let unauthorized = |why: String| {
        let mut r = error(StatusCode::UNAUTHORIZED, why, Vec::new());
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        r
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(unauthorized(
            "switching the mode needs `Authorization: Bearer <token>`".into(),
        ));
    };
    let principal = ports
        .auth()
        .authenticate(token)
        .await
        .map_err(|e| unauthorized(format!("the token was refused: {e}")))?;
    if SWITCH_ROLES.iter().any(|r| principal.roles.contains(*r)) {
        Ok(())
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            format!(
                "switching the mode needs role {} (the token has {:?})",
                SWITCH_ROLES.join(" or "),
                principal.roles
            ),
            Vec::new(),
        ))
    }
}

async fn switch(
    State(platform): State<Arc<Platform>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let ports = platform.ports();
    if !platform.can_switch() {
        return error(
            StatusCode::FORBIDDEN,
            SwitchError::NotDevelopment {
                environment: ports.config().environment,
            }
            .to_string(),
            Vec::new(),
        );
    }
    if let Err(refusal) = authorize(&ports, &headers).await {
        return refusal;
    }
    let allowed = Mode::allowed();
    let wanted: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON ({e}); send {{\"mode\": <one of {allowed}>}}"),
                Vec::new(),
            );
        }
    };
    let Some(text) = wanted.get("mode").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("the body has no \"mode\" string; send {{\"mode\": <one of {allowed}>}}"),
            Vec::new(),
        );
    };
    let Some(mode) = Mode::parse(text) else {
        let shown: String = text.chars().take(40).collect();
        return error(
            StatusCode::BAD_REQUEST,
            format!("mode {shown:?} is not one of {allowed}"),
            Vec::new(),
        );
    };
    match platform.switch_mode(mode).await {
        Ok(ports) => Json(dev_mode_body(&platform, &ports)).into_response(),
        Err(SwitchError::NotDevelopment { environment }) => error(
            StatusCode::FORBIDDEN,
            SwitchError::NotDevelopment { environment }.to_string(),
            Vec::new(),
        ),
        Err(SwitchError::Config(e)) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the {mode} configuration is invalid; nothing changed"),
            e.problems().iter().map(ToString::to_string).collect(),
        ),
        Err(e) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{e}; nothing changed"),
            Vec::new(),
        ),
    }
}
