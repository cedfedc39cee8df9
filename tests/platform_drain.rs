//! `Platform::shutdown(deadline)`: new work is refused, work in flight and deliveries handed out are waited
//! for (a slow consumer holding a delivery), the ack is flushed, the bus refuses afterwards; the message is
//! acknowledged exactly once — on memory, and on a real Redis, where nothing is pending for redelivery
//! after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::event_bus::{Message, StartPosition, Topic};
use avb::{Platform, Port, WorkspaceId};
use std::sync::Arc;
use std::time::Duration;

/// How long a wrong shutdown (one that does not wait) gets to finish early. Not an assertion on time: a
/// correct shutdown cannot finish at all before the ack.
const HEADROOM: Duration = Duration::from_millis(300);

async fn platform(pairs: &[(&str, &str)]) -> Arc<Platform> {
    let mut all = vec![("EVENT_BUS_DRAIN_TIMEOUT_MS", "60000")];
    all.extend_from_slice(pairs);
    Arc::new(
        Platform::builder()
            .uses(&[Port::EventBus])
            .from_pairs(all)
            .build()
            .await
            .unwrap(),
    )
}

/// A slow consumer holds one delivery (and, with `with_work`, a unit of work) while shutdown starts; the
/// shutdown finishes only after its ack. Returns the topic.
async fn slow_consumer_is_waited_for(platform: &Arc<Platform>, with_work: bool) -> Topic {
    let ws = WorkspaceId::new(format!("drain{}", uuid::Uuid::new_v4().simple())).unwrap();
    let topic = Topic::new(&ws, "orders").unwrap();
    let bus = platform.ports().event_bus().clone();
    let mut sub = bus
        .subscribe(&topic, "workers", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new("m1")).await.unwrap();
    let delivery = sub.next().await.unwrap().unwrap();
    assert_eq!(delivery.message().payload.as_ref(), b"m1");
    let work = with_work.then(|| platform.begin().unwrap());

    let p = platform.clone();
    let shutdown = tokio::spawn(async move { p.shutdown(Duration::from_secs(60)).await });
    while !platform.is_shutting_down() {
        tokio::task::yield_now().await;
    }
    assert_eq!(platform.begin().unwrap_err(), avb::ShuttingDown);
    tokio::time::sleep(HEADROOM).await;
    assert!(
        !shutdown.is_finished(),
        "shutdown finished while a delivery was held"
    );
    delivery.ack().await.unwrap();
    drop(work);
    let report = shutdown.await.unwrap();
    assert!(report.is_clean(), "{report}");
    // Delivered once: the subscription hands out nothing more, the bus refuses new work.
    assert!(sub.next().await.is_none());
    assert!(bus.publish(&topic, Message::new("late")).await.is_err());
    assert!(
        bus.subscribe(&topic, "workers", StartPosition::Earliest)
            .await
            .is_err()
    );
    topic
}

#[tokio::test]
async fn memory_waits_for_the_slow_consumers_ack() {
    let platform = platform(&[("EVENT_BUS", "memory")]).await;
    slow_consumer_is_waited_for(&platform, false).await;
}

#[tokio::test]
async fn memory_waits_for_work_in_flight_then_the_delivery() {
    let platform = platform(&[("EVENT_BUS", "memory")]).await;
    slow_consumer_is_waited_for(&platform, true).await;
}

#[tokio::test]
async fn redis_waits_for_the_ack_and_nothing_is_redelivered_after_a_restart() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let pairs = [
        ("EVENT_BUS", "redis"),
        ("REDIS_URL", url.as_str()),
        ("EVENT_BUS_ACK_TIMEOUT_MS", "200"),
    ];
    let first = platform(&pairs).await;
    let topic = slow_consumer_is_waited_for(&first, false).await;
    drop(first);

    // The group holds nothing pending: the ack reached Redis before shutdown returned. (The stream key
    // is found by the topic's unique workspace, whatever the backend's naming.)
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{}*", topic.workspace()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let stream = keys
        .iter()
        .find(|k| k.ends_with(":orders"))
        .unwrap_or_else(|| panic!("no stream key among {keys:?}"));
    // XPENDING's summary form: [count, smallest id, greatest id, [[consumer, count]…]].
    let pending: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg("workers")
        .query_async(&mut conn)
        .await
        .unwrap();
    let count = match &pending {
        redis::Value::Array(items) => items.first().cloned(),
        _ => None,
    };
    assert_eq!(
        count,
        Some(redis::Value::Int(0)),
        "pending after shutdown: {pending:?}"
    );

    // A restarted service in the same group gets the next message, first try, and never m1 again
    // (m1 would be reclaimed after the 200 ms ack timeout if it were still pending).
    let second = platform(&pairs).await;
    let bus = second.ports().event_bus().clone();
    let mut sub = bus
        .subscribe(&topic, "workers", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new("m2")).await.unwrap();
    let d = sub.next().await.unwrap().unwrap();
    assert_eq!(d.message().payload.as_ref(), b"m2");
    assert_eq!(d.attempt(), 1);
    d.ack().await.unwrap();
    assert!(second.shutdown(Duration::from_secs(30)).await.is_clean());
    let _: () = redis::cmd("DEL")
        .arg(stream)
        .query_async(&mut conn)
        .await
        .unwrap();
}
