//! Helpers for tests that need a real server started by `scripts/services`.
//!
//! A live test calls [`live_server`] with the harness variable that names its server. When the variable is
//! unset or the server does not accept a connection, the test skips and prints why — unless
//! `AVB_TEST_REQUIRE_LIVE=1` (set by `scripts/test`), in which case it fails.
//!
//! Behind the cargo feature `testing` (off by default), so a service's build has no way to read `AVB_TEST_*`.
//! avb's own test and bench targets that use it declare `required-features = ["testing"]`.

use crate::env::test_var;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Whether a missing live server fails the test (`AVB_TEST_REQUIRE_LIVE=1`) instead of skipping it.
///
/// # Panics
/// When `AVB_TEST_REQUIRE_LIVE` has a value other than `1` or `0`: a typo must not silently turn live
/// tests into skips.
pub fn require_live() -> bool {
    match test_var("AVB_TEST_REQUIRE_LIVE").as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => panic!("AVB_TEST_REQUIRE_LIVE={other:?} is invalid: expected one of 1, 0"),
    }
}

/// The URL (or `host:port`, e.g. `AVB_TEST_KAFKA_BOOTSTRAP`) of the live server named by the harness
/// variable `var` (e.g. `AVB_TEST_REDIS_URL`), once it accepts a TCP connection. `None` means "skip": the reason is printed to stderr.
///
/// # Panics
/// When the server is missing and [`require_live`] is true — that is the test failing, as it must.
pub fn live_server(var: &str) -> Option<String> {
    let problem = match test_var(var) {
        None => format!(
            "{var} is not set (run `eval \"$(scripts/services env)\"` after `scripts/services up`)"
        ),
        Some(url) => match probe(&url) {
            Ok(()) => return Some(url),
            Err(e) => format!(
                "the server at {var}={} is not reachable: {e}",
                avb_core::config::redact_raw(&url)
            ),
        },
    };
    missing("live server", &problem)
}

/// Another harness value a live test needs beside its server's URL (a key pair, a bucket), e.g.
/// `AVB_TEST_S3_ACCESS_KEY`. `None` means "skip": the reason is printed to stderr.
///
/// # Panics
/// When the value is missing and [`require_live`] is true.
pub fn harness_value(var: &str) -> Option<String> {
    if let Some(value) = test_var(var) {
        return Some(value);
    }
    let problem = format!(
        "{var} is not set (run `eval \"$(scripts/services env)\"` after `scripts/services up`)"
    );
    missing("live server", &problem)
}

/// An on/off switch of a test or benchmark run (an `AVB_TEST_…` variable): `true` only when it is `1`.
pub fn harness_flag(var: &str) -> bool {
    test_var(var).is_some_and(|v| v == "1")
}

/// The one rule for a missing live dependency: fail under `AVB_TEST_REQUIRE_LIVE=1`, else skip visibly.
fn missing<T>(what: &str, problem: &str) -> Option<T> {
    if require_live() {
        panic!("{what} required (AVB_TEST_REQUIRE_LIVE=1) but {problem}");
    }
    eprintln!("SKIPPED (no {what}): {problem}");
    None
}

/// The host and port of a URL, or of a plain `host:port` (a Kafka bootstrap address has no scheme).
fn host_port(value: &str) -> Result<(String, u16), String> {
    if !value.contains("://")
        && let Some((host, port)) = value.rsplit_once(':')
    {
        let port = port
            .parse()
            .map_err(|e| format!("not host:port (port: {e})"))?;
        return Ok((host.to_string(), port));
    }
    let parsed = url::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed
        .port_or_known_default()
        .ok_or("the URL has no port")?;
    Ok((host.to_string(), port))
}

fn probe(url: &str) -> Result<(), String> {
    let (host, port) = host_port(url)?;
    let host = host.as_str();
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The path of a server binary named by the harness variable `var` (e.g. `AVB_TEST_REDIS_SERVER_BIN`,
/// exported by `scripts/services env`), for tests that run a private server they may kill and restart.
/// `None` means "skip": the reason is printed to stderr.
///
/// # Panics
/// When the binary is missing and [`require_live`] is true — that is the test failing, as it must.
pub fn live_binary(var: &str) -> Option<std::path::PathBuf> {
    let problem = match test_var(var) {
        None => format!("{var} is not set (run `eval \"$(scripts/services env)\"`)"),
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            if path.is_file() {
                return Some(path);
            }
            format!("{var}={} is not a file", path.display())
        }
    };
    missing("server binary", &problem)
}
