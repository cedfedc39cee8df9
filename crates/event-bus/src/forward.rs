//! [`EventBus`] for `Arc<T>` and `Box<T>`: a service can hold `Arc<dyn EventBus>` (or wrap one in a layer)
//! and pass it wherever an `EventBus` is expected. Every method forwards to `T`, so nothing `T` overrides is
//! lost.

use crate::{
    Backlog, Capabilities, EventBus, Health, Message, MessageId, PublishNow, Result, StartPosition,
    Subscription, Topic,
};
use std::sync::Arc;

macro_rules! forward_event_bus {
    ($pointer:ident) => {
        #[async_trait::async_trait]
        impl<T: EventBus + ?Sized> EventBus for $pointer<T> {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            // Each `forward_async!` hands back the inner call's boxed future as is.
            avb_core::forward_async!(publish<'life1>(topic: &'life1 Topic, message: Message) -> Result<MessageId>);
            fn publish_now(&self, topic: &Topic, message: Message) -> PublishNow {
                (**self).publish_now(topic, message)
            }
            avb_core::forward_async!(publish_batch<'life1>(topic: &'life1 Topic, messages: Vec<Message>) -> Result<Vec<MessageId>>);
            avb_core::forward_async!(subscribe<'life1, 'life2>(topic: &'life1 Topic, group: &'life2 str, start: StartPosition) -> Result<Subscription>);
            avb_core::forward_async!(close<>() -> Result<()>);
            avb_core::forward_async!(health<>() -> Health);
            avb_core::forward_async!(backlog<'life1, 'life2>(topic: &'life1 Topic, group: &'life2 str) -> Result<Backlog>);
        }
    };
}

forward_event_bus!(Arc);
forward_event_bus!(Box);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::Mutex;

    /// Records every call, and answers each in a way only it does.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<&'static str>>);

    impl Recorder {
        fn saw(&self, call: &'static str) {
            self.0.lock().unwrap().push(call);
        }
    }

    #[async_trait::async_trait]
    impl EventBus for Recorder {
        fn backend(&self) -> &'static str {
            self.saw("backend");
            "recorder"
        }
        fn capabilities(&self) -> Capabilities {
            self.saw("capabilities");
            Capabilities {
                max_message_bytes: 7,
                ..Capabilities::default()
            }
        }
        async fn publish(&self, _: &Topic, message: Message) -> Result<MessageId> {
            self.saw("publish");
            Ok(message.id)
        }
        fn publish_now(&self, _: &Topic, message: Message) -> PublishNow {
            self.saw("publish_now");
            PublishNow::Published(message.id)
        }
        async fn publish_batch(&self, _: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
            self.saw("publish_batch");
            Ok(messages.into_iter().map(|m| m.id).collect())
        }
        async fn subscribe(
            &self,
            _: &Topic,
            group: &str,
            _: StartPosition,
        ) -> Result<Subscription> {
            self.saw("subscribe");
            Err(Error::InvalidGroup {
                name: group.to_string(),
                reason: "recorded",
                expected: "",
            })
        }
        async fn close(&self) -> Result<()> {
            self.saw("close");
            Err(Error::Closed {
                backend: "recorder",
            })
        }
        async fn health(&self) -> Health {
            self.saw("health");
            Health::down("recorder", "recorded")
        }
        async fn backlog(&self, _: &Topic, _: &str) -> Result<Backlog> {
            self.saw("backlog");
            Ok(Backlog::new(Some(3), None, Some(1)))
        }
    }

    async fn every_method(bus: &impl EventBus) {
        let ws = avb_core::WorkspaceId::new("w").unwrap();
        let topic = Topic::new(&ws, "t").unwrap();
        assert_eq!(bus.backend(), "recorder");
        assert_eq!(bus.capabilities().max_message_bytes, 7);
        let m = Message::new(&b"x"[..]).with_id(MessageId::new("m1"));
        assert_eq!(bus.publish(&topic, m.clone()).await.unwrap().as_str(), "m1");
        assert!(matches!(
            bus.publish_now(&topic, m.clone()),
            PublishNow::Published(id) if id.as_str() == "m1"
        ));
        assert_eq!(bus.publish_batch(&topic, vec![m]).await.unwrap().len(), 1);
        let sub = bus.subscribe(&topic, "g", StartPosition::Earliest).await;
        assert!(matches!(
            sub,
            Err(Error::InvalidGroup {
                reason: "recorded",
                ..
            })
        ));
        assert!(matches!(bus.close().await, Err(Error::Closed { .. })));
        assert!(!bus.health().await.is_up());
        let backlog = bus.backlog(&topic, "g").await.unwrap();
        assert_eq!(backlog, Backlog::new(Some(3), None, Some(1)));
    }

    const EVERY_CALL: [&str; 9] = [
        "backend",
        "capabilities",
        "publish",
        "publish_now",
        "publish_batch",
        "subscribe",
        "close",
        "health",
        "backlog",
    ];

    #[tokio::test]
    async fn arc_and_box_forward_every_method() {
        let arc = Arc::new(Recorder::default());
        every_method(&arc).await;
        let as_dyn: Arc<dyn EventBus> = arc.clone();
        every_method(&as_dyn).await;
        assert_eq!(*arc.0.lock().unwrap(), [EVERY_CALL, EVERY_CALL].concat());

        let boxed = Box::new(Recorder::default());
        every_method(&boxed).await;
        assert_eq!(*boxed.0.lock().unwrap(), EVERY_CALL);
        let as_dyn: Box<dyn EventBus> = Box::new(Recorder::default());
        every_method(&as_dyn).await;
    }

    /// `Arc<dyn EventBus>` and `Box<dyn EventBus>` hand back the backend's own boxed future — no second
    /// box around it (the forwarders are `avb_core::forward_async!`): the future behind the pointer is
    /// the backend's, byte for byte the same size.
    #[test]
    fn pointers_hand_back_the_backends_own_future() {
        let ws = avb_core::WorkspaceId::new("w").unwrap();
        let topic = Topic::new(&ws, "t").unwrap();
        let m = || Message::new(&b"x"[..]);
        let inner = Recorder::default();
        let own = std::mem::size_of_val(&*inner.publish(&topic, m()));
        let own_close = std::mem::size_of_val(&*inner.close());
        let arc: Arc<dyn EventBus> = Arc::new(Recorder::default());
        let boxed: Box<dyn EventBus> = Box::new(Recorder::default());
        for bus in [&arc as &dyn EventBus, &boxed] {
            assert_eq!(std::mem::size_of_val(&*bus.publish(&topic, m())), own);
            assert_eq!(std::mem::size_of_val(&*bus.close()), own_close);
        }
    }
}
