//! The avb **Auth** port: a bearer token in, a typed [`Principal`] out.
//!
//! | backend | module | `AUTH_MODE` | cargo feature | what it does |
//! |---|---|---|---|---|
//! | trust-all | [`none`] | `none` | always | every token (even an empty one) is the configured workspace and subject; sandbox only |
//! | local issuer | [`local`] | `local` | always | mints Keycloak-shaped RS256 tokens with a development key and validates them with the same [`validator`] as OIDC; sandbox only |
//! | Keycloak / OIDC | `oidc` | `keycloak` | `oidc` | discovery, JWKS cached by `kid` (single-flight, rate-limited refresh) on the issuer's origin, `iss`/`aud`/`exp`/`nbf`/`iat` and token-type checks |
//!
//! Both validating backends accept **access tokens only** (header `typ: at+jwt` or Keycloak's claim
//! `typ: "Bearer"`; ID and refresh tokens are [`Error::WrongTokenType`]), refuse `crit`/`b64` headers,
//! repeated claim names and text after the claims; see [`validator`] for the full order of checks. A
//! repeated token (a session's bearer token on every request) is answered from a bounded cache of validated
//! tokens — never past its `exp`, never after its key left the issuer's key set, never for a rejection
//! ([`validator::token_cache`]; `AUTH_TOKEN_CACHE_SIZE`, `0` turns it off). No
//! answer of an issuer can panic the OIDC backend, and its errors never show an issuer URL's userinfo or
//! query (`oidc::http`).
//!
//! | feature | adds |
//! |---|---|
//! | `oidc` | the OIDC backend (`oidc::Oidc`) and `oidc::ClientCredentials` (outgoing calls), over `reqwest` with rustls on aws-lc-rs |
//! | `axum` | `axum_glue`: `Principal` extractor, auth layer, 401 + `WWW-Authenticate` / 403 |
//! | `conformance` | `conformance`: the shared suite every backend passes; `clock::ManualClock` for tests |
//!
//! Authorization (role → permission, counted in `auth_decisions_total{action,result}`) is [`authz`]. The port
//! knows nothing about HTTP: the axum glue is a separate optional module.
//!
//! ```
//! # tokio_test_block_on(async {
//! use avb_auth::{Authenticator, local::LocalIssuer};
//! let issuer = LocalIssuer::ephemeral()?;              // a fresh in-memory dev key
//! let token = issuer.mint("alice", "ws-1", &["analyst"], std::time::Duration::from_secs(60))?;
//! let principal = issuer.authenticate(&token).await?;
//! assert_eq!(principal.subject, "alice");
//! assert!(principal.has_role("analyst"));
//! # Ok::<(), avb_auth::Error>(()) }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f) }
//! ```

use async_trait::async_trait;
use avb_core::{Health, WorkspaceId};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::SystemTime;

pub mod authz;
pub mod clock;
pub mod config;
mod error;
mod forward;
pub mod jwks;
pub mod local;
pub mod none;
mod open;
pub mod validator;

#[cfg(feature = "oidc")]
pub mod oidc;

#[cfg(feature = "axum")]
pub mod axum_glue;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

#[cfg(test)]
mod parse_fuzz;

pub use avb_core::{Classify, ErrorClass, NotCompiled};
pub use error::{Error, ErrorKind, Result};
#[cfg(feature = "oidc")]
pub use open::token_source;
pub use open::{TRUST_ALL_ROLE, open};

/// Who made a request: the typed result of authentication, the same in every mode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    /// `sub`: the user or service account.
    pub subject: String,
    /// The tenant, from the configured workspace claim.
    pub workspace_id: WorkspaceId,
    /// Realm roles (`realm_access.roles`) and this client's roles (`resource_access.<client>.roles`).
    pub roles: BTreeSet<String>,
    /// `scope`, split on spaces.
    pub scopes: BTreeSet<String>,
    /// `exp`; `None` for trust-all, whose principal never expires.
    pub expires_at: Option<SystemTime>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Whether the principal was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

/// What a backend can do; code and tests branch on these, never on backend names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// It rejects invalid tokens (false for trust-all, which accepts anything).
    pub rejects_invalid_tokens: bool,
    /// It verifies signatures against keys it fetches from an issuer and refreshes them on rotation.
    pub key_rotation: bool,
    /// It can mint tokens itself (the local issuer).
    pub mints_tokens: bool,
}

/// The Auth port: turns a bearer token into a [`Principal`], or says precisely why not.
#[async_trait]
pub trait Authenticator: Send + Sync + Debug {
    /// Validates `bearer_token` (the token alone, without the `Bearer ` prefix).
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal>;

    /// [`authenticate`](Self::authenticate) without a future, for a backend that can decide without
    /// waiting (trust-all; the local issuer, whose keys are its own): `Some(answer)` is exactly what
    /// `authenticate` would answer; `None` says this backend has to wait (fetch keys, ask the issuer),
    /// so call `authenticate`. The default: `None`.
    ///
    /// For wrappers (the Platform's layers), which call it from inside their own future, on its first
    /// poll — so a wrapped `authenticate` stays lazy. A service calls `authenticate`. The conformance
    /// suite checks that both answer alike on every backend.
    fn authenticate_now(&self, bearer_token: &str) -> Option<Result<Principal>> {
        let _ = bearer_token;
        None
    }

    /// [`authenticate`](Self::authenticate), and then, where tokens come from an issuer that can say so,
    /// the issuer's word that the token is still active (OIDC token introspection, RFC 7662) — for routes
    /// that must see a logout or a disabled user at once (`axum_glue::AuthLayer::introspected`, feature `axum`).
    /// The OIDC backend without introspection configured refuses with [`Error::InvalidConfig`] rather
    /// than check offline only; backends without an issuer (trust-all, the local issuer) have nothing to
    /// ask and validate as `authenticate` does (the default).
    async fn authenticate_introspected(&self, bearer_token: &str) -> Result<Principal> {
        self.authenticate(bearer_token).await
    }

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The backend's scheme (`none`, `local`, `keycloak`), for summaries and metrics labels.
    fn backend(&self) -> &'static str;

    /// Whether the backend can serve requests (for OIDC: the issuer's keys are loaded).
    async fn health(&self) -> Health {
        Health::up(self.backend())
    }
}
