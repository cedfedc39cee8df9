//! The variables of the port: each described once (the registry, `avb vars` and the README table are made
//! from these constants).

use avb_core::config::keys::{Key, key, secret};

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
