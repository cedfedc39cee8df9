//! The EventBus conformance suite against the Kafka backend and the harness's real Apache Kafka broker
//! (`AVB_TEST_KAFKA_BOOTSTRAP` from `scripts/services env`; `AVB_TEST_REQUIRE_LIVE=1` makes a missing
//! broker a failure).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::event_bus::conformance::{Expect, Harness, run_all};
use avb::event_bus::kafka::KafkaBus;
use avb::event_bus::{EventBus, Result, Settings};
use std::sync::Arc;
use std::time::Duration;

/// The topic root of the buses here (built in the default environment, `development`).
fn dev_root() -> String {
    avb::event_bus::kafka::wire::topic_root(&avb::ResourceScope::default())
}

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

struct Kafka {
    bootstrap: String,
}

#[async_trait::async_trait]
impl Harness for Kafka {
    fn settings(&self) -> Settings {
        settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            KafkaBus::builder()
                .with_bootstrap_servers([&self.bootstrap])
                .with_settings(settings())
                .build()?,
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_passes_every_conformance_case() {
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    // Declared in KafkaBus::capabilities: everything, per-key order and lease extension included, but
    // idempotent publish (the idempotent producer dedupes its own retries, not an application's publish
    // retried with the same message id).
    run_all(&Kafka { bootstrap })
        .await
        .assert_exact(&Expect::all().skipped("idempotent_publish", "idempotent_publish"));
}

/// `EVENT_BUS=kafka` and `KAFKA_BOOTSTRAP_SERVERS` select the Kafka bus with no code change: a service's
/// `Ports::open` gets it, healthy, and a message goes round through the real broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_bus_kafka_selects_it_from_the_environment() {
    use avb::event_bus::{Message, StartPosition, Topic};
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let config = avb::config::Config::from_iter([
        ("EVENT_BUS", "kafka"),
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str()),
        ("EVENT_BUS_MAX_ATTEMPTS", "2"),
    ])
    .unwrap();
    let ports = avb::Ports::open(config).await.unwrap();
    let bus = ports.event_bus();
    assert_eq!(bus.backend(), "kafka");
    assert!(bus.health().await.is_up(), "{:?}", bus.health().await);
    let ws = avb::WorkspaceId::new("env-select").unwrap();
    let topic = Topic::new(&ws, format!("orders-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let mut sub = bus
        .subscribe(&topic, "billing", StartPosition::Earliest)
        .await
        .unwrap();
    let sent = Message::new(&b"via EVENT_BUS=kafka"[..]).with_key("k");
    bus.publish(&topic, sent.clone()).await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(d.message(), &sent);
    d.nack(Duration::ZERO, "once").await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // EVENT_BUS_MAX_ATTEMPTS reached the bus: the second attempt is the last.
    assert_eq!(d.attempt(), 2);
    let mut dlq = bus
        .subscribe(&topic.dead_letter(), "ops", StartPosition::Earliest)
        .await
        .unwrap();
    d.nack(Duration::ZERO, "twice").await.unwrap();
    let dead = tokio::time::timeout(Duration::from_secs(30), dlq.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(dead.message().id, sent.id);
    dead.ack().await.unwrap();
    bus.close().await.unwrap();
}

/// Runs the non-avb client (`tests/fixtures/kafka/interop.py`, PyPI kafka-python); its stdout lines.
fn python_client(python: &std::path::Path, args: &[&str]) -> Vec<serde_json::Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kafka/interop.py"
    );
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "interop.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Records a non-avb client (kafka-python) wrote reach avb with key, payload and headers (ids from their
/// position); messages avb published reach that client with key, payload, headers and the `avb-id` header.
/// The wire format is `docs/event-bus-kafka.md`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_avb_client_reads_and_writes_the_same_records() {
    use avb::event_bus::kafka::wire::{HEADER_ID, kafka_topic};
    use avb::event_bus::{Message, StartPosition, Topic};
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let Some(python) = avb::testing::live_binary("AVB_TEST_KAFKA_PYTHON") else {
        return;
    };
    let bus = Kafka {
        bootstrap: bootstrap.clone(),
    }
    .new_bus()
    .await
    .unwrap();
    let ws = avb::WorkspaceId::new("interop").unwrap();

    // kafka-python → avb.
    let topic = Topic::new(&ws, format!("in-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let name = kafka_topic(&dev_root(), &topic).unwrap();
    let written = python_client(&python, &["produce", &bootstrap, &name, "3"]);
    assert_eq!(written.len(), 3);
    for (i, w) in written.iter().enumerate() {
        let d = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let m = d.message();
        let i = u8::try_from(i).unwrap();
        assert_eq!(m.key.as_deref(), Some(format!("key-{i}").as_str()));
        let mut payload = vec![i, 0xff, i];
        payload.extend_from_slice(b"from python");
        assert_eq!(m.payload.as_ref(), payload.as_slice());
        assert_eq!(
            m.headers.get("trace").map(String::as_str),
            Some(format!("t-{i}").as_str())
        );
        assert_eq!(m.headers.get("bin").map(String::as_str), Some("\u{0}\u{1}"));
        assert_eq!(m.headers.len(), 2, "{:?}", m.headers);
        assert_eq!(
            m.id.as_str(),
            format!("{name}/{}/{}", w["partition"], w["offset"]),
            "a record without avb-id is named by its position"
        );
        assert_eq!(d.attempt(), 1);
        d.ack().await.unwrap();
    }

    // avb → kafka-python.
    let topic = Topic::new(&ws, format!("out-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let sent = vec![
        Message::new(vec![0u8, 0xfe, 7])
            .with_key("customer-7")
            .with_header("traceparent", "00-abc-01"),
        Message::new(&b""[..]).with_header("h", "v"),
    ];
    bus.publish_batch(&topic, sent.clone()).await.unwrap();
    let name = kafka_topic(&dev_root(), &topic).unwrap();
    let read = python_client(&python, &["consume", &bootstrap, &name, "2"]);
    assert_eq!(read.len(), 2);
    for (m, r) in sent.iter().zip(&read) {
        assert_eq!(r["key"].as_str(), m.key.as_deref());
        let hex: String = m.payload.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r["value"].as_str(), Some(hex.as_str()));
        let mut expected = serde_json::Map::new();
        for (k, v) in &m.headers {
            expected.insert(k.clone(), v.clone().into());
        }
        expected.insert(HEADER_ID.into(), m.id.as_str().into());
        assert_eq!(r["headers"], serde_json::Value::Object(expected));
    }
    bus.close().await.unwrap();
}

/// The next delivery of `sub`, within 30 s.
async fn next_within(sub: &mut avb::event_bus::Subscription) -> avb::event_bus::Delivery {
    tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .expect("a delivery within 30 s")
        .expect("the subscription ended")
        .expect("a delivery, not an error")
}

fn unique(case: &str) -> avb::event_bus::Topic {
    let ws = avb::WorkspaceId::new("lease").unwrap();
    avb::event_bus::Topic::new(&ws, format!("{case}-{}", uuid::Uuid::new_v4().simple())).unwrap()
}

/// A lease is the process's: once it lapsed and the record was handed out again, the old delivery's
/// `extend` is `LeaseLost` (the new one extends); after `close()` (the consumer left the group) an
/// unsettled delivery's `extend` is `LeaseLost` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_extend_is_lease_lost() {
    use avb::event_bus::{Error, Message, StartPosition};
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let bus = Kafka { bootstrap }.new_bus().await.unwrap();
    let topic = unique("lapsed");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new(&b"slow"[..]))
        .await
        .unwrap();
    let first = next_within(&mut sub).await;
    first.extend(Duration::from_millis(100)).await.unwrap();
    // Not extended again: the lease lapses and the record comes back (attempt 2).
    let second = next_within(&mut sub).await;
    assert_eq!(second.attempt(), 2);
    let late = first.extend(Duration::from_secs(1)).await;
    assert!(matches!(late, Err(Error::LeaseLost { .. })), "{late:?}");
    second.extend(Duration::from_secs(1)).await.unwrap();
    // close() drains (up to 1 s), then the consumer leaves the group: nothing is held any more.
    bus.close().await.unwrap();
    let after_close = second.extend(Duration::from_secs(1)).await;
    assert!(
        matches!(after_close, Err(Error::LeaseLost { .. })),
        "{after_close:?}"
    );
}

/// A rebalance takes the lease away: a member of another bus joins the group of a one-partition topic,
/// the partition is revoked from the holder (eager rebalance) and the record comes again — from whichever
/// member Kafka assigned it to — and the holder's `extend` is `LeaseLost`. The ack timeout (30 s) is far
/// longer than the test, so the redelivery is the rebalance's, not a lapse's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extend_after_the_partition_was_revoked_is_lease_lost() {
    use avb::event_bus::{Error, Message, StartPosition};
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let long = Settings {
        ack_timeout: Duration::from_secs(30),
        ..settings()
    };
    let new_bus = || {
        KafkaBus::builder()
            .with_bootstrap_servers([&bootstrap])
            .with_settings(long.clone())
            .build()
            .unwrap()
    };
    let (holder_bus, joiner_bus) = (new_bus(), new_bus());
    let topic = unique("revoked");
    let mut holder = holder_bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let sent = Message::new(&b"held"[..]);
    holder_bus.publish(&topic, sent.clone()).await.unwrap();
    let held = next_within(&mut holder).await;
    assert_eq!(held.attempt(), 1);
    held.extend(Duration::from_secs(30)).await.unwrap();
    let mut joiner = joiner_bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let again = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            d = holder.next() => d,
            d = joiner.next() => d,
        }
    })
    .await
    .expect("the record again after the rebalance, within 60 s")
    .expect("a subscription ended")
    .unwrap();
    assert_eq!(again.message().id, sent.id);
    assert_eq!(again.attempt(), 2, "the attempt count rides the commit");
    let late = held.extend(Duration::from_secs(1)).await;
    assert!(matches!(late, Err(Error::LeaseLost { .. })), "{late:?}");
    again.ack().await.unwrap();
    drop((holder, joiner));
    holder_bus.close().await.unwrap();
    joiner_bus.close().await.unwrap();
}

