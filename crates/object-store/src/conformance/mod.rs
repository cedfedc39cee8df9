//! The shared conformance suite (feature `conformance`): what every [`ObjectStore`] backend must do, run on
//! the conformance kit ([`avb_conformance`]).
//!
//! Each case is a documented `pub async fn` taking the [`Subject`] and the kit's [`Checks`]; [`cases`] is the
//! table and [`run_all`] runs it. Every case works under its own unique prefix (a uuid and the case's
//! name), so cases run concurrently and reruns never see each other's data. A case needing a capability the
//! backend does not declare (see [`capability`]) is skipped by the kit, printed as `SKIPPED <case>: lacks
//! <capability>`, never on the backend's name; that the backend then says `NotSupported` is checked by
//! [`undeclared_capabilities_refused`]. Every failing check is reported under its stable label; every case
//! has a timeout.
//!
//! The cases live by concern: reads, writes, listings and copies (`basic.rs`), keys and
//! prefixes that try to escape (`keys.rs`), content type and metadata (`metadata.rs`), ranges (`ranges.rs`),
//! conditional, multipart, streamed and concurrent writes (`writes.rs`), write and read preconditions on every
//! write path (`preconditions.rs`), presigned URLs used by plain HTTP (`presign.rs`), workspaces
//! (`isolation.rs`), what is not declared is refused (`undeclared.rs`); all are re-exported here. A server's known failure is declared as a kit [`Gap`] on the
//! failing check's label (optionally narrowed by a predicate on the message), given to [`run_all_with`]'s
//! [`Runner`]: it waives that failure only, and the rest of the case still runs.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_object_store::{conformance::{self, Expect, Harness, capability}, memory::MemoryStore};
//! let report = conformance::run_all(&Harness::new(std::sync::Arc::new(MemoryStore::new()))).await;
//! report.assert_exact(
//!     &Expect::all()
//!         .skipped("symlinks_not_followed", capability::SYMLINKS)
//!         .skipped("presigned_round_trip", capability::PRESIGN)
//!         .skipped("presigned_refusals", capability::PRESIGN),
//! );
//! # }
//! ```

use crate::{Capabilities, Error, ObjectStore, PrefixStore};
use avb_conformance::{Abort, Capable, Case};
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The kit's types a caller needs to run the suite and check its result.
pub use avb_conformance::{CaseResult, Checks, Expect, Gap, GapKind, Report, Runner};

/// What [`run_all`] runs against.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The store under test.
    pub store: Arc<dyn ObjectStore>,
    /// Size of the object [`stream_large`] streams through (default 100 MiB; 0 skips the case, see
    /// [`capability::LARGE_OBJECT`]).
    pub large_object_size: u64,
    /// Keys [`list_paginated`] writes (default 1,050: past one 1,000-key page).
    pub pagination_keys: usize,
    /// Plants symbolic links in the store, for a backend with a file system underneath (see [`Symlinks`]);
    /// `None` skips [`symlinks_not_followed`] (capability [`capability::SYMLINKS`]).
    pub symlinks: Option<Arc<dyn Symlinks>>,
    /// Where in the store the suite writes: `<root>/<run id>/<case>/…` (default `conformance`).
    pub root: String,
    /// Leave the run's objects in the store afterwards, e.g. to look at a failure (default: every object
    /// the run wrote under `<root>/<run id>/` is deleted once the cases are done, failed ones included).
    pub keep_objects: bool,
}

impl Harness {
    /// Defaults: a 100 MiB streamed object, 1,050 keys for pagination, no symbolic links.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            large_object_size: 100 * 1024 * 1024,
            pagination_keys: 1_050,
            symlinks: None,
            root: "conformance".to_string(),
            keep_objects: false,
        }
    }

    /// Writes under `root` instead of `conformance` (a key prefix; no leading or trailing `/`).
    pub fn with_root(mut self, root: impl Into<String>) -> Self {
        self.root = root.into();
        self
    }

    /// Gives the suite a way to plant symbolic links under the store (see [`Symlinks`]).
    pub fn with_symlinks(mut self, symlinks: Arc<dyn Symlinks>) -> Self {
        self.symlinks = Some(symlinks);
        self
    }
}

/// The capabilities cases require, by the names the report prints.
pub mod capability {
    /// [`Capabilities::conditional_create`](crate::Capabilities::conditional_create).
    pub const CONDITIONAL_CREATE: &str = "conditional_create";
    /// [`Capabilities::conditional_update`](crate::Capabilities::conditional_update).
    pub const CONDITIONAL_UPDATE: &str = "conditional_update";
    /// Either of the two above: the precondition cases check what is declared.
    pub const CONDITIONAL_WRITES: &str = "conditional_create or conditional_update";
    /// [`Capabilities::conditional_read`](crate::Capabilities::conditional_read).
    pub const CONDITIONAL_READ: &str = "conditional_read";
    /// [`Capabilities::multipart`](crate::Capabilities::multipart).
    pub const MULTIPART: &str = "multipart";
    /// [`Capabilities::presign`](crate::Capabilities::presign).
    pub const PRESIGN: &str = "presign";
    /// [`Capabilities::metadata`](crate::Capabilities::metadata).
    pub const METADATA: &str = "metadata";
    /// The harness can plant symbolic links ([`Harness::symlinks`](super::Harness::symlinks) is set).
    pub const SYMLINKS: &str = "a way to plant symbolic links (Harness::symlinks)";
    /// The harness streams a large object ([`Harness::large_object_size`](super::Harness::large_object_size)
    /// is not 0).
    pub const LARGE_OBJECT: &str = "Harness::large_object_size > 0";
}

