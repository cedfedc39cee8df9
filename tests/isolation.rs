//! Environment isolation on one real server per backend (`docs/isolation.md`): a port opened with
//! `AVB_ENV=development` and one opened with `AVB_ENV=production`, from the same variables otherwise, on
//! the same server, with the same workspace, topic and keys, see nothing of each other — in both
//! directions. One generic body per port ([`buses_share_nothing`], [`stores_share_nothing`]) runs over
//! every backend: Redis, Kafka, Pulsar; the local directory and each harness S3 server (s3s-fs, moto,
//! MinIO). Each port is opened from its configuration exactly as `Ports::open` opens it, so the scope
//! comes from the resolved environment. The in-process memory bus and store need no scope: two instances
//! share nothing by construction.
//!
//! A missing server skips with a printed reason; `AVB_TEST_REQUIRE_LIVE=1` makes it a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/s3_servers.rs"]
mod s3_servers;

use avb::config::PortConfig;
use avb::event_bus::{EventBus, Message, StartPosition, Topic};
use avb::object_store::{Error as StoreError, ObjectStore, PutOptions};
use bytes::Bytes;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const ENVS: [&str; 2] = ["development", "production"];

fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// The bus `pairs` configure, in environment `env`, opened as `Ports::open` opens it.
async fn bus_in(env: &str, pairs: &[(&str, &str)]) -> Arc<dyn EventBus> {
    let mut all = vec![("AVB_ENV", env)];
    all.extend_from_slice(pairs);
    let config = avb::config::EventBusConfig::from_pairs(all).unwrap();
    avb::event_bus::open(&config.backend).await.unwrap()
}

/// The store `pairs` configure, in environment `env`, opened as `Ports::open` opens it.
async fn store_in(env: &str, pairs: &[(&str, &str)]) -> Arc<dyn ObjectStore> {
    let mut all = vec![("AVB_ENV", env)];
    all.extend_from_slice(pairs);
    let config = avb::config::ObjectStoreConfig::from_pairs(all).unwrap();
    avb::object_store::open(&config.backend).await.unwrap()
}

/// Reads `sub` up to and including the message `end`, acking each; the payloads read. The timeout only
/// turns a hang into a failure (it asserts nothing about speed).
async fn read_until(sub: &mut avb::event_bus::Subscription, end: &Message) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let d = tokio::time::timeout(Duration::from_secs(60), sub.next())
            .await
            .expect("no delivery within 60 s")
            .expect("subscription ended")
            .expect("delivery failed");
        let payload = String::from_utf8_lossy(&d.message().payload).into_owned();
        let done = d.message().id == end.id;
        d.ack().await.unwrap();
        seen.push(payload);
        if done {
            return seen;
        }
    }
}

/// Two buses of different environments on one server: the same workspace, topic and group in each. Each
/// publishes its own message, then (after both messages are stored) an end marker; each subscriber reads
/// up to its own end marker and must have seen exactly its own two messages. The backends here keep a
/// topic's order for one publisher and one consumer, so a message of the other environment, had it
/// reached this topic, would have come before the end marker: no waiting for an absence.
/// Returns the topic, for the caller's look at the server.
async fn buses_share_nothing(
    backend: &str,
    dev: Arc<dyn EventBus>,
    prod: Arc<dyn EventBus>,
) -> Topic {
    let ws = avb::WorkspaceId::new(format!("iso-{}", run_id())).unwrap();
    let topic = Topic::new(&ws, "orders").unwrap();
    let mut subs = Vec::new();
    for bus in [&dev, &prod] {
        subs.push(
            bus.subscribe(&topic, "g", StartPosition::Earliest)
                .await
                .unwrap(),
        );
    }
    for (bus, env) in [&dev, &prod].into_iter().zip(ENVS) {
        bus.publish(&topic, Message::new(format!("{env} data")))
            .await
            .unwrap();
    }
    let mut ends = Vec::new();
    for (bus, env) in [&dev, &prod].into_iter().zip(ENVS) {
        let end = Message::new(format!("{env} end"));
        bus.publish(&topic, end.clone()).await.unwrap();
        ends.push(end);
    }
    for ((sub, end), env) in subs.iter_mut().zip(&ends).zip(ENVS) {
        let seen = read_until(sub, end).await;
        assert_eq!(
            seen,
            vec![format!("{env} data"), format!("{env} end")],
            "{backend}: the {env} subscriber saw another environment's messages"
        );
    }
    for bus in [dev, prod] {
        bus.close().await.unwrap();
    }
    topic
}

