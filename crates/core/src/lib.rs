//! avb core: the pieces every port and the facade share.
//!
//! - [`config`]: mode resolution (`AVB_ENV`/`DJANGO_ENV`, `AVB_DEV_MODE`, per-port overrides), the typed
//!   [`config::Config`] with its human summary and JSON form, fail-closed validation and secret redaction.
//! - [`WorkspaceId`]: the validated tenant id every port scopes its data by.
//! - [`Health`]: what every backend's `health()` reports.
//! - [`ErrorClass`], [`Classify`], [`NotCompiled`]: one error classification and one "not compiled in" shape for
//!   every port.
//!
//! Nothing in this crate reads the process environment: resolution takes `(key, value)` pairs
//! ([`config::Config::from_iter`]); only the facade crate's `from_env` collects them from the process.
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod forward;
pub mod health;
pub mod scope;
pub mod workspace;

pub use error::{Classify, ErrorClass, NotCompiled};
pub use health::{Health, Status};
pub use scope::{InvalidResourceScope, ResourceScope};
pub use workspace::{InvalidWorkspaceId, WorkspaceId};
