//! The `avb` binary: `avb mode [--json]`, `avb vars`, exit codes, `.env.*` layering.
//! Each run gets a cleared environment, so the developer's own variables cannot leak into the result.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/cli.rs"]
mod cli;
use cli::{avb, text};
use std::path::Path;

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("avb-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn mode_prints_the_sandbox_default() {
    let out = avb(&["mode"], &[], &tempdir("default"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for want in [
        "environment   development",
        "mode          sandbox",
        "event bus     memory",
        "auth          none (trust-all",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
}

#[test]
fn mode_json_is_machine_readable_and_redacted() {
    let vars = [
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", "redis://:s3cret@127.0.0.1:6379"),
    ];
    let out = avb(&["mode", "--json"], &vars, &tempdir("json"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["event_bus"]["backend"]["kind"], "redis");
    assert_eq!(
        json["event_bus"]["backend"]["url"],
        "redis://***@127.0.0.1:6379"
    );
    assert_eq!(json["mode"], "sandbox");
    assert!(!text(&out.stdout).contains("s3cret"));
}

#[test]
fn a_bad_configuration_exits_non_zero_with_the_error() {
    let out = avb(
        &["mode"],
        &[("AVB_ENV", "production"), ("EVENT_BUS", "kafak")],
        &tempdir("bad"),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "EVENT_BUS=\"kafak\" is invalid: expected one of memory, redis, kafka, pulsar"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn env_file_is_chosen_by_mode_and_the_process_environment_wins() {
    let dir = tempdir("dotenv");
    std::fs::write(
        dir.join(".env.sandbox"),
        "EVENT_BUS=redis\nREDIS_URL=redis://from-file:6379\n",
    )
    .unwrap();
    std::fs::write(dir.join(".env.live"), "this line is broken\n").unwrap();
    let out = avb(&["mode"], &[("REDIS_URL", "redis://from-env:6379")], &dir);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("redis redis://from-env:6379"), "{stdout}");
    assert!(
        stdout.contains("(set by EVENT_BUS in .env.sandbox)"),
        "{stdout}"
    );
    // AVB_DOTENV_DIR points elsewhere; live mode reads .env.live, whose bad line is reported with its place.
    let out = avb(
        &["mode"],
        &[
            ("AVB_DEV_MODE", "live"),
            ("AVB_DOTENV_DIR", dir.to_str().unwrap()),
        ],
        Path::new("/"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(".env.live:1:1: expected KEY=value"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn vars_prints_the_documented_table() {
    let out = avb(&["vars"], &[], &tempdir("vars"));
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), avb::config::registry().markdown_table());
}
