//! The shared conformance suite (feature `conformance`): what every [`ObjectStore`] backend must do.
//!
//! Modelled on arrow-rs object_store's `integration.rs`: each case is a documented `pub async fn` taking the
//! store, and [`run_all`] runs them all. Every case works under its own unique prefix (a uuid), so cases and
//! reruns never see each other's data. Cases a backend cannot run are gated on [`Capabilities`](crate::Capabilities), never on the
//! backend's name, and print `SKIPPED <case>: backend lacks <capability>`. Cases that need something of the
//! harness (planting symbolic links, see [`Symlinks`]) skip the same way without it.
//!
//! The cases live by concern: reads, writes, listings and copies (`basic.rs`), keys and
//! prefixes that try to escape (`keys.rs`), content type and metadata (`metadata.rs`), ranges (`ranges.rs`),
//! conditional, multipart, streamed and concurrent writes (`writes.rs`), write and read preconditions on every
//! write path (`preconditions.rs`), presigned URLs used by plain HTTP (`presign.rs`), workspaces
//! (`isolation.rs`); all are re-exported here. A server's known failure is declared by case
//! ([`Harness::with_known_server_gap`]) or, narrower, by a predicate on the failure message
//! ([`Harness::with_known_server_gap_when`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_object_store::{conformance, memory::MemoryStore};
//! let report = conformance::run_all(&conformance::Harness::new(std::sync::Arc::new(MemoryStore::new()))).await;
//! assert!(report.failed.is_empty(), "{report}");
//! # }
//! ```

use crate::{Error, ObjectStore, PrefixStore};
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// What a case concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// The backend lacks a capability the case needs (the reason names it).
    Skipped(String),
}

/// A case's result: `Err` carries what failed.
pub type CaseResult = Result<Outcome, String>;

/// Recognises a server's specific failure by the failure message (see [`Harness::known_server_gaps_when`]).
pub type GapPredicate = fn(&str) -> bool;

/// What [`run_all`] runs against.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The store under test.
    pub store: Arc<dyn ObjectStore>,
    /// Size of the object [`stream_large`] streams through (default 100 MiB; 0 leaves the case out).
    pub large_object_size: u64,
    /// Keys [`list_paginated`] writes (default 1,050: past one 1,000-key page).
    pub pagination_keys: usize,
    /// Cases known to fail, possibly intermittently (races), because of the *server* behind the backend (not
    /// the adapter), with the reason: a failure is reported under [`Report::expected_failures`] instead of
    /// [`Report::failed`]; a pass counts as a pass.
    pub known_server_gaps: Vec<(&'static str, &'static str)>,
    /// Like [`Harness::known_server_gaps`], narrower: the failure counts as expected only when the predicate
    /// holds on its message (the specific failure the server is known for); any other failure of the case
    /// is a failure.
    pub known_server_gaps_when: Vec<(&'static str, &'static str, GapPredicate)>,
    /// Plants symbolic links in the store, for a backend with a file system underneath (see [`Symlinks`]);
    /// `None` skips [`symlinks_not_followed`] visibly.
    pub symlinks: Option<Arc<dyn Symlinks>>,
}

impl Harness {
    /// Defaults: a 100 MiB streamed object, 1,050 keys for pagination.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            large_object_size: 100 * 1024 * 1024,
            pagination_keys: 1_050,
            known_server_gaps: Vec::new(),
            known_server_gaps_when: Vec::new(),
            symlinks: None,
        }
    }

    /// Gives the suite a way to plant symbolic links under the store (see [`Symlinks`]).
    pub fn with_symlinks(mut self, symlinks: Arc<dyn Symlinks>) -> Self {
        self.symlinks = Some(symlinks);
        self
    }

    /// Declares a case that fails because of the server (see [`Harness::known_server_gaps`]).
    pub fn with_known_server_gap(mut self, case: &'static str, reason: &'static str) -> Self {
        self.known_server_gaps.push((case, reason));
        self
    }

    /// Declares the specific failure `predicate` recognises (on the failure message) of `case` as the
    /// server's (see [`Harness::known_server_gaps_when`]).
    pub fn with_known_server_gap_when(
        mut self,
        case: &'static str,
        reason: &'static str,
        predicate: GapPredicate,
    ) -> Self {
        self.known_server_gaps_when.push((case, reason, predicate));
        self
    }
}

