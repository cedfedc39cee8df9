//! The variables of the port: each described once (the registry, `avb vars` and the README table are made
//! from these constants).

use avb_core::config::keys::{Key, key, secret};

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
pub const VARS: &[Key] = &[LLM_PROVIDER, LLM_API_URL, LLM_API_KEY, LLM_MODEL];
