//! The EventBus conformance suite against the Pulsar backend and the harness's real Apache Pulsar
//! standalone (`AVB_TEST_PULSAR_URL`, `AVB_TEST_PULSAR_ADMIN_URL` from `scripts/services env`;
//! `AVB_TEST_REQUIRE_LIVE=1` makes a missing broker a failure).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::event_bus::conformance::{Expect, Harness, run_all};
use avb::event_bus::pulsar::PulsarBus;
use avb::event_bus::{EventBus, Result, Settings};
use std::sync::Arc;
use std::time::Duration;

fn settings() -> Settings {
    Settings {
        // 3 s, not Kafka's 1 s: dropped_consumer_redelivery measures from before its publish to the
        // redelivery, through a first producer and two consumers on two topics each, against the ack
        // timeout; on a freshly started broker (cold JIT) with the cases running at once that took over
        // 2 s in one run of four.
        ack_timeout: Duration::from_secs(3),
        max_attempts: 3,
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        drain_timeout: Duration::from_secs(1),
        ..Settings::default()
    }
}

/// The tenant the tests' workspaces live under (created by the bus on first use).
const TENANT: &str = "avb-test";

/// Where the buses here put their topics: the tenant, in the default environment (`development`).
fn dev_names() -> avb::event_bus::pulsar::wire::Names {
    avb::event_bus::pulsar::wire::Names {
        tenant: TENANT.into(),
        scope: avb::ResourceScope::default(),
    }
}

struct Pulsar {
    url: String,
    admin: String,
    /// The buses' `with_receiver_queue` (the default, 1, unless a test says otherwise).
    receiver_queue: u32,
}

fn live() -> Option<Pulsar> {
    let url = avb::testing::live_server("AVB_TEST_PULSAR_URL")?;
    let admin = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL")?;
    Some(Pulsar {
        url,
        admin,
        receiver_queue: 1,
    })
}