/// Cases passed, skipped and failed.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Names of the cases that passed.
    pub passed: Vec<&'static str>,
    /// Cases skipped, with the reason.
    pub skipped: Vec<(&'static str, String)>,
    /// Cases failed, with what failed.
    pub failed: Vec<(&'static str, String)>,
    /// Cases that failed as declared in [`Harness::known_server_gaps`], with the reason and the failure.
    pub expected_failures: Vec<(&'static str, String)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} passed, {} skipped, {} failed, {} expected failures (server gaps)",
            self.passed.len(),
            self.skipped.len(),
            self.failed.len(),
            self.expected_failures.len()
        )?;
        for (name, why) in &self.expected_failures {
            writeln!(f, "  EXPECTED FAILURE {name}: {why}")?;
        }
        for (name, why) in &self.skipped {
            writeln!(f, "  SKIPPED {name}: {why}")?;
        }
        for (name, why) in &self.failed {
            writeln!(f, "  FAILED {name}: {why}")?;
        }
        Ok(())
    }
}

mod basic;
mod isolation;
mod keys;
mod metadata;
mod preconditions;
mod presign;
mod ranges;
#[cfg(all(feature = "fs", unix))]
mod symlinks;
mod writes;

pub use basic::*;
pub use isolation::*;
pub use keys::*;
pub use metadata::*;
pub use preconditions::*;
pub use presign::*;
pub use ranges::*;
#[cfg(all(feature = "fs", unix))]
pub use symlinks::FsSymlinks;
pub use writes::*;

/// Plants symbolic links under a store with a file system underneath, for [`symlinks_not_followed`]. Keys
/// are the harness store's (before any scoping).
pub trait Symlinks: fmt::Debug + Send + Sync {
    /// Makes `link` a symbolic link to where `target` (a key, or a key prefix naming a directory) lives.
    fn link(&self, link: &str, target: &str) -> Result<(), String>;
    /// Makes `link` a symbolic link to a directory outside the store holding a file `secret`.
    fn link_outside(&self, link: &str) -> Result<(), String>;
}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

pub(crate) use ensure;

/// Adds what was being done to an error.
pub(crate) trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Context<T> for Result<T, Error> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

pub(crate) fn lacks(case: &str, capability: &str) -> CaseResult {
    let reason = format!("backend lacks {capability}");
    println!("SKIPPED {case}: {reason}");
    Ok(Outcome::Skipped(reason))
}

pub(crate) fn expect_not_found<T: fmt::Debug>(
    r: Result<T, Error>,
    what: &str,
) -> Result<(), String> {
    match r {
        Err(Error::NotFound { .. }) => Ok(()),
        other => Err(format!("{what}: expected NotFound, got {other:?}")),
    }
}

pub(crate) fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

/// Every case [`run_all`] runs, in its order (`stream_large` only when [`Harness::large_object_size`] is
/// not 0).
pub const CASES: &[&str] = &[
    "put_get_delete",
    "missing_is_not_found",
    "invalid_keys",
    "invalid_keys_unscoped",
    "traversal_through_workspace",
    "symlinks_not_followed",
    "metadata_and_content_type",
    "default_content_type",
    "metadata_keys_do_not_collide",
    "list_prefix_and_delimiter",
    "list_paginated",
    "weird_keys",
    "ranged_reads",
    "empty_object_ranges",
    "copy",
    "conditional_create",
    "conditional_create_race",
    "compare_and_swap",
    "conditional_reads",
    "preconditions_put",
    "preconditions_put_stream",
    "preconditions_multipart",
    "preconditions_copy",
    "presigned_round_trip",
    "presigned_refusals",
    "multipart",
    "multipart_aborted",
    "put_stream_in_parts",
    "failed_stream_leaves_nothing",
    "stream_large",
    "concurrent_writers",
    "workspace_isolation",
];

