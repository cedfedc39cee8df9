//! Ollama (`LLM_PROVIDER=ollama`, the live default) through its OpenAI-compatible `/v1` API, with Ollama's
//! defaults: no key (`LLM_API_KEY` only for an authenticating proxy in front), `LLM_API_URL` with or without
//! `/v1` (`http://ollama:11434` and `http://ollama:11434/v1` are the same server), a model name without a
//! tag meaning `:latest` (Ollama's own rule, so the model list matches). Health asks Ollama's native
//! `/api/version`. An unknown model is Ollama's 404 `model "x" not found, try pulling it first`, mapped to
//! [`Error::ModelNotFound`](crate::Error).
//!
//! Declared: Ollama rejects unknown models; it truncates a prompt longer than the context instead of
//! failing (`context_limit_error: false`) and reports no cached tokens. Whether the model embeds is
//! Ollama's own declaration (`/api/show` → `capabilities` containing `embedding`), read by
//! [`LlmClient::health`]; until health has been asked, `embeddings` is not declared.

use crate::config::{HttpSettings, LlmConfig};
use crate::openai::OpenAiClient;
use crate::{
    Capabilities, ChatRequest, ChatResponse, ChatStream, Embeddings, Error, Health, LlmClient,
    ModelInfo, Result,
};
use async_trait::async_trait;
use avb_core::config::PortConfig as _;
use avb_core::config::Secret;
use std::sync::{Arc, OnceLock};

/// What the `ollama` backend declares (`embeddings` once `/api/show` says so).
pub const OLLAMA_CAPABILITIES: Capabilities = Capabilities {
    embeddings: false,
    deterministic: true,
    rejects_unknown_model: true,
    context_limit_error: false,
    cached_tokens: false,
    error_injection: false,
};

/// An Ollama client.
#[derive(Debug, Clone)]
pub struct OllamaClient {
    api: OpenAiClient,
    root: String,
    http: reqwest::Client,
    settings: HttpSettings,
    /// Whether `/api/show` lists `embedding` among the model's capabilities (read by `health`).
    embeds: Arc<OnceLock<bool>>,
}

/// The server root of an Ollama URL given with or without `/v1` (and trailing slashes).
pub fn server_root(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/v1").unwrap_or(url).trim_end_matches('/')
}

/// Ollama's model name: `name` means `name:latest`.
pub fn full_model_name(model: &str) -> String {
    let last = model.rsplit('/').next().unwrap_or(model);
    if last.contains(':') {
        model.to_string()
    } else {
        format!("{model}:latest")
    }
}

impl OllamaClient {
    /// A client for the Ollama server at `url` (with or without `/v1`).
    pub fn new(
        url: &str,
        model: &str,
        key: Option<Secret>,
        settings: HttpSettings,
    ) -> Result<Self> {
        let root = server_root(url).to_string();
        let api = OpenAiClient::build(
            "ollama",
            &format!("{root}/v1"),
            &full_model_name(model),
            key,
            settings,
            OLLAMA_CAPABILITIES,
        )?;
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| {
                Error::invalid(format!(
                    "cannot build the HTTP client: {}",
                    crate::openai::describe(&e)
                ))
            })?;
        Ok(Self {
            api,
            root,
            http,
            settings,
            embeds: Arc::new(OnceLock::new()),
        })
    }

    /// From an `LlmConfig::Ollama`.
    pub fn from_config(config: &LlmConfig) -> Result<Self> {
        match config {
            LlmConfig::Ollama {
                url,
                model,
                api_key,
                http,
            } => Self::new(url.expose().as_str(), model, api_key.clone(), *http),
            other => Err(Error::invalid(format!(
                "the ollama backend needs LLM_PROVIDER=ollama, not {}",
                other.kind()
            ))),
        }
    }

    /// The OpenAI-compatible API root requests go to (`<server>/v1`).
    pub fn base_url(&self) -> &str {
        self.api.base_url()
    }
}

