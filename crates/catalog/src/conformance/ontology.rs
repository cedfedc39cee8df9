//! Ontology versions.

use super::{At, Harness, expect_class, expected};
use crate::{Entity, ErrorClass, Ontology};
use avb_conformance::{CaseResult, Checks};

fn names(o: &Ontology) -> Vec<&str> {
    o.entities.iter().map(|e| e.name.as_str()).collect()
}

/// The versions, oldest first.
pub async fn ontology_versions(h: &Harness, c: &mut Checks) -> CaseResult {
    let got = h.catalog.list_ontology_versions().await.at(c, "list")?;
    c.check_eq(
        "versions",
        got,
        expected::VERSIONS.map(String::from).to_vec(),
        "versions",
    );
    Ok(())
}

/// No version named: the latest, whole (entities, descriptions, parents, relations).
pub async fn ontology_latest(h: &Harness, c: &mut Checks) -> CaseResult {
    let latest = h.catalog.get_ontology(None).await.at(c, "latest")?;
    let named = h.catalog.get_ontology(Some("2.0")).await.at(c, "named")?;
    c.check_eq("latest_is_2_0", &latest, &named, "the latest version");
    c.check_eq("version", latest.version.as_str(), "2.0", "latest version");
    c.check_eq(
        "entities",
        names(&latest),
        expected::ENTITIES_2_0.to_vec(),
        "entities of 2.0",
    );
    c.check_eq(
        "person",
        latest.entity("person").cloned(),
        Some(Entity {
            name: "person".into(),
            description: "A natural person.".into(),
            parent: Some("agent".into()),
            related: vec!["location".into(), "organization".into(), "post".into()],
        }),
        "person in 2.0",
    );
    c.check_eq(
        "agent",
        latest.entity("agent").cloned(),
        Some(Entity {
            name: "agent".into(),
            description: "Anything that acts: a person or an organization.".into(),
            parent: None,
            related: vec![],
        }),
        "agent in 2.0",
    );
    Ok(())
}

/// A named older version answers as it was; an unknown version is `NotFound`.
pub async fn ontology_by_version(h: &Harness, c: &mut Checks) -> CaseResult {
    let v1 = h.catalog.get_ontology(Some("1.0")).await.at(c, "get")?;
    c.check_eq("version", v1.version.as_str(), "1.0", "version");
    c.check_eq(
        "entities",
        names(&v1),
        expected::ENTITIES_1_0.to_vec(),
        "entities of 1.0",
    );
    c.check(
        "no_parents",
        v1.entities.iter().all(|e| e.parent.is_none()),
        "1.0 has no parent entities",
    );
    c.check_eq(
        "person_related",
        v1.entity("person").map(|e| e.related.clone()),
        Some(vec!["organization".into(), "post".into()]),
        "person's relations in 1.0",
    );
    for missing in ["9.9", "1", "latest"] {
        expect_class(
            c,
            "unknown_version",
            h.catalog.get_ontology(Some(missing)).await,
            ErrorClass::NotFound,
            &format!("get_ontology({missing:?})"),
        );
    }
    Ok(())
}
