//! The EventBus behind a layer stack: `publish`, `publish_batch`, `subscribe` and `close` go through it
//! (deliveries are not: they are settled on the subscription).

use crate::layers::{Refusal, Service};
use async_trait::async_trait;
use avb_event_bus::{
    Capabilities, Error, EventBus, Health, Message, MessageId, Result, StartPosition, Subscription,
    Topic,
};
use std::sync::Arc;

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Unavailable {
            backend: "layers",
            reason: r.to_string(),
            source: None,
        }
    }
}

/// An [`EventBus`] whose operations run through `stack`.
pub struct InstrumentedBus<S> {
    inner: Arc<dyn EventBus>,
    stack: S,
}

impl<S> InstrumentedBus<S> {
    /// `inner` behind `stack`.
    pub fn new(inner: Arc<dyn EventBus>, stack: S) -> Self {
        Self { inner, stack }
    }
}

impl<S> std::fmt::Debug for InstrumentedBus<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrumentedBus")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: Service + 'static> EventBus for InstrumentedBus<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        // The first attempt takes the message; a copy is kept only when the stack may retry (a retry
        // publishes it again with the same id, which idempotent publish deduplicates).
        let copy = self.stack.may_retry().then(|| message.clone());
        let mut first = Some(message);
        self.stack
            .call("publish", || {
                let m = first.take().or_else(|| copy.clone());
                async move {
                    match m {
                        Some(m) => self.inner.publish(topic, m).await,
                        None => Err(Error::Backend {
                            backend: "layers",
                            reason: "a layer called publish again without a retry layer".into(),
                            source: None,
                        }),
                    }
                }
            })
            .await
    }

    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        let copy = self.stack.may_retry().then(|| messages.clone());
        let mut first = Some(messages);
        self.stack
            .call("publish_batch", || {
                let m = first.take().or_else(|| copy.clone());
                async move {
                    match m {
                        Some(m) => self.inner.publish_batch(topic, m).await,
                        None => Err(Error::Backend {
                            backend: "layers",
                            reason: "a layer called publish_batch again without a retry layer"
                                .into(),
                            source: None,
                        }),
                    }
                }
            })
            .await
    }

    async fn subscribe(
        &self,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<Subscription> {
        self.stack
            .call("subscribe", || self.inner.subscribe(topic, group, start))
            .await
    }

    async fn close(&self) -> Result<()> {
        self.stack.call("close", || self.inner.close()).await
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }
}
