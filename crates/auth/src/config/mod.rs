//! The Auth port's configuration: which backend `AUTH_MODE` chose and its settings, read and checked here
//! (once), shown as the startup summary's line, and turned into an [`Authenticator`](crate::Authenticator)
//! by [`open`](crate::open). Each default is one constant below, used by the builders too.
//!
//! ```
//! use avb_core::config::PortConfig;
//! use avb_auth::config::AuthConfig;
//! let port = AuthConfig::from_pairs([("AVB_SANDBOX_SUBJECT", "dev-1")]).unwrap();
//! assert!(matches!(port.backend, AuthConfig::None { .. }));
//! ```

mod claims;
mod vars;

pub use claims::{RESERVED_CLAIMS, reserved_claim, reserved_claim_names};
pub use vars::*;

use avb_core::config::{PortConfig, Problem, Reader, Scrubber, Secret, ServiceUrl};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

avb_core::choice! {
    /// Auth backend (`AUTH_MODE`).
    AuthKind { /** Trust-all. */ None = "none", /** Local issuer with a development key. */ Local = "local", /** Keycloak / any OIDC provider. */ Keycloak = "keycloak" }
    aliases { "oidc" => Keycloak }
}
avb_core::backend_kind!(AuthKind, AUTH_MODE, sandbox: None, live: Keycloak, sandbox_only: [None, Local]);

/// The claim that carries the workspace id (`AUTH_WORKSPACE_CLAIM`).
pub const DEFAULT_WORKSPACE_CLAIM: &str = "workspace_id";
/// Clock skew allowed on `exp`/`nbf` (`AUTH_LEEWAY_SECONDS`).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Shortest interval between two JWKS fetches (`OIDC_JWKS_MIN_REFRESH_SECONDS`).
pub const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);
/// Longest a fetched JWKS is used before a refresh (`OIDC_JWKS_MAX_AGE_SECONDS`).
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);
/// How long an introspection answer is reused (`OIDC_INTROSPECTION_CACHE_SECONDS`).
pub const DEFAULT_INTROSPECTION_CACHE: Duration = Duration::from_secs(5);
/// The development key of the `local` backend (`AVB_AUTH_DEV_KEY_FILE`), under the current directory.
pub const DEFAULT_DEV_KEY_FILE: &str = ".avb/auth/dev-key.pem";
/// The trust-all workspace (`AVB_SANDBOX_WORKSPACE`).
pub const DEFAULT_SANDBOX_WORKSPACE: &str = "sandbox";
/// The trust-all subject (`AVB_SANDBOX_SUBJECT`).
pub const DEFAULT_SANDBOX_SUBJECT: &str = "sandbox-user";

/// Auth backend and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AuthConfig {
    /// Trust-all: every request is this workspace and subject (sandbox only).
    None {
        /// `AVB_SANDBOX_WORKSPACE`.
        workspace_id: String,
        /// `AVB_SANDBOX_SUBJECT`.
        subject: String,
    },
    /// Local issuer signing real JWTs with a development key (sandbox only).
    Local {
        /// `AVB_AUTH_DEV_KEY_FILE`.
        key_file: PathBuf,
    },
    /// Keycloak or any OIDC provider.
    Keycloak {
        /// The issuer (`OIDC_ISSUER_URL`, or `KEYCLOAK_URL/realms/KEYCLOAK_REALM`).
        issuer: ServiceUrl,
        /// `OIDC_AUDIENCE`.
        audience: String,
        /// `OIDC_CLIENT_ID`.
        client_id: Option<String>,
        /// `OIDC_CLIENT_SECRET`.
        client_secret: Option<Secret>,
        /// `AUTH_WORKSPACE_CLAIM`.
        workspace_claim: String,
        /// `AUTH_LEEWAY_SECONDS`.
        leeway_seconds: u64,
        /// `OIDC_JWKS_MIN_REFRESH_SECONDS`.
        jwks_min_refresh_seconds: u64,
        /// `OIDC_JWKS_MAX_AGE_SECONDS`.
        jwks_max_age_seconds: u64,
        /// `OIDC_ALLOWED_ORIGINS`: origins (`scheme://host[:port]`) besides the issuer's trusted for
        /// `jwks_uri` and `token_endpoint`.
        allowed_origins: Vec<String>,
        /// `OIDC_INTROSPECTION`: when tokens are checked at the issuer's introspection endpoint
        /// (with `OIDC_CLIENT_ID`/`OIDC_CLIENT_SECRET`).
        introspection: OidcIntrospection,
        /// `OIDC_INTROSPECTION_CACHE_SECONDS`: how long an introspection answer is reused.
        introspection_cache_seconds: u64,
    },
}

