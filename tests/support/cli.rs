//! Running the `avb` binary from a test: a cleared environment (the developer's own variables cannot leak
//! into the result), only the given variables, in the given directory.

use std::path::Path;
use std::process::{Command, Output};

/// `avb <args>` with only `vars` set, in `dir`.
pub fn avb(args: &[&str], vars: &[(&str, &str)], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avb"))
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running avb {args:?}: {e}"))
}

/// Output bytes as text (lossy).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
