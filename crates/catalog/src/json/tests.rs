use super::*;
use avb_core::Classify;

fn write(path: &Path, text: &str) {
    // Through a temporary file and a rename: the reader never sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn malformed(text: &str) -> (String, String, String) {
    match parse_catalog("cat.json", text).unwrap_err() {
        Error::Malformed {
            source_name,
            path,
            expected,
            found,
        } => {
            assert_eq!(source_name, "cat.json");
            (path, expected, found)
        }
        other => panic!("{other:?}"),
    }
}

const ONE: &str = r#"{"methods": [{"method_id": "m1", "name": "M", "entity_type": "person",
  "inputs": {"username": "string"}, "outputs": {"profile": "object"}}],
  "ontology": [{"version": "1.0", "entities": [{"name": "person"}]}]}"#;

#[test]
fn the_sample_parses() {
    let data = parse_catalog("sample", SAMPLE).unwrap();
    assert_eq!(data.methods.len(), 13);
    assert_eq!(data.ontology.len(), 2);
}

#[test]
fn a_malformed_file_names_the_json_path_and_what_was_expected() {
    let cases: &[(&str, &str, &str)] = &[
        ("{", "$", "a JSON document"),
        ("[]", "$", "an object"),
        (r#"{"methods": []}"#, "$.ontology", "a value"),
        (
            r#"{"methods": [], "ontology": [], "extra": 1}"#,
            "$.extra",
            "only the members methods, ontology",
        ),
        (
            &ONE.replace(r#""username": "string""#, r#""username": "str""#),
            "$.methods[0].inputs.username",
            "a type: string, integer, number, boolean, object or array (optional with a trailing ?)",
        ),
        (
            &ONE.replace(r#""profile": "object""#, r#""profile": 3"#),
            "$.methods[0].outputs.profile",
            "a type: string, integer, number, boolean, object or array",
        ),
        (
            &ONE.replace(r#""name": "M", "#, ""),
            "$.methods[0].name",
            "a value",
        ),
        (
            &ONE.replace(r#""entity_type": "person""#, r#""entity_type": "robot""#),
            "$.methods[0].entity_type",
            "an entity of the ontology",
        ),
        (
            &ONE.replace(r#""version": "1.0""#, r#""version": "v1""#),
            "$.ontology[0].version",
            "a version of dot-separated numbers (1.0, 2.1)",
        ),
        (
            &ONE.replace(
                r#"{"name": "person"}"#,
                r#"{"name": "person", "related": ["robot"]}"#,
            ),
            "$.ontology[0].entities[0].related",
            "entities of version 1.0",
        ),
        (
            &ONE.replace(
                r#"{"name": "person"}"#,
                r#"{"name": "person"}, {"name": "person"}"#,
            ),
            "$.ontology[0].entities[1].name",
            "an entity name not used earlier in this version",
        ),
    ];
    for (text, path, expected) in cases {
        let (p, e, _) = malformed(text);
        assert_eq!((p.as_str(), e.as_str()), (*path, *expected), "{text}");
    }
    let twice = ONE.replace(
        r#""methods": [{"#,
        r#""methods": [{"method_id": "m1", "name": "M", "entity_type": "person", "inputs": {}, "outputs": {}}, {"#,
    );
    assert_eq!(malformed(&twice).0, "$.methods[1].method_id");
}

#[test]
fn the_error_text_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.json");
    std::fs::write(&file, r#"{"methods": 1, "ontology": []}"#).unwrap();
    let err = JsonCatalog::open(&file).unwrap_err();
    assert_eq!(err.class(), avb_core::ErrorClass::Configuration);
    let text = err.to_string();
    assert!(
        text.contains("broken.json: at $.methods: expected an array, found the number 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_changed_file_is_reloaded_and_a_bad_one_keeps_the_last_good_version() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.json");
    write(&file, ONE);
    let catalog = JsonCatalog::open(&file).unwrap();
    assert!(catalog.capabilities().reload);
    assert!(catalog.get_method("m1").await.is_ok());
    // A good new version: picked up without a restart.
    write(&file, &ONE.replace("\"m1\"", "\"m2\""));
    assert_eq!(catalog.get_method("m2").await.unwrap().method_id, "m2");
    assert!(catalog.get_method("m1").await.is_err());
    assert_eq!(catalog.health().await.reason, None);
    // A bad one: the last good version answers, health says why.
    write(&file, r#"{"methods": [}"#);
    assert_eq!(catalog.get_method("m2").await.unwrap().method_id, "m2");
    let health = catalog.health().await;
    assert!(health.is_up());
    let reason = health.reason.unwrap();
    assert!(
        reason.contains("c.json: at $: expected a JSON document"),
        "{reason}"
    );
    assert!(reason.contains("last good version"), "{reason}");
    // Gone: still the last good version.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(catalog.list_methods(None).await.unwrap().len(), 1);
    assert!(catalog.health().await.reason.unwrap().contains("is gone"));
    // Back, good: used, and health is clean again.
    write(&file, &ONE.replace("\"m1\"", "\"m3\""));
    assert_eq!(catalog.get_method("m3").await.unwrap().method_id, "m3");
    assert_eq!(catalog.health().await.reason, None);
}

#[tokio::test]
async fn a_rewrite_in_place_is_seen() {
    // Same inode; the size differs.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.json");
    std::fs::write(&file, ONE).unwrap();
    let catalog = JsonCatalog::open(&file).unwrap();
    std::fs::write(&file, ONE.replace("\"m1\"", "\"m22\"")).unwrap();
    assert!(catalog.get_method("m22").await.is_ok());
}

#[tokio::test]
async fn the_sample_answers_until_the_default_file_appears() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stub-catalog.json");
    let catalog = JsonCatalog::open_or_sample(&file).unwrap();
    assert_eq!(catalog.list_methods(None).await.unwrap().len(), 13);
    let health = catalog.health().await;
    assert!(health.reason.unwrap().contains("built-in sample"));
    write(&file, ONE);
    assert_eq!(catalog.list_methods(None).await.unwrap().len(), 1);
    assert_eq!(catalog.health().await.reason, None);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(catalog.list_methods(None).await.unwrap().len(), 13);
}

#[test]
fn a_file_present_but_broken_at_startup_is_an_error_even_with_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stub-catalog.json");
    std::fs::write(&file, "nope").unwrap();
    let err = JsonCatalog::open_or_sample(&file).unwrap_err().to_string();
    assert!(err.contains("stub-catalog.json: at $"), "{err}");
}
