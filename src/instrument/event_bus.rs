//! The EventBus behind a layer stack: `publish`, `publish_batch`, `subscribe` and `close` go through it
//! (deliveries are not: they are settled on the subscription).
//!
//! Traces ([`crate::trace`]): each publish runs in a `publish` span (kind producer) and, when that span is
//! recorded (a subscriber is interested), each message without a `traceparent` gets one — the producer
//! span's context — so the consumer's `receive` span (opened as each delivery is handed out) continues
//! the same trace on every backend. Metrics ([`InstrumentedBus::with_metrics`]): deliveries,
//! redeliveries and deliveries in flight per topic (see `in_flight.rs`); each (topic, group) it subscribes
//! is watched for the backlog gauges ([`Metrics::watch_backlog`]).

use super::in_flight::{DeadLetter, InFlight};
use crate::layers::{Now, Refusal, Service};
use crate::metrics::{DeliveryHandles, Metrics};
use crate::trace::{TRACEPARENT, producer_context, receive_span};
use async_trait::async_trait;
use avb_core::forward::BoxFuture;
use avb_event_bus::Delivery;
use avb_event_bus::backend::Source;
use avb_event_bus::{
    Backlog, Capabilities, Error, EventBus, Health, Message, MessageId, PublishNow, Result,
    StartPosition, Subscription, Topic,
};
use futures::future::Either;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tracing::Instrument;
use tracing::field::Empty;

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
    metrics: Option<Arc<Metrics>>,
    max_attempts: Option<u32>,
}

impl<S> InstrumentedBus<S> {
    /// `inner` behind `stack`.
    pub fn new(inner: Arc<dyn EventBus>, stack: S) -> Self {
        Self {
            inner,
            stack,
            metrics: None,
            max_attempts: None,
        }
    }

    /// With metrics: also counts the messages its subscriptions' settlements dead-letter — a nack (or,
    /// where the backend redelivers a dropped delivery at once, a drop) of attempt `max_attempts` (the
    /// bus's [`avb_event_bus::Settings::max_attempts`]) on a backend with dead-letter topics. A last
    /// attempt whose lease lapses is dead-lettered by the backend unseen.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }

    /// Also counts the deliveries its subscriptions hand out (and the redeliveries among them) into
    /// `metrics` (see [`crate::metrics`]).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

/// The `publish` span (kind producer) of a publish of `count` messages to `topic`.
fn publish_span(backend: &'static str, topic: &Topic, count: usize) -> tracing::Span {
    tracing::info_span!(
        "publish",
        otel.kind = "producer",
        messaging.system = backend,
        messaging.operation.type = "send",
        messaging.destination.name = %topic,
        messaging.batch.message_count = count,
        trace_id = Empty,
        span_id = Empty,
    )
}

/// Gives each message without a `traceparent` the context of `span` (only when the span is recorded).
fn inject<'a>(span: &tracing::Span, messages: impl IntoIterator<Item = &'a mut Message>) {
    if span.is_disabled() {
        return;
    }
    let mut context = None;
    for m in messages {
        if !m.headers.contains_key(TRACEPARENT) {
            context
                .get_or_insert_with(|| producer_context(span))
                .inject(&mut m.headers);
        }
    }
}

/// A subscription whose deliveries open a `receive` span and, with metrics, are counted (and tracked
/// while in flight).
struct Traced {
    inner: Subscription,
    backend: &'static str,
    counts: Option<(DeliveryHandles, Arc<InFlight>)>,
}

impl Traced {
    fn seen(&self, d: Delivery) -> Delivery {
        drop(receive_span(self.backend, &d));
        match &self.counts {
            Some((counts, in_flight)) => {
                counts.record(d.attempt());
                in_flight.watch(d)
            }
            None => d,
        }
    }
}

#[async_trait]
impl Source for Traced {
    fn try_next(&mut self) -> Option<Result<Delivery>> {
        let got = self.inner.try_next()?;
        Some(got.map(|d| self.seen(d)))
    }

    async fn next(&mut self) -> Option<Result<Delivery>> {
        let got = self.inner.next().await?;
        Some(got.map(|d| self.seen(d)))
    }

    async fn next_batch(&mut self, max: usize) -> Option<Result<Vec<Delivery>>> {
        let got = self.inner.next_batch(max).await?;
        Some(got.map(|batch| batch.into_iter().map(|d| self.seen(d)).collect()))
    }
}

