//! Validating calls against method signatures: every mismatch, exactly.

use super::{At, Harness};
use crate::{Arg, Inputs, Mismatch, ValueType};
use avb_conformance::{CaseResult, Checks};
use serde_json::json;

fn inputs(pairs: &[(&str, Arg)]) -> Inputs {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

fn v(value: serde_json::Value) -> Arg {
    Arg::Value(value)
}

/// Valid calls have no mismatch: all inputs, optional ones left out, an optional `null`, an integer
/// where a number is expected.
pub async fn validate_valid_calls(h: &Harness, c: &mut Checks) -> CaseResult {
    let calls = [
        (
            "crawler_twitter_posts",
            inputs(&[("username", v(json!("ada"))), ("limit", v(json!(20)))]),
        ),
        (
            "crawler_twitter_posts",
            inputs(&[("username", v(json!("ada")))]),
        ),
        (
            "resolve_person_identity",
            inputs(&[("name", v(json!("Ada"))), ("hints", v(json!(null)))]),
        ),
        (
            "resolve_person_identity",
            inputs(&[
                ("name", v(json!("Ada"))),
                ("hints", v(json!({"city": "London"}))),
            ]),
        ),
        (
            "domain_subdomains",
            inputs(&[
                ("domain", v(json!("example.org"))),
                ("passive_only", v(json!(true))),
            ]),
        ),
        (
            "organization_employees",
            inputs(&[("company_name", v(json!("ACME"))), ("limit", v(json!(0)))]),
        ),
    ];
    for (method, args) in &calls {
        let got = h
            .catalog
            .validate_call(method, args)
            .await
            .at(c, "validate")?;
        c.check_eq("valid", got, vec![], format_args!("{method} {args:?}"));
    }
    Ok(())
}

/// One call with a wrong type, an unexpected input and a missing input reports all three, in input-name
/// order; a fraction where an integer is expected and `null` for a required input are wrong types.
pub async fn validate_every_mismatch(h: &Harness, c: &mut Checks) -> CaseResult {
    let args = inputs(&[
        ("limit", v(json!("ten"))),
        ("since", v(json!("2024-01-01"))),
    ]);
    let got = h
        .catalog
        .validate_call("crawler_twitter_posts", &args)
        .await
        .at(c, "validate")?;
    c.check_eq(
        "all_three",
        got,
        vec![
            Mismatch::WrongType {
                input: "limit".into(),
                expected: ValueType::Integer,
                got: "string".into(),
            },
            Mismatch::UnexpectedInput {
                input: "since".into(),
            },
            Mismatch::MissingInput {
                input: "username".into(),
                expected: ValueType::String,
            },
        ],
        "crawler_twitter_posts {limit: \"ten\", since: …}",
    );
    let args = inputs(&[("username", v(json!(null))), ("limit", v(json!(2.5)))]);
    let got = h
        .catalog
        .validate_call("crawler_twitter_posts", &args)
        .await
        .at(c, "validate")?;
    c.check_eq(
        "null_and_fraction",
        got,
        vec![
            Mismatch::WrongType {
                input: "limit".into(),
                expected: ValueType::Integer,
                got: "number".into(),
            },
            Mismatch::WrongType {
                input: "username".into(),
                expected: ValueType::String,
                got: "null".into(),
            },
        ],
        "crawler_twitter_posts {username: null, limit: 2.5}",
    );
    let got = h
        .catalog
        .validate_call("whois_domain", &Inputs::new())
        .await
        .at(c, "validate")?;
    c.check_eq(
        "no_inputs",
        got,
        vec![Mismatch::MissingInput {
            input: "domain".into(),
            expected: ValueType::String,
        }],
        "whois_domain {}",
    );
    Ok(())
}

/// An unknown method is the one mismatch reported, whatever the inputs.
pub async fn validate_unknown_method(h: &Harness, c: &mut Checks) -> CaseResult {
    let args = inputs(&[("username", v(json!("ada")))]);
    let got = h
        .catalog
        .validate_call("crawler_myspace", &args)
        .await
        .at(c, "validate")?;
    c.check_eq(
        "unknown",
        got,
        vec![Mismatch::UnknownMethod {
            method_id: "crawler_myspace".into(),
        }],
        "crawler_myspace",
    );
    Ok(())
}

/// Arguments known only by type (references to earlier outputs) are checked by type; unchecked ones
/// count as present.
pub async fn validate_typed_references(h: &Harness, c: &mut Checks) -> CaseResult {
    let args = inputs(&[
        ("text", Arg::Of(ValueType::String)),
        ("language", Arg::Unchecked),
    ]);
    let got = h
        .catalog
        .validate_call("post_sentiment", &args)
        .await
        .at(c, "validate")?;
    c.check_eq(
        "typed_ok",
        got,
        vec![],
        "post_sentiment with a string reference",
    );
    let args = inputs(&[("text", Arg::Of(ValueType::Array))]);
    let got = h
        .catalog
        .validate_call("post_sentiment", &args)
        .await
        .at(c, "validate")?;
    c.check_eq(
        "typed_wrong",
        got,
        vec![Mismatch::WrongType {
            input: "text".into(),
            expected: ValueType::String,
            got: "array".into(),
        }],
        "post_sentiment with an array reference",
    );
    let args = inputs(&[
        ("username", Arg::Of(ValueType::String)),
        ("limit", Arg::Of(ValueType::Number)),
    ]);
    let got = h
        .catalog
        .validate_call("crawler_twitter_posts", &args)
        .await
        .at(c, "validate")?;
    c.check_eq(
        "number_not_integer",
        got,
        vec![Mismatch::WrongType {
            input: "limit".into(),
            expected: ValueType::Integer,
            got: "number".into(),
        }],
        "a number reference where an integer is expected",
    );
    Ok(())
}
