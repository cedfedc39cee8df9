//! `validate_call` against an independent oracle, on arbitrary signatures and arguments.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use avb_catalog::validate::check_call;
use avb_catalog::{Arg, Inputs, Method, Mismatch, Param, ValueType};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn value_type() -> impl Strategy<Value = ValueType> {
    proptest::sample::select(ValueType::ALL.to_vec())
}

fn name() -> impl Strategy<Value = String> {
    // A small alphabet so declared and given names collide often.
    "[a-e]{1,2}"
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1.0e6f64..1.0e6).prop_map(|f| json!(f)),
        ".{0,4}".prop_map(Value::String),
        Just(json!([1, "a"])),
        Just(json!({"k": 1})),
    ]
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        4 => json_value().prop_map(Arg::Value),
        2 => value_type().prop_map(Arg::Of),
        1 => Just(Arg::Unchecked),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    proptest::collection::btree_map(name(), (value_type(), any::<bool>()), 0..6).prop_map(
        |inputs| Method {
            method_id: "m".into(),
            name: "M".into(),
            entity_type: "e".into(),
            description: String::new(),
            inputs: inputs
                .into_iter()
                .map(|(k, (ty, required))| (k, Param { ty, required }))
                .collect(),
            outputs: BTreeMap::new(),
        },
    )
}

/// The type rules written the long way.
fn accepted(expected: ValueType, arg: &Arg, required: bool) -> Result<(), String> {
    let got = match arg {
        Arg::Unchecked => return Ok(()),
        Arg::Of(t) => *t,
        Arg::Value(Value::Null) if !required => return Ok(()),
        Arg::Value(Value::Null) => return Err("null".into()),
        Arg::Value(Value::Bool(_)) => ValueType::Boolean,
        Arg::Value(Value::String(_)) => ValueType::String,
        Arg::Value(Value::Array(_)) => ValueType::Array,
        Arg::Value(Value::Object(_)) => ValueType::Object,
        Arg::Value(Value::Number(n)) if n.as_i64().is_some() || n.as_u64().is_some() => {
            ValueType::Integer
        }
        Arg::Value(Value::Number(_)) => ValueType::Number,
    };
    let ok = got == expected || (expected == ValueType::Number && got == ValueType::Integer);
    if ok {
        Ok(())
    } else {
        Err(got.as_str().to_string())
    }
}

/// The oracle: each name of either map, sorted, judged on its own.
fn oracle(method: &Method, inputs: &Inputs) -> Vec<Mismatch> {
    let mut names: Vec<&String> = method.inputs.keys().chain(inputs.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for n in names {
        match (method.inputs.get(n), inputs.get(n)) {
            (Some(p), None) if p.required => out.push(Mismatch::MissingInput {
                input: n.clone(),
                expected: p.ty,
            }),
            (Some(_), None) => {}
            (None, Some(_)) => out.push(Mismatch::UnexpectedInput { input: n.clone() }),
            (Some(p), Some(a)) => {
                if let Err(got) = accepted(p.ty, a, p.required) {
                    out.push(Mismatch::WrongType {
                        input: n.clone(),
                        expected: p.ty,
                        got,
                    });
                }
            }
            (None, None) => unreachable!(),
        }
    }
    out
}

proptest! {
    #[test]
    fn every_mismatch_is_reported_as_the_oracle_says(
        method in method(),
        inputs in proptest::collection::btree_map(name(), arg(), 0..6),
    ) {
        let got = check_call("m", Some(&method), &inputs);
        prop_assert_eq!(&got, &oracle(&method, &inputs));
        // Valid exactly when nothing is reported.
        let valid = method.inputs.iter().all(|(n, p)| match inputs.get(n) {
            None => !p.required,
            Some(a) => accepted(p.ty, a, p.required).is_ok(),
        }) && inputs.keys().all(|n| method.inputs.contains_key(n));
        prop_assert_eq!(got.is_empty(), valid);
    }

    #[test]
    fn a_correct_call_built_from_the_signature_is_valid(method in method(), keep_optional in any::<bool>()) {
        let inputs: Inputs = method
            .inputs
            .iter()
            .filter(|(_, p)| p.required || keep_optional)
            .map(|(n, p)| (n.clone(), Arg::Of(p.ty)))
            .collect();
        prop_assert_eq!(check_call("m", Some(&method), &inputs), vec![]);
    }

    #[test]
    fn an_unknown_method_is_the_only_mismatch(inputs in proptest::collection::btree_map(name(), arg(), 0..4)) {
        prop_assert_eq!(
            check_call("x", None, &inputs),
            vec![Mismatch::UnknownMethod { method_id: "x".into() }]
        );
    }
}
