//! EventBus fault tests against a real Redis: a PRIVATE `redis-server` (from `AVB_TEST_REDIS_SERVER_BIN`) on
//! a free loopback port with AOF (`appendfsync always`), killed and restarted by the test itself — the
//! shared harness server is never touched — plus a consumer that "crashes" against the harness server.
#![cfg(feature = "event-bus-redis")]
// Tests may unwrap (house rule); clippy does not see these helpers as test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use avb::event_bus::redis::RedisBus;
use avb::event_bus::{EventBus, Message, MessageId, StartPosition};
#[path = "support/bus_faults.rs"]
mod bus_faults;
#[path = "support/private_redis.rs"]
mod private_redis;
use bus_faults::topic;
use private_redis::PrivateRedis;

use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_survive_a_broker_restart_mid_stream() {
    const TOTAL: usize = 10_000;
    const PUBLISHERS: usize = 4;
    let Some(mut server) = PrivateRedis::start() else {
        return;
    };
    let bus = Arc::new(
        RedisBus::builder()
            .with_url(server.url())
            .with_ack_timeout(Duration::from_secs(2))
            .with_max_attempts(1000)
            .with_max_len(None)
            .with_claim_interval(Duration::from_millis(50))
            .build()
            .unwrap(),
    );
    let topic = topic("restart");
    // Kill the broker once a third is published, keep it down a moment, bring it back on the same data.
    let run = bus_faults::kill_mid_stream(
        bus.clone(),
        &topic,
        bus_faults::Load {
            total: TOTAL,
            publishers: PUBLISHERS,
            message: bus_faults::unkeyed,
            retry_pause: Duration::from_millis(20),
            patience: Duration::from_secs(240),
        },
        || {
            server.kill();
            std::thread::sleep(Duration::from_millis(700));
            server.restart();
        },
    )
    .await;
    run.assert_none_lost(TOTAL);
    let (at, consumed_at_kill, deliveries) =
        (run.published_at_kill, run.consumed_at_kill, run.deliveries);
    let (consume_errors, max_attempt, started_elapsed) =
        (run.consume_errors, run.max_attempt, run.elapsed);
    let retries = run.publish_retries;
    let duplicates = run.duplicates();
    println!(
        "restart after {at} published, {consumed_at_kill} consumed (backlog at the kill: {} messages): \
         {TOTAL} consumed ({deliveries} deliveries, {duplicates} duplicates, highest attempt {max_attempt}), \
         {retries} publish retries, {consume_errors} consume errors, {:?}",
        at.saturating_sub(consumed_at_kill),
        started_elapsed
    );
    assert!(
        retries + consume_errors > 0,
        "the restart was noticed by the clients"
    );
    // Where a duplicate can come from: a publish whose reply the kill cut off and that its publisher
    // retried (one per publisher: each has one publish in flight), and the one delivery the consumer was
    // acking at the kill (its ack retries until it lands, normally well inside the ack timeout). With
    // `appendfsync always` nothing acked is lost, and what the consumer's reader had read ahead goes back
    // untouched (not handed out twice). So more than PUBLISHERS + 1 duplicates is a defect, not bad luck.
    assert!(
        duplicates <= PUBLISHERS + 1,
        "{duplicates} duplicate deliveries: at most {} (one cut-off publish per publisher, one delivery \
         being acked)",
        PUBLISHERS + 1
    );
    // An attempt counts a hand-out: a message is handed out at most twice (once before the kill, once
    // redelivered because its ack was cut off), plus one for a read whose reply the kill cut off (Redis
    // counted it, nobody was handed it, the ack timeout claims it again).
    assert!(
        max_attempt <= 3,
        "highest attempt {max_attempt}: a message was handed out more often than the restart explains"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_is_reported_and_publish_is_retryable_until_it_is_back() {
    let Some(mut server) = PrivateRedis::start() else {
        return;
    };
    let bus = RedisBus::builder().with_url(server.url()).build().unwrap();
    let topic = topic("down");
    assert!(bus.health().await.is_up());
    bus.publish(&topic, Message::new(&b"before"[..]))
        .await
        .unwrap();

    server.kill();
    let health = bus.health().await;
    assert!(!health.is_up(), "{health:?}");
    let reason = health.reason.clone().unwrap_or_default();
    assert!(!reason.is_empty(), "down with a reason");
    println!("health while down: {reason}");
    let err = bus
        .publish(&topic, Message::new(&b"during"[..]))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !bus.health().await.is_up() {
        assert!(Instant::now() < deadline, "health did not come back up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bus.publish(&topic, Message::new(&b"after"[..]))
        .await
        .unwrap();
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    for expected in [&b"before"[..], &b"after"[..]] {
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!(
            d.message().payload.as_ref(),
            expected,
            "AOF kept the message"
        );
        d.ack().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_consumers_unacked_messages_go_to_another_member() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let build = || {
        RedisBus::builder()
            .with_url(&url)
            .with_ack_timeout(Duration::from_secs(1))
            .with_claim_interval(Duration::from_millis(50))
            .build()
            .unwrap()
    };
    let (crashing, survivor) = (build(), build());
    let topic = topic("crash");
    let mut doomed = crashing
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let ids: Vec<MessageId> = crashing
        .publish_batch(
            &topic,
            (0..5).map(|i| Message::new(vec![i])).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(doomed.next().await.unwrap().unwrap());
    }
    // A crash runs no destructors: nothing is given back, only the ack timeout can recover them.
    std::mem::forget(held);
    std::mem::forget(doomed);

    let mut other = survivor
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 5 {
        let d = tokio::time::timeout(Duration::from_secs(20), other.next())
            .await
            .expect("redelivered within the ack timeout and some slack")
            .unwrap()
            .unwrap();
        assert_eq!(d.attempt(), 2, "the second delivery of each");
        got.push(d.message().id.clone());
        d.ack().await.unwrap();
    }
    got.sort();
    let mut ids = ids;
    ids.sort();
    assert_eq!(got, ids);
}
