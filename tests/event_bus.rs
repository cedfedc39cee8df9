//! The EventBus conformance suite against every backend compiled in: memory always, Redis against the
//! harness server (`AVB_TEST_REDIS_URL` from `scripts/services env`).

#![allow(dead_code, unused_imports)] // with neither backend feature, nothing runs
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap; clippy misses that helpers are tests

use avb::event_bus::conformance::{Expect, Harness, run_all};
use avb::event_bus::{EventBus, Result, Settings};
use std::sync::Arc;
use std::time::Duration;

fn settings() -> Settings {
    Settings {
        ack_timeout: Duration::from_secs(1),
        max_attempts: 3,
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        drain_timeout: Duration::from_secs(1),
        ..Settings::default()
    }
}

#[cfg(feature = "event-bus-memory")]
struct Memory;

#[cfg(feature = "event-bus-memory")]
#[async_trait::async_trait]
impl Harness for Memory {
    fn settings(&self) -> Settings {
        settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            avb::event_bus::memory::MemoryBus::builder()
                .with_settings(settings())
                .build()?,
        ))
    }
}

#[cfg(feature = "event-bus-memory")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_passes_every_conformance_case() {
    run_all(&Memory).await.assert_exact(&Expect::all());
}

/// The bus the Platform hands out: `harness`'s bus behind the metered layer, with delivery metrics (each
/// delivery counted and watched while in flight). The wrapper must change no answer.
#[cfg(any(feature = "event-bus-memory", feature = "event-bus-redis"))]
struct Layered<H> {
    harness: H,
    metrics: Arc<avb::metrics::Metrics>,
}

#[cfg(any(feature = "event-bus-memory", feature = "event-bus-redis"))]
impl<H> Layered<H> {
    fn new(harness: H) -> Self {
        Self {
            harness,
            metrics: Arc::new(avb::metrics::Metrics::new()),
        }
    }

    /// After a whole suite: every delivery handed out was counted down exactly once when it ended (acked,
    /// nacked or dropped), so each topic's in-flight gauge is back at 0 — a leaked or doubly told ending
    /// leaves it above or below — and the deliveries went through the counting wrapper.
    fn assert_every_delivery_ended(&self, backend: &str) {
        let text = self.metrics.encode();
        let gauges: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("avb_event_bus_in_flight_deliveries{"))
            .collect();
        assert!(!gauges.is_empty(), "{backend}: no in-flight gauge\n{text}");
        for line in gauges {
            assert!(line.ends_with(" 0"), "{backend}: {line}");
        }
        for counted in [
            format!(
                r#"avb_event_bus_operations_total{{backend="{backend}",operation="publish",result="ok"}}"#
            ),
            format!(r#"avb_event_bus_deliveries_total{{backend="{backend}",topic="#),
            format!(r#"avb_event_bus_redeliveries_total{{backend="{backend}",topic="#),
        ] {
            assert!(text.contains(&counted), "{backend}: no {counted}\n{text}");
        }
    }
}

#[cfg(any(feature = "event-bus-memory", feature = "event-bus-redis"))]
#[async_trait::async_trait]
impl<H: Harness> Harness for Layered<H> {
    fn settings(&self) -> Settings {
        self.harness.settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        use avb::layers::{Direct, Layer, metered::MeteredLayer};
        let inner = self.harness.new_bus().await?;
        let backend = inner.backend();
        Ok(Arc::new(
            avb::instrument::InstrumentedBus::new(
                inner,
                MeteredLayer::new(self.metrics.clone(), "event_bus", backend).layer(Direct),
            )
            .with_metrics(self.metrics.clone())
            .with_max_attempts(self.harness.settings().max_attempts),
        ))
    }
}

#[cfg(feature = "event-bus-memory")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_behind_the_metered_layer_passes_every_conformance_case() {
    let layered = Layered::new(Memory);
    run_all(&layered).await.assert_exact(&Expect::all());
    layered.assert_every_delivery_ended("memory");
}

#[cfg(feature = "event-bus-redis")]
mod redis {
    use super::*;
    use avb::event_bus::redis::RedisBus;

    struct Redis {
        url: String,
    }

    #[async_trait::async_trait]
    impl Harness for Redis {
        fn settings(&self) -> Settings {
            settings()
        }
        async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
            Ok(Arc::new(
                RedisBus::builder()
                    .with_url(&self.url)
                    .with_settings(settings())
                    .with_claim_interval(Duration::from_millis(50))
                    .build()?,
            ))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_passes_every_conformance_case_its_capabilities_allow() {
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        // Declared in RedisBus::capabilities: consumer groups do not keep per-key order.
        run_all(&Redis { url }).await.assert_exact(&expected());
    }

