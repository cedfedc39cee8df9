//! The dev console (development only): `GET /console`, a page served by the same router as the dev-mode API.
//!
//! It shows the mode badge (`SANDBOX MODE — Auth: Bypassed · …` or `LIVE MODE`), each port's backend, its
//! summary (redacted), health and declared capabilities, what the sandbox bypasses, and the mode toggle
//! (`POST /api/v2/system/dev-mode`, with a bearer-token field when auth is not `none`); a refused switch shows
//! its problems. Updates arrive over server-sent events ([`super::events`]); the page never polls.
//!
//! Safety: every server string (summaries, health reasons, problems) reaches the page HTML-escaped — the
//! server renders the port table with [`escape`], the script writes everything else with `textContent`.
//! The page, script and style sheet are embedded (`include_str!`); answers carry a strict
//! `Content-Security-Policy` (no inline script or style, requests to this origin only) and `no-store`. No
//! secret is in the page: the token field is typed by the user and sent only with the switch request.
//!
//! Outside the `development` environment every console route answers 404.

use super::events::Hub;
use crate::config::AuthConfig;
use crate::health::Report;
use crate::{Platform, Ports};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// The console's `Content-Security-Policy`: scripts, styles and requests from this origin only; no inline
/// script or style, no frames, no plugins, no form posts elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                       img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(super) fn routes(hub: Arc<Hub>) -> axum::Router {
    axum::Router::new()
        .route("/console", get(page))
        .route("/console/console.js", get(script))
        .route("/console/console.css", get(style))
        .with_state(hub)
}

/// `None` in development; else the 404 every console route answers.
pub(super) fn development_only(platform: &Platform) -> Option<Response> {
    if platform.can_switch() {
        return None;
    }
    let environment = platform.ports().config().environment;
    Some(super::error(
        StatusCode::NOT_FOUND,
        format!(
            "the dev console is served in the development environment only (this is {environment})"
        ),
        Vec::new(),
    ))
}

