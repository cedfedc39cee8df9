//! The ports behind a layer stack ([`crate::layers`]): each wrapper implements its port's trait by running
//! every operation through the stack, so the service code is the same with or without it. The
//! [`crate::Platform`] wraps every port in the metered layer ([`crate::Ports::instrumented`]).
//!
//! Each port's error converts a [`Refusal`](crate::layers::Refusal) of a layer into its own retryable
//! variant (here, since the refusal is the facade's type).

mod auth;
mod catalog;
mod event_bus;
mod in_flight;
mod llm;
mod object_store;

pub use auth::InstrumentedAuth;
pub use catalog::InstrumentedCatalog;
pub use event_bus::InstrumentedBus;
pub use llm::InstrumentedLlm;
pub use object_store::InstrumentedStore;

/// The future of a layered call that tries the layers on the spot first ([`crate::layers::Service::call_now`]):
/// on its first poll, `now` either answers (`Ok`) or hands back what the layered call needs (`Err`), and
/// `layered` builds that call — boxed, so only the path that waits allocates. Nothing runs before the
/// first poll. Polled again after it answered, it answers `gone()`.
pub(crate) struct OnTheSpot<'a, T, R, N, L> {
    start: Option<(N, L)>,
    layered: Option<avb_core::forward::BoxFuture<'a, T>>,
    gone: fn() -> T,
    rest: std::marker::PhantomData<fn() -> R>,
}

impl<'a, T, R, N, L> OnTheSpot<'a, T, R, N, L>
where
    N: FnOnce() -> Result<T, R>,
    L: FnOnce(R) -> avb_core::forward::BoxFuture<'a, T>,
{
    pub(crate) fn new(now: N, layered: L, gone: fn() -> T) -> Self {
        Self {
            start: Some((now, layered)),
            layered: None,
            gone,
            rest: std::marker::PhantomData,
        }
    }
}

impl<'a, T, R, N, L> std::future::Future for OnTheSpot<'a, T, R, N, L>
where
    N: FnOnce() -> Result<T, R> + Unpin,
    L: FnOnce(R) -> avb_core::forward::BoxFuture<'a, T> + Unpin,
{
    type Output = T;

    #[inline]
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        let this = self.get_mut();
        if let Some((now, layered)) = this.start.take() {
            match now() {
                Ok(answer) => return std::task::Poll::Ready(answer),
                Err(rest) => this.layered = Some(layered(rest)),
            }
        }
        match &mut this.layered {
            Some(layered) => layered.as_mut().poll(cx),
            None => std::task::Poll::Ready((this.gone)()),
        }
    }
}
