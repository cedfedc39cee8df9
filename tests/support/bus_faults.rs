//! The EventBus fault driver every broker's fault tests share: publishers and one consumer run while the
//! broker is killed once a third is published and brought back; the run says what was seen.

#![allow(dead_code)] // each test file uses what it needs

use avb::event_bus::{
    Delivery, EventBus, Message, MessageId, StartPosition, Subscription, Topic, WorkspaceId,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A fresh topic for `case` in workspace `faults`.
pub fn topic(case: &str) -> Topic {
    Topic::new(
        &WorkspaceId::new("faults").unwrap(),
        format!("{case}-{}", uuid::Uuid::new_v4().simple()),
    )
    .unwrap()
}

/// Acks, retrying what is retryable (the broker may be down at that moment).
pub async fn ack_until_done(d: &Delivery) {
    loop {
        match d.ack().await {
            Ok(()) => return,
            Err(e) if e.is_retryable() => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("ack failed: {e}"),
        }
    }
}

/// Message `i`: id `m<i>`, one of 64 keys.
pub fn keyed(i: usize) -> Message {
    Message::new(format!("payload {i}").into_bytes())
        .with_key(format!("k{}", i % 64))
        .with_id(MessageId::new(format!("m{i}")))
}

/// Message `i` without a key.
pub fn unkeyed(i: usize) -> Message {
    Message::new(format!("payload {i}").into_bytes()).with_id(MessageId::new(format!("m{i}")))
}

/// What a [`kill_mid_stream`] run saw.
#[derive(Debug)]
pub struct Run {
    /// Published when the broker was killed.
    pub published_at_kill: usize,
    /// Consumed (distinct) when the broker was killed.
    pub consumed_at_kill: usize,
    /// Distinct message ids consumed.
    pub seen: HashSet<String>,
    /// Deliveries in all (duplicates included).
    pub deliveries: usize,
    /// Retryable publish errors (each retried).
    pub publish_retries: usize,
    /// Retryable errors `next` returned.
    pub consume_errors: usize,
    /// The highest attempt handed out.
    pub max_attempt: u32,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl Run {
    /// Asserts every one of `total` messages (`m0 … m<total-1>`) was consumed: none lost.
    pub fn assert_none_lost(&self, total: usize) {
        let expected: HashSet<String> = (0..total).map(|i| format!("m{i}")).collect();
        assert_eq!(
            self.seen, expected,
            "every published message consumed: none lost"
        );
    }

    /// Deliveries beyond one per message.
    pub fn duplicates(&self) -> usize {
        self.deliveries - self.seen.len()
    }
}

/// The load of a [`kill_mid_stream`] run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Messages published in all.
    pub total: usize,
    /// Publishing tasks.
    pub publishers: usize,
    /// Message `i`.
    pub message: fn(usize) -> Message,
    /// The pause before a publish is retried.
    pub retry_pause: Duration,
    /// The longest the consumer may take for all of them.
    pub patience: Duration,
}

/// Publishes `load.total` messages from `load.publishers` tasks (retrying what is retryable) while one
/// subscription of group `g` consumes and acks them; once a third is published runs `bounce` (kill the
/// broker, wait, restart it). Returns when every message was consumed (within `load.patience`, else the
/// test fails naming how many arrived).
pub async fn kill_mid_stream(
    bus: Arc<dyn EventBus>,
    topic: &Topic,
    load: Load,
    bounce: impl FnOnce(),
) -> Run {
    let Load {
        total,
        publishers,
        message,
        retry_pause,
        patience,
    } = load;
    let sub = bus
        .subscribe(topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let published = Arc::new(AtomicUsize::new(0));
    let consumed = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let (bus, topic, published, retries) = (
            bus.clone(),
            topic.clone(),
            published.clone(),
            retries.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in (p..total).step_by(publishers) {
                let m = message(i);
                loop {
                    match bus.publish(&topic, m.clone()).await {
                        Ok(_) => break,
                        Err(e) if e.is_retryable() => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(retry_pause).await;
                        }
                        Err(e) => panic!("publish failed: {e}"),
                    }
                }
                published.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let consumer = tokio::spawn(consume(sub, total, consumed.clone(), patience));

    while published.load(Ordering::Relaxed) < total / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let published_at_kill = published.load(Ordering::Relaxed);
    let consumed_at_kill = consumed.load(Ordering::Relaxed);
    bounce();
    for t in tasks {
        t.await.unwrap();
    }
    let (seen, deliveries, consume_errors, max_attempt) = consumer.await.unwrap();
    Run {
        published_at_kill,
        consumed_at_kill,
        seen,
        deliveries,
        publish_retries: retries.load(Ordering::Relaxed),
        consume_errors,
        max_attempt,
        elapsed: started.elapsed(),
    }
}

async fn consume(
    mut sub: Subscription,
    total: usize,
    consumed: Arc<AtomicUsize>,
    patience: Duration,
) -> (HashSet<String>, usize, usize, u32) {
    let mut seen = HashSet::new();
    let (mut deliveries, mut errors, mut max_attempt) = (0usize, 0usize, 0u32);
    let deadline = Instant::now() + patience;
    while seen.len() < total {
        assert!(
            Instant::now() < deadline,
            "only {} of {total} consumed",
            seen.len()
        );
        match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
            Ok(Some(Ok(d))) => {
                deliveries += 1;
                max_attempt = max_attempt.max(d.attempt());
                seen.insert(d.message().id.to_string());
                consumed.store(seen.len(), Ordering::Relaxed);
                ack_until_done(&d).await;
            }
            Ok(Some(Err(e))) if e.is_retryable() => errors += 1,
            Ok(Some(Err(e))) => panic!("consume failed: {e}"),
            Ok(None) => panic!("subscription ended"),
            Err(_) => {}
        }
    }
    (seen, deliveries, errors, max_attempt)
}

/// Runs this test binary's ignored `crash_child` test as a separate process, hands it `input` (one line
/// on its stdin: what to consume), and returns once it says it holds `count` deliveries unacked — for the
/// caller to SIGKILL it (a crash runs no destructors, gives nothing back).
pub fn spawn_holding_child(input: &str, count: usize) -> std::process::Child {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{input}").unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("HELD") {
        line.clear();
        // Ends (EOF, a failure) if the child dies before holding its deliveries.
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended before holding its deliveries"
        );
    }
    assert_eq!(line.trim(), format!("HELD {count}"));
    child
}