#[cfg(feature = "event-bus-redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_environments_share_nothing() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let pairs = [("EVENT_BUS", "redis"), ("REDIS_URL", url.as_str())];
    let (dev, prod) = (bus_in(ENVS[0], &pairs).await, bus_in(ENVS[1], &pairs).await);
    let topic = buses_share_nothing("redis", dev, prod).await;
    // On the server: one stream per environment, none under the unscoped name.
    let mut raw = ::redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ws = topic.workspace();
    for (key, expected) in [
        (format!("avb-development:{{{ws}}}:orders"), 2),
        (format!("avb-production:{{{ws}}}:orders"), 2),
        (format!("avb:{{{ws}}}:orders"), 0),
    ] {
        let len: u64 = ::redis::cmd("XLEN")
            .arg(&key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(len, expected, "{key}");
    }
}

#[cfg(feature = "event-bus-kafka")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_environments_share_nothing() {
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let pairs = [
        ("EVENT_BUS", "kafka"),
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str()),
    ];
    let (dev, prod) = (bus_in(ENVS[0], &pairs).await, bus_in(ENVS[1], &pairs).await);
    let topic = buses_share_nothing("kafka", dev, prod).await;
    // On the broker: one topic per environment, none under the unscoped name.
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let admin: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let metadata = admin.fetch_metadata(None, Duration::from_secs(30)).unwrap();
    let ws = topic.workspace();
    let names: BTreeSet<&str> = metadata
        .topics()
        .iter()
        .map(|t| t.name())
        .filter(|n| n.contains(&format!(".{ws}.")))
        .collect();
    let expected: BTreeSet<String> = [
        format!("avb-development.{ws}.orders"),
        format!("avb-production.{ws}.orders"),
    ]
    .into();
    assert_eq!(
        names,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
}

#[cfg(feature = "event-bus-pulsar")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulsar_environments_share_nothing() {
    let Some(url) = avb::testing::live_server("AVB_TEST_PULSAR_URL") else {
        return;
    };
    let Some(admin) = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL") else {
        return;
    };
    let pairs = [
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", url.as_str()),
        ("PULSAR_ADMIN_URL", admin.as_str()),
        ("PULSAR_TENANT", "avb-test"),
    ];
    let (dev, prod) = (bus_in(ENVS[0], &pairs).await, bus_in(ENVS[1], &pairs).await);
    let topic = buses_share_nothing("pulsar", dev, prod).await;
    // On the cluster: one namespace per environment, none under the unscoped name.
    let ws = topic.workspace();
    let namespaces: Vec<String> = reqwest::get(format!("{admin}/admin/v2/namespaces/avb-test"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine: BTreeSet<&str> = namespaces
        .iter()
        .map(String::as_str)
        .filter(|n| n.ends_with(&format!("{ws}")))
        .collect();
    let dev_ns = format!("avb-test/development.{ws}");
    let prod_ns = format!("avb-test/production.{ws}");
    assert_eq!(
        mine,
        [dev_ns.as_str(), prod_ns.as_str()].into(),
        "{namespaces:?}"
    );
}

/// Two stores of different environments on one server (bucket or directory): the same key written by
/// each reads back each one's own value; a key only one wrote is not found by the other; listing a prefix
/// shows each only its own keys; a delete in one leaves the other's object; and no key, however it climbs
/// (`..`, absolute), reaches the other environment's objects. With `raw` (the bucket or directory itself,
/// and the `OBJECT_STORE_S3_PREFIX` in force), also checks where the objects really are: under
/// `[<prefix>/]<environment>/`, nothing at the unscoped key.
async fn stores_share_nothing(
    backend: &str,
    dev: Arc<dyn ObjectStore>,
    prod: Arc<dyn ObjectStore>,
    raw: Option<(&dyn ObjectStore, &str)>,
) {
    let dir = format!("ws/iso-{}/", run_id());
    let shared = format!("{dir}same-key");
    let stores = [&dev, &prod];
    for (store, env) in stores.into_iter().zip(ENVS) {
        for key in [shared.clone(), format!("{dir}only-{env}")] {
            store
                .put(&key, Bytes::from(env.to_string()), PutOptions::default())
                .await
                .unwrap();
        }
    }
    for (i, (store, env)) in stores.into_iter().zip(ENVS).enumerate() {
        let other = ENVS[1 - i];
        assert_eq!(
            store.get_bytes(&shared).await.unwrap(),
            env,
            "{backend}: {env} read another environment's value"
        );
        let err = store
            .get_bytes(&format!("{dir}only-{other}"))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{backend}: {env} got {err:?}");
        let listed: BTreeSet<String> = store
            .list_all(&dir)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        let own: BTreeSet<String> = [shared.clone(), format!("{dir}only-{env}")].into();
        assert_eq!(
            listed, own,
            "{backend}: {env} listed another environment's keys"
        );
        for climb in [
            format!("../{other}/{shared}"),
            format!("ws/../../{other}/{shared}"),
            format!("/{other}/{shared}"),
        ] {
            let err = store.get_bytes(&climb).await.unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidKey { .. }),
                "{backend}: {env} key {climb:?} was not refused: {err:?}"
            );
        }
    }
    if let Some((raw, prefix)) = raw {
        for env in ENVS {
            let key = format!("{prefix}{env}/{shared}");
            assert_eq!(raw.get_bytes(&key).await.unwrap(), env, "{backend}: {key}");
        }
        let unscoped = format!("{prefix}{shared}");
        let err = raw.get_bytes(&unscoped).await.unwrap_err();
        assert!(err.is_not_found(), "{backend}: {unscoped}: {err:?}");
    }
    dev.delete(&shared).await.unwrap();
    assert!(dev.get_bytes(&shared).await.unwrap_err().is_not_found());
    assert_eq!(prod.get_bytes(&shared).await.unwrap(), "production");
    for (store, env) in stores.into_iter().zip(ENVS) {
        for key in [shared.clone(), format!("{dir}only-{env}")] {
            store.delete(&key).await.unwrap();
        }
    }
}

