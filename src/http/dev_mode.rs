//! `GET|POST /api/v2/system/dev-mode`: read the mode, and switch it (development only; see [`super`]).

use super::error;
use crate::config::{AuthConfig, Choice, Mode};
use crate::{Platform, Ports, SwitchError};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The roles that may switch the mode (when auth is not `none`).
pub const SWITCH_ROLES: [&str; 2] = ["owner", "admin"];

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

pub(super) async fn dev_mode(State(platform): State<Arc<Platform>>) -> Json<Value> {
    Json(dev_mode_body(&platform, &platform.ports()))
}

/// `Err` is the refusal to send when the caller may not switch.
async fn authorize(ports: &Ports, headers: &HeaderMap) -> Result<(), Response> {
    // A service that does not use the Auth port has no way to authorize the caller: refused, rather than
    // reading the unused port's placeholder (`none`) as "anyone may switch".
    let Ok(auth) = ports.try_auth() else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "switching the mode needs the Auth port: this service does not use it (name Port::Auth in the \
             Platform builder's `uses`; with AUTH_MODE=none anyone may switch)"
                .to_string(),
            Vec::new(),
        ));
    };
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
    let principal = auth
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

pub(super) async fn switch(
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
    // Only `application/json`: a browser sends any other body type cross-site without asking first (a
    // "simple" request), so a page the developer visits could otherwise switch the mode of a sandbox with
    // `AUTH_MODE=none` (cross-site request forgery). JSON from another origin needs a CORS preflight, which
    // this router never grants.
    if !is_json(&headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as `Content-Type: application/json`: {\"mode\": <one of sandbox, live>}"
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

/// Whether the request says its body is JSON (`application/json`, parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}