/// Broker trouble reaches the application (issue 10): the topic of a live subscription is deleted under
/// it, and `next` returns the consumer's error (`UnknownTopicOrPartition`, retryable) instead of waiting
/// silently; the error names what failed. Before, the reader swallowed consumer errors and `next` hung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_error_comes_out_of_next() {
    use avb::event_bus::kafka::wire::kafka_topic;
    use avb::event_bus::{Message, StartPosition};
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let bus = Kafka {
        bootstrap: bootstrap.clone(),
    }
    .new_bus()
    .await
    .unwrap();
    let topic = unique("deleted");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new(&b"before"[..]))
        .await
        .unwrap();
    // Assigned and fetching.
    next_within(&mut sub).await.ack().await.unwrap();
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let name = kafka_topic(&dev_root(), &topic).unwrap();
    let deleted = admin
        .delete_topics(&[name.as_str()], &AdminOptions::new())
        .await
        .unwrap();
    assert!(deleted.iter().all(|r| r.is_ok()), "{deleted:?}");
    // A hang guard, not a timing assertion: librdkafka notices the missing topic at its next fetch.
    let got = tokio::time::timeout(Duration::from_secs(60), sub.next())
        .await
        .expect("next returned within 60 s of the topic's deletion")
        .expect("the subscription is still open");
    let err = got.expect_err("the consumer's error, not a delivery");
    assert!(
        err.to_string()
            .contains("reading from the group's consumer"),
        "{err}"
    );
    bus.close().await.unwrap();
}
