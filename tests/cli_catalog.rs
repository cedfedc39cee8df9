//! `avb catalog validate` and `avb catalog snapshot`: exit codes, located problems, a snapshot equal to its
//! source (the sample file byte for byte, from json and from OpenMetadata's contract server).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/cli.rs"]
mod cli;
use cli::{avb, text};

use std::path::PathBuf;
use std::process::Output;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stub-catalog.json");
const PIPELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pipeline.yaml");

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn the_example_pipeline_is_valid_on_the_sandbox_default() {
    // No stub-catalog.json in the directory: the built-in sample answers.
    let d = dir();
    let out = avb(&["catalog", "validate", PIPELINE], &[], d.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid (json catalog)"));
}

#[test]
fn problems_are_printed_with_their_location_and_exit_1() {
    let d = dir();
    let file = d.path().join("p.yaml");
    std::fs::write(
        &file,
        "steps:\n  - id: a\n    method: whois_domain\n    inputs: {domain: 3, x: 1}\n  - id: b\n    method: nope\n",
    )
    .unwrap();
    let out = avb(&["catalog", "validate", "p.yaml"], &[], d.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "p.yaml:4:14: step \"a\": input \"domain\" expects string, got integer\n\
         p.yaml:4:25: step \"a\": unexpected input \"x\"\n\
         p.yaml:6:13: step \"b\": unknown method \"nope\"\n"
    );
    assert!(text(&out.stderr).contains("3 problems in p.yaml"));
}

#[test]
fn an_unreadable_pipeline_or_catalog_is_exit_2() {
    let d = dir();
    let out = avb(&["catalog", "validate", "missing.yaml"], &[], d.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read missing.yaml"));
    std::fs::write(d.path().join("bad.json"), "{\"methods\": 3}").unwrap();
    let out = avb(
        &["catalog", "validate", PIPELINE],
        &[("DATA_CATALOG_FILE", "bad.json")],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.json: at $.methods: expected an array, found the number 3"),
        "{}",
        text(&out.stderr)
    );
}

fn snapshot(vars: &[(&str, &str)]) -> (Output, PathBuf, tempfile::TempDir) {
    let d = dir();
    let out_file = d.path().join("stub-catalog.json");
    let out = avb(
        &["catalog", "snapshot", "--out", out_file.to_str().unwrap()],
        vars,
        d.path(),
    );
    (out, out_file, d)
}

#[test]
fn a_snapshot_of_the_json_sample_is_the_sample() {
    let (out, file, _d) = snapshot(&[("DATA_CATALOG_FILE", SAMPLE)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        std::fs::read_to_string(SAMPLE).unwrap()
    );
}

#[test]
fn a_snapshot_of_openmetadata_is_the_sample_and_runs_the_pipeline() {
    let Some(url) = avb::testing::live_server("AVB_TEST_OPENMETADATA_URL") else {
        return;
    };
    let Some(token) = avb::testing::harness_value("AVB_TEST_OPENMETADATA_TOKEN") else {
        return;
    };
    let om = [
        ("DATA_CATALOG", "openmetadata"),
        ("OPENMETADATA_URL", url.as_str()),
        ("OPENMETADATA_TOKEN", token.as_str()),
    ];
    let (out, file, d) = snapshot(&om);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("13 methods and 2 ontology versions"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        std::fs::read_to_string(SAMPLE).unwrap()
    );
    // The pipeline check gives the same answer on OpenMetadata and on its snapshot.
    let live = avb(&["catalog", "validate", PIPELINE], &om, d.path());
    let copy = avb(
        &["catalog", "validate", PIPELINE],
        &[("DATA_CATALOG_FILE", file.to_str().unwrap())],
        d.path(),
    );
    assert_eq!(live.status.code(), Some(0), "{}", text(&live.stderr));
    assert_eq!(copy.status.code(), Some(0), "{}", text(&copy.stderr));
    // A wrong token: exit 2, the token not shown.
    let bad = [
        ("DATA_CATALOG", "openmetadata"),
        ("OPENMETADATA_URL", url.as_str()),
        ("OPENMETADATA_TOKEN", "tok-SeCrEtMk"),
    ];
    let out = avb(&["catalog", "validate", PIPELINE], &bad, d.path());
    assert_eq!(out.status.code(), Some(2));
    let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(shown.contains("HTTP 401"), "{shown}");
    assert!(!shown.contains("SeCrEtMk"), "{shown}");
}
