//! [`open`]: the LLM client `LLM_PROVIDER` chose. One exhaustive `match` over [`LlmConfig`]: a new backend
//! does not compile until it is wired here; one left out of this build is [`Error::NotCompiled`].
//!
//! | `LLM_PROVIDER` | cargo feature of `avb` (of this crate) |
//! |---|---|
//! | `mock` | always built |
//! | `openai` | `llm-openai` (`openai`) |
//! | `ollama` | `llm-ollama` (`ollama`) |

use crate::config::LlmConfig;
use crate::{Error, LlmClient};
use std::sync::Arc;

/// Builds the configured client. No request is sent here: an unreachable server shows in `health()` and
/// in the first call's typed error.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use avb_core::config::PortConfig;
/// use avb_llm::config::LlmConfig;
/// let config = LlmConfig::from_pairs([("LLM_PROVIDER", "mock")])?;
/// let llm = avb_llm::open(&config.backend)?;
/// assert_eq!(llm.backend(), "mock");
/// # Ok(()) }
/// ```
pub fn open(config: &LlmConfig) -> Result<Arc<dyn LlmClient>, Error> {
    match config {
        LlmConfig::Mock(settings) => Ok(Arc::new(crate::mock::MockLlm::new(*settings))),
        LlmConfig::OpenAi { .. } => openai(config),
        LlmConfig::Ollama { .. } => ollama(config),
    }
}

#[cfg(feature = "openai")]
fn openai(config: &LlmConfig) -> Result<Arc<dyn LlmClient>, Error> {
    Ok(Arc::new(crate::openai::OpenAiClient::from_config(config)?))
}

#[cfg(not(feature = "openai"))]
fn openai(_: &LlmConfig) -> Result<Arc<dyn LlmClient>, Error> {
    Err(not_compiled("openai", "llm-openai"))
}

#[cfg(feature = "ollama")]
fn ollama(config: &LlmConfig) -> Result<Arc<dyn LlmClient>, Error> {
    Ok(Arc::new(crate::ollama::OllamaClient::from_config(config)?))
}

#[cfg(not(feature = "ollama"))]
fn ollama(_: &LlmConfig) -> Result<Arc<dyn LlmClient>, Error> {
    Err(not_compiled("ollama", "llm-ollama"))
}

#[cfg_attr(all(feature = "openai", feature = "ollama"), allow(dead_code))]
fn not_compiled(backend: &str, feature: &'static str) -> Error {
    Error::from(avb_core::NotCompiled {
        backend: format!("LLM_PROVIDER={backend}"),
        feature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::config::PortConfig;

    fn config(pairs: &[(&str, &str)]) -> LlmConfig {
        LlmConfig::from_pairs(pairs.iter().copied())
            .unwrap_or_else(|e| panic!("{e}"))
            .backend
    }

    #[test]
    fn the_sandbox_default_is_the_mock_with_its_settings() {
        let c = config(&[
            ("LLM_MOCK_FAIL", "mid_stream"),
            ("LLM_MOCK_FAIL_AFTER", "4"),
        ]);
        let LlmConfig::Mock(settings) = c else {
            panic!("{c:?}")
        };
        assert_eq!(settings.fail, crate::config::MockFailure::MidStream);
        assert_eq!(settings.fail_after, 4);
        assert_eq!(open(&c).unwrap().backend(), "mock");
    }

    #[test]
    fn a_bad_mock_setting_names_the_variable_and_the_allowed_values() {
        let err = LlmConfig::from_pairs([("LLM_MOCK_FAIL", "sometimes")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("LLM_MOCK_FAIL"), "{err}");
        assert!(err.contains("rate_limit"), "{err}");
    }

    #[cfg(not(feature = "openai"))]
    #[test]
    fn openai_without_its_feature_names_the_feature() {
        let err = open(&config(&[
            ("LLM_PROVIDER", "openai"),
            ("LLM_API_URL", "http://127.0.0.1:9/v1"),
            ("LLM_MODEL", "m"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("llm-openai"), "{err}");
    }
}
