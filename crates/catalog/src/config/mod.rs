//! The Catalog port's configuration: which backend `DATA_CATALOG` chose and its settings, read and checked
//! here (once) and shown as the startup summary's line; [`crate::open`] builds the backend from it.

use avb_core::config::keys::{Key, key, secret};
use avb_core::config::{PortConfig, Reader, Scrubber, Secret, ServiceUrl};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

avb_core::choice! {
    /// Catalog backend (`DATA_CATALOG`).
    CatalogKind { /** `stub-catalog.json`. */ Json = "json", /** OpenMetadata REST API. */ OpenMetadata = "openmetadata" }
}
avb_core::backend_kind!(CatalogKind, DATA_CATALOG, sandbox: Json, live: OpenMetadata, sandbox_only: []);

// The port's variables: each described once (the registry, `avb vars` and the README table are made
// from these constants).

/// `DATA_CATALOG`.
pub const DATA_CATALOG: Key = key(
    "DATA_CATALOG",
    "catalog",
    "`json`, `openmetadata`",
    "sandbox: `json`; live: `openmetadata`",
    "Catalog backend.",
);

/// `DATA_CATALOG_FILE`.
pub const DATA_CATALOG_FILE: Key = key(
    "DATA_CATALOG_FILE",
    "catalog",
    "path",
    "sandbox: `stub-catalog.json`; live: required for `json`",
    "The JSON catalog file (methods + ontology).",
);

/// `OPENMETADATA_URL`.
pub const OPENMETADATA_URL: Key = key(
    "OPENMETADATA_URL",
    "catalog",
    "`http(s)://` URL",
    "required for `DATA_CATALOG=openmetadata`",
    "OpenMetadata server (the API root, e.g. `http://host:8585/api`).",
);

/// `OPENMETADATA_TOKEN`.
pub const OPENMETADATA_TOKEN: Key = secret(
    "OPENMETADATA_TOKEN",
    "catalog",
    "JWT",
    "OpenMetadata bot token (optional).",
);

/// Every variable of the port, in documentation order.
pub const VARS: &[Key] = &[
    DATA_CATALOG,
    DATA_CATALOG_FILE,
    OPENMETADATA_URL,
    OPENMETADATA_TOKEN,
];

/// The JSON catalog file in the sandbox when `DATA_CATALOG_FILE` is unset.
pub const DEFAULT_SANDBOX_FILE: &str = "stub-catalog.json";

/// Catalog backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CatalogConfig {
    /// JSON file.
    Json {
        /// `DATA_CATALOG_FILE`.
        file: PathBuf,
        /// `DATA_CATALOG_FILE` unset in the sandbox: while the default file does not exist, the built-in
        /// sample catalog answers (see [`crate::json`]). Never in live mode (the file is required there).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        sample_when_absent: bool,
    },
    /// OpenMetadata REST API.
    OpenMetadata {
        /// `OPENMETADATA_URL`.
        url: ServiceUrl,
        /// `OPENMETADATA_TOKEN`.
        token: Option<Secret>,
    },
}

impl PortConfig for CatalogConfig {
    type Kind = CatalogKind;
    const NAME: &'static str = "catalog";
    const VARS: &'static [Key] = VARS;

    fn read(kind: CatalogKind, r: &mut Reader<'_>, needed_by: &str) -> Option<Self> {
        match kind {
            CatalogKind::Json => {
                let sample_when_absent = !r.is_set(&DATA_CATALOG_FILE);
                Some(CatalogConfig::Json {
                    file: r
                        .sandbox_default(&DATA_CATALOG_FILE, DEFAULT_SANDBOX_FILE, needed_by)?
                        .into(),
                    sample_when_absent,
                })
            }
            CatalogKind::OpenMetadata => {
                let url = r.url(
                    &OPENMETADATA_URL,
                    needed_by,
                    &["http", "https"],
                    "http://127.0.0.1:8585/api",
                );
                let token = r.optional_secret(&OPENMETADATA_TOKEN);
                Some(CatalogConfig::OpenMetadata {
                    url: url?,
                    token: token?,
                })
            }
        }
    }

    fn kind(&self) -> CatalogKind {
        match self {
            CatalogConfig::Json { .. } => CatalogKind::Json,
            CatalogConfig::OpenMetadata { .. } => CatalogKind::OpenMetadata,
        }
    }

    fn secrets<'a>(&'a self, out: &mut Scrubber<'a>) {
        match self {
            CatalogConfig::Json { .. } => {}
            CatalogConfig::OpenMetadata { url, token } => {
                out.url(url);
                if let Some(token) = token {
                    out.secret(token);
                }
            }
        }
    }
}

impl fmt::Display for CatalogConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogConfig::Json {
                file,
                sample_when_absent,
            } => write!(
                f,
                "json {}{}",
                file.display(),
                if *sample_when_absent {
                    " (the built-in sample while absent)"
                } else {
                    ""
                }
            ),
            CatalogConfig::OpenMetadata { url, token } => write!(
                f,
                "openmetadata {url}{}",
                if token.is_some() { " (token ***)" } else { "" }
            ),
        }
    }
}