#[async_trait::async_trait]
impl Harness for Pulsar {
    fn settings(&self) -> Settings {
        settings()
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            PulsarBus::builder()
                .with_url(&self.url)
                .with_admin_url(&self.admin)
                .with_tenant(TENANT)
                .with_settings(settings())
                .with_receiver_queue(self.receiver_queue)
                .build()?,
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulsar_passes_every_conformance_case() {
    let Some(pulsar) = live() else {
        return;
    };
    // Declared in PulsarBus::capabilities: everything but per-key order (a Shared subscription spreads a
    // key over the members; a redelivery is a new message on the group's retry topic) and idempotent
    // publish (broker deduplication keys on producer and sequence id, not on the message id).
    run_all(&pulsar).await.assert_exact(
        &Expect::all()
            .skipped("per_key_order", "ordering_per_key")
            .skipped("batched_per_key_order", "ordering_per_key")
            .skipped("idempotent_publish", "idempotent_publish"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulsar_with_a_read_ahead_passes_every_case_it_declares() {
    let Some(pulsar) = live() else {
        return;
    };
    // A read-ahead (`PULSAR_RECEIVER_QUEUE=64`): the broker hands each consumer as many messages as it
    // has permits, so a member can hold messages an idle member of its group could take; what that
    // breaks the bus declares, and every other case passes.
    let read_ahead = Pulsar {
        receiver_queue: 64,
        ..pulsar
    };
    run_all(&read_ahead).await.assert_exact(
        &Expect::all()
            .skipped("idle_member_gets_the_other", "shares_read_ahead")
            .skipped("per_key_order", "ordering_per_key")
            .skipped("batched_per_key_order", "ordering_per_key")
            .skipped("idempotent_publish", "idempotent_publish"),
    );
}

/// `EVENT_BUS=pulsar`, `PULSAR_URL` and `PULSAR_ADMIN_URL` select the Pulsar bus with no code change: a
/// service's `Ports::open` gets it, healthy, and a message goes round through the real broker, into the
/// dead-letter topic after `EVENT_BUS_MAX_ATTEMPTS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_bus_pulsar_selects_it_from_the_environment() {
    use avb::event_bus::{Message, StartPosition, Topic};
    let Some(pulsar) = live() else {
        return;
    };
    let config = avb::config::Config::from_iter([
        ("EVENT_BUS", "pulsar"),
        ("PULSAR_URL", pulsar.url.as_str()),
        ("PULSAR_ADMIN_URL", pulsar.admin.as_str()),
        ("PULSAR_TENANT", TENANT),
        ("EVENT_BUS_MAX_ATTEMPTS", "2"),
    ])
    .unwrap();
    let ports = avb::Ports::open(config).await.unwrap();
    let bus = ports.event_bus();
    assert_eq!(bus.backend(), "pulsar");
    assert!(bus.health().await.is_up(), "{:?}", bus.health().await);
    let ws = avb::WorkspaceId::new("env-select").unwrap();
    let topic = Topic::new(&ws, format!("orders-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let mut sub = bus
        .subscribe(&topic, "billing", StartPosition::Earliest)
        .await
        .unwrap();
    let sent = Message::new(&b"via EVENT_BUS=pulsar"[..]).with_key("k");
    bus.publish(&topic, sent.clone()).await.unwrap();
    let d = next_within(&mut sub).await;
    assert_eq!(d.message(), &sent);
    d.nack(Duration::ZERO, "once").await.unwrap();
    let d = next_within(&mut sub).await;
    // EVENT_BUS_MAX_ATTEMPTS reached the bus: the second attempt is the last.
    assert_eq!(d.attempt(), 2);
    let mut dlq = bus
        .subscribe(&topic.dead_letter(), "ops", StartPosition::Earliest)
        .await
        .unwrap();
    d.nack(Duration::ZERO, "twice").await.unwrap();
    let dead = next_within(&mut dlq).await;
    assert_eq!(dead.message().id, sent.id);
    dead.ack().await.unwrap();
    bus.close().await.unwrap();
}

/// `PULSAR_RECEIVER_QUEUE` reaches every subscription's consumer: through `Ports::open`, a subscription
/// of a bus configured with 64 holds 64 flow permits at the broker (its admin stats), one configured
/// without the variable holds 1; the parity report names the capability the read-ahead costs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulsar_receiver_queue_comes_from_the_environment() {
    use avb::event_bus::{StartPosition, Topic};
    let Some(pulsar) = live() else {
        return;
    };
    let ws = avb::WorkspaceId::new("env-permits").unwrap();
    let topic = Topic::new(&ws, format!("orders-{}", uuid::Uuid::new_v4().simple())).unwrap();
    for (queue, group) in [(Some("64"), "wide"), (None, "fair")] {
        let mut pairs = vec![
            ("EVENT_BUS", "pulsar"),
            ("PULSAR_URL", pulsar.url.as_str()),
            ("PULSAR_ADMIN_URL", pulsar.admin.as_str()),
            ("PULSAR_TENANT", TENANT),
        ];
        pairs.extend(queue.map(|q| ("PULSAR_RECEIVER_QUEUE", q)));
        let config = avb::config::Config::from_iter(pairs).unwrap();
        // Above 1 the bus declares it no longer shares its read-ahead, and `avb check --parity` says so.
        #[cfg(feature = "check")]
        {
            let gaps = avb::check::parity(&config).await.unwrap();
            let lacks = gaps
                .iter()
                .any(|g| g.capability == "shares_read_ahead" && g.kind == "lacks");
            assert_eq!(lacks, queue.is_some(), "{queue:?}: {gaps:?}");
        }
        let ports = avb::Ports::open(config).await.unwrap();
        let bus = ports.event_bus();
        let _sub = bus
            .subscribe(&topic, group, StartPosition::Earliest)
            .await
            .unwrap();
        let want = queue.map_or(1, |q| q.parse::<i64>().unwrap());
        let stats_url = format!(
            "{}/admin/v2/{}/stats",
            pulsar.admin,
            dev_names().topic_url(&topic).replace("://", "/")
        );
        // The consumer sends its permits right after subscribing; give the broker a moment to count them.
        let mut seen = Vec::new();
        for _ in 0..50 {
            let stats: serde_json::Value = reqwest::get(&stats_url)
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            seen = stats["subscriptions"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(name, _)| name.ends_with(group))
                .flat_map(|(_, sub)| sub["consumers"].as_array().cloned().unwrap_or_default())
                .filter_map(|c| c["availablePermits"].as_i64())
                .collect();
            if seen == [want] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            seen,
            [want],
            "PULSAR_RECEIVER_QUEUE={queue:?}: the permits of group {group}'s consumer ({stats_url})"
        );
        bus.close().await.unwrap();
    }
}

/// The next delivery of `sub`, within 30 s.
async fn next_within(sub: &mut avb::event_bus::Subscription) -> avb::event_bus::Delivery {
    tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .expect("a delivery within 30 s")
        .expect("the subscription ended")
        .expect("a delivery, not an error")
}

/// The topics of namespace `<tenant>/<ns>` as the admin REST API lists them.
async fn admin_topics(admin: &str, ns: &str) -> Vec<String> {
    let resp = reqwest::get(format!("{admin}/admin/v2/persistent/{TENANT}/{ns}"))
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

/// Two workspaces are two namespaces: the same topic name in each is two Pulsar topics, a subscriber in
/// one never sees the other's messages (through avb), and the admin API lists each topic under its own
/// namespace only, with the namespace's retention policy set by the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workspaces_cannot_see_each_others_topics() {
    use avb::event_bus::{Message, StartPosition, Topic};
    let Some(pulsar) = live() else {
        return;
    };
    let bus = pulsar.new_bus().await.unwrap();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (a, b) = (
        format!("iso-a-{}", &run[..8]),
        format!("iso-b-{}", &run[..8]),
    );
    let ta = Topic::new(&avb::WorkspaceId::new(&a).unwrap(), "orders").unwrap();
    let tb = Topic::new(&avb::WorkspaceId::new(&b).unwrap(), "orders").unwrap();
    let mut sub_a = bus
        .subscribe(&ta, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let mut sub_b = bus
        .subscribe(&tb, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let ma = Message::new(&b"for a"[..]);
    let mb = Message::new(&b"for b"[..]);
    bus.publish(&ta, ma.clone()).await.unwrap();
    bus.publish(&tb, mb.clone()).await.unwrap();
    let da = next_within(&mut sub_a).await;
    let db = next_within(&mut sub_b).await;
    assert_eq!(da.message().id, ma.id);
    assert_eq!(db.message().id, mb.id);
    da.ack().await.unwrap();
    db.ack().await.unwrap();
    for sub in [&mut sub_a, &mut sub_b] {
        let more = tokio::time::timeout(Duration::from_secs(1), sub.next()).await;
        assert!(more.is_err(), "a workspace saw another's message: {more:?}");
    }
    // The buses run in the default environment: the namespaces carry its scope.
    let (a, b) = (format!("development.{a}"), format!("development.{b}"));
    let in_a = admin_topics(&pulsar.admin, &a).await;
    let in_b = admin_topics(&pulsar.admin, &b).await;
    assert!(
        in_a.contains(&format!("persistent://{TENANT}/{a}/orders")),
        "{in_a:?}"
    );
    assert!(
        in_b.contains(&format!("persistent://{TENANT}/{b}/orders")),
        "{in_b:?}"
    );
    assert!(
        in_a.iter()
            .all(|t| t.starts_with(&format!("persistent://{TENANT}/{a}/"))),
        "{in_a:?}"
    );
    assert!(
        in_b.iter()
            .all(|t| t.starts_with(&format!("persistent://{TENANT}/{b}/"))),
        "{in_b:?}"
    );
    let retention: serde_json::Value = reqwest::get(format!(
        "{}/admin/v2/namespaces/{TENANT}/{a}/retention",
        pulsar.admin
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        retention["retentionTimeInMinutes"],
        7 * 24 * 60,
        "{retention}"
    );
    assert_eq!(retention["retentionSizeInMB"], 1024, "{retention}");
    bus.close().await.unwrap();
}

/// Runs the non-avb client (`tests/fixtures/pulsar/interop.py`, PyPI pulsar-client); its stdout lines.
fn python_client(python: &std::path::Path, args: &[&str]) -> Vec<serde_json::Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pulsar/interop.py"
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
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Messages a non-avb client (pulsar-client) wrote reach avb with key, payload and properties as headers
/// (ids from their message ids); messages avb published reach that client with key, payload, headers and
/// the `avb-id` property. The wire format is `docs/event-bus-pulsar.md`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_avb_client_reads_and_writes_the_same_messages() {
    use avb::event_bus::pulsar::wire::PROPERTY_ID;
    use avb::event_bus::{Message, StartPosition, Topic};
    let Some(pulsar) = live() else {
        return;
    };
    let Some(python) = avb::testing::live_binary("AVB_TEST_PULSAR_PYTHON") else {
        return;
    };
    let bus = pulsar.new_bus().await.unwrap();
    let ws = avb::WorkspaceId::new("interop").unwrap();

    // pulsar-client → avb (the subscription first: it creates the namespace).
    let topic = Topic::new(&ws, format!("in-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let name = dev_names().topic_url(&topic);
    let written = python_client(&python, &["produce", &pulsar.url, &name, "3"]);
    assert_eq!(written.len(), 3);
    for (i, w) in written.iter().enumerate() {
        let d = next_within(&mut sub).await;
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
        assert_eq!(m.headers.get("lang").map(String::as_str), Some("py"));
        assert_eq!(m.headers.len(), 2, "{:?}", m.headers);
        assert_eq!(
            m.id.as_str(),
            format!(
                "{}:{}:{}:{}",
                w["ledger"], w["entry"], w["partition"], w["batch"]
            ),
            "a message without avb-id is named by its message id"
        );
        assert_eq!(d.attempt(), 1);
        d.ack().await.unwrap();
    }

    // avb → pulsar-client.
    let topic = Topic::new(&ws, format!("out-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let sent = vec![
        Message::new(vec![0u8, 0xfe, 7])
            .with_key("customer-7")
            .with_header("traceparent", "00-abc-01"),
        Message::new(&b""[..]).with_header("h", "v"),
    ];
    bus.publish_batch(&topic, sent.clone()).await.unwrap();
    let name = dev_names().topic_url(&topic);
    let read = python_client(&python, &["consume", &pulsar.url, &name, "2"]);
    assert_eq!(read.len(), 2);
    for (m, r) in sent.iter().zip(&read) {
        assert_eq!(r["key"].as_str(), m.key.as_deref());
        let hex: String = m.payload.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r["payload"].as_str(), Some(hex.as_str()));
        let mut expected = serde_json::Map::new();
        for (k, v) in &m.headers {
            expected.insert(k.clone(), v.clone().into());
        }
        expected.insert(PROPERTY_ID.into(), m.id.as_str().into());
        assert_eq!(r["properties"], serde_json::Value::Object(expected));
    }
    bus.close().await.unwrap();
}

/// Eight buses, each its own client, publish at once into a tenant and a namespace that do not exist yet:
/// every one creates them, and every publish succeeds. The broker can answer the losers of that race `500
/// … BadVersionException … AlreadyExistsException` rather than 409 (seen on a fresh broker when several
/// test processes started together); a create that failed because another bus won is not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buses_racing_to_create_the_same_tenant_all_succeed() {
    let Some(p) = live() else { return };
    let tenant = format!("avb-race-{}", uuid::Uuid::new_v4().simple());
    let ws = avb::WorkspaceId::new("race").unwrap();
    let topic = avb::event_bus::Topic::new(&ws, "orders").unwrap();
    let mut publishes = tokio::task::JoinSet::new();
    for i in 0..8u8 {
        let bus = PulsarBus::builder()
            .with_url(&p.url)
            .with_admin_url(&p.admin)
            .with_tenant(&tenant)
            .with_settings(settings())
            .build()
            .unwrap();
        let topic = topic.clone();
        publishes.spawn(async move {
            let answer = bus
                .publish(&topic, avb::event_bus::Message::new(vec![i]))
                .await;
            bus.close().await.unwrap();
            answer
        });
    }
    let mut published = 0;
    while let Some(answer) = publishes.join_next().await {
        let answer = answer.unwrap();
        assert!(
            answer.is_ok(),
            "a bus that lost the creation race failed: {answer:?}"
        );
        published += 1;
    }
    assert_eq!(published, 8);
}
