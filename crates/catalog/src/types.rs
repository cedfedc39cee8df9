//! The port's values: methods with their typed signatures, ontology versions, and what a call can get wrong.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// The type of a method's input or output, as the catalog declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// A JSON string.
    String,
    /// A JSON number without a fraction (fits `i64` or `u64`).
    Integer,
    /// Any JSON number (an integer is a number).
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl ValueType {
    /// Every type, in the order the catalog documents them.
    pub const ALL: [ValueType; 6] = [
        ValueType::String,
        ValueType::Integer,
        ValueType::Number,
        ValueType::Boolean,
        ValueType::Object,
        ValueType::Array,
    ];

    /// The name the catalog writes (`string`, `integer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Object => "object",
            ValueType::Array => "array",
        }
    }

    /// The type named `name`.
    pub fn parse(name: &str) -> Option<ValueType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether a value of type `given` may be passed where `self` is expected (an integer is a number).
    pub fn accepts(self, given: ValueType) -> bool {
        self == given || (self == ValueType::Number && given == ValueType::Integer)
    }

    /// The type of a JSON value (`None` for `null`): the narrowest one, so `3` is an integer, `3.5` a number.
    pub fn of(value: &serde_json::Value) -> Option<ValueType> {
        use serde_json::Value;
        Some(match value {
            Value::Null => return None,
            Value::Bool(_) => ValueType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => ValueType::Integer,
            Value::Number(_) => ValueType::Number,
            Value::String(_) => ValueType::String,
            Value::Array(_) => ValueType::Array,
            Value::Object(_) => ValueType::Object,
        })
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ValueType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A method's input: its type and whether a call must pass it. Written `"string"` (required) or
/// `"string?"` (optional) in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Param {
    /// The declared type.
    pub ty: ValueType,
    /// Whether a call must pass it.
    pub required: bool,
}

impl Param {
    /// A required input of type `ty`.
    pub const fn required(ty: ValueType) -> Self {
        Self { ty, required: true }
    }

    /// An optional input of type `ty`.
    pub const fn optional(ty: ValueType) -> Self {
        Self {
            ty,
            required: false,
        }
    }

    /// Parses `"string"` / `"string?"`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.strip_suffix('?') {
            Some(ty) => ValueType::parse(ty).map(Param::optional),
            None => ValueType::parse(text).map(Param::required),
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ty.as_str())?;
        if !self.required {
            f.write_str("?")?;
        }
        Ok(())
    }
}

impl Serialize for Param {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A method (a crawler, an enrichment, a lookup) and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Method {
    /// Stable id, e.g. `crawler_twitter_profile`.
    pub method_id: String,
    /// Human name.
    pub name: String,
    /// The ontology entity the method is about (`person`, `domain`, …).
    pub entity_type: String,
    /// What it does (may be empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Inputs by name.
    pub inputs: BTreeMap<String, Param>,
    /// Outputs by name.
    pub outputs: BTreeMap<String, ValueType>,
}

/// An entity type of the ontology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    /// Name, e.g. `person`.
    pub name: String,
    /// What it is (may be empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The broader entity it specialises, if any (an entity of the same version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Related entities (of the same version), sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
}

/// One version of the ontology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ontology {
    /// The version: dot-separated numbers (`1.0`, `2.1`), ordered numerically.
    pub version: String,
    /// Its entities, sorted by name.
    pub entities: Vec<Entity>,
}

impl Ontology {
    /// The entity named `name`.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }
}

/// Everything a catalog holds: what the JSON file contains and what [`snapshot`](crate::snapshot) reads.
/// Serialises as the `stub-catalog.json` format.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CatalogData {
    /// Methods, sorted by id.
    pub methods: Vec<Method>,
    /// Ontology versions, oldest first.
    pub ontology: Vec<Ontology>,
}

/// The sort key of an ontology version (`1.10` after `1.9`); `None` when it is not dot-separated numbers.
pub fn version_key(version: &str) -> Option<Vec<u64>> {
    if version.is_empty() {
        return None;
    }
    version.split('.').map(|p| p.parse::<u64>().ok()).collect()
}

/// What a backend can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// The catalog follows its source without a restart (the JSON file is re-read when it changes).
    pub reload: bool,
    /// Answers come over the network (retryable errors are possible).
    pub remote: bool,
}

impl Capabilities {
    /// Capabilities with both flags given.
    pub const fn new(reload: bool, remote: bool) -> Self {
        Self { reload, remote }
    }
}

/// One argument of a call to validate.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A literal value.
    Value(serde_json::Value),
    /// A value known only by its type (e.g. a reference to an earlier step's output).
    Of(ValueType),
    /// A value whose type is unknown (a reference already reported as broken): present, not type-checked.
    Unchecked,
}

impl From<serde_json::Value> for Arg {
    fn from(v: serde_json::Value) -> Self {
        Arg::Value(v)
    }
}

/// A call's arguments by input name.
pub type Inputs = BTreeMap<String, Arg>;

/// Arguments from a JSON object's members (each a literal [`Arg::Value`]).
pub fn inputs_from_json(object: &serde_json::Map<String, serde_json::Value>) -> Inputs {
    object
        .iter()
        .map(|(k, v)| (k.clone(), Arg::Value(v.clone())))
        .collect()
}

/// One thing wrong with a call. [`Catalog::validate_call`](crate::Catalog::validate_call) reports every one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Mismatch {
    /// No method has this id.
    UnknownMethod {
        /// The id called.
        method_id: String,
    },
    /// A required input was not passed.
    MissingInput {
        /// The input.
        input: String,
        /// Its declared type.
        expected: ValueType,
    },
    /// An input the method does not declare.
    UnexpectedInput {
        /// The input.
        input: String,
    },
    /// An input of the wrong type.
    WrongType {
        /// The input.
        input: String,
        /// Its declared type.
        expected: ValueType,
        /// What was passed: a type name, or `null`.
        got: String,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::UnknownMethod { method_id } => write!(f, "unknown method {method_id:?}"),
            Mismatch::MissingInput { input, expected } => {
                write!(f, "missing input {input:?} ({expected})")
            }
            Mismatch::UnexpectedInput { input } => write!(f, "unexpected input {input:?}"),
            Mismatch::WrongType {
                input,
                expected,
                got,
            } => write!(f, "input {input:?} expects {expected}, got {got}"),
        }
    }
}
