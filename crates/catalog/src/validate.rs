//! Checking a call's arguments against a method's signature: every mismatch, in input-name order.

use crate::{Arg, Inputs, Method, Mismatch};

/// Every mismatch between `inputs` and the signature of `method` (`None`: no method has the id
/// `method_id`, the only mismatch then). Deterministic: for each input name in order, a missing required
/// input, an unexpected input or a wrong type. `null` counts as absent for an optional input and as a wrong
/// type for a required one.
pub fn check_call(method_id: &str, method: Option<&Method>, inputs: &Inputs) -> Vec<Mismatch> {
    let Some(method) = method else {
        return vec![Mismatch::UnknownMethod {
            method_id: method_id.to_string(),
        }];
    };
    let mut out = Vec::new();
    let mut declared = method.inputs.iter().peekable();
    let mut given = inputs.iter().peekable();
    // A merge of two sorted maps: one pass, no allocation unless something is wrong.
    loop {
        let order = match (declared.peek(), given.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((d, _)), Some((g, _))) => d.as_str().cmp(g.as_str()),
        };
        match order {
            std::cmp::Ordering::Less => {
                if let Some((name, param)) = declared.next()
                    && param.required
                {
                    out.push(Mismatch::MissingInput {
                        input: name.clone(),
                        expected: param.ty,
                    });
                }
            }
            std::cmp::Ordering::Greater => {
                if let Some((name, _)) = given.next() {
                    out.push(Mismatch::UnexpectedInput {
                        input: name.clone(),
                    });
                }
            }
            std::cmp::Ordering::Equal => {
                if let (Some((name, param)), Some((_, arg))) = (declared.next(), given.next()) {
                    let got = match arg {
                        Arg::Unchecked => continue,
                        Arg::Of(ty) => Some(*ty),
                        Arg::Value(v) => crate::ValueType::of(v),
                    };
                    match got {
                        Some(ty) if param.ty.accepts(ty) => {}
                        None if !param.required => {}
                        Some(ty) => out.push(Mismatch::WrongType {
                            input: name.clone(),
                            expected: param.ty,
                            got: ty.as_str().to_string(),
                        }),
                        None => out.push(Mismatch::WrongType {
                            input: name.clone(),
                            expected: param.ty,
                            got: "null".to_string(),
                        }),
                    }
                }
            }
        }
    }
    out
}
