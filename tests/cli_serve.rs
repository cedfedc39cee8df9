//! `avb serve`: the HTTP surface on the resolved configuration, at `AVB_HTTP_ADDR`, stopped by SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/http.rs"]
mod http;

use std::process::{Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_answers_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_avb"))
        .arg("serve")
        .env_clear()
        .env("AVB_HTTP_ADDR", &addr)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = http::client();
    let mut answer = None;
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("http://{addr}/health")).send().await {
            answer = Some((
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some((status, body)) = answer else {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "avb serve never answered on {addr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["mode"], "sandbox");
    let dev = client
        .get(format!("http://{addr}/api/v2/system/dev-mode"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(dev["switchable"], true);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The startup summary once, the address, then the stop.
    assert_eq!(
        stdout.matches("environment   development").count(),
        1,
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("listening on http://{addr}")),
        "{stdout}"
    );
    assert!(stdout.contains("avb serve: stopped"), "{stdout}");
}

#[test]
fn a_bad_address_names_the_variable_its_value_and_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_avb"))
        .arg("serve")
        .env_clear()
        .env("AVB_HTTP_ADDR", "localhost:http")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in ["AVB_HTTP_ADDR", "localhost:http", "127.0.0.1:65020"] {
        assert!(stderr.contains(want), "missing {want:?}: {stderr}");
    }
}
