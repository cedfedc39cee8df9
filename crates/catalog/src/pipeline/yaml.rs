//! A YAML document as a tree whose every node knows its line and column (yaml-rust2's event parser).
//! Plain scalars are typed by YAML 1.2's core schema (null, booleans, integers, floats); quoted ones are
//! strings. Anchors, aliases and tags other than the core ones are refused (a pipeline does not need them).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// A node of the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where it starts.
    pub at: Location,
    /// What it is.
    pub value: Value,
}

/// A node's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar, typed as JSON.
    Scalar(serde_json::Value),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// What kind of node this is, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar(serde_json::Value::Null) => "null",
            Value::Scalar(serde_json::Value::String(_)) => "a string",
            Value::Scalar(_) => "a scalar",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as JSON (mapping keys as strings).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Scalar(v) => v.clone(),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| {
                    let key = match &k.value {
                        Value::Scalar(serde_json::Value::String(s)) => s.clone(),
                        Value::Scalar(other) => other.to_string(),
                        _ => String::from("?"),
                    };
                    (key, v.to_json())
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

/// A YAML error with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where.
    pub at: Location,
    /// What.
    pub message: String,
}

fn location(m: Marker) -> Location {
    Location {
        line: m.line(),
        column: m.col() + 1,
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Location, Vec<Node>, bool)>,
    root: Option<Node>,
    documents: usize,
    error: Option<YamlError>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some((_, items, _)) => items.push(node),
            None => self.root = Some(node),
        }
    }

    fn fail(&mut self, at: Location, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                at,
                message: message.into(),
            });
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = location(mark);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(at, "one YAML document expected, found another");
                }
            }
            Event::Alias(_) => self.fail(at, "anchors and aliases are not supported"),
            Event::Scalar(text, style, anchor, _) => {
                if anchor != 0 {
                    self.fail(at, "anchors and aliases are not supported");
                }
                let value = if style == TScalarStyle::Plain {
                    plain(&text)
                } else {
                    serde_json::Value::String(text)
                };
                self.push(Node {
                    at,
                    value: Value::Scalar(value),
                });
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if anchor != 0 {
                    self.fail(at, "anchors and aliases are not supported");
                }
                let is_map = matches!(ev, Event::MappingStart(..));
                self.stack.push((at, Vec::new(), is_map));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((start, items, is_map)) = self.stack.pop() {
                    // The parser marks a block collection where it recognised it (after its first key);
                    // a collection is located at its first item, which is where a reader looks.
                    let start = items.first().map_or(start, |n| n.at);
                    let value = if is_map {
                        let mut pairs = Vec::new();
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        Value::Map(pairs)
                    } else {
                        Value::Seq(items)
                    };
                    self.push(Node { at: start, value });
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// A plain scalar by YAML 1.2's core schema.
fn plain(text: &str) -> serde_json::Value {
    use serde_json::Value as J;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return J::Null,
        "true" | "True" | "TRUE" => return J::Bool(true),
        "false" | "False" | "FALSE" => return J::Bool(false),
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return J::from(n);
    }
    let numeric = text
        .trim_start_matches(['-', '+'])
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.');
    if numeric
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return J::Number(n);
    }
    J::String(text.to_string())
}

/// Parses one YAML document (an empty text is a null node at 1:1).
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        at: location(*e.marker()),
        message: e.info().to_string(),
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Node {
        at: Location { line: 1, column: 1 },
        value: Value::Scalar(serde_json::Value::Null),
    }))
}
