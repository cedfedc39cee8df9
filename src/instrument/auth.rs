//! The Authenticator behind a layer stack: `authenticate` and `authenticate_introspected` go through it.

use crate::layers::{Now, Refusal, Service};
use async_trait::async_trait;
use avb_auth::{Authenticator, Capabilities, Error, Principal, Result};
use avb_core::Health;
use avb_core::forward::BoxFuture;
use futures::future::Either;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

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

impl<S: Service + 'static> InstrumentedAuth<S> {
    /// `authenticate` through the layers' futures; `handed`: the failure of an attempt `call_now`
    /// already made (the first attempt's answer).
    async fn authenticate_layered(
        &self,
        bearer_token: &str,
        mut handed: Option<Error>,
    ) -> Result<Principal> {
        // A backend that decides without waiting answers `authenticate_now` on the spot (no future of
        // its own).
        self.stack
            .call("authenticate", || {
                if let Some(failure) = handed.take() {
                    return Either::Left(std::future::ready(Err(failure)));
                }
                match self.inner.authenticate_now(bearer_token) {
                    Some(answer) => Either::Left(std::future::ready(answer)),
                    None => Either::Right(self.inner.authenticate(bearer_token)),
                }
            })
            .await
    }
}

/// The future of [`InstrumentedAuth::authenticate`]: on its first poll, `call_now`; if that does not
/// answer, the layered call (boxed: only that path allocates it).
struct Authenticate<'a, S> {
    auth: &'a InstrumentedAuth<S>,
    token: &'a str,
    layered: Option<BoxFuture<'a, Result<Principal>>>,
}

impl<S: Service + 'static> Future for Authenticate<'_, S> {
    type Output = Result<Principal>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let layered = match &mut this.layered {
            Some(layered) => layered,
            None => {
                let (auth, token) = (this.auth, this.token);
                let handed = match auth
                    .stack
                    .call_now("authenticate", || auth.inner.authenticate_now(token))
                {
                    Now::Done(answer) => return Poll::Ready(answer),
                    Now::Later(handed) => handed,
                };
                this.layered
                    .insert(Box::pin(auth.authenticate_layered(token, handed)))
            }
        };
        layered.as_mut().poll(cx)
    }
}

#[async_trait]
impl<S: Service + 'static> Authenticator for InstrumentedAuth<S> {
    // Not an `async fn`: the call's future is [`Authenticate`], which answers on its first poll through
    // `Service::call_now` when the backend decides without waiting and nothing needs a span, and
    // otherwise runs `authenticate_layered`. Lazy either way.
    fn authenticate<'life0, 'life1, 'async_trait>(
        &'life0 self,
        bearer_token: &'life1 str,
    ) -> BoxFuture<'async_trait, Result<Principal>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(Authenticate {
            auth: self,
            token: bearer_token,
            layered: None,
        })
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
