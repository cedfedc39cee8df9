//! [`Authenticator`] for `Arc<T>` and `Box<T>`: a service can hold `Arc<dyn Authenticator>` and pass it
//! wherever an `Authenticator` is expected. Every method forwards to `T`, the provided ones too, so an
//! override in `T` (the OIDC backend's `authenticate_introspected`, a backend's `health`) is not lost.

use crate::{Authenticator, Capabilities, Principal, Result};
use async_trait::async_trait;
use avb_core::Health;
use std::sync::Arc;

macro_rules! forward_authenticator {
    ($pointer:ident) => {
        #[async_trait]
        impl<T: Authenticator + ?Sized> Authenticator for $pointer<T> {
            // Each `forward_async!` hands back the inner call's boxed future as is.
            avb_core::forward_async!(authenticate<'life1>(bearer_token: &'life1 str) -> Result<Principal>);
            fn authenticate_now(&self, bearer_token: &str) -> Option<Result<Principal>> {
                (**self).authenticate_now(bearer_token)
            }
            avb_core::forward_async!(authenticate_introspected<'life1>(bearer_token: &'life1 str) -> Result<Principal>);
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            avb_core::forward_async!(health<>() -> Health);
        }
    };
}

forward_authenticator!(Arc);
forward_authenticator!(Box);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Overrides both provided methods with answers the defaults never give.
    #[derive(Debug)]
    struct Overrides;

    #[async_trait]
    impl Authenticator for Overrides {
        async fn authenticate(&self, _: &str) -> Result<Principal> {
            Err(Error::Expired)
        }
        fn authenticate_now(&self, _: &str) -> Option<Result<Principal>> {
            Some(Err(Error::BadSignature))
        }
        async fn authenticate_introspected(&self, _: &str) -> Result<Principal> {
            Err(Error::Inactive)
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                mints_tokens: true,
                ..Capabilities::default()
            }
        }
        fn backend(&self) -> &'static str {
            "overrides"
        }
        async fn health(&self) -> Health {
            Health::down("overrides", "overridden")
        }
    }

    async fn reaches_the_overrides(auth: &impl Authenticator) {
        assert!(matches!(auth.authenticate("t").await, Err(Error::Expired)));
        // The default would be `None`.
        assert!(matches!(
            auth.authenticate_now("t"),
            Some(Err(Error::BadSignature))
        ));
        // The default would call `authenticate` (Expired); the override answers Inactive.
        assert!(matches!(
            auth.authenticate_introspected("t").await,
            Err(Error::Inactive)
        ));
        assert!(auth.capabilities().mints_tokens);
        assert_eq!(auth.backend(), "overrides");
        // The default would be up.
        assert!(!auth.health().await.is_up());
    }

    #[tokio::test]
    async fn arc_and_box_forward_overridden_provided_methods() {
        reaches_the_overrides(&Arc::new(Overrides)).await;
        reaches_the_overrides(&Box::new(Overrides)).await;
        let arc: Arc<dyn Authenticator> = Arc::new(Overrides);
        reaches_the_overrides(&arc).await;
        let boxed: Box<dyn Authenticator> = Box::new(Overrides);
        reaches_the_overrides(&boxed).await;
    }

    /// `Arc<T>` and `Box<T>` hand back the backend's own boxed future, not a second box around it.
    #[test]
    fn pointers_hand_back_the_backends_own_future() {
        let own = std::mem::size_of_val(&*Overrides.authenticate("t"));
        let arc: Arc<dyn Authenticator> = Arc::new(Overrides);
        let boxed: Box<dyn Authenticator> = Box::new(Overrides);
        assert_eq!(std::mem::size_of_val(&*arc.authenticate("t")), own);
        assert_eq!(std::mem::size_of_val(&*boxed.authenticate("t")), own);
        let own = std::mem::size_of_val(&*Overrides.health());
        assert_eq!(std::mem::size_of_val(&*arc.health()), own);
    }
}
