//! The `stub-catalog.json` format, read from a JSON value with every error naming the source, the JSON path
//! and what was expected there. Also used on what a server answers (the snapshot of a live catalog is this
//! format).
//!
//! ```json
//! {
//!   "methods": [
//!     { "method_id": "crawler_twitter_profile", "name": "Twitter profile", "entity_type": "person",
//!       "description": "…", "inputs": { "username": "string", "limit": "integer?" },
//!       "outputs": { "profile": "object" } }
//!   ],
//!   "ontology": [
//!     { "version": "1.0", "entities": [
//!       { "name": "person", "description": "…", "parent": null, "related": ["organization"] } ] }
//!   ]
//! }
//! ```
//!
//! Rules: unknown members are errors (a typo is not silently ignored); method ids and ontology versions are
//! unique; a version is dot-separated numbers; a type is `string`, `integer`, `number`, `boolean`,
//! `object` or `array`, an input's type may end with `?` (optional); an entity's `parent` and `related`
//! name entities of the same version; a method's `entity_type` names an entity of some version.

use crate::{CatalogData, Entity, Error, Method, Ontology, Param, ValueType, version_key};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Parses catalog text; `source` names it in errors (a file path).
pub fn parse_catalog(source: &str, text: &str) -> Result<CatalogData, Error> {
    let value: Value = serde_json::from_str(text).map_err(|e| Error::Malformed {
        source_name: source.to_string(),
        path: "$".into(),
        expected: "a JSON document".into(),
        found: format!(
            "a syntax error at line {}, column {}: {e}",
            e.line(),
            e.column()
        ),
    })?;
    from_value(source, &value)
}

/// Reads the catalog from a parsed JSON value (see the module docs for the rules).
pub fn from_value(source: &str, value: &Value) -> Result<CatalogData, Error> {
    let p = Parser { source };
    let root = p.object(value, "$", &["methods", "ontology"])?;
    let mut data = CatalogData::default();
    let mut ids = BTreeSet::new();
    for (i, m) in p
        .array(p.member(root, "$", "methods")?, "$.methods")?
        .iter()
        .enumerate()
    {
        let path = format!("$.methods[{i}]");
        let method = p.method(m, &path)?;
        if !ids.insert(method.method_id.clone()) {
            return Err(p.err(
                &format!("{path}.method_id"),
                "a method id not used by an earlier method",
                &format!("{:?} again", method.method_id),
            ));
        }
        data.methods.push(method);
    }
    let mut versions: BTreeMap<Vec<u64>, Ontology> = BTreeMap::new();
    for (i, o) in p
        .array(p.member(root, "$", "ontology")?, "$.ontology")?
        .iter()
        .enumerate()
    {
        let path = format!("$.ontology[{i}]");
        let (key, ontology) = p.ontology(o, &path)?;
        if versions.contains_key(&key) {
            return Err(p.err(
                &format!("{path}.version"),
                "a version not used by an earlier ontology",
                &format!("{:?} again", ontology.version),
            ));
        }
        versions.insert(key, ontology);
    }
    data.ontology = versions.into_values().collect();
    let entities: BTreeSet<&str> = data
        .ontology
        .iter()
        .flat_map(|o| o.entities.iter().map(|e| e.name.as_str()))
        .collect();
    // Methods in file order were pushed; report the first whose entity type no version knows.
    for (i, m) in data.methods.iter().enumerate() {
        if !entities.contains(m.entity_type.as_str()) {
            return Err(p.err(
                &format!("$.methods[{i}].entity_type"),
                "an entity of the ontology",
                &format!("{:?}", m.entity_type),
            ));
        }
    }
    data.methods.sort_by(|a, b| a.method_id.cmp(&b.method_id));
    Ok(data)
}

struct Parser<'a> {
    source: &'a str,
}

fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a long string".into(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