    fn expected() -> Expect {
        Expect::all()
            .skipped("per_key_order", "ordering_per_key")
            .skipped("batched_per_key_order", "ordering_per_key")
    }

    /// The bus the Platform hands out on Redis (metered, deliveries counted and watched) conforms like the
    /// bare one, and every delivery's end is counted once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_behind_the_metered_layer_passes_every_conformance_case_its_capabilities_allow() {
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let layered = Layered::new(Redis { url });
        run_all(&layered).await.assert_exact(&expected());
        layered.assert_every_delivery_ended("redis");
    }

    fn foreign_topic(case: &str) -> avb::event_bus::Topic {
        use avb::event_bus::{Topic, WorkspaceId};
        Topic::new(
            &WorkspaceId::new("tests").unwrap(),
            format!("{case}-{}", uuid::Uuid::new_v4().simple()),
        )
        .unwrap()
    }

    /// The key root of the buses here (built in the default environment, `development`).
    fn dev_root() -> String {
        avb::event_bus::redis::key_root(&avb::ResourceScope::default())
    }

    async fn raw_connection(url: &str) -> ::redis::aio::MultiplexedConnection {
        ::redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// `XADD <topic's stream> * <fields…>` by another program; the entry id.
    async fn xadd_foreign(
        raw: &mut ::redis::aio::MultiplexedConnection,
        topic: &avb::event_bus::Topic,
        fields: &[(&[u8], &[u8])],
    ) -> String {
        let mut cmd = ::redis::cmd("XADD");
        cmd.arg(avb::event_bus::redis::stream_key(&dev_root(), topic))
            .arg("*");
        for (f, v) in fields {
            cmd.arg(*f).arg(*v);
        }
        cmd.query_async(raw).await.unwrap()
    }

    /// The next delivery within a generous bound; a subscription error fails the test.
    async fn next_within(
        sub: &mut avb::event_bus::Subscription,
        what: &str,
    ) -> avb::event_bus::Delivery {
        match tokio::time::timeout(Duration::from_secs(20), sub.next()).await {
            Ok(Some(Ok(d))) => d,
            Ok(Some(Err(e))) => panic!("{what}: the subscription failed: {e}"),
            Ok(None) => panic!("{what}: the subscription ended"),
            Err(_) => panic!("{what}: nothing delivered within 20 s"),
        }
    }

    /// Entries other programs write are not delivered as messages: they go to the dead-letter topic, and
    /// that topic is readable through avb (not dead-lettered again): the entry's fields are the payload, as
    /// a RESP array, and the headers name the topic, group, reason and the original entry id.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_foreign_entry_is_dead_lettered_readably_not_delivered() {
        use avb::event_bus::{
            HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC, Message, StartPosition,
        };
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let bus = RedisBus::builder().with_url(&url).build().unwrap();
        let topic = foreign_topic("foreign");
        let mut sub = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let mut raw = raw_connection(&url).await;
        let foreign_id = xadd_foreign(&mut raw, &topic, &[(b"foo", b"bar"), (b"n", b"\xff")]).await;
        let good = Message::new(&b"good"[..]);
        bus.publish(&topic, good.clone()).await.unwrap();
        let d = next_within(&mut sub, "the good message").await;
        assert_eq!(
            d.message().id,
            good.id,
            "the foreign entry is not delivered"
        );
        d.ack().await.unwrap();

        let mut dlq = bus
            .subscribe(&topic.dead_letter(), "ops", StartPosition::Earliest)
            .await
            .unwrap();
        let dead = next_within(&mut dlq, "the dead-lettered foreign entry").await;
        let h = &dead.message().headers;
        assert_eq!(
            h.get(HEADER_ORIGINAL_TOPIC).map(String::as_str),
            Some(topic.name())
        );
        assert_eq!(h.get(HEADER_GROUP).map(String::as_str), Some("g"));
        let reason = h.get(HEADER_LAST_ERROR).cloned().unwrap_or_default();
        assert!(reason.contains("not an avb message"), "{reason}");
        assert_eq!(
            h.get("avb-dlq-foreign-entry"),
            Some(&foreign_id),
            "the documented header names the original entry"
        );
        assert_eq!(
            &dead.message().payload[..],
            &b"*4\r\n$3\r\nfoo\r\n$3\r\nbar\r\n$1\r\nn\r\n$1\r\n\xff\r\n"[..],
            "the payload is the original fields as a RESP array"
        );
        assert_eq!(dead.attempt(), 1);
        dead.ack().await.unwrap();
        let len: u64 = ::redis::cmd("XLEN")
            .arg(avb::event_bus::redis::stream_key(
                &dev_root(),
                &topic.dead_letter().dead_letter(),
            ))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(
            len, 0,
            "reading the dead-letter topic dead-letters nothing again"
        );
    }

