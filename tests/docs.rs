//! The README stays in step with the code: its variable table is the registry's, its example is
//! `examples/quickstart.rs` (which the build compiles).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .map(|i| i + start.len())
        .unwrap_or_else(|| panic!("marker {start} missing"));
    let to = text[from..]
        .find(end)
        .map(|i| from + i)
        .unwrap_or_else(|| panic!("marker {end} missing"));
    &text[from..to]
}

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn readme_variable_table_matches_the_registry() {
    let readme = read("README.md");
    let table = between(
        &readme,
        "<!-- env-table:start -->\n",
        "<!-- env-table:end -->",
    );
    assert_eq!(
        table,
        avb::config::registry().markdown_table(),
        "README.md's variable table is stale: replace it with the output of `cargo run -q -- vars`"
    );
}

#[test]
fn readme_example_is_the_compiled_example() {
    let readme = read("README.md");
    let shown = between(
        &readme,
        "<!-- readme-example:start -->\n```rust\n",
        "```\n<!-- readme-example:end -->",
    );
    let example = read("examples/quickstart.rs");
    let compiled = between(
        &example,
        "// readme-example:start\n",
        "// readme-example:end",
    );
    assert_eq!(
        shown, compiled,
        "README.md's example differs from examples/quickstart.rs"
    );
    assert!(
        shown.lines().count() <= 16,
        "the README example should stay short: two imports and about ten statements"
    );
}

/// A service written from the README builds with the backends it configures: the Cargo lines show the
/// features per backend and the tokio features the example needs.
#[test]
fn readme_cargo_lines_show_every_backend_feature_and_tokio() {
    let readme = read("README.md");
    let cargo = between(
        &readme,
        "<!-- readme-cargo:start -->\n```toml\n",
        "```\n<!-- readme-cargo:end -->",
    );
    assert!(
        cargo.contains(r#"tokio = { version = "1", features = ["macros", "rt-multi-thread"] }"#),
        "{cargo}"
    );
    let manifest = read("Cargo.toml");
    let features = between(&manifest, "[features]\n", "\n[");
    let backend_features: Vec<&str> = features
        .lines()
        .filter_map(|l| l.split_once(" = [").map(|(name, _)| name.trim()))
        // Not backends: the default set, the conformance suites, `avb check` (a tool, built with
        // `cargo run --features check`) and the test helpers (`testing`).
        .filter(|name| {
            !["default", "testing", "check"].contains(name) && !name.ends_with("-conformance")
        })
        .collect();
    assert!(backend_features.len() >= 6, "{backend_features:?}");
    for feature in backend_features {
        assert!(
            cargo.contains(&format!("\"{feature}\"")),
            "README's Cargo lines do not show the feature {feature}:\n{cargo}"
        );
    }
}

/// Every cargo feature of a port crate (`crates/<port>/Cargo.toml`) is forwarded by the facade as
/// `<port>-<feature>` (`event-bus-redis = ["avb-event-bus/redis"]`): a backend added to a port crate without
/// its `avb` feature could not be enabled by a service (docs/adding-a-backend.md, step 5).
#[test]
fn every_port_crate_feature_has_its_avb_feature() {
    let manifest = read("Cargo.toml");
    let facade = between(&manifest, "[features]\n", "\n[");
    let mut checked = 0;
    for port in ["event-bus", "auth", "object-store", "catalog", "llm"] {
        let crate_manifest = read(&format!("crates/{port}/Cargo.toml"));
        let Some(features) = crate_manifest
            .split_once("[features]\n")
            .map(|(_, rest)| rest.split("\n[").next().unwrap_or(rest))
        else {
            continue;
        };
        for name in features
            .lines()
            .filter_map(|l| l.split_once(" = [").map(|(name, _)| name.trim()))
            .filter(|name| *name != "default")
        {
            let line = format!("{port}-{name} = [\"avb-{port}/{name}\"");
            assert!(
                facade.lines().any(|l| l.starts_with(&line)),
                "crates/{port} has the feature `{name}` but the facade's Cargo.toml has no `{line}…]`"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} port features found");
}
