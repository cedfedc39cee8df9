//! The fast path of a port call that answers at once (issues 15 and 16): the in-memory publish and the
//! trust-all decision are ready when the call returns, and the Platform's default stack around them
//! (metered → retry → breaker → timeout) answers ready too, allocating nothing the raw backend does not
//! (a counting global allocator in this test binary). A ready retryable error still goes through the
//! retry, and the metrics still count every call.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::event_bus::memory::MemoryBus;
use avb::event_bus::{
    Capabilities, Error, EventBus, Health, Message, MessageId, PortFuture, Result, StartPosition,
    Subscription, Topic,
};
use avb::layers::defaults::PortLayers;
use avb::layers::metered::MeteredLayer;
use avb::layers::{Direct, Layer};
use avb::metrics::Metrics;
use avb::{Port, WorkspaceId};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CALLS: usize = 1_000;

/// The allocator's counts are global: the tests of this binary run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A current-thread runtime (`paused`: in virtual time).
fn runtime(paused: bool) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .unwrap()
}

fn topic() -> Topic {
    Topic::new(&WorkspaceId::new("fast").unwrap(), "t").unwrap()
}

/// `inner` behind what the Platform wraps around a port: metered → retry → breaker → timeout, the
/// retries counted.
fn platform_bus(inner: Arc<dyn EventBus>, metrics: &Arc<Metrics>) -> Arc<dyn EventBus> {
    let stack = MeteredLayer::new(metrics.clone(), "event_bus", inner.backend()).layer(
        PortLayers::default_for(Port::EventBus)
            .stack(Direct)
            .count_retries(metrics.retry_counter("event_bus", inner.backend())),
    );
    Arc::new(avb::instrument::InstrumentedBus::new(inner, stack))
}

fn memory() -> Arc<dyn EventBus> {
    Arc::new(MemoryBus::builder().build().unwrap())
}

/// The allocations of `CALLS` publishes on `bus` (after one that resolves what a first call resolves).
fn publish_allocations(bus: &Arc<dyn EventBus>, topic: &Topic) -> usize {
    let payload = bytes::Bytes::from_static(b"0123456789abcdef");
    assert!(
        bus.publish(topic, Message::new(payload.clone()))
            .into_ready()
            .unwrap()
            .is_ok()
    );
    let region = Region::new(GLOBAL);
    for _ in 0..CALLS {
        let answer = bus.publish(topic, Message::new(payload.clone()));
        assert!(answer.is_ready(), "the publish answered at once");
        assert!(answer.into_ready().unwrap().is_ok());
    }
    region.change().allocations
}

#[test]
fn memory_publish_through_the_default_stack_is_ready_and_allocates_nothing_more() {
    let _serial = serial();
    let topic = topic();
    let metrics = Arc::new(Metrics::new());
    // Two fresh buses with the same history, so their logs grow alike.
    let raw = publish_allocations(&memory(), &topic);
    let layered = platform_bus(memory(), &metrics);
    let wrapped = publish_allocations(&layered, &topic);
    assert!(
        raw >= CALLS,
        "the raw publish allocates its shared message: {raw}"
    );
    assert_eq!(
        wrapped, raw,
        "the default stack added allocations to {CALLS} ready publishes"
    );
    let text = metrics.encode();
    let ok = format!(
        r#"avb_event_bus_operations_total{{backend="memory",operation="publish",result="ok"}} {}"#,
        CALLS + 1
    );
    assert!(text.contains(&ok), "every ready publish counted:\n{text}");
}

#[test]
fn the_platforms_ports_answer_at_once() {
    let _serial = serial();
    runtime(false).block_on(async {
        let platform = avb::Platform::from_pairs(Vec::<(String, String)>::new())
            .await
            .unwrap();
        let topic = topic();
        let ports = platform.ports();
        let bus = ports.event_bus();
        let publish = bus.publish(&topic, Message::new("x"));
        assert!(publish.is_ready(), "{publish:?}");
        assert!(publish.await.is_ok());
        let auth = ports.auth();
        let decision = auth.authenticate("any token");
        assert!(decision.is_ready(), "{decision:?}");
        assert!(decision.await.is_ok());
    });
}

