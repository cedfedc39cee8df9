//! The HTTP client tests use to talk to a test server directly (admin calls, stats, JWKS): with timeouts, so a
//! server that accepts a connection and never answers fails the test with a message instead of hanging it.

use std::time::Duration;

/// A client whose every request fails after 10 s (connect: 5 s).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("building the test HTTP client: {e}"))
}
