//! The startup summary states the S3 region the backend really uses (`crates/object-store/src/s3/builder.rs`):
//! one case per rule, and for the cases that need no AWS SDK chain, the built client's own region.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::config::Config;

fn s3(extra: &[(&str, &str)]) -> Config {
    let mut pairs = vec![("OBJECT_STORE", "s3"), ("OBJECT_STORE_BUCKET", "b")];
    pairs.extend_from_slice(extra);
    Config::from_iter(pairs).unwrap()
}

const STATIC: &[(&str, &str)] = &[("AWS_ACCESS_KEY_ID", "id"), ("AWS_SECRET_ACCESS_KEY", "sk")];
const ENDPOINT: (&str, &str) = ("AWS_ENDPOINT_URL", "http://127.0.0.1:1");

fn with(
    a: &[(&'static str, &'static str)],
    b: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    a.iter().chain(b).copied().collect()
}

/// (settings, what the summary must say about the region)
fn cases() -> Vec<(Vec<(&'static str, &'static str)>, &'static str)> {
    vec![
        (
            with(STATIC, &[ENDPOINT, ("AWS_REGION", "eu-west-3")]),
            ", region eu-west-3,",
        ),
        (
            with(&[("AWS_REGION", "eu-west-3")], &[]),
            ", region eu-west-3,",
        ),
        (
            with(STATIC, &[ENDPOINT]),
            ", region us-east-1 (AWS_REGION unset: the default for an endpoint with static credentials),",
        ),
        (
            vec![ENDPOINT],
            ", region from the AWS SDK chain, else us-east-1,",
        ),
        (
            STATIC.to_vec(),
            ", region from the AWS SDK chain (required),",
        ),
        (vec![], ", region from the AWS SDK chain (required),"),
    ]
}

#[test]
fn the_summary_states_the_region_used_in_each_case() {
    for (pairs, want) in cases() {
        let shown = s3(&pairs).to_string();
        assert!(shown.contains(want), "{pairs:?}: want {want:?} in\n{shown}");
    }
}

/// The cases that need no SDK chain: the client built from the configuration has the region the summary
/// states.
#[cfg(feature = "object-store-s3")]
#[tokio::test]
async fn the_built_client_uses_the_region_the_summary_states() {
    for (pairs, region) in [
        (with(STATIC, &[ENDPOINT]), "us-east-1"),
        (
            with(STATIC, &[ENDPOINT, ("AWS_REGION", "eu-west-3")]),
            "eu-west-3",
        ),
    ] {
        let config = s3(&pairs);
        assert!(
            config.to_string().contains(&format!(", region {region}")),
            "{config}"
        );
        let builder =
            avb::object_store::s3::S3Builder::from_config(&config.object_store.backend).unwrap();
        let store = builder.build().await.unwrap();
        assert_eq!(
            store
                .client()
                .config()
                .region()
                .map(|r| r.as_ref().to_string())
                .as_deref(),
            Some(region),
            "{pairs:?}"
        );
    }
}
