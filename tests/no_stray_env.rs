//! "One place reads the environment": fails if any Rust source other than `src/env.rs` reads the process
//! environment at run time or loads a dotenv file through a crate. (`env!`/`option_env!` are compile-time and
//! allowed.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

const ALLOWED: &str = "src/env.rs";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let skip = [".git", "target", ".services", ".avb", "node_modules"];
        if path.is_dir() && !skip.iter().any(|s| name == *s) {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Patterns that read the environment, assembled so this file does not match itself.
fn patterns() -> Vec<String> {
    let e = "env";
    vec![
        format!("{e}::var("),
        format!("{e}::var_os("),
        format!("{e}::vars("),
        format!("{e}::vars_os("),
        format!("dot{e}y::"),
        format!("dot{e}::"),
        format!("{e}y::"),
        format!("figment::providers::{}", "Env"),
    ]
}

#[test]
fn only_the_facade_reads_the_process_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(
        files.len() > 10,
        "found only {} Rust files under {}",
        files.len(),
        root.display()
    );
    let mut offenders = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if rel == ALLOWED {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(p) = patterns().iter().find(|p| line.contains(p.as_str())) {
                offenders.push(format!(
                    "{rel}:{}: reads the environment ({p}): {}",
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "only {ALLOWED} may read the process environment:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_guard_catches_a_stray_read() {
    let line = format!("let x = std::{}::var(\"REDIS_URL\");", "env");
    assert!(patterns().iter().any(|p| line.contains(p.as_str())));
}

/// The line before the one that starts with `item` in `file` (under the crate root), trimmed.
fn line_before(file: &str, item: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with(item))
        .unwrap_or_else(|| panic!("{file} has no line starting with {item:?}"));
    assert!(at > 0, "{file}: {item:?} is the first line");
    lines[at - 1].trim().to_string()
}

/// `AVB_TEST_*` is read only by `avb::testing`, and only a build with the feature `testing` has it: a
/// service's build cannot read harness variables at all.
#[test]
fn the_test_harness_reader_exists_only_with_the_testing_feature() {
    for (file, item) in [
        ("src/lib.rs", "pub mod testing;"),
        ("src/env.rs", "pub fn test_var("),
    ] {
        assert_eq!(
            line_before(file, item),
            r#"#[cfg(feature = "testing")]"#,
            "{file}: {item} must be behind the feature `testing`"
        );
    }
}
