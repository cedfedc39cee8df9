//! [`snapshot`]: everything a catalog answers, as [`CatalogData`] (the `stub-catalog.json` format), so a
//! laptop can run on a faithful copy of a live catalog (`avb catalog snapshot --out stub-catalog.json`).

use crate::{Catalog, CatalogData, Result};

/// Reads every method and every ontology version of `catalog`. A JSON catalog built from the result
/// answers every query as `catalog` did (the conformance suite's `snapshot_answers_the_same` checks it).
pub async fn snapshot(catalog: &(impl Catalog + ?Sized)) -> Result<CatalogData> {
    let mut methods = catalog.list_methods(None).await?;
    methods.sort_by(|a, b| a.method_id.cmp(&b.method_id));
    let mut ontology = Vec::new();
    for version in catalog.list_ontology_versions().await? {
        ontology.push(catalog.get_ontology(Some(&version)).await?);
    }
    Ok(CatalogData { methods, ontology })
}