#[async_trait]
impl LlmClient for OllamaClient {
    fn backend(&self) -> &'static str {
        "ollama"
    }

    fn model(&self) -> &str {
        self.api.model()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            embeddings: self.embeds.get().copied().unwrap_or(false),
            ..self.api.capabilities()
        }
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let asked = request.model.clone();
        let r = self.api.chat(with_full_name(request)).await;
        r.map_err(|e| as_asked(e, asked))
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let asked = request.model.clone();
        let r = self.api.chat_stream(with_full_name(request)).await;
        r.map_err(|e| as_asked(e, asked))
    }

    async fn embed(&self, inputs: &[String], model: Option<&str>) -> Result<Embeddings> {
        let full = model.map(full_model_name);
        let r = self.api.embed(inputs, full.as_deref()).await;
        r.map_err(|e| as_asked(e, model.map(str::to_string)))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.api.list_models().await
    }

    async fn health(&self) -> Health {
        match tokio::time::timeout(self.settings.first_token_timeout, self.probe()).await {
            Ok(Ok(())) => Health::up("ollama"),
            Ok(Err(reason)) => Health::down("ollama", reason),
            Err(_) => Health::down("ollama", "Ollama did not answer in time"),
        }
    }
}

impl OllamaClient {
    /// `/api/version` answers, and `/api/show` knows the model (its capabilities are noted).
    async fn probe(&self) -> std::result::Result<(), String> {
        let describe = |e: reqwest::Error| crate::openai::describe(&e);
        let version = self
            .http
            .get(format!("{}/api/version", self.root))
            .send()
            .await
            .map_err(describe)?;
        if !version.status().is_success() {
            return Err(format!(
                "/api/version answered HTTP {}",
                version.status().as_u16()
            ));
        }
        let show = self
            .http
            .post(format!("{}/api/show", self.root))
            .json(&serde_json::json!({ "model": self.api.model() }))
            .send()
            .await
            .map_err(describe)?;
        let status = show.status().as_u16();
        let body = show.text().await.map_err(describe)?;
        if status != 200 {
            let (message, _, _) = crate::openai::error_parts(&body);
            return Err(format!(
                "model {:?}: HTTP {status}: {message}",
                self.api.model()
            ));
        }
        let capabilities: Vec<String> = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| serde_json::from_value(v.get("capabilities")?.clone()).ok())
            .unwrap_or_default();
        let _ = self
            .embeds
            .set(capabilities.iter().any(|c| c == "embedding"));
        Ok(())
    }
}

/// A [`Error::ModelNotFound`] names the model as the caller asked for it (without the `:latest` added).
fn as_asked(e: Error, asked: Option<String>) -> Error {
    match (e, asked) {
        (
            Error::ModelNotFound {
                backend, detail, ..
            },
            Some(model),
        ) => Error::ModelNotFound {
            backend,
            model,
            detail,
        },
        (e, _) => e,
    }
}

fn with_full_name(mut request: ChatRequest) -> ChatRequest {
    if let Some(m) = &request.model {
        request.model = Some(full_model_name(m));
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_normalised_with_or_without_v1() {
        for url in [
            "http://h:11434",
            "http://h:11434/",
            "http://h:11434/v1",
            "http://h:11434/v1/",
        ] {
            assert_eq!(server_root(url), "http://h:11434", "{url}");
            let c = OllamaClient::new(url, "m", None, HttpSettings::default()).unwrap();
            assert_eq!(c.base_url(), "http://h:11434/v1");
        }
        assert_eq!(server_root("http://proxy/ollama/v1"), "http://proxy/ollama");
    }

    #[test]
    fn a_name_without_tag_means_latest() {
        assert_eq!(full_model_name("gemma3"), "gemma3:latest");
        assert_eq!(full_model_name("gemma3:270m"), "gemma3:270m");
        assert_eq!(full_model_name("host:5000/ns/m"), "host:5000/ns/m:latest");
    }
}
