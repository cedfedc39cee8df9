//! The Auth port's wiring: [`authenticator`] builds the backend `AUTH_MODE` chose.
//!
//! | `AUTH_MODE` | backend | cargo feature |
//! |---|---|---|
//! | `none` | [`TrustAll`](avb_auth::none::TrustAll): `AVB_SANDBOX_SUBJECT` in `AVB_SANDBOX_WORKSPACE`, role `owner` | always |
//! | `local` | [`LocalIssuer`](avb_auth::local::LocalIssuer) with the key in `AVB_AUTH_DEV_KEY_FILE` | always |
//! | `keycloak` | `Oidc`: discovery + JWKS of the issuer (endpoints on its origin, or on one listed in `OIDC_ALLOWED_ORIGINS`) | `auth-oidc` |

use avb_auth::{Authenticator, Error};
use avb_core::WorkspaceId;
use avb_core::config::{AuthConfig, Config};
use std::sync::Arc;

/// The role every trust-all request gets: the sandbox user may do everything.
pub const TRUST_ALL_ROLE: &str = "owner";

/// Builds the Auth backend of `config`. For Keycloak this discovers the issuer and loads its keys, so an
/// unreachable issuer fails startup ([`Error::IssuerUnavailable`]), not the first request.
pub async fn authenticator(config: &Config) -> Result<Arc<dyn Authenticator>, Error> {
    match &config.auth.backend {
        AuthConfig::None {
            workspace_id,
            subject,
        } => {
            let workspace =
                WorkspaceId::new(workspace_id.as_str()).map_err(|e| Error::InvalidConfig {
                    key: "AVB_SANDBOX_WORKSPACE".into(),
                    value: workspace_id.clone(),
                    expected: e.to_string(),
                })?;
            Ok(Arc::new(avb_auth::none::TrustAll::new(
                workspace,
                subject.clone(),
                [TRUST_ALL_ROLE],
            )))
        }
        AuthConfig::Local { key_file } => Ok(Arc::new(
            avb_auth::local::LocalIssuer::from_key_file(key_file)?,
        )),
        #[cfg(feature = "auth-oidc")]
        AuthConfig::Keycloak {
            issuer,
            audience,
            client_id,
            workspace_claim,
            leeway_seconds,
            jwks_min_refresh_seconds,
            jwks_max_age_seconds,
            allowed_origins,
            client_secret,
            introspection,
            introspection_cache_seconds,
        } => {
            let mut builder = avb_auth::oidc::OidcBuilder::new(issuer.expose().as_str())
                .with_audience(audience.clone())
                .with_workspace_claim(workspace_claim.clone())
                .with_leeway(std::time::Duration::from_secs(*leeway_seconds))
                .with_min_refresh_interval(std::time::Duration::from_secs(
                    *jwks_min_refresh_seconds,
                ))
                .with_jwks_max_age(std::time::Duration::from_secs(*jwks_max_age_seconds));
            if let Some(client_id) = client_id {
                builder = builder.with_client_id(client_id.clone());
            }
            for origin in allowed_origins {
                builder = builder.with_allowed_origin(origin.clone());
            }
            let when = match introspection {
                avb_core::config::OidcIntrospection::Off => None,
                avb_core::config::OidcIntrospection::All => {
                    Some(avb_auth::oidc::Introspect::EveryToken)
                }
                avb_core::config::OidcIntrospection::PerRoute => {
                    Some(avb_auth::oidc::Introspect::OnRequest)
                }
            };
            if let (Some(when), Some(client_id), Some(secret)) = (when, client_id, client_secret) {
                builder = builder
                    .with_introspection(client_id.clone(), secret.clone(), when)
                    .with_introspection_cache(std::time::Duration::from_secs(
                        *introspection_cache_seconds,
                    ));
            }
            Ok(Arc::new(builder.build().await?))
        }
        #[cfg(not(feature = "auth-oidc"))]
        AuthConfig::Keycloak { .. } => Err(Error::NotCompiled(avb_core::NotCompiled {
            backend: "AUTH_MODE=keycloak".into(),
            feature: "auth-oidc",
        })),
        // `AuthConfig` is `#[non_exhaustive]` (it lives in avb-core), so the compiler demands this arm; a
        // backend added there without wiring here is reported, not silently ignored.
        _ => Err(Error::NotSupported {
            operation: "wiring this AUTH_MODE (avb-core knows it, the facade does not yet)",
            backend: "facade",
        }),
    }
}

