//! `avb check`: each port's conformance suite against the configured backends, from the command line.
//! Each run gets a cleared environment (the developer's variables cannot leak in).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/cli.rs"]
mod cli;
use cli::{avb, text};

fn port<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == name)
        .unwrap_or_else(|| panic!("no port {name} in {json}"))
}

#[test]
fn check_passes_on_the_sandbox_default_with_no_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(&["check", "--json"], &[], dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["ok"], true);
    for (name, min_passed) in [
        ("event_bus", 20),
        ("object_store", 25),
        ("catalog", 13),
        ("llm", 15),
    ] {
        let p = port(&json, name);
        assert_eq!(p["status"], "passed", "{p}");
        assert!(p["passed"].as_array().unwrap().len() >= min_passed, "{p}");
        assert!(p["failed"].as_array().unwrap().is_empty(), "{p}");
    }
    // Trust-all can mint nothing: the cases needing tokens are skipped by ability, visibly.
    let auth = port(&json, "auth");
    assert_eq!(auth["status"], "passed", "{auth}");
    assert!(!auth["skipped"].as_array().unwrap().is_empty(), "{auth}");
    assert!(
        auth["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| !s["reason"].as_str().unwrap().is_empty())
    );
    // The offline mock model runs the whole LLM suite.
    let llm = port(&json, "llm");
    assert_eq!(llm["status"], "passed", "{llm}");
    assert!(llm["skipped"].as_array().unwrap().is_empty(), "{llm}");
}

#[test]
fn check_runs_the_auth_suite_on_the_local_issuer_and_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(&["check"], &[("AUTH_MODE", "local")], dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // Progress as it goes, then the table.
    assert!(stdout.contains("== auth: local"), "{stdout}");
    assert!(stdout.contains("PASSED "), "{stdout}");
    let table = stdout
        .lines()
        .find(|l| l.starts_with("auth "))
        .unwrap_or_else(|| panic!("no auth row in:\n{stdout}"));
    let cols: Vec<&str> = table.split_whitespace().collect();
    assert_eq!(cols[1], "ok", "{table}");
    assert_eq!(cols[4], "0", "no failed case: {table}");
    assert!(
        cols[2].parse::<u32>().unwrap() > 20,
        "the local issuer runs the whole suite: {table}"
    );
    // Every port has its row.
    for name in ["event_bus ", "object_store ", "catalog ", "llm "] {
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn a_backend_that_is_down_fails_the_check_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    let out = avb(
        &["check", "--json"],
        &[("EVENT_BUS", "redis"), ("REDIS_URL", "redis://127.0.0.1:1")],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["ok"], false);
    let bus = port(&json, "event_bus");
    assert_eq!(bus["status"], "unavailable", "{bus}");
    assert!(!bus["reason"].as_str().unwrap().is_empty(), "{bus}");
    assert!(
        bus["backend"].as_str().unwrap().contains("127.0.0.1:1"),
        "{bus}"
    );
    // The other ports still ran.
    assert_eq!(port(&json, "object_store")["status"], "passed");
}

#[test]
fn a_catalog_that_is_not_the_sample_is_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stub-catalog.json"),
        dir.path().join("mine.json"),
    )
    .unwrap();
    let vars = [("DATA_CATALOG_FILE", "mine.json")];
    let out = avb(&["check", "--json"], &vars, dir.path());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let catalog = port(&json, "catalog");
    assert_eq!(catalog["status"], "skipped", "{catalog}");
    assert!(
        catalog["reason"]
            .as_str()
            .unwrap()
            .contains("--catalog-sample"),
        "{catalog}"
    );
    // Said to hold the sample, it runs (and passes: the file is the sample).
    let out = avb(&["check", "--json", "--catalog-sample"], &vars, dir.path());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(port(&json, "catalog")["status"], "passed");
}

#[test]
fn parity_on_the_sandbox_default_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(&["check", "--parity"], &[], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("declare every capability"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn parity_names_what_redis_streams_lack_that_the_memory_bus_promises() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let vars = [("EVENT_BUS", "redis"), ("REDIS_URL", url.as_str())];
    let out = avb(&["check", "--parity", "--json"], &vars, dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let gaps = json["gaps"].as_array().unwrap();
    let gap = |cap: &str| {
        gaps.iter()
            .find(|g| g["port"] == "event_bus" && g["capability"] == cap)
            .unwrap_or_else(|| panic!("no {cap} gap in {json}"))
    };
    // Consumer groups do not keep per-key order; the memory bus does.
    assert_eq!(gap("ordering_per_key")["kind"], "lacks");
    assert_eq!(gap("ordering_per_key")["sandbox"], "true");
    // Redis keeps messages across restarts; the memory bus cannot show that.
    assert_eq!(gap("persistent")["kind"], "extra");
    // Only the event bus differs: the other ports are the same sandbox backends.
    assert!(gaps.iter().all(|g| g["port"] == "event_bus"), "{json}");
}