impl<S> std::fmt::Debug for InstrumentedBus<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrumentedBus")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S: Service + 'static> InstrumentedBus<S> {
    /// `publish` on the spot (see [`Service::call_now`]), taking the message from `slot`: the whole
    /// call's answer, or [`Now::Later`] with the message back in `slot` and the failure of the one
    /// attempt made, if any, for [`Self::publish_layered`].
    #[inline]
    fn publish_now_layered(
        &self,
        topic: &Topic,
        slot: &mut Option<Message>,
    ) -> Now<MessageId, Error> {
        self.stack.call_now("publish", || {
            match self.inner.publish_now(topic, slot.take()?) {
                PublishNow::Published(id) => Some(Ok(id)),
                PublishNow::Failed(e, m) => {
                    *slot = Some(m);
                    Some(Err(e))
                }
                PublishNow::Wait(m) => {
                    *slot = Some(m);
                    None
                }
            }
        })
    }

    /// `publish` through the layers' futures: the `publish` span, the `traceparent`, retries with
    /// backoff, the timeout. `handed`: the failure of an attempt `call_now` already made (the first
    /// attempt's answer).
    async fn publish_layered(
        &self,
        topic: &Topic,
        mut message: Message,
        mut handed: Option<Error>,
    ) -> Result<MessageId> {
        let span = publish_span(self.inner.backend(), topic, 1);
        inject(&span, [&mut message]);
        // Each attempt takes the message. A backend that never waits answers `publish_now` on the spot
        // (no copy: a refused message comes back for the next attempt); for one that waits, a copy is
        // kept only when the stack may retry (a retry publishes it again with the same id, which
        // idempotent publish deduplicates).
        let may_retry = self.stack.may_retry();
        let mut next = Some(message);
        self.stack
            .call("publish", || {
                if let Some(failure) = handed.take() {
                    return Either::Left(std::future::ready(Err(failure)));
                }
                let answer = match next.take() {
                    None => Err(Error::Backend {
                        backend: "layers",
                        reason: "a layer called publish again without a retry layer".into(),
                        source: None,
                    }),
                    Some(m) => match self.inner.publish_now(topic, m) {
                        PublishNow::Published(id) => Ok(id),
                        PublishNow::Failed(e, m) => {
                            next = Some(m);
                            Err(e)
                        }
                        PublishNow::Wait(m) => {
                            if may_retry {
                                next = Some(m.clone());
                            }
                            return Either::Right(self.inner.publish(topic, m));
                        }
                    },
                };
                Either::Left(std::future::ready(answer))
            })
            .instrument(span)
            .await
    }
}

/// The future of [`InstrumentedBus::publish`]: on its first poll, `call_now`; if that does not answer,
/// the layered call (boxed: only that path allocates it).
struct Publish<'a, S> {
    bus: &'a InstrumentedBus<S>,
    topic: &'a Topic,
    message: Option<Message>,
    layered: Option<BoxFuture<'a, Result<MessageId>>>,
}

impl<S: Service + 'static> Future for Publish<'_, S> {
    type Output = Result<MessageId>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let layered = match &mut this.layered {
            Some(layered) => layered,
            None => {
                // With the `publish` span wanted (same target: this module), the layered path opens it.
                let handed = if tracing::span_enabled!(tracing::Level::INFO) {
                    None
                } else {
                    match this.bus.publish_now_layered(this.topic, &mut this.message) {
                        Now::Done(answer) => return Poll::Ready(answer),
                        Now::Later(handed) => handed,
                    }
                };
                // Not answered: the message is back (gone only when this future had answered already).
                let Some(message) = this.message.take() else {
                    return Poll::Ready(Err(Error::Backend {
                        backend: "layers",
                        reason: "a publish future was polled after it answered".into(),
                        source: None,
                    }));
                };
                this.layered.insert(Box::pin(
                    this.bus.publish_layered(this.topic, message, handed),
                ))
            }
        };
        layered.as_mut().poll(cx)
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