/// What the cases run against: the harness, this run's id, and the capabilities the store declares.
#[derive(Debug)]
pub struct Subject<'a> {
    harness: &'a Harness,
    run: uuid::Uuid,
    capabilities: Capabilities,
}

impl<'a> Subject<'a> {
    /// A run against `harness` (a fresh run id: a fresh prefix for every case).
    pub fn new(harness: &'a Harness) -> Self {
        Self {
            harness,
            run: uuid::Uuid::new_v4(),
            capabilities: harness.store.capabilities(),
        }
    }

    /// The harness.
    pub fn harness(&self) -> &Harness {
        self.harness
    }

    /// Where the running case's objects live in the harness store: `<root>/<run>/<case>`
    /// ([`Harness::root`], default `conformance`).
    pub fn prefix(&self, c: &Checks) -> String {
        format!("{}/{}/{}", self.harness.root, self.run, c.case())
    }

    /// The harness store scoped to the running case's [`Subject::prefix`].
    pub fn store(&self, c: &mut Checks) -> Result<Arc<dyn ObjectStore>, Abort> {
        let prefix = self.prefix(c);
        let scoped = PrefixStore::new(self.harness.store.clone(), &prefix);
        let scoped = c.ok("prefix", scoped)?;
        Ok(Arc::new(scoped))
    }

    /// Where this run's objects live: `<root>/<run>/`.
    pub fn run_prefix(&self) -> String {
        format!("{}/{}/", self.harness.root, self.run)
    }

    /// Deletes every object under [`Subject::run_prefix`] (16 at a time). Best effort: what could not be
    /// listed or deleted is said in the answer, which [`run_all_with`] prints.
    pub async fn clean_up(&self) -> CleanUp {
        use futures::StreamExt;
        let prefix = self.run_prefix();
        let store = &self.harness.store;
        let objects = match store.list_all(&prefix).await {
            Ok(objects) => objects,
            Err(e) => {
                return CleanUp {
                    prefix,
                    removed: 0,
                    left: None,
                    first_error: Some(format!("listing failed: {e}")),
                };
            }
        };
        let results: Vec<Result<(), Error>> = futures::stream::iter(objects)
            .map(|o| async move { store.delete(&o.key).await })
            .buffer_unordered(16)
            .collect()
            .await;
        let removed = results.iter().filter(|r| r.is_ok()).count();
        let failed = results.len() - removed;
        CleanUp {
            prefix,
            removed,
            left: Some(failed),
            first_error: results
                .into_iter()
                .find_map(Result::err)
                .map(|e| e.to_string()),
        }
    }
}

/// What [`Subject::clean_up`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanUp {
    /// The run's prefix.
    pub prefix: String,
    /// Objects deleted.
    pub removed: usize,
    /// Objects that could not be deleted (`None`: the prefix could not even be listed).
    pub left: Option<usize>,
    /// The first failure.
    pub first_error: Option<String>,
}

impl fmt::Display for CleanUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.left, &self.first_error) {
            (Some(0), _) => write!(
                f,
                "cleanup: removed {} objects under {}",
                self.removed, self.prefix
            ),
            (Some(left), e) => write!(
                f,
                "cleanup: removed {} objects under {}, {left} LEFT: {}",
                self.removed,
                self.prefix,
                e.as_deref().unwrap_or("?")
            ),
            (None, e) => write!(
                f,
                "cleanup: objects LEFT under {}: {}",
                self.prefix,
                e.as_deref().unwrap_or("?")
            ),
        }
    }
}

impl Capable for Subject<'_> {
    fn has(&self, wanted: &'static str) -> bool {
        let caps = &self.capabilities;
        match wanted {
            capability::CONDITIONAL_CREATE => caps.conditional_create,
            capability::CONDITIONAL_UPDATE => caps.conditional_update,
            capability::CONDITIONAL_WRITES => caps.conditional_create || caps.conditional_update,
            capability::CONDITIONAL_READ => caps.conditional_read,
            capability::MULTIPART => caps.multipart,
            capability::PRESIGN => caps.presign,
            capability::METADATA => caps.metadata,
            capability::SYMLINKS => self.harness.symlinks.is_some(),
            capability::LARGE_OBJECT => self.harness.large_object_size > 0,
            _ => false,
        }
    }
}

macro_rules! case {
    ($name:ident) => {
        Case::new(stringify!($name), |s, c| Box::pin($name(s, c)))
    };
    ($name:expr, $body:expr) => {
        Case::new($name, |s, c| Box::pin($body(s, c)))
    };
}

