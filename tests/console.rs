//! The dev console over real HTTP (`avb::http::router`): the page and its headers, HTML escaping of server
//! strings, the server-sent events (first state, a switch pushed, a refused switch pushing nothing, a
//! dropped client freeing its slot), and 404 outside development. The browser drives it in
//! `tests/console_browser.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/served.rs"]
mod served;

#[path = "support/http.rs"]
mod http;
#[path = "support/sse.rs"]
mod sse;

use avb::Platform;
use serde_json::Value;
use served::{SAMPLE, serve};
use sse::Sse;
use std::sync::Arc;

async fn platform(pairs: &[(&str, &str)]) -> Arc<Platform> {
    Arc::new(Platform::from_pairs(pairs.iter().copied()).await.unwrap())
}

/// Live mode on backends that need no server: development accepts sandbox-only backends in live mode
/// when named explicitly, so a switch to live succeeds anywhere.
const LIVE_WITHOUT_SERVERS: &[(&str, &str)] = &[
    ("EVENT_BUS", "memory"),
    ("AUTH_MODE", "none"),
    ("OBJECT_STORE", "memory"),
    ("DATA_CATALOG", "json"),
    ("DATA_CATALOG_FILE", SAMPLE),
    ("LLM_PROVIDER", "mock"),
];