    // Not an `async fn`: the call's future is [`Publish`] (a few words and the message), which answers on
    // its first poll through `Service::call_now` when the backend never waits and nothing needs a span,
    // and otherwise runs `publish_layered`. Lazy either way: nothing happens before the first poll.
    fn publish<'life0, 'life1, 'async_trait>(
        &'life0 self,
        topic: &'life1 Topic,
        message: Message,
    ) -> BoxFuture<'async_trait, Result<MessageId>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(Publish {
            bus: self,
            topic,
            message: Some(message),
            layered: None,
        })
    }

    async fn publish_batch(
        &self,
        topic: &Topic,
        mut messages: Vec<Message>,
    ) -> Result<Vec<MessageId>> {
        let span = publish_span(self.inner.backend(), topic, messages.len());
        inject(&span, messages.iter_mut());
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
            .instrument(span)
            .await
    }

    async fn subscribe(
        &self,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<Subscription> {
        let inner = self
            .stack
            .call("subscribe", || self.inner.subscribe(topic, group, start))
            .await?;
        let backend = self.inner.backend();
        if let Some(m) = &self.metrics {
            let caps = self.inner.capabilities();
            if caps.backlog_lag || caps.backlog_dead_letters {
                m.watch_backlog(&self.inner, topic, group);
            }
        }
        let counts = self.metrics.as_ref().map(|m| {
            let handles = m.delivery_handles(backend, topic.name());
            let caps = self.inner.capabilities();
            let dead_letter = self
                .max_attempts
                .filter(|_| caps.dead_letter)
                .map(|max_attempts| DeadLetter {
                    max_attempts,
                    on_drop: caps.redeliver_on_drop,
                    counter: handles.dead_lettered(),
                });
            let in_flight = InFlight::new(handles.in_flight(), dead_letter);
            (handles, in_flight)
        });
        Ok(Subscription::new(Box::new(Traced {
            inner,
            backend,
            counts,
        })))
    }

    async fn close(&self) -> Result<()> {
        self.stack.call("close", || self.inner.close()).await
    }

    async fn health(&self) -> Health {
        self.inner.health().await
    }

    /// Not layered (no retry, no breaker, no operation metric): a read of counts the metrics scrape asks
    /// for, which must not trip the breaker of the port's real work.
    async fn backlog(&self, topic: &Topic, group: &str) -> Result<Backlog> {
        self.inner.backlog(topic, group).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::defaults::PortLayers;
    use crate::layers::metered::MeteredLayer;
    use crate::layers::{Direct, Layer};
    use async_trait::async_trait;
    use avb_event_bus::memory::MemoryBus;

    /// A memory bus, the same bus behind the Platform's default layers, and their metrics.
    fn layered_memory() -> (Arc<dyn EventBus>, impl EventBus, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        let memory: Arc<dyn EventBus> = Arc::new(MemoryBus::builder().build().unwrap());
        let bus = InstrumentedBus::new(
            memory.clone(),
            MeteredLayer::new(metrics.clone(), "event_bus", "memory")
                .layer(PortLayers::default_for(crate::Port::EventBus).stack(Direct)),
        );
        (memory, bus, metrics)
    }

    /// The Platform's publish answers on its first poll on the memory bus, and only then: a future that
    /// is created and dropped publishes nothing (as on every backend that waits), and a polled one
    /// publishes once, counted once.
    #[tokio::test]
    async fn a_layered_publish_happens_when_polled_never_before() {
        let (memory, bus, metrics) = layered_memory();
        let ws = avb_core::WorkspaceId::new("w").unwrap();
        let topic = Topic::new(&ws, "lazy").unwrap();
        let mut sub = memory
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let never = Message::new(&b"never"[..]);
        drop(bus.publish(&topic, never));
        let once = Message::new(&b"once"[..]);
        let id = bus.publish(&topic, once.clone()).await.unwrap();
        assert_eq!(id, once.id);
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!(
            d.message_id(),
            &once.id,
            "the dropped future published nothing"
        );
        d.ack().await.unwrap();
        let more = tokio::time::timeout(std::time::Duration::from_millis(50), sub.next()).await;
        assert!(more.is_err(), "one message only: {more:?}");
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"avb_event_bus_operations_total{backend="memory",operation="publish",result="ok"} 1"#
            ),
            "{text}"
        );
    }

    /// A memory bus whose first `publish_now` fails with a retryable error (handing the message back):
    /// counts the calls and the messages each saw.
    #[derive(Debug)]
    struct FlakyOnce {
        inner: MemoryBus,
        calls: std::sync::Mutex<Vec<MessageId>>,
    }

    #[async_trait]
    impl EventBus for FlakyOnce {
        fn backend(&self) -> &'static str {
            "flaky"
        }
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
        async fn publish(&self, topic: &Topic, message: Message) -> Result<MessageId> {
            self.inner.publish(topic, message).await
        }
        fn publish_now(&self, topic: &Topic, message: Message) -> PublishNow {
            let mut calls = self.calls.lock().unwrap();
            calls.push(message.id.clone());
            if calls.len() == 1 {
                let e = Error::Unavailable {
                    backend: "flaky",
                    reason: "the first call fails".into(),
                    source: None,
                };
                return PublishNow::Failed(e, message);
            }
            self.inner.publish_now(topic, message)
        }
        async fn publish_batch(&self, topic: &Topic, m: Vec<Message>) -> Result<Vec<MessageId>> {
            self.inner.publish_batch(topic, m).await
        }
        async fn subscribe(
            &self,
            topic: &Topic,
            group: &str,
            start: StartPosition,
        ) -> Result<Subscription> {
            self.inner.subscribe(topic, group, start).await
        }
        async fn close(&self) -> Result<()> {
            self.inner.close().await
        }
        async fn health(&self) -> Health {
            self.inner.health().await
        }
    }

    /// A retryable refusal on the spot is retried after the backoff with the message it handed back
    /// (the same id, nothing copied beforehand), and counted once, as `ok`, with one retry; a refusal
    /// that is not retryable (publish after close) is answered at once and counted as the error it is.
    #[tokio::test(start_paused = true)]
    async fn a_refusal_on_the_spot_is_retried_with_the_message_handed_back() {
        let metrics = Arc::new(Metrics::new());
        let flaky = Arc::new(FlakyOnce {
            inner: MemoryBus::builder().build().unwrap(),
            calls: std::sync::Mutex::new(Vec::new()),
        });
        let stack = PortLayers::default_for(crate::Port::EventBus)
            .stack(Direct)
            .count_retries(metrics.retry_counter("event_bus", "flaky"));
        let bus = InstrumentedBus::new(
            flaky.clone(),
            MeteredLayer::new(metrics.clone(), "event_bus", "flaky").layer(stack),
        );
        let ws = avb_core::WorkspaceId::new("w").unwrap();
        let topic = Topic::new(&ws, "flaky").unwrap();
        let m = Message::new(&b"x"[..]);
        let started = tokio::time::Instant::now();
        assert_eq!(bus.publish(&topic, m.clone()).await.unwrap(), m.id);
        assert!(!started.elapsed().is_zero(), "waited the backoff");
        assert_eq!(*flaky.calls.lock().unwrap(), [m.id.clone(), m.id.clone()]);
        let text = metrics.encode();
        for line in [
            r#"avb_event_bus_operations_total{backend="flaky",operation="publish",result="ok"} 1"#,
            r#"operation="publish"} 1"#, // the retry counter
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(!text.contains(r#"result="retryable""#), "{text}");

        bus.close().await.unwrap();
        let late = bus.publish(&topic, Message::new(&b"late"[..])).await;
        assert!(matches!(late, Err(Error::Closed { .. })), "{late:?}");
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"avb_event_bus_operations_total{backend="flaky",operation="publish",result="#
            ) && text.matches(r#"operation="publish",result="#).count() == 2,
            "{text}"
        );
    }

    /// Records the names of the spans its filter lets through.
    #[derive(Clone, Default)]
    struct SpanNames(Arc<std::sync::Mutex<Vec<&'static str>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanNames {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            self.0.lock().unwrap().push(attrs.metadata().name());
        }
    }

    /// Each span of a publish is opened exactly when a subscriber's filter wants it, whichever path the
    /// call takes: the `publish` span alone when only `avb::instrument` is wanted (the metered layer
    /// could answer on the spot; the wrapper must not), the `avb` span alone when only `avb::layers` is,
    /// both or neither — and the message is published once each time.
    #[tokio::test]
    async fn spans_are_opened_exactly_when_wanted_on_either_path() {
        use tracing_subscriber::filter::{LevelFilter, Targets};
        use tracing_subscriber::layer::SubscriberExt;
        let ws = avb_core::WorkspaceId::new("w").unwrap();
        let topic = Topic::new(&ws, "spans").unwrap();
        let wanted = [
            (vec!["avb::instrument"], vec!["publish"]),
            (vec!["avb::layers"], vec!["avb"]),
            (
                vec!["avb::instrument", "avb::layers"],
                vec!["publish", "avb"],
            ),
            (vec!["some_other_crate"], vec![]),
        ];
        for (targets, expected) in wanted {
            let names = SpanNames::default();
            let filter = targets
                .iter()
                .fold(Targets::new(), |f, t| f.with_target(*t, LevelFilter::INFO));
            let subscriber = tracing_subscriber::registry().with(
                tracing_subscriber::Layer::with_filter(names.clone(), filter),
            );
            let _guard = tracing::subscriber::set_default(subscriber);
            let (memory, bus, _) = layered_memory();
            let mut sub = memory
                .subscribe(&topic, "g", StartPosition::Earliest)
                .await
                .unwrap();
            let m = Message::new(&b"x"[..]);
            assert_eq!(bus.publish(&topic, m.clone()).await.unwrap(), m.id);
            let d = sub.next().await.unwrap().unwrap();
            assert_eq!(d.message_id(), &m.id);
            let mut seen = names.0.lock().unwrap().clone();
            seen.sort_unstable();
            let mut expected = expected;
            expected.sort_unstable();
            assert_eq!(seen, expected, "spans with {targets:?} wanted");
        }
    }
}
