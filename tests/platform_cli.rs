//! `avb health --wait` over the used ports (`--uses`), and `avb serve`'s drain on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/cli.rs"]
mod cli;

use cli::{avb, text};

/// A Redis URL nothing listens on (port 9, discard): the event bus is down.
const DEAD_REDIS: [(&str, &str); 2] =
    [("EVENT_BUS", "redis"), ("REDIS_URL", "redis://127.0.0.1:9")];

#[test]
fn wait_exits_0_once_every_used_port_is_healthy_on_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(&["health", "--wait", "60s"], &[], dir.path());
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("avb health: healthy"), "{stdout}");
    for port in ["event_bus", "auth", "object_store", "catalog", "llm"] {
        assert!(stdout.contains(port), "{stdout}");
    }
}

#[test]
fn wait_times_out_with_the_report_when_a_used_port_stays_down() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(&["health", "--wait", "1s"], &DEAD_REDIS, dir.path());
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.starts_with("avb health: degraded"), "{stdout}");
    assert!(stdout.contains("event_bus     redis     DOWN"), "{stdout}");
    assert!(
        stderr.contains("not healthy after waiting 1000 ms"),
        "{stderr}"
    );
}

#[test]
fn an_unused_ports_state_never_affects_the_exit() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(
        &[
            "health",
            "--wait",
            "60s",
            "--uses",
            "object_store,auth",
            "--json",
        ],
        &DEAD_REDIS,
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["status"], "healthy");
    let ports: Vec<&str> = body["components"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ports, ["auth", "object_store"]);
    // Live mode demands nothing of an unused port: no REDIS_URL needed for `--uses object_store`.
    let out = avb(
        &["health", "--uses", "object_store"],
        &[("AVB_DEV_MODE", "live"), ("OBJECT_STORE", "memory")],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn bad_flags_are_refused_naming_the_value_and_the_forms() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(&["health", "--wait", "10 parsecs"], &[], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--wait")
            && stderr.contains("\"10 parsecs\"")
            && stderr.contains("ms, s, m, h or d"),
        "{stderr}"
    );
    let out = avb(&["health", "--uses", "bus"], &[], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("\"bus\"") && stderr.contains("event_bus"),
        "{stderr}"
    );
}

#[test]
fn a_bad_shutdown_timeout_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(&["mode"], &[("AVB_SHUTDOWN_TIMEOUT", "soon")], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("AVB_SHUTDOWN_TIMEOUT")
            && stderr.contains("soon")
            && stderr.contains("30s"),
        "{stderr}"
    );
}

/// SIGTERM: the server stops accepting, then the platform drains (`Platform::shutdown`) and exits 0
/// saying so.
#[tokio::test]
async fn sigterm_drains_and_exits_0() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_avb"))
        .arg("serve")
        .env_clear()
        .env("AVB_HTTP_ADDR", &addr)
        .env("AVB_SHUTDOWN_TIMEOUT", "20s")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if !up {
        let _ = child.kill();
    }
    assert!(up, "avb serve never listened on {addr}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("draining for at most 20000 ms"), "{stdout}");
    assert!(
        stdout.contains("avb serve: stopped (drained in"),
        "{stdout}"
    );
}

#[test]
fn mode_json_shows_the_shutdown_timeout_in_ms() {
    let dir = tempfile::tempdir().unwrap();
    let out = avb(
        &["mode", "--json"],
        &[("AVB_SHUTDOWN_TIMEOUT", "2m")],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["shutdown_timeout_ms"], 120_000);
    assert_eq!(body["uses"].as_array().unwrap().len(), 5);
}
