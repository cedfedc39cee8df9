//! Kafka fault tests: a PRIVATE Apache Kafka broker (the harness's jars, `AVB_TEST_KAFKA_LIBS`, run by
//! `AVB_TEST_KAFKA_JAVA`) on free loopback ports, SIGKILLed and restarted by the test itself — the shared
//! harness broker is never touched — and a consumer group that gains a member mid-stream on the harness
//! broker.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

#[path = "support/bus_faults.rs"]
mod bus_faults;
use avb::event_bus::kafka::KafkaBus;
use avb::event_bus::{EventBus, Settings, StartPosition, Topic, WorkspaceId};
use bus_faults::{ack_until_done, keyed, topic};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct PrivateKafka {
    java: PathBuf,
    libs: String,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivateKafka {
    /// Writes a one-node KRaft configuration (as `scripts/services.d/kafka.sh` does), formats the data
    /// directory and starts the broker.
    fn start() -> Option<Self> {
        let java = avb::testing::live_binary("AVB_TEST_KAFKA_JAVA")?;
        let libs = avb::testing::harness_value("AVB_TEST_KAFKA_LIBS")?;
        let (port, controller) = (free_port(), free_port());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("kafka-faults-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = format!(
            "process.roles=broker,controller\nnode.id=1\n\
             controller.quorum.voters=1@127.0.0.1:{controller}\n\
             listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
             advertised.listeners=PLAINTEXT://127.0.0.1:{port}\ncontroller.listener.names=CONTROLLER\n\
             inter.broker.listener.name=PLAINTEXT\n\
             listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
             log.dirs={}\nauto.create.topics.enable=false\nnum.partitions=1\n\
             offsets.topic.replication.factor=1\noffsets.topic.num.partitions=1\n\
             transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\n\
             share.coordinator.state.topic.replication.factor=1\nshare.coordinator.state.topic.min.isr=1\n\
             group.initial.rebalance.delay.ms=0\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("server.properties"), config).unwrap();
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
            child: None,
        };
        let formatted = me
            .command("kafka.tools.StorageTool")
            .args(["format", "-t", "YXZiLWthZmthLWZhdWx0cw", "-c"])
            .arg(me.dir.join("server.properties"))
            .arg("-g")
            .status()
            .unwrap();
        assert!(formatted.success(), "formatting the private broker's data");
        me.restart();
        Some(me)
    }

    fn command(&self, main: &str) -> Command {
        let mut cmd = Command::new(&self.java);
        cmd.arg("-Xmx512m")
            .arg("-cp")
            .arg(format!("{}/*", self.libs))
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.dir.join("log4j2.properties").display()
            ))
            .arg(main)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = self
            .command("kafka.Kafka")
            .arg(self.dir.join("server.properties"))
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

