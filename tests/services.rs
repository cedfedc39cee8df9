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

/// One HTTP/1.1 GET on loopback; the status code of the answer.
fn http_status(url: &str, path: &str) -> u16 {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    status.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn harness_minio_is_live_and_refuses_anonymous_reads() {
    let Some(url) = avb::testing::live_server("AVB_TEST_MINIO_URL") else {
        return;
    };
    let Some(bucket) = avb::testing::harness_value("AVB_TEST_MINIO_BUCKET") else {
        return;
    };
    assert_eq!(http_status(&url, "/minio/health/live"), 200);
    assert_eq!(http_status(&url, "/minio/health/ready"), 200);
    // The test bucket is private: an unsigned listing is refused. (MinIO answers 403 to an anonymous
    // request for a missing bucket too, so its existence is shown by the signed suites, not here.)
    assert_eq!(http_status(&url, &format!("/{bucket}/")), 403);
}
