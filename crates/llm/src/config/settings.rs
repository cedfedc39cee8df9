//! The settings of the LLM backends beyond the URL, model and key: the HTTP backends' three timeouts and
//! retry count, and the mock's latency and injected errors. Each variable is described once here.

use avb_core::config::Reader;
use avb_core::config::keys::{Key, key};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// `LLM_CONNECT_TIMEOUT_MS`.
pub const LLM_CONNECT_TIMEOUT_MS: Key = key(
    "LLM_CONNECT_TIMEOUT_MS",
    "llm",
    "milliseconds, 1–600000",
    "`5000`",
    "`openai`/`ollama`: time limit for connecting to the server.",
);

/// `LLM_FIRST_TOKEN_TIMEOUT_MS`.
pub const LLM_FIRST_TOKEN_TIMEOUT_MS: Key = key(
    "LLM_FIRST_TOKEN_TIMEOUT_MS",
    "llm",
    "milliseconds, 1–3600000",
    "`60000`",
    "`openai`/`ollama`: time limit from the request to the first token of a stream (or to a non-streamed answer).",
);

/// `LLM_TIMEOUT_MS`.
pub const LLM_TIMEOUT_MS: Key = key(
    "LLM_TIMEOUT_MS",
    "llm",
    "milliseconds, 1–3600000",
    "`300000`",
    "`openai`/`ollama`: time limit for a whole call, stream included.",
);

/// `LLM_RETRIES`.
pub const LLM_RETRIES: Key = key(
    "LLM_RETRIES",
    "llm",
    "0–10",
    "`2`",
    "`openai`/`ollama`: retries of a retryable failure (unreachable, 5xx, 429 after its `Retry-After`, timeout) — only before the first token was handed out, never a restarted stream.",
);

/// `LLM_MOCK_LATENCY_MS`.
pub const LLM_MOCK_LATENCY_MS: Key = key(
    "LLM_MOCK_LATENCY_MS",
    "llm",
    "milliseconds, 0–600000",
    "`0`",
    "`mock`: delay before the first token (and before a non-streamed answer).",
);

/// `LLM_MOCK_TOKEN_DELAY_MS`.
pub const LLM_MOCK_TOKEN_DELAY_MS: Key = key(
    "LLM_MOCK_TOKEN_DELAY_MS",
    "llm",
    "milliseconds, 0–60000",
    "`0`",
    "`mock`: delay between two streamed tokens.",
);

/// `LLM_MOCK_FAIL`.
pub const LLM_MOCK_FAIL: Key = key(
    "LLM_MOCK_FAIL",
    "llm",
    "`none`, `rate_limit`, `unavailable`, `mid_stream`",
    "`none`",
    "`mock`: an injected failure — every call rate-limited (retry after 1 s), every call unavailable, or each stream breaking after `LLM_MOCK_FAIL_AFTER` tokens.",
);

/// `LLM_MOCK_FAIL_AFTER`.
pub const LLM_MOCK_FAIL_AFTER: Key = key(
    "LLM_MOCK_FAIL_AFTER",
    "llm",
    "0–1000",
    "`2`",
    "`mock` with `LLM_MOCK_FAIL=mid_stream`: tokens streamed before the failure.",
);

/// Timeouts and retries of the HTTP backends (`openai`, `ollama`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HttpSettings {
    /// `LLM_CONNECT_TIMEOUT_MS`.
    pub connect_timeout: Duration,
    /// `LLM_FIRST_TOKEN_TIMEOUT_MS`.
    pub first_token_timeout: Duration,
    /// `LLM_TIMEOUT_MS`.
    pub timeout: Duration,
    /// `LLM_RETRIES`.
    pub retries: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            first_token_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(300),
            retries: 2,
        }
    }
}

impl HttpSettings {
    pub(crate) fn read(r: &mut Reader<'_>) -> Option<Self> {
        let d = Self::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let connect = r.integer(&LLM_CONNECT_TIMEOUT_MS, ms(d.connect_timeout), 1..=600_000);
        let first = r.integer(
            &LLM_FIRST_TOKEN_TIMEOUT_MS,
            ms(d.first_token_timeout),
            1..=3_600_000,
        );
        let total = r.integer(&LLM_TIMEOUT_MS, ms(d.timeout), 1..=3_600_000);
        let retries = r.integer(&LLM_RETRIES, u64::from(d.retries), 0..=10);
        Some(Self {
            connect_timeout: Duration::from_millis(connect?),
            first_token_timeout: Duration::from_millis(first?),
            timeout: Duration::from_millis(total?),
            retries: u32::try_from(retries?).unwrap_or(10),
        })
    }
}

/// An error the mock injects (`LLM_MOCK_FAIL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MockFailure {
    /// None.
    #[default]
    None,
    /// Every call fails with a rate-limit error (retry after 1 s).
    RateLimit,
    /// Every call fails as unavailable.
    Unavailable,
    /// Every stream breaks after `LLM_MOCK_FAIL_AFTER` tokens (a non-streamed call fails the same way).
    MidStream,
}

/// The mock's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MockSettings {
    /// `LLM_MOCK_LATENCY_MS`.
    pub latency: Duration,
    /// `LLM_MOCK_TOKEN_DELAY_MS`.
    pub token_delay: Duration,
    /// `LLM_MOCK_FAIL`.
    pub fail: MockFailure,
    /// `LLM_MOCK_FAIL_AFTER`.
    pub fail_after: u32,
}

impl MockSettings {
    /// Tokens streamed before a mid-stream failure when `LLM_MOCK_FAIL_AFTER` is unset.
    pub const DEFAULT_FAIL_AFTER: u32 = 2;

    /// No latency, no failure.
    pub fn new() -> Self {
        Self {
            fail_after: Self::DEFAULT_FAIL_AFTER,
            ..Self::default()
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Option<Self> {
        let latency = r.integer(&LLM_MOCK_LATENCY_MS, 0, 0..=600_000);
        let token_delay = r.integer(&LLM_MOCK_TOKEN_DELAY_MS, 0, 0..=60_000);
        let fail = r.choice(
            &LLM_MOCK_FAIL,
            &[
                ("none", MockFailure::None),
                ("rate_limit", MockFailure::RateLimit),
                ("unavailable", MockFailure::Unavailable),
                ("mid_stream", MockFailure::MidStream),
            ],
            MockFailure::None,
        );
        let fail_after = r.integer(
            &LLM_MOCK_FAIL_AFTER,
            u64::from(Self::DEFAULT_FAIL_AFTER),
            0..=1000,
        );
        Some(Self {
            latency: Duration::from_millis(latency?),
            token_delay: Duration::from_millis(token_delay?),
            fail: fail?,
            fail_after: u32::try_from(fail_after?).unwrap_or(1000),
        })
    }
}

/// The summary line's tail: nothing for the defaults.
impl fmt::Display for MockSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.latency.is_zero() {
            write!(f, ", latency {:?}", self.latency)?;
        }
        if !self.token_delay.is_zero() {
            write!(f, ", {:?} per token", self.token_delay)?;
        }
        match self.fail {
            MockFailure::None => Ok(()),
            MockFailure::RateLimit => f.write_str(", injected: rate limit"),
            MockFailure::Unavailable => f.write_str(", injected: unavailable"),
            MockFailure::MidStream => write!(
                f,
                ", injected: stream breaks after {} tokens",
                self.fail_after
            ),
        }
    }
}
