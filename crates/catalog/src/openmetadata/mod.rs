//! The OpenMetadata backend (`DATA_CATALOG=openmetadata`, `OPENMETADATA_URL`, `OPENMETADATA_TOKEN`): the
//! catalog is read from OpenMetadata's REST API on every call (no cache: what the server says now).
//!
//! Mapping (details in `docs/catalog-openmetadata.md`):
//! - a **method** is an `APIEndpoint` (`GET /v1/apiEndpoints?fields=tags`) tagged `AvbEntityType.<entity>`:
//!   `method_id` ← `name`, `name` ← `displayName`, `description`, inputs ← `requestSchema.schemaFields`
//!   (an input tagged `AvbParam.Optional` is optional), outputs ← `responseSchema.schemaFields`, types from
//!   `dataType` (STRING; INT, LONG; FLOAT, DOUBLE; BOOLEAN; RECORD, MAP; ARRAY). Endpoints without the tag
//!   are not avb methods and are left out; deleted ones are not listed (`include` defaults to non-deleted);
//! - an **ontology version** is a `Glossary` named `avb_ontology_<version, dots as underscores>`
//!   (`avb_ontology_2_0` is version `2.0`); its **entities** are its `GlossaryTerm`s
//!   (`GET /v1/glossaryTerms?glossary=<id>&fields=relatedTerms`): `name`, `description`, `parent` (a term),
//!   `relatedTerms`.
//!
//! Lists follow `paging.after` to the end ([`OpenMetadataCatalog::page_size`] per page). Only what is
//! retryable is retried (connection failures, timeouts, 429, 502, 503, 504: three times, 50 ms doubling);
//! 401/403 is [`Error::Unauthorized`]. The token travels only in the `Authorization` header and appears in no
//! error or health text. `get_method` reads the endpoint list (one method's lookup costs the list's pages).

mod client;
#[cfg(test)]
mod garbled_tests;
mod map;

use crate::{Capabilities, Catalog, Error, Method, Ontology, Result};
use async_trait::async_trait;
use avb_core::Health;
use client::Client;
use serde_json::Value;

/// Default page size of list calls.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The OpenMetadata catalog.
#[derive(Debug, Clone)]
pub struct OpenMetadataCatalog {
    client: Client,
    page_size: u32,
}

impl OpenMetadataCatalog {
    /// A catalog at `api_root` (`OPENMETADATA_URL`, e.g. `http://host:8585/api`) with the bot `token`.
    pub fn new(api_root: &url::Url, token: Option<&str>) -> Result<Self> {
        Self::with_page_size(api_root, token, DEFAULT_PAGE_SIZE)
    }

    /// [`OpenMetadataCatalog::new`] with list pages of `page_size` entities (at least 1).
    pub fn with_page_size(
        api_root: &url::Url,
        token: Option<&str>,
        page_size: u32,
    ) -> Result<Self> {
        let shown = avb_core::config::redact_url(api_root.as_str());
        let page_size = page_size.max(1);
        Ok(Self {
            client: Client::new(api_root, shown, token, page_size)?,
            page_size,
        })
    }

    /// The page size of list calls.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    async fn methods(&self) -> Result<Vec<Method>> {
        let endpoints = self
            .client
            .list_all("apiEndpoints", &[("fields", "tags")])
            .await?;
        let mut out = Vec::new();
        for e in &endpoints {
            if let Some(m) = map::method(e)? {
                out.push(m);
            }
        }
        out.sort_by(|a, b| a.method_id.cmp(&b.method_id));
        Ok(out)
    }

    /// `(version, glossary id)`, oldest first.
    async fn versions(&self) -> Result<Vec<(String, String)>> {
        let glossaries = self.client.list_all("glossaries", &[]).await?;
        let mut out: Vec<(String, String)> = glossaries
            .iter()
            .filter_map(map::glossary_version)
            .collect();
        out.sort_by_key(|(v, _)| crate::version_key(v));
        Ok(out)
    }
}

#[async_trait]
impl Catalog for OpenMetadataCatalog {
    fn backend(&self) -> &'static str {
        "openmetadata"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(true, true)
    }

    async fn list_methods(&self, entity_type: Option<&str>) -> Result<Vec<Method>> {
        let mut all = self.methods().await?;
        if let Some(t) = entity_type {
            all.retain(|m| m.entity_type == t);
        }
        Ok(all)
    }

    async fn get_method(&self, method_id: &str) -> Result<Method> {
        self.methods()
            .await?
            .into_iter()
            .find(|m| m.method_id == method_id)
            .ok_or_else(|| Error::method_not_found(method_id))
    }

    async fn get_ontology(&self, version: Option<&str>) -> Result<Ontology> {
        let versions = self.versions().await?;
        let found = match version {
            None => versions.last(),
            Some(v) => versions.iter().find(|(x, _)| x == v),
        };
        let Some((version, id)) = found else {
            return Err(Error::version_not_found(version.unwrap_or("latest")));
        };
        let terms = self
            .client
            .list_all(
                "glossaryTerms",
                &[("glossary", id.as_str()), ("fields", "relatedTerms")],
            )
            .await?;
        let mut entities = terms.iter().map(map::entity).collect::<Result<Vec<_>>>()?;
        entities.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Ontology {
            version: version.clone(),
            entities,
        })
    }

    async fn list_ontology_versions(&self) -> Result<Vec<String>> {
        Ok(self.versions().await?.into_iter().map(|(v, _)| v).collect())
    }

    async fn health(&self) -> Health {
        match self.client.get("system/version", &[]).await {
            Ok(v) if v.get("version").and_then(Value::as_str).is_some() => {
                Health::up("openmetadata")
            }
            Ok(_) => Health::down(
                "openmetadata",
                format!("{}: /v1/system/version has no version", self.client.shown()),
            ),
            Err(e) => Health::down("openmetadata", e.to_string()),
        }
    }
}