#[tokio::test]
async fn fs_environments_share_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().display().to_string();
    let pairs = [("OBJECT_STORE", "fs"), ("OBJECT_STORE_DIR", root.as_str())];
    let (dev, prod) = (
        store_in(ENVS[0], &pairs).await,
        store_in(ENVS[1], &pairs).await,
    );
    let raw = avb::object_store::fs::FsStore::new(tmp.path()).unwrap();
    stores_share_nothing("fs", dev, prod, Some((&raw, ""))).await;
}

#[cfg(feature = "object-store-s3")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_environments_share_nothing() {
    for server in s3_servers::all() {
        let pairs = [
            ("OBJECT_STORE", "s3"),
            ("AWS_ENDPOINT_URL", server.url.as_str()),
            ("OBJECT_STORE_BUCKET", server.bucket.as_str()),
            ("AWS_ACCESS_KEY_ID", server.key.as_str()),
            ("AWS_SECRET_ACCESS_KEY", server.secret.as_str()),
        ];
        let (dev, prod) = (
            store_in(ENVS[0], &pairs).await,
            store_in(ENVS[1], &pairs).await,
        );
        let raw = server.builder().build().await.unwrap();
        stores_share_nothing(server.name, dev, prod, Some((&raw, ""))).await;
        // Under OBJECT_STORE_S3_PREFIX the scope comes below the prefix: the same isolation.
        let mut prefixed = pairs.to_vec();
        prefixed.push(("OBJECT_STORE_S3_PREFIX", "iso-prefix"));
        let (dev, prod) = (
            store_in(ENVS[0], &prefixed).await,
            store_in(ENVS[1], &prefixed).await,
        );
        stores_share_nothing(server.name, dev, prod, Some((&raw, "iso-prefix/"))).await;
    }
}

/// The bodies above can fail: given two handles on one shared instance (what a missing scope amounts to),
/// each detects the sharing.
#[tokio::test]
async fn the_bodies_detect_a_shared_backend() {
    use futures::FutureExt;
    let bus: Arc<dyn EventBus> = Arc::new(
        avb::event_bus::memory::MemoryBus::builder()
            .build()
            .unwrap(),
    );
    let shared = std::panic::AssertUnwindSafe(buses_share_nothing("memory", bus.clone(), bus))
        .catch_unwind()
        .await;
    assert!(shared.is_err(), "a shared bus went unnoticed");
    let store: Arc<dyn ObjectStore> = Arc::new(avb::object_store::memory::MemoryStore::new());
    let shared =
        std::panic::AssertUnwindSafe(stores_share_nothing("memory", store.clone(), store, None))
            .catch_unwind()
            .await;
    assert!(shared.is_err(), "a shared store went unnoticed");
}

/// `AVB_RESOURCE_SCOPE` is checked even when every port is in-process (nothing would use it): a bad value
/// is an error naming the variable, the value and the allowed form; each live port carries the same scope.
#[test]
fn the_scope_is_checked_and_shared_by_every_port() {
    let err = avb::config::Config::from_iter([("AVB_RESOURCE_SCOPE", "Prod_EU")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("AVB_RESOURCE_SCOPE") && err.contains("Prod_EU") && err.contains("1-32"),
        "{err}"
    );
    let config = avb::config::Config::from_iter([
        ("AVB_RESOURCE_SCOPE", "feature-x"),
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", "redis://127.0.0.1:1"),
        ("OBJECT_STORE", "fs"),
        ("OBJECT_STORE_DIR", "/tmp/none"),
    ]);
    let summary = match config {
        Ok(c) => c.to_string(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(summary.matches("scope feature-x").count(), 2, "{summary}");
}
