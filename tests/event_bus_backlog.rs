//! `EventBus::backlog` where the conformance suite cannot go: what Redis cannot count is `None`, never a
//! made-up number.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use avb::event_bus::redis::{RedisBus, key_root, stream_key};
use avb::event_bus::{EventBus, Message, StartPosition, Topic, WorkspaceId};

/// `XRANGE`'s answer: (entry id, fields).
type Entries = Vec<(String, Vec<(String, Vec<u8>)>)>;

/// After another program deletes (`XDEL`) an entry the group has not read, Redis answers a nil `lag` in
/// `XINFO GROUPS`: `backlog` then reports `lag: None` (unknown) while `in_flight` and `dead_letters` stay
/// counted — and once the group has read past the deleted entry, the lag is known again.
#[tokio::test]
async fn a_deleted_unread_entry_makes_the_redis_lag_unknown_not_wrong() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let bus = RedisBus::builder().with_url(&url).build().unwrap();
    let topic = Topic::new(
        &WorkspaceId::new("tests").unwrap(),
        format!("backlog-{}", uuid::Uuid::new_v4().simple()),
    )
    .unwrap();
    let key = stream_key(&key_root(&avb::ResourceScope::default()), &topic);
    let mut raw = ::redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for i in 0..3u8 {
        bus.publish(&topic, Message::new(vec![i])).await.unwrap();
    }
    // The group is created at the end, and its only consumer goes away with its bus before reading
    // anything (no read-ahead can race with the deletion below).
    drop(
        bus.subscribe(&topic, "g", StartPosition::Latest)
            .await
            .unwrap(),
    );
    bus.close().await.unwrap();
    let bus = RedisBus::builder().with_url(&url).build().unwrap();
    let before = bus.backlog(&topic, "g").await.unwrap();
    assert_eq!(before.lag, Some(0), "{before:?}");
    bus.publish(&topic, Message::new(&b"to delete"[..]))
        .await
        .unwrap();
    assert_eq!(bus.backlog(&topic, "g").await.unwrap().lag, Some(1));
    let newest: Entries = ::redis::cmd("XREVRANGE")
        .arg(&key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut raw)
        .await
        .unwrap();
    let deleted: u64 = ::redis::cmd("XDEL")
        .arg(&key)
        .arg(&newest[0].0)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let after = bus.backlog(&topic, "g").await.unwrap();
    assert_eq!(after.lag, None, "Redis cannot count the lag now: {after:?}");
    assert_eq!(after.in_flight, Some(0), "{after:?}");
    assert_eq!(after.dead_letters, Some(0), "{after:?}");

    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new(&b"after"[..]))
        .await
        .unwrap();
    let d = sub.next().await.unwrap().unwrap();
    assert_eq!(&d.message().payload[..], b"after");
    let known = bus.backlog(&topic, "g").await.unwrap();
    // Known again — though Redis 7.0 may still count the deleted entry in its `lag` (besides the one
    // pending): its entries-read counter does not skip tombstones. Documented in the Redis backlog docs.
    assert!(
        matches!(known.lag, Some(n) if n >= 1),
        "read past the deleted entry: {known:?}"
    );
    d.ack().await.unwrap();
    drop(sub);
    bus.close().await.unwrap();
}

/// A group subscribed at `Latest` has a known lag from the start — also when its consumer went away
/// before reading anything (the group is created with `ENTRIESREAD`).
#[tokio::test]
async fn a_latest_group_has_a_lag_before_it_reads() {
    let Some(url) = avb::testing::live_server("AVB_TEST_REDIS_URL") else {
        return;
    };
    let bus = RedisBus::builder().with_url(&url).build().unwrap();
    let topic = Topic::new(
        &WorkspaceId::new("tests").unwrap(),
        format!("latest-{}", uuid::Uuid::new_v4().simple()),
    )
    .unwrap();
    bus.publish(&topic, Message::new(&b"old"[..]))
        .await
        .unwrap();
    let sub = bus
        .subscribe(&topic, "g", StartPosition::Latest)
        .await
        .unwrap();
    drop(sub);
    bus.close().await.unwrap(); // no reader is left to read anything
    assert_eq!(bus.backlog(&topic, "g").await.unwrap().lag, Some(0));
    let other = RedisBus::builder().with_url(&url).build().unwrap();
    for i in 0..2u8 {
        other.publish(&topic, Message::new(vec![i])).await.unwrap();
    }
    let b = other.backlog(&topic, "g").await.unwrap();
    assert_eq!(b.lag, Some(2), "{b:?}");
    assert_eq!(b.in_flight, Some(0), "{b:?}");
    // Subscribing again resumes the group (the script finds it and creates nothing).
    let mut again = other
        .subscribe(&topic, "g", StartPosition::Latest)
        .await
        .unwrap();
    let d = again.next().await.unwrap().unwrap();
    assert_eq!(&d.message().payload[..], &[0u8][..]);
    d.ack().await.unwrap();
    drop(again);
    other.close().await.unwrap();
}
