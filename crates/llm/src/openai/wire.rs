//! The OpenAI chat-completions wire format (what OpenAI, Groq, llama.cpp's server and Ollama's `/v1` speak)
//! and the mapping of its error answers onto [`Error`].

use crate::{ChatRequest, Error, Event, FinishReason, Usage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// The request body of `POST /chat/completions`.
#[derive(Debug, Serialize)]
pub struct ChatBody<'a> {
    pub model: &'a str,
    pub messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
}

#[derive(Debug, Serialize)]
pub struct WireMessage<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

#[derive(Debug, Serialize)]
pub struct StreamOptions {
    pub include_usage: bool,
}

impl<'a> ChatBody<'a> {
    pub fn new(request: &'a ChatRequest, model: &'a str, stream: bool) -> Self {
        Self {
            model,
            messages: request
                .messages
                .iter()
                .map(|m| WireMessage {
                    role: m.role.as_str(),
                    content: &m.content,
                })
                .collect(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            stop: &request.stop,
            seed: request.seed,
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Deserialize)]
pub struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: Option<u32>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens),
        }
    }
}

/// The answer of a non-streamed call.
#[derive(Debug, Deserialize)]
pub struct ChatAnswer {
    #[serde(default)]
    pub model: String,
    pub choices: Vec<AnswerChoice>,
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
pub struct AnswerChoice {
    pub message: AnswerMessage,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AnswerMessage {
    #[serde(default)]
    pub content: Option<String>,
}

/// One chunk of a stream.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
pub struct ChunkChoice {
    #[serde(default)]
    pub delta: Option<ChunkDelta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChunkDelta {
    #[serde(default)]
    pub content: Option<String>,
}

impl Chunk {
    /// The chunk's events in the order a reader expects: model, text, finish, usage.
    pub fn events(self) -> Vec<Event> {
        let mut out = Vec::new();
        if let Some(m) = self.model.filter(|m| !m.is_empty()) {
            out.push(Event::Model(m));
        }
        for choice in self.choices {
            if let Some(text) = choice.delta.and_then(|d| d.content) {
                out.push(Event::Delta(text));
            }
            if let Some(f) = choice.finish_reason {
                out.push(Event::Finish(FinishReason::from_wire(&f)));
            }
        }
        if let Some(u) = self.usage {
            out.push(Event::Usage(u.into()));
        }
        out
    }
}

#[derive(Debug, Deserialize)]
pub struct ModelList {
    pub data: Vec<ModelEntry>,
}

#[derive(Debug, Deserialize)]
pub struct ModelEntry {
    pub id: String,
    #[serde(default)]
    pub owned_by: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EmbeddingAnswer {
    #[serde(default)]
    pub model: String,
    pub data: Vec<EmbeddingEntry>,
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
pub struct EmbeddingEntry {
    #[serde(default)]
    pub index: usize,
    pub embedding: Vec<f32>,
}

/// Who answered, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub backend: &'static str,
    pub endpoint: &'a str,
    pub model: &'a str,
}

/// The message, type and code of an error answer: `{"error": {"message", "type", "code"}}`,
/// `{"error": "text"}` (Ollama's native API) or any other body (shortened).
pub fn error_parts(body: &str) -> (String, String, String) {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let err = json.as_ref().and_then(|v| v.get("error"));
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match err {
        Some(Value::Object(o)) => (
            text(o.get("message")),
            text(o.get("type")),
            text(o.get("code")),
        ),
        Some(Value::String(s)) => (s.clone(), String::new(), String::new()),
        _ => (shorten(body), String::new(), String::new()),
    }
}

/// At most 300 characters of `s`.
pub fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The typed error for an error answer: HTTP `status` (0 inside a stream), its body, its `Retry-After`.
pub fn error_for(
    origin: Origin<'_>,
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
) -> Error {
    let (message, kind, code) = error_parts(body);
    let detail = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        message.clone()
    };
    let lower = message.to_lowercase();
    let is = |names: &[&str]| names.iter().any(|n| kind == *n || code == *n);
    if status == 401 || status == 403 || is(&["invalid_api_key", "authentication_error"]) {
        return Error::Unauthorized {
            backend: origin.backend,
            endpoint: origin.endpoint.to_string(),
            detail,
        };
    }
    if status == 429 || is(&["rate_limit_exceeded", "rate_limit_error"]) {
        return Error::RateLimited {
            backend: origin.backend,
            retry_after,
            detail,
        };
    }
    if is(&["context_length_exceeded", "exceed_context_size_error"])
        || lower.contains("context length")
        || lower.contains("context size")
        || lower.contains("context window")
    {
        return Error::ContextTooLong {
            backend: origin.backend,
            detail,
        };
    }
    // OpenAI: 404 `model_not_found`; Ollama: 404 `model "x" not found, try pulling it first`.
    if is(&["model_not_found"]) || (lower.contains("model") && lower.contains("not found")) {
        return Error::ModelNotFound {
            backend: origin.backend,
            model: origin.model.to_string(),
            detail,
        };
    }
    // 501 (Ollama: `this model does not support embeddings`) fails the same way every time.
    if status == 501 || lower.contains("does not support") {
        return Error::Rejected {
            backend: origin.backend,
            status,
            detail,
        };
    }
    if status == 408 || status >= 500 || is(&["server_error", "overloaded_error"]) {
        return Error::Unavailable {
            backend: origin.backend,
            endpoint: origin.endpoint.to_string(),
            detail: format!("HTTP {status}: {detail}"),
        };
    }
    Error::Rejected {
        backend: origin.backend,
        status,
        detail,
    }
}

/// `Retry-After` in seconds (a date is not parsed: `None`), or OpenAI's `retry-after-ms`.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Classify;

