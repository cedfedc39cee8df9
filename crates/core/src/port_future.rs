//! [`PortFuture`]: what a port call returns — an answer the backend already has (no allocation), or a boxed
//! future for one that has to wait.
//!
//! A port's trait is object safe (services hold `Arc<dyn EventBus>`), so a call that waits returns a boxed
//! future, as an `async_trait` method does. A call that the backend answers synchronously (an in-memory
//! publish, a trust-all decision) returns [`PortFuture::ready`] instead: no allocation, no second state
//! machine, and a wrapper (the facade's instrumented ports and layers) can take the answer out at once with
//! [`PortFuture::into_ready`] and answer ready itself. Callers just `.await` it either way.
//!
//! A ready call has been carried out when the method returned, before the future is awaited (dropping the
//! future does not undo it) — as a call that waits may also have been carried out when its future is
//! dropped.
//!
//! ```
//! use avb_core::PortFuture;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! fn double(x: u32, wait: bool) -> PortFuture<'static, u32> {
//!     if wait {
//!         PortFuture::boxed(async move { x * 2 })
//!     } else {
//!         PortFuture::ready(x * 2)
//!     }
//! }
//! assert_eq!(double(2, false).await, 4);
//! assert_eq!(double(2, true).await, 4);
//! // A wrapper's fast path: the answer without polling, when it is there.
//! assert!(matches!(double(3, false).into_ready(), Ok(6)));
//! assert!(double(3, true).into_ready().is_err());
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A port call's future: an answer already computed ([`PortFuture::ready`], no allocation) or a boxed
/// future ([`PortFuture::boxed`]). See the [module docs](self).
#[must_use = "a port call's answer is in its future; await it"]
pub struct PortFuture<'a, T> {
    state: State<'a, T>,
}

enum State<'a, T> {
    Ready(T),
    Boxed(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
    /// The ready answer was handed out.
    Taken,
}

impl<'a, T> PortFuture<'a, T> {
    /// A call that already has its answer: awaiting it returns `answer` on the first poll.
    #[inline]
    pub fn ready(answer: T) -> Self {
        PortFuture {
            state: State::Ready(answer),
        }
    }

    /// A call that has to wait: `future`, boxed.
    pub fn boxed(future: impl Future<Output = T> + Send + 'a) -> Self {
        PortFuture {
            state: State::Boxed(Box::pin(future)),
        }
    }

    /// Whether the answer is already there (a [`PortFuture::ready`] not yet awaited).
    #[inline]
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready(_))
    }

    /// The answer, when the call already has it, by reference — so a wrapper can look at it and pass this
    /// future on unchanged (no copy of the answer); `None` while it has to wait.
    #[inline]
    pub fn answer(&self) -> Option<&T> {
        match &self.state {
            State::Ready(answer) => Some(answer),
            _ => None,
        }
    }

    /// The answer, when the call already has it (`Ok`); otherwise the future itself (`Err`), unchanged.
    #[inline]
    pub fn into_ready(self) -> Result<T, Self> {
        match self.state {
            State::Ready(answer) => Ok(answer),
            state => Err(PortFuture { state }),
        }
    }
}

impl<'a, T> From<Pin<Box<dyn Future<Output = T> + Send + 'a>>> for PortFuture<'a, T> {
    /// An already boxed future (what an `async_trait` method returns), without boxing it again.
    fn from(future: Pin<Box<dyn Future<Output = T> + Send + 'a>>) -> Self {
        PortFuture {
            state: State::Boxed(future),
        }
    }
}

// The answer is moved out, never pinned: the future is `Unpin` whatever `T` is.
impl<T> Unpin for PortFuture<'_, T> {}

impl<T> Future for PortFuture<'_, T> {
    type Output = T;

    /// # Panics
    ///
    /// When polled again after it answered (as `std::future::Ready` does).
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let State::Boxed(future) = &mut self.state {
            return future.as_mut().poll(cx);
        }
        match std::mem::replace(&mut self.state, State::Taken) {
            State::Ready(answer) => Poll::Ready(answer),
            _ => panic!("PortFuture polled after it answered"),
        }
    }
}

impl<T> fmt::Debug for PortFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Ready(_) => "ready",
            State::Boxed(_) => "boxed",
            State::Taken => "taken",
        };
        f.debug_tuple("PortFuture").field(&state).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn poll_once<T>(f: &mut PortFuture<'_, T>) -> Poll<T> {
        Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn ready_answers_on_the_first_poll() {
        let mut f = PortFuture::ready(7);
        assert!(f.is_ready());
        assert_eq!(f.answer(), Some(&7));
        assert_eq!(poll_once(&mut f), Poll::Ready(7));
        assert_eq!(f.answer(), None);
        assert!(!f.is_ready());
    }

    #[test]
    fn boxed_waits_as_its_future_does() {
        let mut waited = false;
        let mut f = PortFuture::boxed(std::future::poll_fn(move |_| {
            if waited {
                Poll::Ready(3)
            } else {
                waited = true;
                Poll::Pending
            }
        }));
        assert!(!f.is_ready());
        assert_eq!(f.answer(), None);
        assert_eq!(poll_once(&mut f), Poll::Pending);
        assert_eq!(poll_once(&mut f), Poll::Ready(3));
    }

    #[test]
    fn into_ready_gives_the_future_back_unchanged_when_it_waits() {
        assert_eq!(PortFuture::ready("a").into_ready().ok(), Some("a"));
        let Err(mut f) = PortFuture::boxed(async { "b" }).into_ready() else {
            panic!("a boxed future is not ready");
        };
        assert_eq!(poll_once(&mut f), Poll::Ready("b"));
        let boxed: Pin<Box<dyn Future<Output = u8> + Send>> = Box::pin(async { 1 });
        let mut f = PortFuture::from(boxed);
        assert!(!f.is_ready());
        assert_eq!(poll_once(&mut f), Poll::Ready(1));
    }

    #[test]
    #[should_panic(expected = "polled after it answered")]
    fn polling_after_the_answer_panics() {
        let mut f = PortFuture::ready(1);
        let _ = poll_once(&mut f);
        let _ = poll_once(&mut f);
    }
}
