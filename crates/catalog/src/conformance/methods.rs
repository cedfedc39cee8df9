//! Listing and getting methods.

use super::{At, Harness, expect_class, expected};
use crate::{ErrorClass, Method, Param, ValueType};
use avb_conformance::{CaseResult, Checks};
use std::collections::BTreeMap;

fn ids(methods: &[Method]) -> Vec<&str> {
    methods.iter().map(|m| m.method_id.as_str()).collect()
}

/// Every method, sorted by id.
pub async fn list_methods_all(h: &Harness, c: &mut Checks) -> CaseResult {
    let all = h.catalog.list_methods(None).await.at(c, "list")?;
    c.check_eq(
        "ids",
        ids(&all),
        expected::METHOD_IDS.to_vec(),
        "every method id",
    );
    Ok(())
}

/// The methods of each entity type, exactly; an entity type without methods gives an empty list.
pub async fn list_methods_by_entity_type(h: &Harness, c: &mut Checks) -> CaseResult {
    for (entity, want) in expected::BY_ENTITY_TYPE {
        let got = h.catalog.list_methods(Some(entity)).await.at(c, "list")?;
        c.check_eq(
            "ids",
            ids(&got),
            want.to_vec(),
            format_args!("methods of {entity}"),
        );
        c.check(
            "entity_type",
            got.iter().all(|m| m.entity_type == entity),
            format_args!("a method listed for {entity} has another entity type"),
        );
    }
    let none = h.catalog.list_methods(Some("agent")).await.at(c, "list")?;
    c.check_eq(
        "empty",
        ids(&none),
        vec![],
        "methods of an entity type no method names",
    );
    let unknown = h
        .catalog
        .list_methods(Some("starship"))
        .await
        .at(c, "list")?;
    c.check_eq(
        "unknown",
        ids(&unknown),
        vec![],
        "methods of an unknown entity type",
    );
    Ok(())
}

/// A method's whole record: name, entity type, description, typed inputs (required and optional),
/// typed outputs.
pub async fn get_method_signature(h: &Harness, c: &mut Checks) -> CaseResult {
    let got = h
        .catalog
        .get_method("crawler_twitter_posts")
        .await
        .at(c, "get")?;
    let want = Method {
        method_id: "crawler_twitter_posts".into(),
        name: "Twitter/X posts".into(),
        entity_type: "post".into(),
        description: "Recent public posts of an account, newest first.".into(),
        inputs: BTreeMap::from([
            ("limit".into(), Param::optional(ValueType::Integer)),
            ("username".into(), Param::required(ValueType::String)),
        ]),
        outputs: BTreeMap::from([("posts".into(), ValueType::Array)]),
    };
    c.check_eq("record", &got, &want, "crawler_twitter_posts");
    let other = h
        .catalog
        .get_method("domain_subdomains")
        .await
        .at(c, "get")?;
    c.check_eq(
        "inputs",
        other.inputs,
        BTreeMap::from([
            ("domain".into(), Param::required(ValueType::String)),
            ("passive_only".into(), Param::optional(ValueType::Boolean)),
        ]),
        "domain_subdomains inputs",
    );
    c.check_eq(
        "outputs",
        other.outputs,
        BTreeMap::from([
            ("count".into(), ValueType::Integer),
            ("subdomains".into(), ValueType::Array),
        ]),
        "domain_subdomains outputs",
    );
    // Every listed method is found by its id, with the same record.
    for listed in h.catalog.list_methods(None).await.at(c, "list")? {
        let one = h.catalog.get_method(&listed.method_id).await.at(c, "get")?;
        c.check_eq("same_record", &one, &listed, "get_method vs list_methods");
    }
    Ok(())
}

/// An unknown method id is `NotFound`.
pub async fn get_method_unknown(h: &Harness, c: &mut Checks) -> CaseResult {
    expect_class(
        c,
        "not_found",
        h.catalog.get_method("crawler_myspace").await,
        ErrorClass::NotFound,
        "get_method of an unknown id",
    );
    expect_class(
        c,
        "not_found_empty",
        h.catalog.get_method("").await,
        ErrorClass::NotFound,
        "get_method of the empty id",
    );
    Ok(())
}