fn with_headers(content_type: &'static str, body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

async fn page(State(hub): State<Arc<Hub>>) -> Response {
    if let Some(refusal) = development_only(&hub.platform) {
        return refusal;
    }
    let state = hub.state().await;
    with_headers("text/html; charset=utf-8", render_page(&state))
}

async fn script(State(hub): State<Arc<Hub>>) -> Response {
    if let Some(refusal) = development_only(&hub.platform) {
        return refusal;
    }
    with_headers("text/javascript; charset=utf-8", SCRIPT.to_string())
}

async fn style(State(hub): State<Arc<Hub>>) -> Response {
    if let Some(refusal) = development_only(&hub.platform) {
        return refusal;
    }
    with_headers("text/css; charset=utf-8", STYLE.to_string())
}

/// `text` safe inside HTML text and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page with `state` filled in (the same state the first server-sent event carries).
fn render_page(state: &Value) -> String {
    let text = |key: &str| escape(state[key].as_str().unwrap_or_default());
    PAGE.replace("{{mode}}", &text("mode"))
        .replace("{{badge}}", &text("badge"))
        .replace("{{environment}}", &text("environment"))
        .replace(
            "{{auth_required}}",
            if state["auth_required"] == true {
                "true"
            } else {
                "false"
            },
        )
        // Already escaped by `render_ports`.
        .replace("{{ports}}", state["html"].as_str().unwrap_or_default())
}

/// One port's row data: name, title, backend, summary, whether its backend is sandbox-only, capabilities.
struct PortView {
    name: &'static str,
    title: &'static str,
    backend: &'static str,
    summary: String,
    sandbox_only: bool,
    capabilities: Vec<(&'static str, String)>,
}

/// The used ports only (an unused port is absent from the Platform and from the page).
fn port_views(ports: &Ports) -> Vec<PortView> {
    use avb_core::config::{BackendKind, PortConfig};
    let config = ports.config();
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut views = Vec::with_capacity(5);
    if let Ok(p) = ports.try_event_bus() {
        let bus = p.capabilities();
        views.push(PortView {
            name: "event_bus",
            title: "Event bus",
            backend: p.backend(),
            summary: config.event_bus.backend.to_string(),
            sandbox_only: config.event_bus.backend.kind().sandbox_only(),
            capabilities: vec![
                ("ordering per key", yes(bus.ordering_per_key)),
                ("persistent", yes(bus.persistent)),
                ("dead letter", yes(bus.dead_letter)),
                ("redeliver on drop", yes(bus.redeliver_on_drop)),
                ("extend lease", yes(bus.extend_lease)),
                ("idempotent publish", yes(bus.idempotent_publish)),
                ("shares read-ahead", yes(bus.shares_read_ahead)),
                ("max message bytes", bus.max_message_bytes.to_string()),
                ("max nack delay", format!("{:?}", bus.max_nack_delay)),
            ],
        });
    }
    if let Ok(p) = ports.try_auth() {
        let auth = p.capabilities();
        views.push(PortView {
            name: "auth",
            title: "Auth",
            backend: p.backend(),
            summary: config.auth.backend.to_string(),
            sandbox_only: config.auth.backend.kind().sandbox_only(),
            capabilities: vec![
                ("rejects invalid tokens", yes(auth.rejects_invalid_tokens)),
                ("key rotation", yes(auth.key_rotation)),
                ("mints tokens", yes(auth.mints_tokens)),
            ],
        });
    }
    if let Ok(p) = ports.try_object_store() {
        let store = p.capabilities();
        views.push(PortView {
            name: "object_store",
            title: "Object store",
            backend: p.backend(),
            summary: config.object_store.backend.to_string(),
            sandbox_only: config.object_store.backend.kind().sandbox_only(),
            capabilities: vec![
                ("persistent", yes(store.persistent)),
                ("conditional create", yes(store.conditional_create)),
                ("conditional update", yes(store.conditional_update)),
                ("conditional read", yes(store.conditional_read)),
                ("multipart", yes(store.multipart)),
                ("presign", yes(store.presign)),
                ("metadata", yes(store.metadata)),
                ("streaming", yes(store.streaming)),
            ],
        });
    }
    if let Ok(p) = ports.try_catalog() {
        let catalog = p.capabilities();
        views.push(PortView {
            name: "catalog",
            title: "Catalog",
            backend: p.backend(),
            summary: config.catalog.backend.to_string(),
            sandbox_only: config.catalog.backend.kind().sandbox_only(),
            capabilities: vec![
                ("reload", yes(catalog.reload)),
                ("remote", yes(catalog.remote)),
            ],
        });
    }
    if let Ok(p) = ports.try_llm() {
        let llm = p.capabilities();
        views.push(PortView {
            name: "llm",
            title: "LLM",
            backend: p.backend(),
            summary: config.llm.backend.to_string(),
            sandbox_only: config.llm.backend.kind().sandbox_only(),
            capabilities: vec![
                ("embeddings", yes(llm.embeddings)),
                ("deterministic", yes(llm.deterministic)),
                ("rejects unknown model", yes(llm.rejects_unknown_model)),
                ("context limit error", yes(llm.context_limit_error)),
                ("cached tokens", yes(llm.cached_tokens)),
            ],
        });
    }
    views
}

/// What the sandbox bypasses: one line per port whose backend is sandbox-only (refused in staging and
/// production), auth `none` first as "Bypassed".
fn bypassed(ports: &Ports, views: &[PortView]) -> Vec<String> {
    let auth_first = views.iter().filter(|v| v.name == "auth");
    auth_first
        .chain(views.iter().filter(|v| v.name != "auth"))
        .filter(|v| v.sandbox_only)
        .map(|v| {
            if v.name == "auth" && matches!(ports.config().auth.backend, AuthConfig::None { .. }) {
                "Auth: Bypassed".to_string()
            } else {
                format!("{}: {}", v.title, v.backend)
            }
        })
        .collect()
}

/// The console's state for `ports` and their `health`: what the page renders and each server-sent event
/// carries. `html` is the port table, every server string in it escaped.
pub(super) fn state(platform: &Platform, ports: &Ports, health: &Report, viewers: usize) -> Value {
    let config = ports.config();
    let views = port_views(ports);
    let bypassed = bypassed(ports, &views);
    let badge = match config.mode {
        crate::config::Mode::Sandbox if bypassed.is_empty() => "SANDBOX MODE".to_string(),
        crate::config::Mode::Sandbox => format!("SANDBOX MODE — {}", bypassed.join(" · ")),
        crate::config::Mode::Live => "LIVE MODE".to_string(),
    };
    json!({
        "mode": config.mode.as_str(),
        "environment": config.environment.to_string(),
        "switchable": platform.can_switch(),
        "auth_required": !matches!(config.auth.backend, AuthConfig::None { .. }),
        "badge": badge,
        "status": health.status.as_str(),
        "bypassed": bypassed,
        "viewers": viewers,
        "html": render_ports(&views, health, &bypassed, config.mode),
    })
}

fn render_ports(
    views: &[PortView],
    health: &Report,
    bypassed: &[String],
    mode: crate::config::Mode,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<p class="overall {s}">Overall: <strong>{s}</strong></p><table><thead><tr><th>port</th><th>backend</th><th>health</th><th>capabilities</th></tr></thead><tbody>"#,
        s = health.status.as_str()
    );
    for v in views {
        let (status, reason) = match health.components.get(v.name) {
            Some(c) => (
                match c.status {
                    avb_core::Status::Up => "up",
                    avb_core::Status::Down => "down",
                },
                c.reason.clone().unwrap_or_default(),
            ),
            None => ("unknown", String::new()),
        };
        let _ = write!(
            h,
            r#"<tr data-port="{name}"><th scope="row">{title}{sandbox}</th><td><code class="backend">{backend}</code><div class="summary">{summary}</div></td><td class="health {status}">{status}<div class="reason">{reason}</div></td><td><ul class="caps">"#,
            name = escape(v.name),
            title = escape(v.title),
            sandbox = if v.sandbox_only {
                r#" <span class="tag">sandbox only</span>"#
            } else {
                ""
            },
            backend = escape(v.backend),
            summary = escape(&v.summary),
            status = status,
            reason = escape(&reason),
        );
        for (cap, value) in &v.capabilities {
            let _ = write!(
                h,
                r#"<li class="cap-{value}">{cap}: {shown}</li>"#,
                value = if value == "yes" || value == "no" {
                    value.as_str()
                } else {
                    "value"
                },
                cap = escape(cap),
                shown = escape(value),
            );
        }
        h.push_str("</ul></td></tr>");
    }
    h.push_str("</tbody></table>");
    if !bypassed.is_empty() {
        // Live mode accepts sandbox-only backends in development when named explicitly: say so.
        h.push_str(match mode {
            crate::config::Mode::Sandbox => "<h2>What the sandbox bypasses</h2>",
            crate::config::Mode::Live => "<h2>Sandbox-only backends still in use</h2>",
        });
        h.push_str(r#"<ul class="bypassed">"#);
        for b in bypassed {
            let _ = write!(h, "<li>{}</li>", escape(b));
        }
        h.push_str("</ul>");
    }
    h
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert("x'y")</script> & co"#),
            "&lt;script&gt;alert(&quot;x&#39;y&quot;)&lt;/script&gt; &amp; co"
        );
        assert_eq!(escape("plain"), "plain");
    }
}
