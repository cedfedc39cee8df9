//! axum/tower glue (feature `axum`), kept apart from the port, which knows nothing about HTTP.
//!
//! - [`AuthLayer`] authenticates `Authorization: Bearer <token>` on every request and stores the
//!   [`Principal`] in the request's extensions; a missing or rejected token is answered `401` with
//!   `WWW-Authenticate: Bearer realm="avb"` (RFC 6750, with `error="invalid_token"` and the rejection kind
//!   when a token was presented), an unreachable issuer `503`.
//! - [`Principal`] is an extractor (it reads what the layer stored).
//! - [`AuthRejection`] turns any [`Error`] into its response: `403` for [`Error::PermissionDenied`], so a
//!   handler can write `authorizer.check(&principal, Action::Write)?`.
//!
//! Order: put [`AuthLayer`] outside the routes it protects (`Router::layer`), inside tracing/timeouts.

use crate::{Authenticator, Error, Principal};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// An authentication or authorization failure as an HTTP response.
#[derive(Debug)]
pub struct AuthRejection(pub Error);

impl From<Error> for AuthRejection {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

/// The rejection for a request that carried no bearer token.
#[derive(Debug)]
pub struct MissingToken;

impl IntoResponse for MissingToken {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::UNAUTHORIZED, "missing bearer token").into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"avb\""),
        );
        response
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let e = self.0;
        if matches!(e, Error::PermissionDenied { .. }) {
            return (StatusCode::FORBIDDEN, e.to_string()).into_response();
        }
        if e.is_retryable() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "authentication unavailable",
            )
                .into_response();
        }
        if !e.is_unauthenticated() {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "authentication misconfigured",
            )
                .into_response();
        }
        let challenge = format!(
            "Bearer realm=\"avb\", error=\"invalid_token\", error_description=\"{}\"",
            e.kind()
        );
        let mut response = (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = MissingToken;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(MissingToken)
    }
}

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A tower layer that authenticates every request with an [`Authenticator`].
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Arc<dyn Authenticator>,
    introspect: bool,
}

impl AuthLayer {
    /// Authenticates with `auth`.
    pub fn new(auth: Arc<dyn Authenticator>) -> Self {
        Self {
            auth,
            introspect: false,
        }
    }

    /// The routes behind this layer also ask the issuer whether the token is still active
    /// ([`Authenticator::authenticate_introspected`]): per-route introspection
    /// (`OIDC_INTROSPECTION=per_route`) for routes that must see a logout or a disabled user at once.
    pub fn introspected(mut self) -> Self {
        self.introspect = true;
        self
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
            introspect: self.introspect,
        }
    }
}

/// The service [`AuthLayer`] wraps around routes.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<dyn Authenticator>,
    introspect: bool,
}

impl<S, B> tower::Service<Request<B>> for AuthService<S>
where
    S: tower::Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone is not ready; take the one that is and leave the clone behind (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (auth, introspect) = (self.auth.clone(), self.introspect);
        Box::pin(async move {
            let token = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(bearer)
                .map(str::to_string);
            let Some(token) = token else {
                return Ok(MissingToken.into_response());
            };
            let result = if introspect {
                auth.authenticate_introspected(&token).await
            } else {
                auth.authenticate(&token).await
            };
            match result {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(e) => Ok(AuthRejection(e).into_response()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{Action, Authorizer};
    use crate::local::LocalIssuer;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use std::time::Duration;
    use tower::ServiceExt;

    fn app(issuer: Arc<LocalIssuer>) -> Router {
        let authz = Arc::new(Authorizer::new());
        Router::new()
            .route(
                "/whoami",
                get(|p: Principal| async move { format!("{}@{}", p.subject, p.workspace_id) }),
            )
            .route(
                "/admin",
                get(move |p: Principal| {
                    let authz = authz.clone();
                    async move {
                        authz.check(&p, Action::Administer).map_err(AuthRejection)?;
                        Ok::<_, AuthRejection>("ok")
                    }
                }),
            )
            .layer(AuthLayer::new(issuer))
    }

    async fn call(
        app: Router,
        path: &str,
        auth: Option<&str>,
    ) -> (StatusCode, Option<String>, String) {
        let mut request = Request::builder().uri(path);
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            challenge,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn valid_token_reaches_the_handler_as_a_principal() {
        let issuer = Arc::new(LocalIssuer::ephemeral().unwrap());
        let token = issuer
            .mint("alice", "ws-1", &["viewer"], Duration::from_secs(60))
            .unwrap();
        let (status, _, body) =
            call(app(issuer), "/whoami", Some(&format!("Bearer {token}"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "alice@ws-1");
    }

    #[tokio::test]
    async fn missing_or_bad_token_is_401_with_a_challenge() {
        let issuer = Arc::new(LocalIssuer::ephemeral().unwrap());
        let (status, challenge, _) = call(app(issuer.clone()), "/whoami", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"avb\""));
        let (status, challenge, _) = call(app(issuer), "/whoami", Some("Bearer not.a.token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let challenge = challenge.unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(challenge.contains("Malformed"), "{challenge}");
    }

    /// Accepts every token offline; its issuer says every token has been revoked.
    #[derive(Debug)]
    struct RevokedEverywhere;

    #[async_trait::async_trait]
    impl Authenticator for RevokedEverywhere {
        async fn authenticate(&self, _token: &str) -> crate::Result<Principal> {
            Ok(Principal {
                subject: "alice".into(),
                workspace_id: avb_core::WorkspaceId::new("ws-1").unwrap(),
                roles: Default::default(),
                scopes: Default::default(),
                expires_at: None,
            })
        }
        async fn authenticate_introspected(&self, _token: &str) -> crate::Result<Principal> {
            Err(Error::Inactive)
        }
        fn capabilities(&self) -> crate::Capabilities {
            crate::Capabilities::default()
        }
        fn backend(&self) -> &'static str {
            "test"
        }
    }

    #[tokio::test]
    async fn only_introspected_routes_ask_the_issuer() {
        let auth: Arc<dyn Authenticator> = Arc::new(RevokedEverywhere);
        let whoami = || get(|p: Principal| async move { p.subject });
        let app = Router::new()
            .route("/sensitive", whoami())
            .layer(AuthLayer::new(auth.clone()).introspected())
            .merge(
                Router::new()
                    .route("/plain", whoami())
                    .layer(AuthLayer::new(auth)),
            );
        let (status, _, body) = call(app.clone(), "/plain", Some("Bearer t")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
        let (status, challenge, _) = call(app, "/sensitive", Some("Bearer t")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.unwrap().contains("Inactive"));
    }

    #[tokio::test]
    async fn failed_role_check_is_403() {
        let issuer = Arc::new(LocalIssuer::ephemeral().unwrap());
        let viewer = issuer
            .mint("v", "ws-1", &["viewer"], Duration::from_secs(60))
            .unwrap();
        let owner = issuer
            .mint("o", "ws-1", &["owner"], Duration::from_secs(60))
            .unwrap();
        let (status, _, body) = call(
            app(issuer.clone()),
            "/admin",
            Some(&format!("Bearer {viewer}")),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, _, _) = call(app(issuer), "/admin", Some(&format!("bearer {owner}"))).await;
        assert_eq!(status, StatusCode::OK);
    }
}
