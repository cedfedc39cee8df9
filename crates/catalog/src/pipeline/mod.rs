//! Pipeline validation with the catalog's method signatures (`avb catalog validate <pipeline.yaml>`).
//!
//! The YAML shape:
//!
//! ```yaml
//! pipeline: profile-and-mood     # optional name
//! steps:
//!   - id: posts                  # unique: letters, digits, _ and -
//!     method: crawler_twitter_posts
//!     inputs:                    # optional; literal values or references
//!       username: ada_lovelace
//!       limit: 20
//!   - id: mood
//!     method: post_sentiment
//!     inputs:
//!       text: ${posts.posts}     # a reference: an output of an EARLIER step, type-checked by its declared type
//! ```
//!
//! [`validate`] checks every step against the catalog (the same [`Catalog::validate_call`] a service uses)
//! and reports every problem with its line and column: the shape (a missing or unknown key, a duplicate id),
//! unknown methods, missing, unexpected and wrongly typed inputs, references to unknown or later steps and to
//! outputs the referenced method does not declare. A reference's type is the output's declared type; a
//! reference that cannot be resolved is reported once and its input not type-checked again.

pub mod yaml;

use crate::{Arg, Catalog, Inputs, Mismatch, Result};
use std::collections::BTreeMap;
use std::fmt;
use yaml::{Location, Node, Value};

/// One problem of a pipeline, at its place in the YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where (line and column of the offending node).
    pub at: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.at.line, self.at.column, self.message)
    }
}

struct Step<'a> {
    id: Option<&'a str>,
    method: Option<(&'a str, &'a Node)>,
    inputs: Vec<(&'a Node, &'a Node)>,
    at: Location,
}

fn problem(out: &mut Vec<Problem>, at: Location, message: impl Into<String>) {
    out.push(Problem {
        at,
        message: message.into(),
    });
}

fn map<'a>(node: &'a Node, what: &str, out: &mut Vec<Problem>) -> Option<&'a [(Node, Node)]> {
    match &node.value {
        Value::Map(pairs) => Some(pairs),
        _ => {
            problem(
                out,
                node.at,
                format!("{what} must be a mapping, found {}", node.kind()),
            );
            None
        }
    }
}

/// The reference `${step.output}` a string holds, if it is one.
fn reference(text: &str) -> Option<(&str, &str)> {
    text.strip_prefix("${")?.strip_suffix('}')?.split_once('.')
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn shape<'a>(root: &'a Node, out: &mut Vec<Problem>) -> Vec<Step<'a>> {
    let Some(pairs) = map(root, "the pipeline", out) else {
        return Vec::new();
    };
    let mut steps_node = None;
    for (k, v) in pairs {
        match k.as_str() {
            Some("steps") => steps_node = Some(v),
            Some("pipeline") if v.as_str().is_some() => {}
            Some("pipeline") => problem(out, v.at, "pipeline (the name) must be a string"),
            _ => problem(
                out,
                k.at,
                format!("unknown key {}: expected pipeline, steps", k.to_json()),
            ),
        }
    }
    let Some(steps_node) = steps_node else {
        problem(out, root.at, "missing key steps (a sequence of steps)");
        return Vec::new();
    };
    let Value::Seq(items) = &steps_node.value else {
        problem(
            out,
            steps_node.at,
            format!("steps must be a sequence, found {}", steps_node.kind()),
        );
        return Vec::new();
    };
    let mut steps = Vec::new();
    for item in items {
        let mut step = Step {
            id: None,
            method: None,
            inputs: Vec::new(),
            at: item.at,
        };
        if let Some(pairs) = map(item, "a step", out) {
            for (k, v) in pairs {
                match k.as_str() {
                    Some("id") => match v.as_str() {
                        Some(id) if valid_id(id) => step.id = Some(id),
                        _ => problem(out, v.at, "id must be a string of letters, digits, _ and -"),
                    },
                    Some("method") => match v.as_str() {
                        Some(m) => step.method = Some((m, v)),
                        None => problem(out, v.at, "method must be a string (a method id)"),
                    },
                    Some("inputs") => {
                        if let Value::Scalar(serde_json::Value::Null) = v.value {
                        } else if let Some(pairs) = map(v, "inputs", out) {
                            step.inputs = pairs.iter().map(|(k, v)| (k, v)).collect();
                        }
                    }
                    _ => problem(
                        out,
                        k.at,
                        format!("unknown key {}: expected id, method, inputs", k.to_json()),
                    ),
                }
            }
            if step.id.is_none() && !pairs.iter().any(|(k, _)| k.as_str() == Some("id")) {
                problem(out, item.at, "missing key id");
            }
            if step.method.is_none() && !pairs.iter().any(|(k, _)| k.as_str() == Some("method")) {
                problem(out, item.at, "missing key method");
            }
        }
        steps.push(step);
    }
    steps
}

