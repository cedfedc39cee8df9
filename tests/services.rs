//! The local-server harness (`scripts/services`) really serves what the live tests need.
//! Skips with a reason when no harness runs; fails instead under `AVB_TEST_REQUIRE_LIVE=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// Sends one RESP command and returns the raw reply lines (enough for simple and bulk replies).
fn redis(url: &str, args: &[&str], lines: usize) -> Vec<String> {
    let addr = url.trim_start_matches("redis://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    stream.write_all(cmd.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    (0..lines)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line.trim_end().to_string()
        })
        .collect()
}

#[test]
fn harness_redis_answers_and_persists_append_only() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    assert_eq!(redis(&url, &["PING"], 1), ["+PONG"]);
    // CONFIG GET appendonly -> *2, $10, appendonly, $3, yes
    assert_eq!(redis(&url, &["CONFIG", "GET", "appendonly"], 5)[4], "yes");
    assert_eq!(
        redis(&url, &["CONFIG", "GET", "appendfsync"], 5)[4],
        "always"
    );
}
