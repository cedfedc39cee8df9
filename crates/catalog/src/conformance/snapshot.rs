//! Health, and the snapshot: a JSON catalog made from what the backend answers answers the same.

use super::{At, Harness, expected};
use crate::json::JsonCatalog;
use crate::{Arg, Catalog, ErrorClass, Inputs};
use avb_conformance::{CaseResult, Checks};
use serde_json::json;

/// The backend is up.
pub async fn health_up(h: &Harness, c: &mut Checks) -> CaseResult {
    let health = h.catalog.health().await;
    c.check("up", health.is_up(), format_args!("{health:?}"));
    c.check_eq(
        "backend",
        health.backend,
        h.catalog.backend(),
        "health names the backend",
    );
    Ok(())
}

/// [`crate::snapshot`] of the backend, loaded as a JSON catalog (through its text, as
/// `avb catalog snapshot` writes it), answers every query exactly as the backend does.
pub async fn snapshot_answers_the_same(h: &Harness, c: &mut Checks) -> CaseResult {
    let data = crate::snapshot(&*h.catalog).await.at(c, "snapshot")?;
    let text = c.ok("serialise", serde_json::to_string_pretty(&data))?;
    let parsed = crate::parse::parse_catalog("the snapshot", &text).at(c, "parse")?;
    c.check_eq("round_trip", &parsed, &data, "the snapshot read back");
    let copy = JsonCatalog::from_data(parsed);
    let (src, dst): (&dyn Catalog, &dyn Catalog) = (&*h.catalog, &copy);
    let copy_says = dst.list_methods(None).await.at(c, "list")?;
    let source_says = src.list_methods(None).await.at(c, "list")?;
    c.check_eq("list_all", copy_says, source_says, "list_methods(None)");
    for (entity, _) in expected::BY_ENTITY_TYPE {
        let copy_says = dst.list_methods(Some(entity)).await.at(c, "list")?;
        let source_says = src.list_methods(Some(entity)).await.at(c, "list")?;
        c.check_eq(
            "list_by_type",
            copy_says,
            source_says,
            format_args!("list_methods({entity})"),
        );
    }
    for id in expected::METHOD_IDS {
        let copy_says = dst.get_method(id).await.at(c, "get")?;
        let source_says = src.get_method(id).await.at(c, "get")?;
        c.check_eq(
            "get_method",
            copy_says,
            source_says,
            format_args!("get_method({id})"),
        );
    }
    let class = |r: crate::Result<crate::Method>| r.err().map(|e| avb_core::Classify::class(&e));
    c.check_eq(
        "unknown_method",
        class(dst.get_method("nope").await),
        class(src.get_method("nope").await),
        "get_method of an unknown id",
    );
    let copy_says = dst.list_ontology_versions().await.at(c, "versions")?;
    let source_says = src.list_ontology_versions().await.at(c, "versions")?;
    c.check_eq("versions", copy_says, source_says, "list_ontology_versions");
    for version in [None, Some("1.0"), Some("2.0")] {
        let copy_says = dst.get_ontology(version).await.at(c, "ontology")?;
        let source_says = src.get_ontology(version).await.at(c, "ontology")?;
        c.check_eq(
            "ontology",
            copy_says,
            source_says,
            format_args!("get_ontology({version:?})"),
        );
    }
    let calls: [(&str, Inputs); 3] = [
        (
            "crawler_twitter_posts",
            [("limit".to_string(), Arg::Value(json!("x")))].into(),
        ),
        (
            "whois_domain",
            [("domain".to_string(), Arg::Value(json!("a.org")))].into(),
        ),
        ("nope", Inputs::new()),
    ];
    for (method, args) in &calls {
        let copy_says = dst.validate_call(method, args).await.at(c, "validate")?;
        let source_says = src.validate_call(method, args).await.at(c, "validate")?;
        c.check_eq(
            "validate",
            copy_says,
            source_says,
            format_args!("validate_call({method})"),
        );
    }
    c.check_eq(
        "unknown_version",
        dst.get_ontology(Some("7.0"))
            .await
            .err()
            .map(|e| avb_core::Classify::class(&e)),
        Some(ErrorClass::NotFound),
        "get_ontology(7.0) of the copy",
    );
    Ok(())
}