/// Runs every case, each under a fresh unique prefix of `harness.store`.
pub async fn run_all(harness: &Harness) -> Report {
    let run = uuid::Uuid::new_v4();
    let mut report = Report::default();
    let names = CASES;
    for &name in names {
        if name == "stream_large" && harness.large_object_size == 0 {
            continue;
        }
        let prefix = format!("conformance/{run}/{name}");
        let scoped: Arc<dyn ObjectStore> = match PrefixStore::new(harness.store.clone(), &prefix) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                report
                    .failed
                    .push((name, format!("prefix {prefix:?}: {e}")));
                continue;
            }
        };
        let result = run_case(name, &scoped, harness, &prefix).await;
        let gap = |why: &str| {
            let broad = harness
                .known_server_gaps
                .iter()
                .find(|(case, _)| *case == name);
            let narrow = harness
                .known_server_gaps_when
                .iter()
                .find(|(case, _, holds)| *case == name && holds(why));
            broad
                .map(|(_, reason)| *reason)
                .or(narrow.map(|(_, reason, _)| *reason))
        };
        let gap = match &result {
            Err(why) => gap(why),
            Ok(_) => None,
        };
        match (result, gap) {
            (Ok(Outcome::Passed), _) => report.passed.push(name),
            (Ok(Outcome::Skipped(why)), _) => report.skipped.push((name, why)),
            (Err(why), None) => report.failed.push((name, why)),
            (Err(why), Some(reason)) => {
                println!("EXPECTED FAILURE {name}: {reason}: {why}");
                report
                    .expected_failures
                    .push((name, format!("{reason}: {why}")));
            }
        }
    }
    report
}

async fn run_case(
    name: &str,
    store: &Arc<dyn ObjectStore>,
    harness: &Harness,
    prefix: &str,
) -> CaseResult {
    let s = store.as_ref();
    match name {
        "put_get_delete" => put_get_delete(s).await,
        "missing_is_not_found" => missing_is_not_found(s).await,
        "invalid_keys" => invalid_keys(s).await,
        // The same refusals from the backend itself, not only from the scoping wrapper in front of it
        // (these calls only ever fail, so they touch nothing outside the case's prefix).
        "invalid_keys_unscoped" => invalid_keys(harness.store.as_ref()).await,
        "traversal_through_workspace" => traversal_through_workspace(store.clone()).await,
        "symlinks_not_followed" => {
            symlinks_not_followed(store.clone(), harness.symlinks.as_deref(), prefix).await
        }
        "metadata_and_content_type" => metadata_and_content_type(s).await,
        "default_content_type" => default_content_type(s).await,
        "metadata_keys_do_not_collide" => metadata_keys_do_not_collide(s).await,
        "list_prefix_and_delimiter" => list_prefix_and_delimiter(s).await,
        "list_paginated" => list_paginated(s, harness.pagination_keys).await,
        "weird_keys" => weird_keys(s).await,
        "ranged_reads" => ranged_reads(s).await,
        "empty_object_ranges" => empty_object_ranges(s).await,
        "copy" => copy(s).await,
        "conditional_create" => conditional_create(s).await,
        "conditional_create_race" => conditional_create_race(s).await,
        "compare_and_swap" => compare_and_swap(s).await,
        "conditional_reads" => conditional_reads(s).await,
        "preconditions_put" => failed_preconditions_change_nothing(s, WritePath::Put).await,
        "preconditions_put_stream" => {
            failed_preconditions_change_nothing(s, WritePath::PutStream).await
        }
        "preconditions_multipart" => {
            failed_preconditions_change_nothing(s, WritePath::Multipart).await
        }
        "preconditions_copy" => failed_preconditions_change_nothing(s, WritePath::Copy).await,
        "presigned_round_trip" => presigned_round_trip(s).await,
        "presigned_refusals" => presigned_refusals(s).await,
        "multipart" => multipart(s).await,
        "multipart_aborted" => multipart_aborted(s).await,
        "put_stream_in_parts" => put_stream_in_parts(s).await,
        "failed_stream_leaves_nothing" => failed_stream_leaves_nothing(s).await,
        "stream_large" => stream_large(s, harness.large_object_size).await,
        "concurrent_writers" => concurrent_writers(s).await,
        "workspace_isolation" => workspace_isolation(store.clone()).await,
        other => Err(format!("unknown case {other}")),
    }
}
