//! The one place in avb that reads the process environment (a test enforces it: `tests/no_stray_env.rs`).
//!
//! | variable | read here for |
//! |---|---|
//! | every variable of [`crate::config::registry`] | [`from_env`], passed on as pairs |
//! | `AVB_DOTENV_DIR` | where `.env.sandbox` / `.env.live` are looked up (default: the current directory) |
//! | `AVB_TEST_*` | `test_var`, for the test harness only (feature `testing`) |

use crate::config::{Config, ConfigBuilder, ConfigError};
use std::path::PathBuf;

/// Resolves the configuration from the process environment, layered over `.env.sandbox` or `.env.live`
/// (chosen by the mode the environment resolves to) when that file exists in `AVB_DOTENV_DIR` or the
/// current directory. The process environment wins over the file; avb never writes the process environment.
pub fn from_env() -> Result<Config, ConfigError> {
    from_env_in_mode(None, |b| b)
}

/// [`from_env`] for the ports of `uses` only: the other ports' variables are not read (see
/// [`Config::uses`]).
pub fn from_env_using(uses: crate::PortSet) -> Result<Config, ConfigError> {
    from_env_in_mode(None, |b| b.uses(uses))
}

/// [`from_env`] with `AVB_DEV_MODE` set to `mode` over the process environment (when `Some`): what
/// [`crate::Platform::switch_mode`] re-resolves (the `.env.*` file of the new mode is layered under it).
/// `tweak` adjusts the builder over the process pairs (the ports used, a probe value).
pub(crate) fn from_env_in_mode(
    mode: Option<crate::config::Mode>,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Result<Config, ConfigError> {
    let mut builder = ConfigBuilder::new();
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str().map(str::to_string) else {
            continue;
        };
        builder = match value.into_string() {
            Ok(value) => builder.with_config(key, value),
            Err(_) => builder.with_non_unicode(key),
        };
    }
    if let Some(mode) = mode {
        builder = builder.with_config("AVB_DEV_MODE", mode.as_str());
    }
    builder = tweak(builder);
    let file_name = builder.env_file_name()?;
    let dir = std::env::var_os("AVB_DOTENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = dir.join(file_name);
    match std::fs::read_to_string(&path) {
        Ok(text) => builder = builder.with_env_file(path.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            builder = builder.with_unreadable_env_file(path.display().to_string(), e.to_string())
        }
    }
    builder.build()
}

/// The names of the process environment's variables (for the platform's warning about set variables the
/// resolved backends do not read).
pub(crate) fn process_keys() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect()
}

/// Reads a test-harness variable (`AVB_TEST_…`) for `avb::testing` (feature `testing`). Returns `None`
/// for any other name, so this cannot become a second way of reading configuration.
#[cfg(feature = "testing")]
pub fn test_var(name: &str) -> Option<String> {
    if !name.starts_with(avb_core::config::keys::TEST_PREFIX) {
        return None;
    }
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
