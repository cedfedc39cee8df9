//! [`MemoryPublisher`]: a topic handle of the in-memory bus, the publish fast path.

use super::{MemoryBus, SCHEME, Shared, TopicState};
use crate::{Message, MessageId, Result, Topic};
use std::sync::Arc;

/// A handle on one topic of a [`MemoryBus`] (from [`MemoryBus::publisher`]): publishes like
/// [`EventBus::publish`](crate::EventBus::publish) and [`EventBus::publish_batch`](crate::EventBus::publish_batch)
/// — the same size and closed checks, idempotent publish, fan-out to every group — without looking the
/// topic up by name and without a boxed future per call. The in-memory bus never waits to accept a
/// message, so these methods are synchronous. Cheap to clone; it keeps the topic (not the bus) alive.
///
/// ```
/// # fn main() -> avb_event_bus::Result<()> {
/// use avb_event_bus::{Message, Topic, memory::MemoryBus};
/// let bus = MemoryBus::builder().build()?;
/// let topic = Topic::new(&avb_core::WorkspaceId::new("acme").expect("valid"), "orders")?;
/// let orders = bus.publisher(&topic);
/// let id = orders.publish(Message::new(&b"order 1"[..]))?;
/// assert_eq!(orders.topic(), &topic);
/// # let _ = id; Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryPublisher {
    shared: Arc<Shared>,
    state: Arc<TopicState>,
    topic: Topic,
}

impl std::fmt::Debug for MemoryPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPublisher")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl MemoryBus {
    /// A [`MemoryPublisher`] for `topic` (created if new, as a publish would).
    pub fn publisher(&self, topic: &Topic) -> MemoryPublisher {
        MemoryPublisher {
            shared: self.shared.clone(),
            state: self.shared.topic(topic),
            topic: topic.clone(),
        }
    }
}

impl MemoryPublisher {
    /// The topic this handle publishes to.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// Publishes one message; its id once accepted. [`Error::Closed`](crate::Error::Closed) after
    /// `close`, [`Error::TooLarge`](crate::Error::TooLarge) over `max_message_bytes`.
    pub fn publish(&self, message: Message) -> Result<MessageId> {
        self.shared.check_open()?;
        self.shared.settings.check_size(&message, SCHEME)?;
        let id = message.id.clone();
        self.shared.append_one_to(&self.state, Arc::new(message));
        Ok(id)
    }

    /// Publishes messages in order; their ids. Every message is checked before any is accepted.
    pub fn publish_batch(&self, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        self.shared.check_open()?;
        for m in &messages {
            self.shared.settings.check_size(m, SCHEME)?;
        }
        let ids = messages.iter().map(|m| m.id.clone()).collect();
        let messages = messages.into_iter().map(Arc::new).collect();
        self.shared.append_to(&self.state, messages, true);
        Ok(ids)
    }
}
