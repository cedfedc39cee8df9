//! [`open`]: the Catalog `DATA_CATALOG` chose. One exhaustive `match` over [`CatalogConfig`]: a new backend
//! does not compile until it is wired here; one left out of this build is [`Error::NotCompiled`].
//!
//! | `DATA_CATALOG` | cargo feature of `avb` (of this crate) |
//! |---|---|
//! | `json` | `catalog-json` (`json`), default |
//! | `openmetadata` | `catalog-openmetadata` (`openmetadata`) |

use crate::config::CatalogConfig;
use crate::{Catalog, Error};
use std::sync::Arc;

/// Builds the configured catalog. The JSON file is read here: a malformed file fails at startup, naming the
/// file and the JSON path.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use avb_core::config::PortConfig;
/// use avb_catalog::config::CatalogConfig;
/// let config = CatalogConfig::from_pairs([("DATA_CATALOG", "json")])?;
/// let catalog = avb_catalog::open(&config.backend).await?;
/// assert_eq!(catalog.backend(), "json");
/// # Ok(()) }
/// ```
pub async fn open(config: &CatalogConfig) -> Result<Arc<dyn Catalog>, Error> {
    match config {
        CatalogConfig::Json {
            file,
            sample_when_absent,
        } => json(file, *sample_when_absent),
        CatalogConfig::OpenMetadata { url, token } => openmetadata(url, token.as_ref()),
    }
}

#[cfg(feature = "json")]
fn json(file: &std::path::Path, sample_when_absent: bool) -> Result<Arc<dyn Catalog>, Error> {
    let catalog = if sample_when_absent {
        crate::json::JsonCatalog::open_or_sample(file)?
    } else {
        crate::json::JsonCatalog::open(file)?
    };
    Ok(Arc::new(catalog))
}

#[cfg(not(feature = "json"))]
fn json(_: &std::path::Path, _: bool) -> Result<Arc<dyn Catalog>, Error> {
    Err(not_compiled("json", "catalog-json"))
}

#[cfg(feature = "openmetadata")]
fn openmetadata(
    url: &avb_core::config::ServiceUrl,
    token: Option<&avb_core::config::Secret>,
) -> Result<Arc<dyn Catalog>, Error> {
    Ok(Arc::new(crate::openmetadata::OpenMetadataCatalog::new(
        url.expose(),
        token.map(avb_core::config::Secret::expose),
    )?))
}

#[cfg(not(feature = "openmetadata"))]
fn openmetadata(
    _: &avb_core::config::ServiceUrl,
    _: Option<&avb_core::config::Secret>,
) -> Result<Arc<dyn Catalog>, Error> {
    Err(not_compiled("openmetadata", "catalog-openmetadata"))
}

#[cfg_attr(all(feature = "json", feature = "openmetadata"), allow(dead_code))]
fn not_compiled(backend: &str, feature: &'static str) -> Error {
    Error::from(avb_core::NotCompiled {
        backend: format!("DATA_CATALOG={backend}"),
        feature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use avb_core::config::PortConfig;

    fn config(pairs: &[(&str, &str)]) -> CatalogConfig {
        CatalogConfig::from_pairs(pairs.iter().copied())
            .unwrap_or_else(|e| panic!("{e}"))
            .backend
    }

    #[cfg(feature = "json")]
    #[tokio::test]
    async fn an_explicit_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nope.json");
        let err = open(&config(&[("DATA_CATALOG_FILE", file.to_str().unwrap())]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("nope.json"), "{err}");
    }

    #[cfg(feature = "json")]
    #[tokio::test]
    async fn the_sandbox_default_without_the_file_answers_from_the_sample() {
        let c = config(&[]);
        assert_eq!(
            c,
            CatalogConfig::Json {
                file: "stub-catalog.json".into(),
                sample_when_absent: true
            }
        );
        let catalog = open(&c).await.unwrap();
        assert_eq!(catalog.backend(), "json");
        assert!(catalog.health().await.is_up());
    }

    #[cfg(not(feature = "openmetadata"))]
    #[tokio::test]
    async fn openmetadata_without_its_feature_names_the_feature() {
        let err = open(&config(&[
            ("DATA_CATALOG", "openmetadata"),
            ("OPENMETADATA_URL", "http://127.0.0.1:8585/api"),
        ]))
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("catalog-openmetadata"), "{err}");
    }

    #[cfg(not(feature = "json"))]
    #[tokio::test]
    async fn json_without_its_feature_names_the_feature() {
        let err = open(&config(&[])).await.unwrap_err().to_string();
        assert!(err.contains("catalog-json"), "{err}");
    }
}