/// When the OIDC backend asks the issuer whether a validated token is still active (RFC 7662 token
/// introspection; `OIDC_INTROSPECTION`). Offline validation alone keeps a token valid until its `exp`
/// even after a logout or a disabled user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OidcIntrospection {
    /// Never: offline validation only (the default).
    Off,
    /// For every token.
    All,
    /// Only on routes that ask for it (`AuthLayer::introspected`).
    PerRoute,
}

impl OidcIntrospection {
    /// The variable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OidcIntrospection::Off => "off",
            OidcIntrospection::All => "all",
            OidcIntrospection::PerRoute => "per_route",
        }
    }
}

const HTTP: &[&str] = &["http", "https"];

/// `AUTH_WORKSPACE_CLAIM`, refusing a claim tokens carry for another purpose.
fn workspace_claim(r: &mut Reader<'_>) -> Option<String> {
    let claim = r.with_default(&AUTH_WORKSPACE_CLAIM, DEFAULT_WORKSPACE_CLAIM)?;
    match reserved_claim(&claim) {
        None => Some(claim),
        Some(why) => {
            r.invalid(
                &AUTH_WORKSPACE_CLAIM,
                &claim,
                format!(
                    "a claim that is not reserved: {claim:?} is {why}, so every token would be refused or mis-read (reserved: {})",
                    reserved_claim_names()
                ),
            );
            None
        }
    }
}

fn issuer(r: &mut Reader<'_>, needed_by: &str) -> Option<ServiceUrl> {
    let has_issuer = r.is_set(&OIDC_ISSUER_URL);
    let has_keycloak = r.is_set(&KEYCLOAK_URL) || r.is_set(&KEYCLOAK_REALM);
    match (has_issuer, has_keycloak) {
        (true, true) => {
            r.problem(Problem::Conflict {
                keys: vec!["OIDC_ISSUER_URL".into(), "KEYCLOAK_URL".into(), "KEYCLOAK_REALM".into()],
                reason: "OIDC_ISSUER_URL and KEYCLOAK_URL/KEYCLOAK_REALM are both set: set the issuer one way only".into(),
            });
            None
        }
        (false, true) => {
            let base = r.url(&KEYCLOAK_URL, needed_by, HTTP, "http://127.0.0.1:8080");
            let realm = r.required(&KEYCLOAK_REALM, "KEYCLOAK_URL is set", "avb");
            let (mut base, realm) = (base?.expose().clone(), realm?);
            if realm.contains(['/', '?', '#']) {
                r.invalid(
                    &KEYCLOAK_REALM,
                    realm,
                    "a realm name without '/', '?' or '#'",
                );
                return None;
            }
            let path = format!("{}/realms/{realm}", base.path().trim_end_matches('/'));
            base.set_path(&path);
            Some(ServiceUrl::new(base))
        }
        _ => r.url(
            &OIDC_ISSUER_URL,
            needed_by,
            HTTP,
            "http://127.0.0.1:8080/realms/avb, or KEYCLOAK_URL + KEYCLOAK_REALM",
        ),
    }
}

