//! **avb** lets a service run unchanged on a laptop and in production.
//!
//! A service links this crate and gets five ports — EventBus, Auth, ObjectStore, Catalog, LLM — whose
//! backends are chosen at startup from one resolved mode. [`from_env`] is the only function in avb that
//! reads the process environment; everything else resolves from `(key, value)` pairs
//! ([`config::Config::from_iter`]).
//!
//! [`Ports::open`] turns the configuration into backends, built once: e.g. `ports.object_store()` is the
//! ObjectStore chosen by `OBJECT_STORE` (memory, fs, or S3 at `AWS_ENDPOINT_URL`: MinIO, GCS, AWS). Each
//! port crate also opens its own backend alone (`avb::object_store::open(&config.object_store.backend)`).
//!
//! ```no_run
//! let config = avb::from_env()?;   // AVB_ENV / AVB_DEV_MODE / EVENT_BUS=… and .env.<mode>
//! println!("{config}");            // the startup summary; secrets redacted
//! # Ok::<(), avb::config::ConfigError>(())
//! ```
#![forbid(unsafe_code)]

pub use avb_auth as auth;
pub use avb_catalog as catalog;
pub use avb_event_bus as event_bus;
pub use avb_llm as llm;
pub use avb_object_store as object_store;

#[cfg(feature = "check")]
pub mod check;
pub mod config;
mod env;
pub mod health;
#[cfg(feature = "http")]
pub mod http;
pub mod instrument;
pub mod layers;
mod main_error;
pub mod metrics;
mod platform;
pub mod ports;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;

pub use avb_core::{Health, ResourceScope, Status, WorkspaceId};
pub use env::{from_env, from_env_using};
pub use main_error::MainError;
pub use platform::{
    Platform, PlatformBuilder, PlatformError, ShutdownReport, ShuttingDown, SwitchError, Work,
    parse_duration,
};
pub use ports::{Capability, OpenError, Port, PortSet, Ports, Unused};