    const O: Origin<'static> = Origin {
        backend: "openai",
        endpoint: "http://h/v1",
        model: "m",
    };

    #[test]
    fn the_servers_real_error_answers_map_to_types() {
        let llama = r#"{"error":{"code":400,"message":"request (40009 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":40009,"n_ctx":2048}}"#;
        assert!(matches!(
            error_for(O, 400, llama, None),
            Error::ContextTooLong { .. }
        ));
        let openai = r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        assert!(matches!(
            error_for(O, 400, openai, None),
            Error::ContextTooLong { .. }
        ));
        let ollama = r#"{"error":{"message":"model \"nope\" not found, try pulling it first","type":"api_error","param":null,"code":null}}"#;
        let e = error_for(O, 404, ollama, None);
        assert!(
            matches!(&e, Error::ModelNotFound { model, .. } if model == "m"),
            "{e}"
        );
        let e = error_for(O, 404, r#"{"error":"model 'nope' not found"}"#, None);
        assert!(matches!(e, Error::ModelNotFound { .. }), "{e}");
        let e = error_for(
            O,
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            None,
        );
        assert!(matches!(e, Error::Unauthorized { .. }), "{e}");
        let e = error_for(O, 429, "slow down", Some(Duration::from_secs(3)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_retryable());
        let e = error_for(
            O,
            501,
            r#"{"error":{"message":"this model does not support embeddings","type":"api_error","param":null,"code":null}}"#,
            None,
        );
        assert!(matches!(e, Error::Rejected { status: 501, .. }), "{e}");
        let e = error_for(O, 503, "<html>busy</html>", None);
        assert!(e.is_retryable(), "{e}");
        let e = error_for(
            O,
            400,
            r#"{"error":{"message":"bad","type":"invalid_request_error"}}"#,
            None,
        );
        assert!(matches!(e, Error::Rejected { status: 400, .. }), "{e}");
        // Inside a stream (status 0), an error object by its type.
        let e = error_for(
            O,
            0,
            r#"{"error":{"message":"limit","type":"rate_limit_error"}}"#,
            None,
        );
        assert!(matches!(e, Error::RateLimited { .. }), "{e}");
    }

    #[test]
    fn retry_after_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
    }

    #[test]
    fn chunks_give_events_in_order() {
        let c: Chunk = serde_json::from_str(
            r#"{"model":"g","choices":[{"delta":{"content":"hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":2}}}"#,
        )
        .unwrap();
        assert_eq!(
            c.events(),
            vec![
                Event::Model("g".into()),
                Event::Delta("hi".into()),
                Event::Finish(FinishReason::Length),
                Event::Usage(Usage {
                    prompt_tokens: 3,
                    completion_tokens: 1,
                    cached_tokens: Some(2)
                }),
            ]
        );
    }
}
