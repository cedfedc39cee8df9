//! ObjectStore settings: S3 profile, path style, checksums, prefix.

use super::*;
use avb_core::config::{ConfigError, Port, PortConfig};

fn s3(extra: &[(&str, &str)]) -> Result<Port<ObjectStoreConfig>, ConfigError> {
    let mut pairs = vec![("OBJECT_STORE", "s3"), ("OBJECT_STORE_BUCKET", "avb-data")];
    pairs.extend_from_slice(extra);
    ObjectStoreConfig::from_pairs(pairs)
}

fn s3_settings(extra: &[(&str, &str)]) -> (S3Profile, bool, S3Checksums, Option<String>) {
    let config = s3(extra).unwrap();
    match config.backend {
        ObjectStoreConfig::S3 {
            profile,
            path_style,
            checksums,
            prefix,
            ..
        } => (profile, path_style, checksums, prefix),
        other => panic!("expected s3, got {other:?}"),
    }
}

#[test]
fn profile_is_inferred_from_the_endpoint() {
    assert_eq!(
        s3_settings(&[]),
        (S3Profile::Aws, false, S3Checksums::WhenSupported, None)
    );
    assert_eq!(
        s3_settings(&[("AWS_ENDPOINT_URL", "https://storage.googleapis.com")]),
        (S3Profile::Gcs, true, S3Checksums::WhenRequired, None)
    );
    assert_eq!(
        s3_settings(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")]),
        (S3Profile::Generic, true, S3Checksums::WhenRequired, None)
    );
    assert_eq!(
        s3_settings(&[("AWS_ENDPOINT_URL", "https://s3.eu-west-1.amazonaws.com")]).0,
        S3Profile::Aws
    );
}

#[test]
fn explicit_settings_win() {
    let got = s3_settings(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ("OBJECT_STORE_S3_PROFILE", "gcs"),
        ("OBJECT_STORE_S3_PATH_STYLE", "false"),
        ("OBJECT_STORE_S3_PREFIX", "avb/prod/"),
    ]);
    assert_eq!(
        got,
        (
            S3Profile::Gcs,
            false,
            S3Checksums::WhenRequired,
            Some("avb/prod".into())
        )
    );
    let got = s3_settings(&[("OBJECT_STORE_S3_CHECKSUMS", "when_required")]);
    assert_eq!(got.2, S3Checksums::WhenRequired);
}

#[test]
fn bad_values_name_variable_value_and_allowed_values() {
    let cases = [
        (
            "OBJECT_STORE_S3_PROFILE",
            "minio",
            "one of aws, gcs, generic",
        ),
        ("OBJECT_STORE_S3_PATH_STYLE", "yes", "one of true, false"),
        (
            "OBJECT_STORE_S3_CHECKSUMS",
            "always",
            "one of when_required, when_supported",
        ),
        ("OBJECT_STORE_S3_PREFIX", "a/../b", "no leading '/'"),
        ("OBJECT_STORE_S3_PREFIX", "/abs", "no leading '/'"),
        (
            "OBJECT_STORE_S3_TIMEOUT_MS",
            "0",
            "an integer from 1 to 3600000",
        ),
        (
            "OBJECT_STORE_S3_TIMEOUT_MS",
            "2m",
            "an integer from 1 to 3600000",
        ),
    ];
    for (key, value, allowed) in cases {
        let err = s3(&[(key, value)]).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
        assert!(err.contains(&format!("{value:?}")), "{err}");
        assert!(err.contains(allowed), "{err}");
    }
}

#[test]
fn gcs_refuses_flexible_checksums() {
    let err = s3(&[
        ("AWS_ENDPOINT_URL", "https://storage.googleapis.com"),
        ("OBJECT_STORE_S3_CHECKSUMS", "when_supported"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("OBJECT_STORE_S3_CHECKSUMS"), "{err}");
    assert!(err.contains("when_required"), "{err}");
}

#[test]
fn summary_shows_profile_and_prefix() {
    let config = s3(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:19000"),
        ("OBJECT_STORE_S3_PREFIX", "team"),
    ])
    .unwrap();
    let text = config.backend.to_string();
    assert!(text.contains("profile generic"), "{text}");
    assert!(text.contains("prefix \"team\""), "{text}");
    assert!(text.contains("checksums when_required"), "{text}");
}

#[test]
fn live_stores_carry_the_environment_scope() {
    let scope = |extra: &[(&str, &str)]| match s3(extra).map(|p| p.backend) {
        Ok(ObjectStoreConfig::S3 { scope, .. }) => Ok(scope),
        Ok(other) => panic!("expected s3, got {other:?}"),
        Err(e) => Err(e.to_string()),
    };
    assert_eq!(scope(&[]).unwrap().as_str(), Some("development"));
    let prod = scope(&[("AVB_ENV", "production")]).unwrap();
    assert_eq!(prod.as_str(), Some("production"));
    let err = scope(&[("AVB_RESOURCE_SCOPE", "a/b")]).unwrap_err();
    assert!(
        err.contains("AVB_RESOURCE_SCOPE") && err.contains("a/b"),
        "{err}"
    );
    let fs = ObjectStoreConfig::from_pairs([("OBJECT_STORE", "fs"), ("OBJECT_STORE_DIR", "/d")]);
    let ObjectStoreConfig::Fs { scope, .. } = fs.unwrap().backend else {
        panic!("expected fs")
    };
    assert_eq!(scope.as_str(), Some("development"));
}

#[test]
fn the_s3_answer_timeout_defaults_to_two_minutes_and_is_read_in_milliseconds() {
    let timeout = |extra: &[(&str, &str)]| match s3(extra).unwrap().backend {
        ObjectStoreConfig::S3 { timeout, .. } => timeout,
        other => panic!("expected s3, got {other:?}"),
    };
    assert_eq!(timeout(&[]), S3_DEFAULT_TIMEOUT);
    assert_eq!(
        timeout(&[("OBJECT_STORE_S3_TIMEOUT_MS", "2500")]),
        std::time::Duration::from_millis(2500)
    );
}