    /// A field name that is not UTF-8 (Redis allows any bytes) neither jams the consumer nor loses the
    /// messages read with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_binary_field_name_does_not_jam_the_consumer() {
        use avb::event_bus::{Message, StartPosition};
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let bus = RedisBus::builder().with_url(&url).build().unwrap();
        let topic = foreign_topic("binary-field");
        let mut sub = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let before = Message::new(&b"before"[..]);
        bus.publish(&topic, before.clone()).await.unwrap();
        let mut raw = raw_connection(&url).await;
        let foreign_id = xadd_foreign(&mut raw, &topic, &[(b"\xff\xfe", b"v")]).await;
        let after = Message::new(&b"after"[..]);
        bus.publish(&topic, after.clone()).await.unwrap();
        for expected in [&before, &after] {
            let d = next_within(&mut sub, "the messages around the binary entry").await;
            assert_eq!((&d.message().id, d.attempt()), (&expected.id, 1));
            d.ack().await.unwrap();
        }
        let mut dlq = bus
            .subscribe(&topic.dead_letter(), "ops", StartPosition::Earliest)
            .await
            .unwrap();
        let dead = next_within(&mut dlq, "the dead-lettered binary entry").await;
        assert_eq!(
            dead.message().headers.get("avb-dlq-foreign-entry"),
            Some(&foreign_id)
        );
        dead.ack().await.unwrap();
    }

    /// Issue 8's case: with `max_attempts = 1`, a member that takes one of three messages, acks it and
    /// leaves must not send the two it only read ahead to the dead-letter topic: the next member gets them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_ahead_of_a_member_that_leaves_is_not_dead_lettered_with_one_attempt() {
        use avb::event_bus::{Message, StartPosition};
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let bus = RedisBus::builder()
            .with_url(&url)
            .with_max_attempts(1)
            .with_ack_timeout(Duration::from_millis(500))
            .with_claim_interval(Duration::from_millis(50))
            .build()
            .unwrap();
        let topic = foreign_topic("leave");
        let mut dlq = bus
            .subscribe(&topic.dead_letter(), "ops", StartPosition::Earliest)
            .await
            .unwrap();
        let mut first = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let sent: Vec<Message> = (0..3u8).map(|i| Message::new(vec![i])).collect();
        bus.publish_batch(&topic, sent.clone()).await.unwrap();
        let d = next_within(&mut first, "the first message").await;
        assert_eq!(d.message().id, sent[0].id);
        d.ack().await.unwrap();
        drop(first);
        let mut second = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        for m in &sent[1..] {
            let d = next_within(&mut second, "the read-ahead messages").await;
            assert_eq!((&d.message().id, d.attempt()), (&m.id, 1));
            d.ack().await.unwrap();
        }
        let none = tokio::time::timeout(Duration::from_millis(1500), dlq.next()).await;
        assert!(none.is_err(), "nothing dead-lettered: {none:?}");
    }

    /// Entries a member read ahead but did not take for longer than half the ack timeout go back to the
    /// group untouched (attempt 1 for the next taker), instead of waiting out the ack timeout and counting
    /// an attempt nobody was handed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_read_ahead_goes_back_without_counting_an_attempt() {
        use avb::event_bus::{Message, StartPosition};
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let bus = RedisBus::builder()
            .with_url(&url)
            .with_max_attempts(1)
            .with_ack_timeout(Duration::from_millis(400))
            .with_claim_interval(Duration::from_millis(50))
            .build()
            .unwrap();
        let topic = foreign_topic("stale");
        let mut slow = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let sent: Vec<Message> = (0..3u8).map(|i| Message::new(vec![i])).collect();
        bus.publish_batch(&topic, sent.clone()).await.unwrap();
        let d = next_within(&mut slow, "the first message").await;
        assert_eq!(d.message().id, sent[0].id);
        d.ack().await.unwrap();
        // `slow` holds the other two in its buffer and does not ask for them; another member does.
        let mut other = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let mut got = Vec::new();
        for _ in 1..sent.len() {
            let d = next_within(&mut other, "the buffered messages").await;
            got.push((d.message().id.clone(), d.attempt()));
            d.ack().await.unwrap();
        }
        got.sort();
        let mut want: Vec<_> = sent[1..].iter().map(|m| (m.id.clone(), 1)).collect();
        want.sort();
        assert_eq!(got, want, "handed out once each, as attempt 1");
        let none = tokio::time::timeout(Duration::from_millis(1000), slow.next()).await;
        assert!(
            none.is_err(),
            "the slow member gets nothing stale: {none:?}"
        );
    }

    #[tokio::test]
    async fn a_bad_url_is_a_config_error_naming_the_setting() {
        let err = RedisBus::builder()
            .with_url("http://user:secret@host")
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("url="), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let err = RedisBus::builder()
            .with_url("redis://127.0.0.1:1")
            .with_read_count(0)
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "read_count=\"0\" is invalid: expected an integer >= 1"
        );
    }

    /// A lease that lapsed and was claimed by another member cannot be extended back (the check and the
    /// `XCLAIM` are one script): `extend` is `LeaseLost`, and the other member's delivery stays its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn extending_a_lease_another_member_claimed_is_lease_lost() {
        use avb::event_bus::{Error, Message, StartPosition};
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let bus = RedisBus::builder()
            .with_url(&url)
            .with_ack_timeout(Duration::from_millis(200))
            .with_retry_backoff(Duration::from_millis(10), Duration::from_millis(20))
            .with_claim_interval(Duration::from_millis(20))
            .build()
            .unwrap();
        let topic = foreign_topic("lease_lost");
        let mut first = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let m = Message::new(&b"slow"[..]);
        bus.publish(&topic, m.clone()).await.unwrap();
        let held = next_within(&mut first, "the first delivery").await;
        let mut second = bus
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let taken = next_within(&mut second, "the redelivery after the lapse").await;
        assert_eq!((taken.message_id(), taken.attempt()), (&m.id, 2));
        match held.extend(Duration::from_millis(200)).await {
            Err(Error::LeaseLost { message_id, .. }) => assert_eq!(message_id, m.id.as_str()),
            other => panic!("extend of a lost lease: {other:?}"),
        }
        taken.extend(Duration::from_millis(200)).await.unwrap();
        taken.ack().await.unwrap();
    }

    /// The dedupe window is the life of the `…:dedupe:<id>` key: within it a retried publish adds nothing,
    /// after it the same id is a new entry; with the window zero there is no dedupe (and no capability).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_retry_after_the_dedupe_window_is_a_second_message() {
        use avb::event_bus::{Message, StartPosition};
        let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
            return;
        };
        let bus = RedisBus::builder()
            .with_url(&url)
            .with_dedupe_window(Duration::from_millis(300))
            .build()
            .unwrap();
        assert!(bus.capabilities().idempotent_publish);
        let topic = foreign_topic("dedupe_window");
        let mut raw = raw_connection(&url).await;
        let key = avb::event_bus::redis::stream_key(&dev_root(), &topic);
        let m = Message::new(&b"once"[..]);
        bus.publish(&topic, m.clone()).await.unwrap();
        bus.publish(&topic, m.clone()).await.unwrap();
        let len: usize = ::redis::cmd("XLEN")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(len, 1, "a retry within the window adds nothing");
        let dedupe_key = format!("{key}:dedupe:{}", m.id);
        loop {
            let exists: bool = ::redis::cmd("EXISTS")
                .arg(&dedupe_key)
                .query_async(&mut raw)
                .await
                .unwrap();
            if !exists {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bus.publish(&topic, m.clone()).await.unwrap();
        let len: usize = ::redis::cmd("XLEN")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(len, 2, "after the window the same id is a new entry");
        let off = RedisBus::builder()
            .with_url(&url)
            .with_dedupe_window(Duration::ZERO)
            .build()
            .unwrap();
        assert!(!off.capabilities().idempotent_publish);
        off.publish(&topic, m.clone()).await.unwrap();
        off.publish(&topic, m.clone()).await.unwrap();
        let len: usize = ::redis::cmd("XLEN")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(len, 4, "no dedupe with a zero window");
        let mut sub = off
            .subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap();
        let d = next_within(&mut sub, "an entry").await;
        assert_eq!(d.message_id(), &m.id);
        d.ack().await.unwrap();
    }
}
