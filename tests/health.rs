//! `avb health [--json] [--wait]`: every configured port built and asked for its health.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::{Command, Output};

fn avb_health(args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avb"))
        .arg("health")
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn sandbox_default_is_healthy() {
    let out = avb_health(&["--json"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["status"], "healthy");
    assert_eq!(report["mode"], "sandbox");
    for (port, backend) in [
        ("event_bus", "memory"),
        ("auth", "none"),
        ("object_store", "memory"),
        ("catalog", "json"),
    ] {
        assert_eq!(report["components"][port]["status"], "up", "{report}");
        assert_eq!(report["components"][port]["backend"], backend, "{report}");
    }
}

#[test]
fn a_bad_configuration_is_exit_code_2() {
    let out = avb_health(&[], &[("EVENT_BUS", "kafak")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EVENT_BUS=\"kafak\" is invalid"));
}

#[test]
fn an_unimplemented_backend_is_down_with_its_reason() {
    let out = avb_health(
        &["--json"],
        &[
            ("EVENT_BUS", "pulsar"),
            ("PULSAR_URL", "pulsar://127.0.0.1:9"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["status"], "degraded");
    assert_eq!(report["components"]["event_bus"]["status"], "down");
    assert!(
        report["components"]["event_bus"]["reason"]
            .as_str()
            .unwrap()
            .contains("pulsar"),
        "{report}"
    );
}

#[cfg(feature = "event-bus-redis")]
#[test]
fn an_unreachable_server_is_down_and_wait_gives_up() {
    // Port 1 on loopback: nothing listens there.
    let out = avb_health(
        &["--wait", "1s"],
        &[
            ("EVENT_BUS", "redis"),
            ("REDIS_URL", "redis://:pw@127.0.0.1:1"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("avb health: degraded"), "{stdout}");
    assert!(
        stdout.contains("event_bus     redis     DOWN: "),
        "{stdout}"
    );
    assert!(!stdout.contains("pw"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not healthy after waiting 1000 ms"));
}

#[cfg(feature = "event-bus-redis")]
#[test]
fn the_harness_redis_is_up() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let out = avb_health(
        &["--json", "--wait", "10s"],
        &[("EVENT_BUS", "redis"), ("REDIS_URL", &url)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out)["components"]["event_bus"]["status"], "up");
}
