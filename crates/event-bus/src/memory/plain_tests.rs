//! The trait defaults a backend without a native batch path gets ([`Source::next_batch`] through
//! `next` + `try_next`): the whole conformance suite, batched cases included, against the in-memory bus
//! with its subscriptions wrapped so that only `next` and `try_next` reach it.
use super::*;
use crate::backend::Source;
use crate::conformance::{self, Harness};
use crate::{Delivery, Health};
use std::future::Future;

/// A source that forwards `next` and `try_next` only (the defaults supply `next_batch`).
struct Plain(Subscription);

#[async_trait::async_trait]
impl Source for Plain {
    async fn next(&mut self) -> Option<Result<Delivery>> {
        self.0.next().await
    }
    fn try_next(&mut self) -> Option<Result<Delivery>> {
        // `Subscription::next` polls once without waiting first; the wrapped source's `try_next` is not
        // reachable from here, so a ready delivery is found with a poll that never waits.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let next = std::pin::pin!(self.0.next());
        match next.poll(&mut cx) {
            std::task::Poll::Ready(ready) => ready,
            std::task::Poll::Pending => None,
        }
    }
}

/// A memory bus whose subscriptions are [`Plain`].
#[derive(Debug)]
struct PlainBus(MemoryBus);

#[async_trait::async_trait]
impl EventBus for PlainBus {
    fn backend(&self) -> &'static str {
        self.0.backend()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
        self.0.publish(topic, message).await
    }
    async fn publish_batch(&self, topic: &Topic, messages: Vec<Message>) -> Result<Vec<MessageId>> {
        self.0.publish_batch(topic, messages).await
    }
    async fn subscribe(
        &self,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<Subscription> {
        let inner = self.0.subscribe(topic, group, start).await?;
        Ok(Subscription::new(Box::new(Plain(inner))))
    }
    async fn close(&self) -> Result<()> {
        self.0.close().await
    }
    async fn health(&self) -> Health {
        self.0.health().await
    }
    async fn backlog(&self, topic: &Topic, group: &str) -> Result<crate::Backlog> {
        self.0.backlog(topic, group).await
    }
}

struct PlainHarness;

#[async_trait::async_trait]
impl Harness for PlainHarness {
    fn settings(&self) -> Settings {
        Settings {
            ack_timeout: Duration::from_secs(1),
            max_attempts: 3,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_millis(400),
            drain_timeout: Duration::from_secs(1),
            ..Settings::default()
        }
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        let bus = MemoryBus::builder()
            .with_settings(self.settings())
            .build()?;
        Ok(Arc::new(PlainBus(bus)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_batch_path_passes_the_conformance_suite() {
    conformance::run_all(&PlainHarness)
        .await
        .assert_exact(&avb_conformance::Expect::all());
}

#[tokio::test]
async fn the_default_batch_respects_max_and_takes_what_is_ready() {
    let bus = PlainHarness.new_bus().await.unwrap();
    let topic = conformance::unique_topic("plain");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let sent: Vec<Message> = (0..5u8).map(|i| Message::new(vec![i])).collect();
    bus.publish_batch(&topic, sent).await.unwrap();
    let first = sub.next_batch(3).await.unwrap().unwrap();
    assert_eq!(first.len(), 3, "max respected, what is ready taken");
    let rest = sub.next_batch(3).await.unwrap().unwrap();
    assert_eq!(rest.len(), 2);
    let payloads: Vec<u8> = first
        .iter()
        .chain(&rest)
        .map(|d| d.message().payload[0])
        .collect();
    assert_eq!(payloads, [0, 1, 2, 3, 4]);
    Delivery::ack_all(&first).await.unwrap();
    Delivery::ack_all(&rest).await.unwrap();
}
