//! The LLM port's configuration: which backend `LLM_PROVIDER` chose and its settings, read and checked here
//! (once) and shown as the startup summary's line; [`crate::open`] builds the backend from it. The mock's
//! and the HTTP backends' own settings are [`HttpSettings`] and [`MockSettings`].

use avb_core::config::keys::{Key, key, secret};
use avb_core::config::{PortConfig, Reader, Scrubber, Secret, ServiceUrl};
use serde::Serialize;
use std::fmt;

mod settings;
pub use settings::*;

avb_core::choice! {
    /// LLM backend (`LLM_PROVIDER`).
    LlmKind { /** Deterministic offline model. */ Mock = "mock", /** Any OpenAI-compatible API. */ OpenAi = "openai", /** Ollama. */ Ollama = "ollama" }
}
avb_core::backend_kind!(LlmKind, LLM_PROVIDER, sandbox: Mock, live: Ollama, sandbox_only: [Mock]);

// The port's variables: each described once (the registry, `avb vars` and the README table are made
// from these constants).

/// `LLM_PROVIDER`.
pub const LLM_PROVIDER: Key = key(
    "LLM_PROVIDER",
    "llm",
    "`mock`, `openai`, `ollama`",
    "sandbox: `mock`; live: `ollama`",
    "LLM backend. `mock` (the offline model) is sandbox-only.",
);

/// `LLM_API_URL`.
pub const LLM_API_URL: Key = key(
    "LLM_API_URL",
    "llm",
    "`http(s)://` URL",
    "required for `openai` and `ollama`",
    "Base URL of the OpenAI-compatible API (Ollama: `http://host:11434`).",
);

/// `LLM_API_KEY`.
pub const LLM_API_KEY: Key = secret(
    "LLM_API_KEY",
    "llm",
    "API key",
    "API key (optional; Groq and OpenAI need one).",
);

/// `LLM_MODEL`.
pub const LLM_MODEL: Key = key(
    "LLM_MODEL",
    "llm",
    "model name",
    "required for `openai` and `ollama`",
    "Model used for chat and embeddings.",
);

/// Every variable of the port, in documentation order.
pub const VARS: &[Key] = &[
    LLM_PROVIDER,
    LLM_API_URL,
    LLM_API_KEY,
    LLM_MODEL,
    LLM_CONNECT_TIMEOUT_MS,
    LLM_FIRST_TOKEN_TIMEOUT_MS,
    LLM_TIMEOUT_MS,
    LLM_RETRIES,
    LLM_MOCK_LATENCY_MS,
    LLM_MOCK_TOKEN_DELAY_MS,
    LLM_MOCK_FAIL,
    LLM_MOCK_FAIL_AFTER,
];

/// LLM backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LlmConfig {
    /// Deterministic offline model (sandbox only).
    Mock(MockSettings),
    /// An OpenAI-compatible API.
    OpenAi {
        /// `LLM_API_URL`.
        url: ServiceUrl,
        /// `LLM_MODEL`.
        model: String,
        /// `LLM_API_KEY`.
        api_key: Option<Secret>,
        /// Timeouts and retries.
        http: HttpSettings,
    },
    /// Ollama.
    Ollama {
        /// `LLM_API_URL`.
        url: ServiceUrl,
        /// `LLM_MODEL`.
        model: String,
        /// `LLM_API_KEY` (for an authenticating proxy in front of Ollama).
        api_key: Option<Secret>,
        /// Timeouts and retries.
        http: HttpSettings,
    },
}

impl PortConfig for LlmConfig {
    type Kind = LlmKind;
    const NAME: &'static str = "llm";
    const VARS: &'static [Key] = VARS;

    fn read(kind: LlmKind, r: &mut Reader<'_>, needed_by: &str) -> Option<Self> {
        let example = match kind {
            LlmKind::Mock => return MockSettings::read(r).map(LlmConfig::Mock),
            LlmKind::Ollama => "http://127.0.0.1:11434",
            LlmKind::OpenAi => "https://api.openai.com/v1",
        };
        let url = r.url(&LLM_API_URL, needed_by, &["http", "https"], example);
        let model = r
            .required(&LLM_MODEL, needed_by, "gemma3:270m")
            .map(str::to_string);
        let api_key = r.optional_secret(&LLM_API_KEY);
        let http = HttpSettings::read(r);
        let (url, model, api_key, http) = (url?, model?, api_key?, http?);
        Some(match kind {
            LlmKind::Ollama => LlmConfig::Ollama {
                url,
                model,
                api_key,
                http,
            },
            LlmKind::OpenAi | LlmKind::Mock => LlmConfig::OpenAi {
                url,
                model,
                api_key,
                http,
            },
        })
    }

    fn kind(&self) -> LlmKind {
        match self {
            LlmConfig::Mock(_) => LlmKind::Mock,
            LlmConfig::OpenAi { .. } => LlmKind::OpenAi,
            LlmConfig::Ollama { .. } => LlmKind::Ollama,
        }
    }

    fn secrets<'a>(&'a self, out: &mut Scrubber<'a>) {
        match self {
            LlmConfig::Mock(_) => {}
            LlmConfig::OpenAi { url, api_key, .. } | LlmConfig::Ollama { url, api_key, .. } => {
                out.url(url);
                if let Some(key) = api_key {
                    out.secret(key);
                }
            }
        }
    }
}

impl fmt::Display for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = |k: &Option<_>| if k.is_some() { " (key ***)" } else { "" };
        match self {
            LlmConfig::Mock(m) => write!(f, "mock (deterministic, offline{m})"),
            LlmConfig::OpenAi {
                url,
                model,
                api_key,
                ..
            } => write!(f, "openai {url} model {model:?}{}", key(api_key)),
            LlmConfig::Ollama {
                url,
                model,
                api_key,
                ..
            } => write!(f, "ollama {url} model {model:?}{}", key(api_key)),
        }
    }
}