impl Drop for PrivateKafka {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn wait_up(bus: &dyn EventBus) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !bus.health().await.is_up() {
        assert!(Instant::now() < deadline, "the broker did not come up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keyed_messages_survive_a_broker_sigkill_mid_stream() {
    const TOTAL: usize = 10_000;
    const PUBLISHERS: usize = 4;
    let Some(mut broker) = PrivateKafka::start() else {
        return;
    };
    let bus = Arc::new(
        KafkaBus::builder()
            .with_bootstrap_servers([broker.bootstrap()])
            .with_settings(Settings {
                ack_timeout: Duration::from_secs(5),
                max_attempts: 1000,
                ..Settings::default()
            })
            .build()
            .unwrap(),
    );
    wait_up(&*bus).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_mid_stream_loses_nothing() {
    const TOTAL: usize = 2_000;
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    // Two buses are two processes: each has its own consumer in the Kafka group.
    let build = || {
        Arc::new(
            KafkaBus::builder()
                .with_bootstrap_servers([&bootstrap])
                .with_partitions(4)
                .with_settings(Settings {
                    ack_timeout: Duration::from_secs(5),
                    ..Settings::default()
                })
                .build()
                .unwrap(),
        )
    };
    let (first, second) = (build(), build());
    let topic = topic("rebalance");
    let seen: Arc<Mutex<HashMap<String, Vec<usize>>>> = Arc::default();
    // A member: its subscription, consumed by a task until every message was seen.
    let consume = |mut sub: avb::event_bus::Subscription, member: usize| {
        let seen = seen.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(240);
            loop {
                if seen.lock().unwrap().len() >= TOTAL {
                    return;
                }
                assert!(Instant::now() < deadline, "not everything consumed in time");
                if let Ok(Some(Ok(d))) =
                    tokio::time::timeout(Duration::from_millis(200), sub.next()).await
                {
                    seen.lock()
                        .unwrap()
                        .entry(d.message().id.to_string())
                        .or_default()
                        .push(member);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    ack_until_done(&d).await;
                }
            }
        })
    };
    let join = async |bus: &KafkaBus| {
        bus.subscribe(&topic, "g", StartPosition::Earliest)
            .await
            .unwrap()
    };
    let a = consume(join(&first).await, 0);
    let publisher = {
        let (bus, topic) = (first.clone(), topic.clone());
        tokio::spawn(async move {
            for chunk in (0..TOTAL).collect::<Vec<_>>().chunks(100) {
                bus.publish_batch(&topic, chunk.iter().map(|i| keyed(*i)).collect())
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    while seen.lock().unwrap().len() < TOTAL / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let b = consume(join(&second).await, 1);
    publisher.await.unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let expected: HashSet<String> = (0..TOTAL).map(|i| format!("m{i}")).collect();
    assert_eq!(
        seen.keys().cloned().collect::<HashSet<_>>(),
        expected,
        "nothing lost across the rebalance"
    );
    let by_second = seen.values().filter(|m| m.contains(&1)).count();
    let duplicates: usize = seen.values().map(|m| m.len() - 1).sum();
    println!("rebalance: the joining member took {by_second} of {TOTAL}; {duplicates} duplicates");
    assert!(
        by_second > 0,
        "the joining member was given partitions and consumed"
    );
    first.close().await.unwrap();
    second.close().await.unwrap();
}

/// The crashing process of [`a_crashed_consumers_messages_reach_another_member_with_attempt_2`]: run by
/// that test as a child (this test binary, this test alone) with `<bootstrap> <topic name> <count>` on
/// stdin. It takes `count` deliveries, acks none, says `HELD` and waits to be SIGKILLed. Run any other way
/// (no stdin), it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of a_crashed_consumers_messages_reach_another_member_with_attempt_2"]
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
    let [bootstrap, name, count] = args[..] else {
        panic!("expected <bootstrap> <topic> <count>, got {line:?}");
    };
    let bus = KafkaBus::builder()
        .with_bootstrap_servers([bootstrap])
        .build()
        .unwrap();
    let topic = Topic::new(&WorkspaceId::new("faults").unwrap(), name).unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..count.parse::<usize>().unwrap() {
        held.push(sub.next().await.unwrap().unwrap());
    }
    // Past a commit round (every 100 ms), so the group's metadata knows the hand-outs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // On a line of its own (libtest printed "test crash_child ... " without a newline).
    println!("\nHELD {}", held.len());
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
}

/// A consumer process that dies (SIGKILL) holding un-acked deliveries: another member of its group gets
/// every one of them, with an attempt of at least 2 (the attempt counts survive in the group's commit
/// metadata).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_consumers_messages_reach_another_member_with_attempt_2() {
    const COUNT: usize = 5;
    let Some(bootstrap) = avb::testing::live_server("AVB_TEST_KAFKA_BOOTSTRAP") else {
        return;
    };
    let bus = KafkaBus::builder()
        .with_bootstrap_servers([&bootstrap])
        .build()
        .unwrap();
    let topic = topic("crash");
    let ids: HashSet<String> = (0..COUNT).map(|i| format!("m{i}")).collect();
    bus.publish_batch(&topic, (0..COUNT).map(keyed).collect())
        .await
        .unwrap();
    let mut child =
        bus_faults::spawn_holding_child(&format!("{bootstrap} {} {COUNT}", topic.name()), COUNT);
    child.kill().unwrap();
    child.wait().unwrap();

    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let mut got = HashMap::new();
    while got.len() < COUNT {
        // The dead member leaves the group when its session (10 s) expires.
        let d = tokio::time::timeout(Duration::from_secs(60), sub.next())
            .await
            .expect("the crashed consumer's messages came to the other member")
            .unwrap()
            .unwrap();
        got.insert(d.message().id.to_string(), d.attempt());
        d.ack().await.unwrap();
    }
    assert_eq!(got.keys().cloned().collect::<HashSet<_>>(), ids);
    assert!(
        got.values().all(|a| *a >= 2),
        "every orphan comes back as attempt >= 2: {got:?}"
    );
    bus.close().await.unwrap();
}