/// The client-credentials token source for outgoing calls, when `AUTH_MODE=keycloak` and both
/// `OIDC_CLIENT_ID` and `OIDC_CLIENT_SECRET` are set; `None` otherwise.
#[cfg(feature = "auth-oidc")]
pub async fn token_source(
    config: &Config,
) -> Result<Option<avb_auth::oidc::ClientCredentials>, Error> {
    match &config.auth.backend {
        AuthConfig::Keycloak {
            issuer,
            client_id: Some(client_id),
            client_secret: Some(secret),
            allowed_origins,
            ..
        } => Ok(Some(
            avb_auth::oidc::ClientCredentials::discover_allowing(
                issuer.expose().as_str(),
                allowed_origins,
                client_id.clone(),
                secret.clone(),
            )
            .await?,
        )),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sandbox_default_is_trust_all_with_the_configured_principal() {
        let config = Config::from_iter([("AVB_SANDBOX_SUBJECT", "dev-1")]).unwrap();
        let auth = authenticator(&config).await.unwrap();
        assert_eq!(auth.backend(), "none");
        let p = auth.authenticate("whatever").await.unwrap();
        assert_eq!(
            (p.subject.as_str(), p.workspace_id.as_str()),
            ("dev-1", "sandbox")
        );
        assert!(p.has_role(TRUST_ALL_ROLE));
    }

    #[test]
    fn sandbox_auth_backends_are_refused_outside_development() {
        for mode in ["none", "local"] {
            for env in ["staging", "production"] {
                let err = Config::from_iter([("AVB_ENV", env), ("AUTH_MODE", mode)]).unwrap_err();
                let err = err.to_string();
                assert!(err.contains("AUTH_MODE"), "{err}");
                assert!(err.contains(env), "{err}");
            }
        }
    }

    #[tokio::test]
    async fn invalid_sandbox_workspace_names_the_variable() {
        let config = Config::from_iter([("AVB_SANDBOX_WORKSPACE", "Not Valid")]).unwrap();
        let err = authenticator(&config).await.unwrap_err();
        assert!(err.to_string().contains("AVB_SANDBOX_WORKSPACE"), "{err}");
    }

    #[cfg(not(feature = "auth-oidc"))]
    #[tokio::test]
    async fn keycloak_without_the_feature_names_it() {
        let config = Config::from_iter([
            ("AUTH_MODE", "keycloak"),
            ("OIDC_ISSUER_URL", "http://127.0.0.1:1/realms/x"),
            ("OIDC_AUDIENCE", "a"),
        ])
        .unwrap();
        let err = authenticator(&config).await.unwrap_err();
        assert!(err.to_string().contains("auth-oidc"), "{err}");
    }

    #[cfg(feature = "auth-oidc")]
    #[tokio::test]
    async fn unreachable_issuer_fails_at_startup_and_is_retryable() {
        let config = Config::from_iter([
            ("AUTH_MODE", "keycloak"),
            ("OIDC_ISSUER_URL", "http://127.0.0.1:9/realms/x"),
            ("OIDC_AUDIENCE", "a"),
        ])
        .unwrap();
        let err = authenticator(&config).await.unwrap_err();
        assert_eq!(err.kind(), avb_auth::ErrorKind::IssuerUnavailable);
        assert!(err.is_retryable());
    }
}