async fn post_mode(base: &str, mode: &str) -> (u16, Value) {
    let r = http::client()
        .post(format!("{base}/api/v2/system/dev-mode"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"mode": "{mode}"}}"#))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn the_console_page_shows_the_badge_ports_and_toggle_under_a_strict_csp() {
    let base = serve(platform(&[]).await).await;
    let r = http::client()
        .get(format!("{base}/console"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("SANDBOX MODE — Auth: Bypassed · Event bus: memory"),
        "{page}"
    );
    for port in ["event_bus", "auth", "object_store", "catalog", "llm"] {
        assert!(page.contains(&format!(r#"data-port="{port}""#)), "{port}");
    }
    assert!(page.contains("What the sandbox bypasses"));
    assert!(page.contains("ordering per key: "), "capabilities shown");
    assert!(
        page.contains(r#"<li class="cap-no">persistent: no</li>"#),
        "{page}"
    );
    assert!(page.contains(r#"id="toggle""#));
    assert!(page.contains(r#"data-auth-required="false""#));
    assert!(!page.contains("{{"), "every placeholder filled");
    // No inline script or style: everything comes from the two embedded assets.
    assert!(!page.contains("<script>") && !page.contains("<style"));
    for (asset, content_type) in [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
    ] {
        let r = http::client()
            .get(format!("{base}/console/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{asset}");
        assert_eq!(r.headers()["content-type"], content_type);
        assert!(r.headers().contains_key("content-security-policy"));
    }
}

#[tokio::test]
async fn server_strings_are_html_escaped_in_the_page_and_the_events() {
    let hostile = "<script>alert(1)</script>";
    let base = serve(platform(&[("AVB_SANDBOX_SUBJECT", hostile)]).await).await;
    let page = http::client()
        .get(format!("{base}/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(hostile), "raw markup in the page: {page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the auth summary is shown, escaped: {page}"
    );
    let mut events = Sse::open(&format!("{base}/api/v2/system/events")).await;
    let state = events.next_state().await;
    let html = state["html"].as_str().unwrap();
    assert!(!html.contains(hostile), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[tokio::test]
async fn a_switch_is_pushed_to_open_streams_and_a_refused_one_is_not() {
    let base = serve(platform(LIVE_WITHOUT_SERVERS).await).await;
    let mut events = Sse::open(&format!("{base}/api/v2/system/events")).await;
    let first = events.next_state().await;
    assert_eq!(first["mode"], "sandbox");
    assert!(
        first["badge"]
            .as_str()
            .unwrap()
            .starts_with("SANDBOX MODE — Auth: Bypassed"),
        "{first}"
    );
    assert_eq!(first["status"], "healthy");

    let (status, body) = post_mode(&base, "live").await;
    assert_eq!(status, 200, "{body}");
    let pushed = events.next_state().await;
    assert_eq!(pushed["mode"], "live");
    assert_eq!(pushed["badge"], "LIVE MODE");
    let html = pushed["html"].as_str().unwrap();
    assert!(
        html.contains("Sandbox-only backends still in use")
            && !html.contains("What the sandbox bypasses"),
        "{html}"
    );

    let (status, body) = post_mode(&base, "sandbox").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(events.next_state().await["mode"], "sandbox");
}

#[tokio::test]
async fn a_refused_switch_changes_nothing_the_console_shows() {
    // Live mode without settings: the switch is refused with its problems.
    let base = serve(platform(&[]).await).await;
    let mut events = Sse::open(&format!("{base}/api/v2/system/events")).await;
    let before = events.next_state().await;
    let (status, body) = post_mode(&base, "live").await;
    assert_eq!(status, 422, "{body}");
    assert!(!body["problems"].as_array().unwrap().is_empty(), "{body}");
    // A second stream opened after the refusal sees the same mode and badge.
    let mut again = Sse::open(&format!("{base}/api/v2/system/events")).await;
    let after = again.next_state().await;
    assert_eq!(after["mode"], before["mode"]);
    assert_eq!(after["badge"], before["badge"]);
    assert_eq!(after["html"], before["html"]);
}

#[tokio::test]
async fn a_dropped_client_frees_its_stream() {
    let base = serve(platform(&[]).await).await;
    let url = format!("{base}/api/v2/system/events");
    let mut a = Sse::open(&url).await;
    assert_eq!(a.next_state().await["viewers"], 1);
    let mut b = Sse::open(&url).await;
    assert_eq!(b.next_state().await["viewers"], 2);
    drop(a);
    // The server drops A's stream once it sees the closed connection; B's next push says so.
    loop {
        let state = b.next_state().await;
        if state["viewers"] == 1 {
            break;
        }
        assert_eq!(state["viewers"], 2, "{state}");
    }
}

#[cfg(all(
    feature = "event-bus-redis",
    feature = "auth-oidc",
    feature = "object-store-s3"
))]
#[tokio::test]
async fn outside_development_every_console_route_is_404() {
    let Some(production) = served::production_pairs() else {
        return;
    };
    let base = serve(Arc::new(Platform::from_pairs(production).await.unwrap())).await;
    for path in [
        "/console",
        "/console/console.js",
        "/console/console.css",
        "/api/v2/system/events",
    ] {
        let r = http::client()
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("development environment only (this is production)"),
            "{body}"
        );
    }
    // The rest of the surface still answers.
    let r = http::client()
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn a_quiet_stream_sends_keep_alive_comments() {
    let base = serve(platform(&[]).await).await;
    let mut events = Sse::open(&format!("{base}/api/v2/system/events")).await;
    events.next_state().await;
    // Nothing changes: the next thing on the wire is a keep-alive comment (every 15 s), not an event.
    let between = events.until_comment().await;
    assert!(between.is_empty(), "{between:?}");
    assert_eq!(events.comments, 1);
}

#[tokio::test]
async fn the_page_never_polls_it_listens() {
    let base = serve(platform(&[]).await).await;
    let script = http::client()
        .get(format!("{base}/console/console.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(script.contains(r#"new EventSource("/api/v2/system/events")"#));
    for polling in ["setInterval", "setTimeout", "requestAnimationFrame"] {
        assert!(!script.contains(polling), "{polling}");
    }
    // The only other request the page makes is the switch.
    assert_eq!(script.matches("fetch(").count(), 1);
}

/// `avb serve` serves the console too (it mounts the same router).
#[tokio::test]
async fn avb_serve_serves_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_avb"))
        .arg("serve")
        .env_clear()
        .env("AVB_HTTP_ADDR", &addr)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut page = None;
    // Until it listens (a hang guard, not a timed assertion).
    for _ in 0..600 {
        if let Ok(r) = http::client()
            .get(format!("http://{addr}/console"))
            .send()
            .await
        {
            page = Some((r.status().as_u16(), r.text().await.unwrap()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let (status, page) = page.expect("avb serve never answered");
    assert_eq!(status, 200);
    assert!(page.contains("SANDBOX MODE — Auth: Bypassed"), "{page}");
}
