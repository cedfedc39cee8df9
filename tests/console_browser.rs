//! The dev console in a real browser: Debian's headless Chromium driven over W3C WebDriver by chromedriver
//! (`scripts/services up chromium`; `AVB_TEST_WEBDRIVER_URL`, `AVB_TEST_CHROMIUM_BIN`). The router runs
//! in-process in development sandbox mode; the test clicks the mode toggle and checks what the page shows —
//! a refused switch with its problems, and (on the harness's Redis) a switch to live whose badge arrives
//! over server-sent events. Screenshots are kept under `target/test-artifacts/` (paths printed).
//! Under `AVB_TEST_REQUIRE_LIVE=1` a missing chromedriver or Chromium fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/served.rs"]
mod served;

#[path = "support/webdriver.rs"]
mod webdriver;

use avb::Platform;
use served::{SAMPLE, serve};
use std::sync::Arc;
use webdriver::Browser;

async fn browser() -> Option<Browser> {
    let driver = avb::testing::live_server("AVB_TEST_WEBDRIVER_URL")?;
    let chromium = avb::testing::live_binary("AVB_TEST_CHROMIUM_BIN")?;
    Some(Browser::start(&driver, &chromium).await)
}

/// The page is connected to the event stream once its feed line says so.
async fn connected(browser: &Browser) {
    browser
        .wait_text("#feed", |t| t.starts_with("live updates: connected ("))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_switch_shows_its_problems_and_hostile_strings_render_as_text() {
    let Some(browser) = browser().await else {
        return;
    };
    let hostile = r#"<script>window.pwned=1</script><img src=x onerror="window.pwned=2">"#;
    let platform = Arc::new(
        Platform::from_pairs([("AVB_SANDBOX_SUBJECT", hostile)])
            .await
            .unwrap(),
    );
    let base = serve(platform.clone()).await;
    browser.goto(&format!("{base}/console")).await;
    connected(&browser).await;
    let badge = browser.text("#badge").await;
    assert!(
        badge.starts_with("SANDBOX MODE — Auth: Bypassed"),
        "{badge}"
    );
    // The subject is shown as text; nothing of it ran or became an element.
    let auth_row = browser.text(r#"tr[data-port="auth"] .summary"#).await;
    assert!(
        auth_row.contains("<script>window.pwned=1</script><img src=x onerror="),
        "{auth_row}"
    );
    let injected = browser
        .execute(
            "return [typeof window.pwned, document.querySelectorAll('#ports script, #ports img').length];",
        )
        .await;
    assert_eq!(injected, serde_json::json!(["undefined", 0]));
    assert!(
        !browser.displayed("#token-row").await,
        "auth is none: no token field"
    );

    assert_eq!(browser.text("#toggle").await, "Switch to live");
    browser.click("#toggle").await;
    let problems = browser.wait_text("#problems", |t| !t.is_empty()).await;
    assert!(
        problems.contains("the live configuration is invalid; nothing changed"),
        "{problems}"
    );
    assert!(problems.contains("PULSAR_URL is required"), "{problems}");
    assert_eq!(browser.text("#outcome").await, "refused (HTTP 422)");
    assert_eq!(browser.text("#badge").await, badge, "nothing changed");
    assert_eq!(platform.ports().config().mode.as_str(), "sandbox");
    browser.screenshot("console-refused-switch.png").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_toggle_switches_to_live_on_redis_and_the_badge_follows_over_sse() {
    let Some(redis) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let Some(browser) = browser().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("dev-key.pem");
    let key = key_file.display().to_string();
    let platform = Arc::new(
        Platform::from_pairs([
            ("EVENT_BUS", "redis"),
            ("REDIS_URL", redis.as_str()),
            ("AUTH_MODE", "local"),
            ("AVB_AUTH_DEV_KEY_FILE", key.as_str()),
            ("OBJECT_STORE", "memory"),
            ("DATA_CATALOG", "json"),
            ("DATA_CATALOG_FILE", SAMPLE),
            ("LLM_PROVIDER", "mock"),
        ])
        .await
        .unwrap(),
    );
    let issuer = avb::auth::local::LocalIssuer::from_key_file(&key_file).unwrap();
    let owner = issuer
        .mint(
            "u2",
            "acme",
            &["owner"],
            std::time::Duration::from_secs(600),
        )
        .unwrap();
    let base = serve(platform.clone()).await;
    browser.goto(&format!("{base}/console")).await;
    connected(&browser).await;
    assert!(browser.text("#badge").await.starts_with("SANDBOX MODE"));
    assert!(
        browser.displayed("#token-row").await,
        "auth is not none: the token field is shown"
    );

    // Without a token: 401, shown; nothing changes.
    browser.click("#toggle").await;
    let problems = browser.wait_text("#problems", |t| !t.is_empty()).await;
    assert!(problems.contains("Authorization: Bearer"), "{problems}");
    assert!(browser.text("#badge").await.starts_with("SANDBOX MODE"));

    browser.type_into("#token", &owner).await;
    browser.click("#toggle").await;
    let badge = browser.wait_text("#badge", |t| t == "LIVE MODE").await;
    assert_eq!(badge, "LIVE MODE");
    assert_eq!(platform.ports().config().mode.as_str(), "live");
    let bus = browser
        .text(r#"tr[data-port="event_bus"] code.backend"#)
        .await;
    assert_eq!(bus, "redis");
    assert_eq!(browser.text("#toggle").await, "Switch to sandbox");
    let page = browser
        .execute("return document.documentElement.outerHTML;")
        .await;
    assert!(
        !page.as_str().unwrap().contains(&owner),
        "the token stays in the field, never in the page's markup"
    );
    browser.screenshot("console-live.png").await;
}
