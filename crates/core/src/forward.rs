//! [`forward_async!`]: a method of an `Arc<T>`/`Box<T>` port impl that hands back `T`'s boxed future as
//! is. An `async fn` forwarder (`(**self).get(k).await`) boxes a second future around the inner one on
//! every call — and a service holding `Arc<dyn Port>` calls the port through exactly that forwarder.

/// What an `#[async_trait]` method returns.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Inside an `#[async_trait] impl<T: Port + ?Sized> Port for Arc<T>` (or `Box<T>`): forwards an `async`
/// method of the port to `T` without a future of its own. Name each borrowed argument's lifetime (they
/// are the `'lifeN` of `async_trait`'s expansion) in the angle brackets:
///
/// ```ignore
/// avb_core::forward_async!(publish<'life1>(topic: &'life1 Topic, message: Message) -> Result<MessageId>);
/// avb_core::forward_async!(health<>() -> Health);
/// ```
#[macro_export]
macro_rules! forward_async {
    ($name:ident <$($lt:lifetime),*> ($($arg:ident : $ty:ty),* $(,)?) -> $out:ty) => {
        fn $name<'life0, $($lt,)* 'async_trait>(
            &'life0 self,
            $($arg: $ty),*
        ) -> $crate::forward::BoxFuture<'async_trait, $out>
        where
            'life0: 'async_trait,
            $($lt: 'async_trait,)*
            Self: 'async_trait,
        {
            (**self).$name($($arg),*)
        }
    };
}
