//! Pulsar fault tests: a PRIVATE Apache Pulsar standalone (the harness's jars, `AVB_TEST_PULSAR_LIBS`, run
//! by `AVB_TEST_PULSAR_JAVA`) on free loopback ports, SIGKILLed and restarted by the test itself — the
//! shared harness broker is never touched — and a consumer process that dies holding deliveries, on the
//! harness broker.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/bus_faults.rs"]
mod bus_faults;
use avb::event_bus::pulsar::PulsarBus;
use avb::event_bus::{EventBus, Message, Settings, StartPosition, Topic, WorkspaceId};
use bus_faults::{keyed, topic};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANT: &str = "avb-faults";

struct PrivatePulsar {
    java: PathBuf,
    libs: String,
    dir: PathBuf,
    port: u16,
    web: u16,
    bookie: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivatePulsar {
    /// Writes a standalone configuration (as `scripts/services.d/pulsar.sh` does) and starts the broker.
    fn start() -> Option<Self> {
        Self::start_with("")
    }

    /// [`PrivatePulsar::start`] with `extra` lines appended to the configuration.
    fn start_with(extra: &str) -> Option<Self> {
        let java = avb::testing::live_binary("AVB_TEST_PULSAR_JAVA")?;
        let libs = avb::testing::harness_value("AVB_TEST_PULSAR_LIBS")?;
        let (port, web, bookie) = (free_port(), free_port(), free_port());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pulsar-faults-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("bookkeeper")).unwrap();
        std::fs::create_dir_all(dir.join("metadata")).unwrap();
        let config = format!(
            "clusterName=standalone\nbindAddress=127.0.0.1\nadvertisedAddress=127.0.0.1\n\
             brokerServicePort={port}\nwebServicePort={web}\n\
             managedLedgerDefaultEnsembleSize=1\nmanagedLedgerDefaultWriteQuorum=1\n\
             managedLedgerDefaultAckQuorum=1\n\
             loadManagerClassName=org.apache.pulsar.broker.loadbalance.NoopLoadManager\n\
             journalSyncData=false\nallowEphemeralPorts=true\nlisteningInterface=lo\nallowLoopback=true\n\
             allowAutoTopicCreation=true\nallowAutoTopicCreationType=non-partitioned\n\
             delayedDeliveryEnabled=true\ndelayedDeliveryTickTimeMillis=10\n\
             managedLedgerCacheSizeMB=64\ndbStorage_writeCacheMaxSizeMb=32\n\
             dbStorage_readAheadCacheMaxSizeMb=32\nfunctionsWorkerEnabled=false\n\
             transactionCoordinatorEnabled=false\n{extra}"
        );
        std::fs::write(dir.join("standalone.conf"), config).unwrap();
        std::fs::write(
            dir.join("log4j2.properties"),
            "appender.c.type=Console\nappender.c.name=C\nappender.c.layout.type=PatternLayout\n\
             appender.c.layout.pattern=%d %p %m%n\nrootLogger.level=WARN\nrootLogger.appenderRef.c.ref=C\n",
        )
        .unwrap();
        let mut me = Self {
            java,
            libs,
            dir,
            port,
            web,
            bookie,
            child: None,
        };
        me.restart();
        Some(me)
    }

    fn url(&self) -> String {
        format!("pulsar://127.0.0.1:{}", self.port)
    }

    fn admin(&self) -> String {
        format!("http://127.0.0.1:{}", self.web)
    }

    fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(&self.java)
            .current_dir(&self.dir)
            .args(["-Xmx512m", "-XX:MaxDirectMemorySize=256m"])
            .args(["--add-opens", "java.base/java.nio=ALL-UNNAMED"])
            .args(["--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED"])
            .args(["--add-opens", "java.base/java.util.zip=ALL-UNNAMED"])
            .arg("-Dio.netty.tryReflectionSetAccessible=true")
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.dir.join("log4j2.properties").display()
            ))
            .arg("-cp")
            .arg(format!("{}/*", self.libs))
            .arg("org.apache.pulsar.PulsarStandaloneStarter")
            .arg("--config")
            .arg(self.dir.join("standalone.conf"))
            .args([
                "-nfw",
                "-nss",
                "--bookkeeper-port",
                &self.bookie.to_string(),
            ])
            .arg("--bookkeeper-dir")
            .arg(self.dir.join("bookkeeper"))
            .arg("--metadata-dir")
            .arg(self.dir.join("metadata"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL: a crash, not a clean shutdown.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for PrivatePulsar {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until the standalone has created `public/default` (its last start-up step) and the bus is up.
async fn wait_up(admin: &str, bus: &dyn EventBus) {
    wait_up_as(admin, bus, None).await;
}

/// [`wait_up`], asking the admin API with `token`.
async fn wait_up_as(admin: &str, bus: &dyn EventBus, token: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(180);
    let http = reqwest::Client::new();
    loop {
        assert!(Instant::now() < deadline, "the broker did not come up");
        let mut request = http.get(format!("{admin}/admin/v2/namespaces/public"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let ready = match request.send().await {
            Ok(r) if r.status().is_success() => r
                .text()
                .await
                .unwrap_or_default()
                .contains("public/default"),
            _ => false,
        };
        if ready && bus.health().await.is_up() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keyed_messages_survive_a_broker_sigkill_mid_stream() {
    const TOTAL: usize = 10_000;
    const PUBLISHERS: usize = 4;
    let Some(mut broker) = PrivatePulsar::start() else {
        return;
    };
    let bus = Arc::new(
        PulsarBus::builder()
            .with_url(broker.url())
            .with_admin_url(broker.admin())
            .with_tenant(TENANT)
            // One consumer in the group: a read-ahead of 64 hoards from nobody, and takes the consuming
            // side from ≈ 220 s (the default of 1, a round trip per message) to well under a minute.
            .with_receiver_queue(64)
            .with_settings(Settings {
                ack_timeout: Duration::from_secs(10),
                max_attempts: 1000,
                ..Settings::default()
            })
            .build()
            .unwrap(),
    );
    wait_up(&broker.admin(), &*bus).await;
    let topic = topic("sigkill");
    let run = bus_faults::kill_mid_stream(
        bus.clone(),
        &topic,
        bus_faults::Load {
            total: TOTAL,
            publishers: PUBLISHERS,
            message: keyed,
            retry_pause: Duration::from_millis(100),
            patience: Duration::from_secs(400),
        },
        || {
            broker.kill();
            std::thread::sleep(Duration::from_millis(700));
            broker.restart();
        },
    )
    .await;
    run.assert_none_lost(TOTAL);
    let (at, deliveries, started_elapsed) = (run.published_at_kill, run.deliveries, run.elapsed);
    println!(
        "broker SIGKILLed after {at} of {TOTAL} published, restarted on the same data: {TOTAL} consumed in \
         {deliveries} deliveries ({} duplicates), {} publish retries, {:?}, {} publish failures counted",
        deliveries - TOTAL,
        run.publish_retries,
        started_elapsed,
        bus.publish_failures(),
    );
    bus.close().await.unwrap();
}

fn harness_bus(url: &str, admin: &str) -> PulsarBus {
    PulsarBus::builder()
        .with_url(url)
        .with_admin_url(admin)
        .with_tenant(TENANT)
        .with_settings(Settings {
            ack_timeout: Duration::from_secs(30),
            ..Settings::default()
        })
        .build()
        .unwrap()
}

/// The crashing process of [`a_crashed_consumers_messages_reach_another_member`]: run by that test as a
/// child (this test binary, this test alone) with `<url> <admin> <topic name> <count>` on stdin. It takes
/// `count` deliveries, acks none, says `HELD` and waits to be SIGKILLed. Run any other way (no stdin), it
/// does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of a_crashed_consumers_messages_reach_another_member"]
async fn crash_child() {
    use std::io::{BufRead, IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        return;
    }
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).unwrap() == 0 {
        return;
    }
    let args: Vec<&str> = line.split_whitespace().collect();
    let [url, admin, name, count] = args[..] else {
        panic!("expected <url> <admin> <topic> <count>, got {line:?}");
    };
    let bus = harness_bus(url, admin);
    let topic = Topic::new(&WorkspaceId::new("faults").unwrap(), name).unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..count.parse::<usize>().unwrap() {
        held.push(sub.next().await.unwrap().unwrap());
    }
    // On a line of its own (libtest printed "test crash_child ... " without a newline).
    println!("\nHELD {}", held.len());
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
}

/// A consumer process that dies (SIGKILL) holding un-acked deliveries: another member of its group gets
/// every one of them, long before the ack timeout (the broker sees the connection close and hands the
/// dead consumer's unacked messages to the other members of the Shared subscription). The attempt the
/// other member sees is the one the dead member saw (1), not 2: the attempt travels in the message, and the
/// broker does not count a redelivery after a disconnect (the next test pins that; see
/// `docs/event-bus-pulsar.md`, "A crashed consumer's attempt").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_consumers_messages_reach_another_member() {
    const COUNT: usize = 5;
    let Some(url) = avb::testing::live_server("AVB_TEST_PULSAR_URL") else {
        return;
    };
    let Some(admin) = avb::testing::live_server("AVB_TEST_PULSAR_ADMIN_URL") else {
        return;
    };
    let bus = harness_bus(&url, &admin);
    let topic = topic("crash");
    let ids: HashSet<String> = (0..COUNT).map(|i| format!("m{i}")).collect();
    bus.publish_batch(&topic, (0..COUNT).map(keyed).collect())
        .await
        .unwrap();
    let mut child =
        bus_faults::spawn_holding_child(&format!("{url} {admin} {} {COUNT}", topic.name()), COUNT);
    // The survivor joins while the child still holds everything: it must get nothing yet.
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_secs(2), sub.next()).await;
    assert!(
        early.is_err(),
        "a held message went to another member: {early:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let mut got = HashMap::new();
    while got.len() < COUNT {
        // Well inside the 30 s ack timeout: the broker redelivers on the dead connection.
        let d = tokio::time::timeout(Duration::from_secs(20), sub.next())
            .await
            .expect(
                "the crashed consumer's messages came to the other member before the ack timeout",
            )
            .unwrap()
            .unwrap();
        got.insert(d.message().id.to_string(), d.attempt());
        d.ack().await.unwrap();
    }
    assert_eq!(got.keys().cloned().collect::<HashSet<_>>(), ids);
    println!("the crashed member's deliveries came back with attempts {got:?}");
    bus.close().await.unwrap();
}

/// The broker's own redelivery count (what a `DeadLetterPolicy { max_redeliver_count: 1, .. }` of the
/// `pulsar` crate acts on) does not see a crash: read with PyPI pulsar-client
/// (`tests/fixtures/pulsar/redelivery_count.py`), a negative ack counts (1), but a consumer that closed
/// holding the message, or was SIGKILLed holding it, gives it back at 0. So no route through that count can
/// make a crashed member's delivery arrive at attempt 2. If this starts to fail, the broker counts
/// disconnects now and that route opens (`docs/event-bus-pulsar.md`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brokers_redelivery_count_does_not_count_a_crash() {
    let Some(url) = avb::testing::live_server("AVB_TEST_PULSAR_URL") else {
        return;
    };
    let Some(python) = avb::testing::live_binary("AVB_TEST_PULSAR_PYTHON") else {
        return;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pulsar/redelivery_count.py"
    );
    let name = format!(
        "persistent://public/default/avb-redelivery-count-{}",
        uuid::Uuid::new_v4().simple()
    );
    let out = Command::new(python)
        .args([script, &url, &name])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "redelivery_count.py failed");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().rfind(|l| l.starts_with('{')).unwrap();
    let counts: serde_json::Value = serde_json::from_str(line).unwrap();
    println!("the broker's redelivery counts: {counts}");
    assert_eq!(counts["after_nack"], 1, "{counts}");
    assert_eq!(counts["after_close"], 0, "{counts}");
    assert_eq!(counts["after_crash"], 0, "{counts}");
}

/// A private standalone with token authentication and authorization on: a bus with `PULSAR_TOKEN`'s token
/// (a superuser's HS256 JWT) creates its namespace through the admin API and round-trips a message; a bus
/// without it, or with a forged one, is refused with a clear error that shows no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_authentication_reaches_the_broker_and_the_admin_api() {
    use base64::Engine as _;
    let key: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let sign = |key: &[u8]| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({ "sub": "avb-admin" }),
            &jsonwebtoken::EncodingKey::from_secret(key),
        )
        .unwrap()
    };
    let token = sign(&key);
    let forged = sign(b"not the broker's key, not the broker's key");
    let extra = format!(
        "authenticationEnabled=true\n\
         authenticationProviders=org.apache.pulsar.broker.authentication.AuthenticationProviderToken\n\
         tokenSecretKey=data:;base64,{}\n\
         authorizationEnabled=true\nsuperUserRoles=avb-admin\n\
         brokerClientAuthenticationPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken\n\
         brokerClientAuthenticationParameters=token:{token}\n",
        base64::engine::general_purpose::STANDARD.encode(&key)
    );
    let Some(broker) = PrivatePulsar::start_with(&extra) else {
        return;
    };
    let build = |token: Option<&str>| {
        let mut b = PulsarBus::builder()
            .with_url(broker.url())
            .with_admin_url(broker.admin())
            .with_tenant(TENANT);
        if let Some(t) = token {
            b = b.with_token(t);
        }
        b.build().unwrap()
    };
    let bus = build(Some(&token));
    wait_up_as(&broker.admin(), &bus, Some(&token)).await;
    let topic = topic("auth");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let sent = Message::new(&b"authenticated"[..]);
    bus.publish(&topic, sent.clone()).await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(d.message().id, sent.id);
    d.ack().await.unwrap();
    bus.close().await.unwrap();

    for (who, bus) in [
        ("no token", build(None)),
        ("a forged token", build(Some(&forged))),
    ] {
        let other = Topic::new(&WorkspaceId::new("faults-unauth").unwrap(), "t").unwrap();
        let err = tokio::time::timeout(
            Duration::from_secs(60),
            bus.publish(&other, Message::new(&b"x"[..])),
        )
        .await
        .expect("an answer, not a hang")
        .expect_err("refused");
        let text = err.to_string();
        println!("{who}: {text}");
        assert!(!text.contains(&token) && !text.contains(&forged), "{text}");
        assert!(
            text.contains("401") || text.contains("uthenticat"),
            "{who}: {text}"
        );
        assert!(!bus.health().await.is_up(), "{who}: health must be down");
    }
}
