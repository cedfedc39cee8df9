//! The JSON file backend (`DATA_CATALOG=json`, the sandbox default): the catalog is `DATA_CATALOG_FILE`
//! (format: [`crate::parse`]).
//!
//! - A malformed file is [`Error::Malformed`] naming the file, the JSON path and what was expected there.
//! - **Reload without restart**: every call compares the file's identity (modification time, size, inode)
//!   with the one loaded — one `stat`, no read — and re-reads it when it changed. A new version that does
//!   not parse is not used: the last good version keeps answering, and [`Catalog::health`] says why the file
//!   was refused (status up, with the reason) until a good version replaces it. A file that disappears also
//!   keeps the last good version.
//! - In the sandbox with `DATA_CATALOG_FILE` unset and no `stub-catalog.json` in the working directory, the
//!   backend answers from the built-in sample ([`SAMPLE`], the repository's `examples/stub-catalog.json`);
//!   a `stub-catalog.json` created later is picked up like any change.

mod file;

use crate::parse::parse_catalog;
use crate::validate::check_call;
use crate::{
    Capabilities, Catalog, CatalogData, Error, Inputs, Method, Mismatch, Ontology, Result,
};
use async_trait::async_trait;
use avb_core::Health;
use file::Stamp;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The built-in sample catalog (a dozen methods over five entity types, two ontology versions).
pub const SAMPLE: &str = include_str!("../../../../examples/stub-catalog.json");

/// The catalog's content, indexed for the queries.
#[derive(Debug)]
struct Index {
    data: CatalogData,
    methods: BTreeMap<String, usize>,
}

impl Index {
    fn new(data: CatalogData) -> Self {
        let methods = data
            .methods
            .iter()
            .enumerate()
            .map(|(i, m)| (m.method_id.clone(), i))
            .collect();
        Self { data, methods }
    }

    fn method(&self, id: &str) -> Option<&Method> {
        self.methods.get(id).map(|&i| &self.data.methods[i])
    }
}

#[derive(Debug)]
struct State {
    index: Arc<Index>,
    /// The identity of the file last looked at (loaded or refused); `None` when absent.
    seen: Option<Stamp>,
    /// Why the file last looked at is not what answers.
    refused: Option<String>,
}

/// The JSON catalog. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct JsonCatalog {
    /// `None`: fixed content (no file).
    file: Option<PathBuf>,
    /// What answers while the file is absent (the built-in sample), if anything.
    fallback: Option<Arc<Index>>,
    state: RwLock<State>,
}

impl JsonCatalog {
    /// Loads `file`; a file that cannot be read or does not parse is an error.
    pub fn open(file: impl Into<PathBuf>) -> Result<Self> {
        Self::load(file.into(), None)
    }

    /// Loads `file`, or answers from the built-in [`SAMPLE`] while it does not exist.
    pub fn open_or_sample(file: impl Into<PathBuf>) -> Result<Self> {
        let sample = Arc::new(Index::new(parse_catalog(
            "the built-in sample catalog",
            SAMPLE,
        )?));
        Self::load(file.into(), Some(sample))
    }

    /// A catalog of fixed content (no file, no reload): what a snapshot or a test builds.
    pub fn from_data(data: CatalogData) -> Self {
        Self {
            file: None,
            fallback: None,
            state: RwLock::new(State {
                index: Arc::new(Index::new(data)),
                seen: None,
                refused: None,
            }),
        }
    }

    /// The built-in sample, fixed.
    pub fn sample() -> Result<Self> {
        Ok(Self::from_data(parse_catalog(
            "the built-in sample catalog",
            SAMPLE,
        )?))
    }

    fn load(file: PathBuf, fallback: Option<Arc<Index>>) -> Result<Self> {
        let stamp = file::stamp(&file);
        let index = match (&stamp, &fallback) {
            (Ok(None), Some(sample)) => sample.clone(),
            (Err(e), _) => return Err(io_error(&file, e)),
            _ => Arc::new(Index::new(read(&file)?)),
        };
        Ok(Self {
            state: RwLock::new(State {
                index,
                seen: stamp.ok().flatten(),
                refused: None,
            }),
            file: Some(file),
            fallback,
        })
    }