/// Every problem of the pipeline `text` against `catalog`, in document order. `Err` only for the catalog's
/// own failures (e.g. the server is unreachable); a YAML syntax error is a problem.
pub async fn validate(catalog: &(impl Catalog + ?Sized), text: &str) -> Result<Vec<Problem>> {
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            return Ok(vec![Problem {
                at: e.at,
                message: format!("not valid YAML: {}", e.message),
            }]);
        }
    };
    let mut out = Vec::new();
    let steps = shape(&root, &mut out);
    // Output types of the steps seen so far: step id -> (method found?, outputs).
    let mut earlier: BTreeMap<&str, Option<BTreeMap<String, crate::ValueType>>> = BTreeMap::new();
    for (n, step) in steps.iter().enumerate() {
        if let Some(id) = step.id
            && earlier.contains_key(id)
        {
            problem(&mut out, step.at, format!("duplicate step id {id:?}"));
        }
        let mut args = Inputs::new();
        let mut keys: BTreeMap<String, Location> = BTreeMap::new();
        for (k, v) in &step.inputs {
            let Some(name) = k.as_str() else {
                problem(&mut out, k.at, "an input name must be a string");
                continue;
            };
            keys.insert(name.to_string(), k.at);
            let arg = match v.as_str().and_then(reference) {
                Some((ref_step, output)) => match earlier.get(ref_step) {
                    None => {
                        problem(
                            &mut out,
                            v.at,
                            format!(
                                "input {name:?} refers to {ref_step:?}, which is not an earlier step"
                            ),
                        );
                        Arg::Unchecked
                    }
                    Some(None) => Arg::Unchecked,
                    Some(Some(outputs)) => match outputs.get(output) {
                        Some(ty) => Arg::Of(*ty),
                        None => {
                            let known: Vec<&str> = outputs.keys().map(String::as_str).collect();
                            problem(
                                &mut out,
                                v.at,
                                format!(
                                    "input {name:?} refers to output {output:?} of step {ref_step:?}, which declares only {}",
                                    known.join(", ")
                                ),
                            );
                            Arg::Unchecked
                        }
                    },
                },
                None => Arg::Value(v.to_json()),
            };
            args.insert(name.to_string(), arg);
        }
        let mut outputs = None;
        if let Some((method_id, method_node)) = step.method {
            let mismatches = catalog.validate_call(method_id, &args).await?;
            let found = !mismatches
                .iter()
                .any(|m| matches!(m, Mismatch::UnknownMethod { .. }));
            for m in mismatches {
                let at = match &m {
                    Mismatch::UnexpectedInput { input } | Mismatch::WrongType { input, .. } => {
                        keys.get(input).copied().unwrap_or(method_node.at)
                    }
                    Mismatch::UnknownMethod { .. } | Mismatch::MissingInput { .. } => {
                        method_node.at
                    }
                };
                let step_name = match step.id {
                    Some(id) => format!("{id:?}"),
                    None => format!("#{}", n + 1),
                };
                problem(&mut out, at, format!("step {step_name}: {m}"));
            }
            if found {
                outputs = Some(catalog.get_method(method_id).await?.outputs);
            }
        }
        if let Some(id) = step.id {
            earlier.entry(id).or_insert(outputs);
        }
    }
    out.sort_by_key(|p| (p.at.line, p.at.column));
    Ok(out)
}

#[cfg(test)]
mod tests;