fn keycloak(r: &mut Reader<'_>, needed_by: &str) -> Option<AuthConfig> {
    let issuer = issuer(r, needed_by)?;
    let audience = r
        .required(&OIDC_AUDIENCE, needed_by, "avb-api")
        .map(str::to_string);
    let client_id = r.optional(&OIDC_CLIENT_ID);
    let client_secret = r.optional_secret(&OIDC_CLIENT_SECRET);
    let workspace_claim = workspace_claim(r);
    let leeway_seconds = r.integer(&AUTH_LEEWAY_SECONDS, DEFAULT_LEEWAY.as_secs(), 0..=300);
    let jwks_min_refresh_seconds = r.integer(
        &OIDC_JWKS_MIN_REFRESH_SECONDS,
        DEFAULT_JWKS_MIN_REFRESH.as_secs(),
        1..=3600,
    );
    let jwks_max_age_seconds = r.integer(
        &OIDC_JWKS_MAX_AGE_SECONDS,
        DEFAULT_JWKS_MAX_AGE.as_secs(),
        10..=86_400,
    );
    let allowed_origins = r.origins(&OIDC_ALLOWED_ORIGINS);
    let introspection = r.choice(
        &OIDC_INTROSPECTION,
        &[
            ("off", OidcIntrospection::Off),
            ("all", OidcIntrospection::All),
            ("per_route", OidcIntrospection::PerRoute),
        ],
        OidcIntrospection::Off,
    );
    let introspection_cache_seconds = r.integer(
        &OIDC_INTROSPECTION_CACHE_SECONDS,
        DEFAULT_INTROSPECTION_CACHE.as_secs(),
        0..=300,
    );
    let (client_id, client_secret) = (client_id?, client_secret?);
    let introspection = introspection?;
    if introspection != OidcIntrospection::Off && (client_id.is_none() || client_secret.is_none()) {
        r.problem(Problem::Conflict {
            keys: vec![
                "OIDC_INTROSPECTION".into(),
                "OIDC_CLIENT_ID".into(),
                "OIDC_CLIENT_SECRET".into(),
            ],
            reason: format!(
                "OIDC_INTROSPECTION={} needs the client that calls the introspection endpoint: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
                introspection.as_str()
            ),
        });
        return None;
    }
    if client_secret.is_some() && client_id.is_none() {
        r.problem(Problem::Conflict {
            keys: vec!["OIDC_CLIENT_ID".into(), "OIDC_CLIENT_SECRET".into()],
            reason: "OIDC_CLIENT_SECRET is set but OIDC_CLIENT_ID is not: the secret belongs to a client".into(),
        });
        return None;
    }
    Some(AuthConfig::Keycloak {
        issuer,
        audience: audience?,
        client_id,
        client_secret,
        workspace_claim: workspace_claim?,
        leeway_seconds: leeway_seconds?,
        jwks_min_refresh_seconds: jwks_min_refresh_seconds?,
        jwks_max_age_seconds: jwks_max_age_seconds?,
        allowed_origins: allowed_origins?,
        introspection,
        introspection_cache_seconds: introspection_cache_seconds?,
    })
}

impl PortConfig for AuthConfig {
    type Kind = AuthKind;
    const NAME: &'static str = "auth";
    const VARS: &'static [avb_core::config::Key] = VARS;

    fn read(kind: AuthKind, r: &mut Reader<'_>, needed_by: &str) -> Option<Self> {
        match kind {
            AuthKind::None => {
                let workspace_id =
                    r.with_default(&AVB_SANDBOX_WORKSPACE, DEFAULT_SANDBOX_WORKSPACE);
                let subject = r.with_default(&AVB_SANDBOX_SUBJECT, DEFAULT_SANDBOX_SUBJECT);
                Some(AuthConfig::None {
                    workspace_id: workspace_id?,
                    subject: subject?,
                })
            }
            AuthKind::Local => Some(AuthConfig::Local {
                key_file: r
                    .with_default(&AVB_AUTH_DEV_KEY_FILE, DEFAULT_DEV_KEY_FILE)?
                    .into(),
            }),
            AuthKind::Keycloak => keycloak(r, needed_by),
        }
    }

    fn kind(&self) -> AuthKind {
        match self {
            AuthConfig::None { .. } => AuthKind::None,
            AuthConfig::Local { .. } => AuthKind::Local,
            AuthConfig::Keycloak { .. } => AuthKind::Keycloak,
        }
    }

    fn secrets<'a>(&'a self, out: &mut Scrubber<'a>) {
        match self {
            AuthConfig::None { .. } | AuthConfig::Local { .. } => {}
            AuthConfig::Keycloak {
                issuer,
                client_secret,
                ..
            } => {
                out.url(issuer);
                if let Some(secret) = client_secret {
                    out.secret(secret);
                }
            }
        }
    }
}

impl fmt::Display for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::None {
                workspace_id,
                subject,
            } => write!(
                f,
                "none (trust-all: workspace {workspace_id:?}, subject {subject:?})"
            ),
            AuthConfig::Local { key_file } => write!(
                f,
                "local (tokens signed with the development key {})",
                key_file.display()
            ),
            AuthConfig::Keycloak {
                issuer,
                audience,
                workspace_claim,
                introspection,
                ..
            } => write!(
                f,
                "keycloak issuer {issuer}, audience {audience}, workspace claim {workspace_claim}, introspection {}",
                introspection.as_str()
            ),
        }
    }
}

#[cfg(test)]
mod tests;
