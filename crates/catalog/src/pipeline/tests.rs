#![cfg(feature = "json")]

use super::*;
use crate::json::JsonCatalog;

async fn problems(text: &str) -> Vec<String> {
    let catalog = JsonCatalog::sample().unwrap();
    validate(&catalog, text)
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn the_example_pipeline_is_valid() {
    let text = include_str!("../../../../examples/pipeline.yaml");
    assert_eq!(problems(text).await, Vec::<String>::new());
}

#[tokio::test]
async fn every_problem_with_its_location() {
    let text = "\
steps:
  - id: posts
    method: crawler_twitter_posts
    inputs:
      limit: ten
      since: 2024
  - id: mood
    method: post_sentiment
    inputs:
      text: ${posts.posts}
  - id: who
    method: crawler_myspace
  - id: geo
    method: geocode_address
    inputs:
      address: ${later.x}
      extra: ${posts.nope}
  - id: posts
    method: whois_domain
    inputs: {domain: example.org}
  - method: dns_resolve
    colour: blue
";
    assert_eq!(
        problems(text).await,
        [
            "3:13: step \"posts\": missing input \"username\" (string)",
            "5:7: step \"posts\": input \"limit\" expects integer, got string",
            "6:7: step \"posts\": unexpected input \"since\"",
            "10:7: step \"mood\": input \"text\" expects string, got array",
            "12:13: step \"who\": unknown method \"crawler_myspace\"",
            "16:16: input \"address\" refers to \"later\", which is not an earlier step",
            "17:7: step \"geo\": unexpected input \"extra\"",
            "17:14: input \"extra\" refers to output \"nope\" of step \"posts\", which declares only posts",
            "18:5: duplicate step id \"posts\"",
            "21:5: missing key id",
            "21:13: step #6: missing input \"domain\" (string)",
            "22:5: unknown key \"colour\": expected id, method, inputs",
        ]
    );
}

#[tokio::test]
async fn bad_yaml_and_bad_shapes() {
    assert_eq!(problems("steps: [").await.len(), 1);
    assert!(problems("steps: [").await[0].contains("not valid YAML"));
    assert_eq!(
        problems("- 1").await,
        ["1:3: the pipeline must be a mapping, found a sequence"]
    );
    assert_eq!(
        problems("pipeline: x").await,
        ["1:1: missing key steps (a sequence of steps)"]
    );
    assert_eq!(
        problems("steps: 3").await,
        ["1:8: steps must be a sequence, found a scalar"]
    );
    assert_eq!(
        problems("steps:\n  - &a {id: x, method: whois_domain}\n").await,
        ["2:8: not valid YAML: anchors and aliases are not supported"]
    );
}

#[test]
fn scalars_follow_the_core_schema() {
    let node = yaml::parse("a: [1, 2.5, true, ~, '7', x, -3]").unwrap();
    assert_eq!(
        node.to_json(),
        serde_json::json!({"a": [1, 2.5, true, null, "7", "x", -3]})
    );
}