    /// The file, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The content answering now, after re-reading the file if it changed.
    fn current(&self) -> Arc<Index> {
        let Some(file) = &self.file else {
            return self.read_state().index.clone();
        };
        // A file that cannot even be stat'ed is treated as absent.
        let now = file::stamp(file).ok().flatten();
        {
            let state = self.read_state();
            if state.seen == now {
                return state.index.clone();
            }
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if state.seen == now {
            return state.index.clone();
        }
        let present = now.is_some();
        state.seen = now;
        match present {
            false => match &self.fallback {
                // The default file went away: the sample answers again (as at startup).
                Some(sample) => {
                    state.index = sample.clone();
                    state.refused = None;
                }
                None => {
                    state.refused = Some(format!(
                        "{} is gone; answering from the last good version",
                        file.display()
                    ));
                }
            },
            true => match read(file) {
                Ok(data) => {
                    state.index = Arc::new(Index::new(data));
                    state.refused = None;
                }
                Err(e) => {
                    state.refused = Some(format!("{e}; answering from the last good version"));
                }
            },
        }
        state.index.clone()
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }
}

fn io_error(file: &Path, e: &std::io::Error) -> Error {
    Error::Io {
        file: file.display().to_string(),
        source: std::io::Error::new(e.kind(), e.to_string()),
    }
}

fn read(file: &Path) -> Result<CatalogData> {
    let text = std::fs::read_to_string(file).map_err(|e| io_error(file, &e))?;
    parse_catalog(&file.display().to_string(), &text)
}

#[async_trait]
impl Catalog for JsonCatalog {
    fn backend(&self) -> &'static str {
        "json"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(self.file.is_some(), false)
    }

    async fn list_methods(&self, entity_type: Option<&str>) -> Result<Vec<Method>> {
        let index = self.current();
        Ok(index
            .data
            .methods
            .iter()
            .filter(|m| entity_type.is_none_or(|t| m.entity_type == t))
            .cloned()
            .collect())
    }

    async fn get_method(&self, method_id: &str) -> Result<Method> {
        self.current()
            .method(method_id)
            .cloned()
            .ok_or_else(|| Error::method_not_found(method_id))
    }

    async fn get_ontology(&self, version: Option<&str>) -> Result<Ontology> {
        let index = self.current();
        let found = match version {
            None => index.data.ontology.last(),
            Some(v) => index.data.ontology.iter().find(|o| o.version == v),
        };
        found
            .cloned()
            .ok_or_else(|| Error::version_not_found(version.unwrap_or("latest")))
    }

    async fn list_ontology_versions(&self) -> Result<Vec<String>> {
        Ok(self
            .current()
            .data
            .ontology
            .iter()
            .map(|o| o.version.clone())
            .collect())
    }

    async fn validate_call(&self, method_id: &str, inputs: &Inputs) -> Result<Vec<Mismatch>> {
        let index = self.current();
        Ok(check_call(method_id, index.method(method_id), inputs))
    }

    /// The catalog is in memory (a reload check is one `stat`): always answered on the spot.
    fn validate_call_now(&self, method_id: &str, inputs: &Inputs) -> Option<Result<Vec<Mismatch>>> {
        let index = self.current();
        Some(Ok(check_call(method_id, index.method(method_id), inputs)))
    }

    async fn health(&self) -> Health {
        let index = self.current();
        let state = self.read_state();
        let mut health = Health::up("json");
        if let Some(why) = &state.refused {
            health.reason = Some(why.clone());
        } else if self
            .fallback
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, &index))
        {
            health.reason = Some(format!(
                "{} absent: answering from the built-in sample catalog",
                self.file.as_deref().unwrap_or(Path::new("")).display()
            ));
        }
        health
    }
}

#[cfg(test)]
mod tests;
