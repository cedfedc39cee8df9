//! OpenMetadata entities → the port's values (the mapping is documented in `docs/catalog-openmetadata.md`).

use crate::{Entity, Error, Method, Param, ValueType, version_key};
use serde_json::Value;
use std::collections::BTreeMap;

/// The classification whose tags give a method's entity type: `AvbEntityType.<entity>`.
pub(crate) const ENTITY_TYPE_TAG: &str = "AvbEntityType.";
/// The tag marking an optional input field.
pub(crate) const OPTIONAL_TAG: &str = "AvbParam.Optional";
/// Glossaries holding an ontology version: `avb_ontology_<version with dots as underscores>`.
pub(crate) const GLOSSARY_PREFIX: &str = "avb_ontology_";

fn malformed(source: &str, path: &str, expected: &str, found: &Value) -> Error {
    let found = match found {
        Value::Null => "nothing".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => {
            let text = other.to_string();
            text.chars().take(60).collect()
        }
    };
    Error::Malformed {
        source_name: source.to_string(),
        path: path.to_string(),
        expected: expected.to_string(),
        found,
    }
}

fn text<'a>(v: &'a Value, source: &str, path: &str, key: &str) -> Result<&'a str, Error> {
    match v.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        other => Err(malformed(
            source,
            &format!("{path}.{key}"),
            "a non-empty string",
            other.unwrap_or(&Value::Null),
        )),
    }
}

fn optional_text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn tags(v: &Value) -> impl Iterator<Item = &str> {
    v.get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("tagFQN").and_then(Value::as_str))
}

/// The type of an OpenMetadata schema field's `dataType`.
fn value_type(data_type: &str) -> Option<ValueType> {
    Some(match data_type {
        "STRING" => ValueType::String,
        "INT" | "LONG" => ValueType::Integer,
        "FLOAT" | "DOUBLE" => ValueType::Number,
        "BOOLEAN" => ValueType::Boolean,
        "RECORD" | "MAP" => ValueType::Object,
        "ARRAY" => ValueType::Array,
        _ => return None,
    })
}

fn fields(
    endpoint: &Value,
    source: &str,
    schema: &str,
) -> Result<Vec<(String, ValueType, bool)>, Error> {
    let mut out = Vec::new();
    let list = endpoint
        .get(schema)
        .and_then(|s| s.get("schemaFields"))
        .and_then(Value::as_array);
    for (i, f) in list.into_iter().flatten().enumerate() {
        let path = format!("$.{schema}.schemaFields[{i}]");
        let name = text(f, source, &path, "name")?;
        let data_type = f.get("dataType").unwrap_or(&Value::Null);
        let ty = data_type.as_str().and_then(value_type).ok_or_else(|| {
            malformed(
                source,
                &format!("{path}.dataType"),
                "STRING, INT, LONG, FLOAT, DOUBLE, BOOLEAN, RECORD, MAP or ARRAY",
                data_type,
            )
        })?;
        let optional = tags(f).any(|t| t == OPTIONAL_TAG);
        out.push((name.to_string(), ty, optional));
    }
    Ok(out)
}

/// An APIEndpoint as a method; `None` when it carries no `AvbEntityType.*` tag (not one of avb's methods).
pub(crate) fn method(endpoint: &Value) -> Result<Option<Method>, Error> {
    let name = endpoint.get("name").and_then(Value::as_str).unwrap_or("?");
    let source = format!("openmetadata apiEndpoint {name:?}");
    let Some(entity_type) = tags(endpoint).find_map(|t| t.strip_prefix(ENTITY_TYPE_TAG)) else {
        return Ok(None);
    };
    let method_id = text(endpoint, &source, "$", "name")?.to_string();
    let inputs: BTreeMap<String, Param> = fields(endpoint, &source, "requestSchema")?
        .into_iter()
        .map(|(n, ty, optional)| {
            let p = if optional {
                Param::optional(ty)
            } else {
                Param::required(ty)
            };
            (n, p)
        })
        .collect();
    let outputs = fields(endpoint, &source, "responseSchema")?
        .into_iter()
        .map(|(n, ty, _)| (n, ty))
        .collect();
    let display = optional_text(endpoint, "displayName");
    Ok(Some(Method {
        name: if display.is_empty() {
            method_id.clone()
        } else {
            display
        },
        method_id,
        entity_type: entity_type.to_string(),
        description: optional_text(endpoint, "description"),
        inputs,
        outputs,
    }))
}

/// The ontology version a glossary holds (`avb_ontology_2_0` → `2.0`), if it is one.
pub(crate) fn glossary_version(glossary: &Value) -> Option<(String, String)> {
    let name = glossary.get("name")?.as_str()?;
    let id = glossary.get("id")?.as_str()?;
    let version = name.strip_prefix(GLOSSARY_PREFIX)?.replace('_', ".");
    version_key(&version)?;
    Some((version, id.to_string()))
}

/// A glossary term as an entity.
pub(crate) fn entity(term: &Value) -> Result<Entity, Error> {
    let name = term.get("name").and_then(Value::as_str).unwrap_or("?");
    let source = format!("openmetadata glossaryTerm {name:?}");
    let name = text(term, &source, "$", "name")?.to_string();
    let parent = match term.get("parent") {
        None | Some(Value::Null) => None,
        Some(p) => Some(text(p, &source, "$.parent", "name")?.to_string()),
    };
    let mut related = Vec::new();
    if let Some(list) = term.get("relatedTerms").and_then(Value::as_array) {
        for (i, r) in list.iter().enumerate() {
            let path = format!("$.relatedTerms[{i}].term");
            let t = r.get("term").unwrap_or(&Value::Null);
            related.push(text(t, &source, &path, "name")?.to_string());
        }
    }
    related.sort();
    related.dedup();
    Ok(Entity {
        name,
        description: optional_text(term, "description"),
        parent,
        related,
    })
}
