//! [`open`]: the Authenticator `AUTH_MODE` chose. One exhaustive `match` over [`AuthConfig`]: a new backend
//! does not compile until it is wired here; one left out of this build is [`Error::NotCompiled`].
//!
//! | `AUTH_MODE` | backend | cargo feature |
//! |---|---|---|
//! | `none` | [`TrustAll`](crate::none::TrustAll): `AVB_SANDBOX_SUBJECT` in `AVB_SANDBOX_WORKSPACE`, role `owner` | always |
//! | `local` | [`LocalIssuer`](crate::local::LocalIssuer) with the key in `AVB_AUTH_DEV_KEY_FILE` | always |
//! | `keycloak` | `Oidc`: discovery + JWKS of the issuer (endpoints on its origin, or on one listed in `OIDC_ALLOWED_ORIGINS`) | `auth-oidc` |

use crate::config::AuthConfig;
use crate::{Authenticator, Error};
use avb_core::WorkspaceId;
use std::sync::Arc;

/// The role every trust-all request gets: the sandbox user may do everything.
pub const TRUST_ALL_ROLE: &str = "owner";

/// Builds the Auth backend of `config`. For Keycloak this discovers the issuer and loads its keys, so an
/// unreachable issuer fails startup ([`Error::IssuerUnavailable`]), not the first request.
pub async fn open(config: &AuthConfig) -> Result<Arc<dyn Authenticator>, Error> {
    match config {
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
            Ok(Arc::new(crate::none::TrustAll::new(
                workspace,
                subject.clone(),
                [TRUST_ALL_ROLE],
            )))
        }
        AuthConfig::Local {
            key_file,
            token_cache_size,
        } => Ok(Arc::new(
            crate::local::LocalIssuer::from_key_file(key_file)?
                .with_token_cache(cache_entries(*token_cache_size)),
        )),
        #[cfg(feature = "oidc")]
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
            token_cache_size,
        } => {
            let mut builder = crate::oidc::OidcBuilder::new(issuer.expose().as_str())
                .with_token_cache(cache_entries(*token_cache_size))
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
                crate::config::OidcIntrospection::Off => None,
                crate::config::OidcIntrospection::All => Some(crate::oidc::Introspect::EveryToken),
                crate::config::OidcIntrospection::PerRoute => {
                    Some(crate::oidc::Introspect::OnRequest)
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
        #[cfg(not(feature = "oidc"))]
        AuthConfig::Keycloak { .. } => Err(Error::from(avb_core::NotCompiled {
            backend: "AUTH_MODE=keycloak".into(),
            feature: "auth-oidc",
        })),
    }
}

/// `AUTH_TOKEN_CACHE_SIZE` as a count (the configuration caps it far below `usize::MAX`).
fn cache_entries(size: u32) -> usize {
    usize::try_from(size).unwrap_or(usize::MAX)
}

/// The client-credentials token source for outgoing calls, when `AUTH_MODE=keycloak` and both
/// `OIDC_CLIENT_ID` and `OIDC_CLIENT_SECRET` are set; `None` otherwise.
#[cfg(feature = "oidc")]
pub async fn token_source(
    config: &AuthConfig,
) -> Result<Option<crate::oidc::ClientCredentials>, Error> {
    match config {
        AuthConfig::Keycloak {
            issuer,
            client_id: Some(client_id),
            client_secret: Some(secret),
            allowed_origins,
            ..
        } => Ok(Some(
            crate::oidc::ClientCredentials::discover_allowing(
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
    use avb_core::config::PortConfig;

    #[tokio::test]
    async fn sandbox_default_is_trust_all_with_the_configured_principal() {
        let config = AuthConfig::from_pairs([("AVB_SANDBOX_SUBJECT", "dev-1")]).unwrap();
        let auth = open(&config.backend).await.unwrap();
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
                let err =
                    AuthConfig::from_pairs([("AVB_ENV", env), ("AUTH_MODE", mode)]).unwrap_err();
                let err = err.to_string();
                assert!(err.contains("AUTH_MODE"), "{err}");
                assert!(err.contains(env), "{err}");
            }
        }
    }

    #[tokio::test]
    async fn invalid_sandbox_workspace_names_the_variable() {
        let config = AuthConfig::from_pairs([("AVB_SANDBOX_WORKSPACE", "Not Valid")]).unwrap();
        let err = open(&config.backend).await.unwrap_err();
        assert!(err.to_string().contains("AVB_SANDBOX_WORKSPACE"), "{err}");
    }

    #[cfg(not(feature = "oidc"))]
    #[tokio::test]
    async fn keycloak_without_the_feature_names_it() {
        let config = AuthConfig::from_pairs([
            ("AUTH_MODE", "keycloak"),
            ("OIDC_ISSUER_URL", "http://127.0.0.1:1/realms/x"),
            ("OIDC_AUDIENCE", "a"),
        ])
        .unwrap();
        let err = open(&config.backend).await.unwrap_err();
        assert!(err.to_string().contains("auth-oidc"), "{err}");
    }

    #[cfg(feature = "oidc")]
    #[tokio::test]
    async fn unreachable_issuer_fails_at_startup_and_is_retryable() {
        let config = AuthConfig::from_pairs([
            ("AUTH_MODE", "keycloak"),
            ("OIDC_ISSUER_URL", "http://127.0.0.1:9/realms/x"),
            ("OIDC_AUDIENCE", "a"),
        ])
        .unwrap();
        let err = open(&config.backend).await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::IssuerUnavailable);
        assert!(err.is_retryable());
    }
}