/// The timeout of a case that moves a large amount of data ([`stream_large`], [`list_paginated`]).
pub const LONG_CASE_TIMEOUT: Duration = Duration::from_secs(600);

/// Every case, in the order the report lists them.
pub fn cases<'a>() -> Vec<Case<Subject<'a>>> {
    use capability::*;
    vec![
        case!(put_get_delete),
        case!(missing_is_not_found),
        case!(invalid_keys),
        case!(invalid_keys_unscoped),
        case!(traversal_through_workspace),
        case!(symlinks_not_followed).requires(&[SYMLINKS]),
        case!(metadata_and_content_type).requires(&[METADATA]),
        case!(default_content_type).requires(&[METADATA]),
        case!(metadata_keys_do_not_collide).requires(&[METADATA]),
        case!(list_prefix_and_delimiter),
        case!(list_paginated).timeout(LONG_CASE_TIMEOUT),
        case!(weird_keys),
        case!(ranged_reads),
        case!(empty_object_ranges),
        case!(copy),
        case!(undeclared_capabilities_refused),
        case!(conditional_create).requires(&[CONDITIONAL_CREATE]),
        case!(conditional_create_race).requires(&[CONDITIONAL_CREATE]),
        case!(compare_and_swap).requires(&[CONDITIONAL_UPDATE]),
        case!(conditional_reads).requires(&[CONDITIONAL_READ]),
        case!("preconditions_put", preconditions_put).requires(&[CONDITIONAL_WRITES]),
        case!("preconditions_put_stream", preconditions_put_stream).requires(&[CONDITIONAL_WRITES]),
        case!("preconditions_multipart", preconditions_multipart)
            .requires(&[MULTIPART, CONDITIONAL_WRITES]),
        case!("preconditions_copy", preconditions_copy).requires(&[CONDITIONAL_WRITES]),
        case!(presigned_round_trip).requires(&[PRESIGN]),
        case!(presigned_refusals).requires(&[PRESIGN]),
        case!(multipart).requires(&[MULTIPART]),
        case!(multipart_aborted).requires(&[MULTIPART]),
        case!(put_stream_in_parts),
        case!(failed_stream_leaves_nothing),
        case!(stream_large)
            .requires(&[LARGE_OBJECT])
            .timeout(LONG_CASE_TIMEOUT),
        case!(concurrent_writers),
        case!(workspace_isolation),
    ]
}

/// The runner [`run_all`] uses: 4 cases at once, each within [`Runner::DEFAULT_TIMEOUT`] (the cases moving
/// much data within [`LONG_CASE_TIMEOUT`]).
pub fn runner() -> Runner {
    Runner::new().concurrency(4)
}

/// Runs every case against `harness` with [`runner`]; prints one line per case as it goes.
pub async fn run_all(harness: &Harness) -> Report {
    run_all_with(harness, &runner()).await
}

/// Runs every case against `harness` with `runner` (your concurrency, timeout, declared server gaps),
/// then deletes what the run wrote (unless [`Harness::keep_objects`]) and prints what the cleanup did
/// (when the runner prints).
pub async fn run_all_with(harness: &Harness, runner: &Runner) -> Report {
    let subject = Subject::new(harness);
    let report = runner.run(&subject, &cases()).await;
    let said = if harness.keep_objects {
        format!(
            "cleanup: kept the run's objects under {}",
            subject.run_prefix()
        )
    } else {
        subject.clean_up().await.to_string()
    };
    if runner.prints() {
        println!("{said}");
    }
    report
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
mod undeclared;
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
pub use undeclared::*;
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
    ($c:expr, $label:expr, $cond:expr, $($arg:tt)+) => {{
        let holds = $cond;
        $c.require($label, holds, format_args!($($arg)+))?
    }};
}

pub(crate) use ensure;

/// A store call's value, or a failure under `label` (naming the error) that stops the case.
pub(crate) trait At<T> {
    fn at(self, c: &mut Checks, label: &'static str) -> Result<T, Abort>;
    /// [`At::at`], the message saying what was being done.
    fn at_as(
        self,
        c: &mut Checks,
        label: &'static str,
        what: impl fmt::Display,
    ) -> Result<T, Abort>;
}

impl<T> At<T> for Result<T, Error> {
    fn at(self, c: &mut Checks, label: &'static str) -> Result<T, Abort> {
        c.ok(label, self)
    }

    fn at_as(
        self,
        c: &mut Checks,
        label: &'static str,
        what: impl fmt::Display,
    ) -> Result<T, Abort> {
        c.ok(label, self.map_err(|e| format!("{what}: {e}")))
    }
}

/// Checks (under `label`, stopping the case) that `r` is `NotFound`.
pub(crate) fn expect_not_found<T: fmt::Debug>(
    c: &mut Checks,
    label: &'static str,
    r: Result<T, Error>,
    what: &str,
) -> CaseResult {
    match r {
        Err(Error::NotFound { .. }) => c.require(label, true, ""),
        other => Err(c.fail(
            label,
            format_args!("{what}: expected NotFound, got {other:?}"),
        )),
    }
}

pub(crate) fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}
