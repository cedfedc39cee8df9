//! The Authenticator behind a layer stack: `authenticate` and `authenticate_introspected` go through it.

use crate::layers::{Refusal, Service};
use async_trait::async_trait;
use avb_auth::{Authenticator, Capabilities, Error, Principal, Result};
use avb_core::Health;
use futures::future::Either;
use std::sync::Arc;

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::IssuerUnavailable {
            issuer: "(layers)".into(),
            reason: r.to_string(),
        }
    }
}

/// An [`Authenticator`] whose decisions run through `stack`.
pub struct InstrumentedAuth<S> {
    inner: Arc<dyn Authenticator>,
    stack: S,
}

impl<S> InstrumentedAuth<S> {
    /// `inner` behind `stack`.
    pub fn new(inner: Arc<dyn Authenticator>, stack: S) -> Self {
        Self { inner, stack }
    }
}

impl<S> std::fmt::Debug for InstrumentedAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrumentedAuth")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: Service + 'static> Authenticator for InstrumentedAuth<S> {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal> {
        // A backend that decides without waiting answers `authenticate_now` on the spot (no future of
        // its own); called inside the stack's future, when it is polled, so this stays lazy.
        self.stack
            .call("authenticate", || {
                match self.inner.authenticate_now(bearer_token) {
                    Some(answer) => Either::Left(std::future::ready(answer)),
                    None => Either::Right(self.inner.authenticate(bearer_token)),
                }
            })
            .await
    }

    async fn authenticate_introspected(&self, bearer_token: &str) -> Result<Principal> {
        self.stack
            .call("authenticate_introspected", || {
                self.inner.authenticate_introspected(bearer_token)
            })
            .await
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }
}