#[test]
fn trust_all_through_the_default_stack_allocates_nothing_more() {
    let _serial = serial();
    let config = avb::config::Config::from_iter(Vec::<(String, String)>::new()).unwrap();
    let raw = runtime(false)
        .block_on(avb::auth::open(&config.auth.backend))
        .unwrap();
    let metrics = Arc::new(Metrics::new());
    let stack = MeteredLayer::new(metrics.clone(), "auth", raw.backend())
        .layer(PortLayers::default_for(Port::Auth).stack(Direct));
    let layered: Arc<dyn avb::auth::Authenticator> =
        Arc::new(avb::instrument::InstrumentedAuth::new(raw.clone(), stack));
    // A hand-built breaker takes no fast path (its call is boxed): the count must see that box.
    let boxed: Arc<dyn avb::auth::Authenticator> =
        Arc::new(avb::instrument::InstrumentedAuth::new(
            raw.clone(),
            avb::layers::breaker::BreakerLayer::default().layer(Direct),
        ));
    // Answers on its first poll either way (trust-all never waits).
    let decide = |auth: &Arc<dyn avb::auth::Authenticator>| {
        let mut decision = auth.authenticate("t");
        assert_eq!(decision.is_ready(), !Arc::ptr_eq(auth, &boxed));
        let first = Pin::new(&mut decision).poll(&mut Context::from_waker(Waker::noop()));
        assert!(matches!(first, Poll::Ready(Ok(_))));
    };
    let mut counts = Vec::new();
    for auth in [&raw, &layered, &boxed] {
        decide(auth);
        let region = Region::new(GLOBAL);
        for _ in 0..CALLS {
            decide(auth);
        }
        counts.push(region.change().allocations);
    }
    assert!(
        counts[2] >= counts[0] + CALLS,
        "a boxed call is counted: {counts:?}"
    );
    assert_eq!(
        counts[1], counts[0],
        "the default stack added allocations to {CALLS} trust-all decisions"
    );
}

/// A bus whose first publish fails at once with a retryable error, and whose later ones succeed at once.
#[derive(Debug, Default)]
struct FlakyOnce {
    publishes: AtomicU32,
}

#[async_trait::async_trait]
impl EventBus for FlakyOnce {
    fn backend(&self) -> &'static str {
        "flaky"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    fn publish<'a>(&'a self, _: &'a Topic, message: Message) -> PortFuture<'a, Result<MessageId>> {
        PortFuture::ready(match self.publishes.fetch_add(1, Ordering::SeqCst) {
            0 => Err(Error::Unavailable {
                backend: "flaky",
                reason: "the first publish fails".into(),
                source: None,
            }),
            _ => Ok(message.id),
        })
    }
    fn publish_batch<'a>(
        &'a self,
        _: &'a Topic,
        messages: Vec<Message>,
    ) -> PortFuture<'a, Result<Vec<MessageId>>> {
        PortFuture::ready(Ok(messages.into_iter().map(|m| m.id).collect()))
    }
    async fn subscribe(&self, _: &Topic, _: &str, _: StartPosition) -> Result<Subscription> {
        Err(Error::Closed { backend: "flaky" })
    }
    async fn close(&self) -> Result<()> {
        Ok(())
    }
    async fn health(&self) -> Health {
        Health::up("flaky")
    }
}

#[test]
fn a_ready_retryable_error_is_still_retried_by_the_stack() {
    let _serial = serial();
    runtime(true).block_on(a_ready_retryable_error_is_retried());
}

async fn a_ready_retryable_error_is_retried() {
    let flaky = Arc::new(FlakyOnce::default());
    let metrics = Arc::new(Metrics::new());
    let bus = platform_bus(flaky.clone(), &metrics);
    let message = Message::new("x");
    let id = message.id.clone();
    let topic = topic();
    let publish = bus.publish(&topic, message);
    assert!(
        !publish.is_ready(),
        "a retryable error waits for the backoff, then publishes again"
    );
    assert_eq!(publish.await.unwrap(), id);
    assert_eq!(flaky.publishes.load(Ordering::SeqCst), 2);
    let text = metrics.encode();
    assert!(
        text.contains(
            r#"avb_layer_retries_total{port="event_bus",backend="flaky",operation="publish"} 1"#
        ),
        "{text}"
    );
    // Every call counted once, with its final result.
    assert!(
        text.contains(
            r#"avb_event_bus_operations_total{backend="flaky",operation="publish",result="ok"} 1"#
        ),
        "{text}"
    );
}