impl Parser<'_> {
    fn err(&self, path: &str, expected: &str, found: &str) -> Error {
        Error::Malformed {
            source_name: self.source.to_string(),
            path: path.to_string(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    fn object<'v>(
        &self,
        v: &'v Value,
        path: &str,
        allowed: &[&str],
    ) -> Result<&'v Map<String, Value>, Error> {
        let Value::Object(map) = v else {
            return Err(self.err(path, "an object", &kind(v)));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(self.err(
                &format!("{path}.{unknown}"),
                &format!("only the members {}", allowed.join(", ")),
                &format!("the unknown member {unknown:?}"),
            ));
        }
        Ok(map)
    }

    fn member<'v>(
        &self,
        map: &'v Map<String, Value>,
        path: &str,
        name: &str,
    ) -> Result<&'v Value, Error> {
        map.get(name)
            .ok_or_else(|| self.err(&format!("{path}.{name}"), "a value", "nothing (missing)"))
    }

    fn array<'v>(&self, v: &'v Value, path: &str) -> Result<&'v Vec<Value>, Error> {
        match v {
            Value::Array(a) => Ok(a),
            other => Err(self.err(path, "an array", &kind(other))),
        }
    }

    fn string(&self, v: &Value, path: &str) -> Result<String, Error> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            other => Err(self.err(path, "a non-empty string", &kind(other))),
        }
    }

    fn text(&self, map: &Map<String, Value>, path: &str, name: &str) -> Result<String, Error> {
        match map.get(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.err(&format!("{path}.{name}"), "a string", &kind(other))),
        }
    }

    fn method(&self, v: &Value, path: &str) -> Result<Method, Error> {
        let m = self.object(
            v,
            path,
            &[
                "method_id",
                "name",
                "entity_type",
                "description",
                "inputs",
                "outputs",
            ],
        )?;
        let field = |name: &str| -> Result<String, Error> {
            self.string(self.member(m, path, name)?, &format!("{path}.{name}"))
        };
        let inputs_path = format!("{path}.inputs");
        let mut inputs = BTreeMap::new();
        for (name, t) in self.map(self.member(m, path, "inputs")?, &inputs_path)? {
            let at = format!("{inputs_path}.{name}");
            let param = match t {
                Value::String(s) => Param::parse(s),
                _ => None,
            }
            .ok_or_else(|| self.err(&at, TYPE_OR_OPTIONAL, &kind(t)))?;
            inputs.insert(name.clone(), param);
        }
        let outputs_path = format!("{path}.outputs");
        let mut outputs = BTreeMap::new();
        for (name, t) in self.map(self.member(m, path, "outputs")?, &outputs_path)? {
            let at = format!("{outputs_path}.{name}");
            let ty = match t {
                Value::String(s) => ValueType::parse(s),
                _ => None,
            }
            .ok_or_else(|| self.err(&at, TYPE, &kind(t)))?;
            outputs.insert(name.clone(), ty);
        }
        Ok(Method {
            method_id: field("method_id")?,
            name: field("name")?,
            entity_type: field("entity_type")?,
            description: self.text(m, path, "description")?,
            inputs,
            outputs,
        })
    }

    /// An object of any members (names to types).
    fn map<'v>(&self, v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, Error> {
        match v {
            Value::Object(map) => Ok(map),
            other => Err(self.err(path, "an object (name to type)", &kind(other))),
        }
    }

    fn ontology(&self, v: &Value, path: &str) -> Result<(Vec<u64>, Ontology), Error> {
        let o = self.object(v, path, &["version", "entities"])?;
        let version_path = format!("{path}.version");
        let version = self.string(self.member(o, path, "version")?, &version_path)?;
        let key = version_key(&version).ok_or_else(|| {
            self.err(
                &version_path,
                "a version of dot-separated numbers (1.0, 2.1)",
                &format!("{version:?}"),
            )
        })?;
        let entities_path = format!("{path}.entities");
        let mut entities: Vec<Entity> = Vec::new();
        for (i, e) in self
            .array(self.member(o, path, "entities")?, &entities_path)?
            .iter()
            .enumerate()
        {
            let at = format!("{entities_path}[{i}]");
            let map = self.object(e, &at, &["name", "description", "parent", "related"])?;
            let name = self.string(self.member(map, &at, "name")?, &format!("{at}.name"))?;
            if entities.iter().any(|x| x.name == name) {
                return Err(self.err(
                    &format!("{at}.name"),
                    "an entity name not used earlier in this version",
                    &format!("{name:?} again"),
                ));
            }
            let parent = match map.get("parent") {
                None | Some(Value::Null) => None,
                Some(p) => Some(self.string(p, &format!("{at}.parent"))?),
            };
            let mut related = Vec::new();
            if let Some(r) = map.get("related") {
                for (j, x) in self.array(r, &format!("{at}.related"))?.iter().enumerate() {
                    related.push(self.string(x, &format!("{at}.related[{j}]"))?);
                }
            }
            related.sort();
            related.dedup();
            entities.push(Entity {
                name,
                description: self.text(map, &at, "description")?,
                parent,
                related,
            });
        }
        // References stay inside the version.
        for (i, e) in entities.iter().enumerate() {
            let at = format!("{entities_path}[{i}]");
            let known = |n: &str| entities.iter().any(|x| x.name == n);
            if let Some(p) = &e.parent
                && (!known(p) || p == &e.name)
            {
                return Err(self.err(
                    &format!("{at}.parent"),
                    &format!("another entity of version {version}"),
                    &format!("{p:?}"),
                ));
            }
            if let Some(r) = e.related.iter().find(|r| !known(r)) {
                return Err(self.err(
                    &format!("{at}.related"),
                    &format!("entities of version {version}"),
                    &format!("{r:?}"),
                ));
            }
        }
        entities.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((key, Ontology { version, entities }))
    }
}

const TYPE: &str = "a type: string, integer, number, boolean, object or array";
const TYPE_OR_OPTIONAL: &str =
    "a type: string, integer, number, boolean, object or array (optional with a trailing ?)";
