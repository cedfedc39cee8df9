//! Unit tests of the in-memory bus (the conformance suite runs here too).
use super::*;
use crate::conformance::{self, Harness};

struct Memory;

#[async_trait::async_trait]
impl Harness for Memory {
    fn settings(&self) -> Settings {
        Settings {
            ack_timeout: Duration::from_secs(1),
            max_attempts: 3,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_millis(400),
            drain_timeout: Duration::from_secs(1),
            ..Settings::default()
        }
    }
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
        Ok(Arc::new(
            MemoryBus::builder()
                .with_settings(self.settings())
                .build()?,
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite_with_no_skips() {
    conformance::run_all(&Memory)
        .await
        .assert_exact(&avb_conformance::Expect::all());
}

#[test]
fn builder_rejects_bad_settings_by_name() {
    let err = MemoryBus::builder()
        .with_max_attempts(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_attempts=\"0\" is invalid: expected an integer >= 1"
    );
    let err = MemoryBus::builder()
        .with_max_len(Some(0))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("max_len=\"0\""), "{err}");
    let err = MemoryBus::builder()
        .with_ack_timeout(std::time::Duration::from_millis(9))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("ack_timeout"), "{err}");
}

#[tokio::test]
async fn trims_the_log_to_max_len_for_new_earliest_groups() {
    let bus = MemoryBus::builder().with_max_len(Some(2)).build().unwrap();
    let topic = conformance::unique_topic("trim");
    for i in 0..5u8 {
        bus.publish(&topic, Message::new(vec![i])).await.unwrap();
    }
    let mut sub = bus
        .subscribe(&topic, "late", StartPosition::Earliest)
        .await
        .unwrap();
    let first = sub.next().await.unwrap().unwrap();
    assert_eq!(first.message().payload.as_ref(), &[3u8]);
}

#[tokio::test]
async fn dedupe_drops_only_retries_and_never_dead_letters() {
    let bus = MemoryBus::builder().with_max_attempts(1).build().unwrap();
    let topic = conformance::unique_topic("dedupe");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    // Enough distinct ids to fill both filter generations: none is taken for a retry.
    let n = DEDUPE_GENERATION * 3;
    let all: Vec<Message> = (0..n)
        .map(|i| Message::new(i.to_le_bytes().to_vec()))
        .collect();
    bus.publish_batch(&topic, all.clone()).await.unwrap();
    let last = all.last().unwrap().clone();
    bus.publish(&topic, last.clone()).await.unwrap();
    bus.publish_batch(&topic, vec![last.clone(), last.clone()])
        .await
        .unwrap();
    for m in &all {
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!(d.message_id(), &m.id);
        d.ack().await.unwrap();
    }
    let none = tokio::time::timeout(Duration::from_millis(50), sub.next()).await;
    assert!(none.is_err(), "the retries added nothing");
    // The same message dead-lettered by two groups is two dead letters.
    let mut dlq = bus
        .subscribe(&topic.dead_letter(), "ops", StartPosition::Earliest)
        .await
        .unwrap();
    let mut a = bus
        .subscribe(&topic, "a", StartPosition::Latest)
        .await
        .unwrap();
    let mut b = bus
        .subscribe(&topic, "b", StartPosition::Latest)
        .await
        .unwrap();
    let m = Message::new(&b"poison"[..]);
    bus.publish(&topic, m.clone()).await.unwrap();
    for sub in [&mut a, &mut b] {
        let d = sub.next().await.unwrap().unwrap();
        d.nack(Duration::ZERO, "bad").await.unwrap();
    }
    for _ in 0..2 {
        let d = dlq.next().await.unwrap().unwrap();
        assert_eq!(d.message_id(), &m.id);
        d.ack().await.unwrap();
    }
    // Dedupe off: a retry is a second message.
    let off = MemoryBus::builder()
        .with_dedupe_window(Duration::ZERO)
        .build()
        .unwrap();
    assert!(!off.capabilities().idempotent_publish);
    let mut s = off
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    off.publish(&topic, m.clone()).await.unwrap();
    off.publish(&topic, m.clone()).await.unwrap();
    for _ in 0..2 {
        assert_eq!(s.next().await.unwrap().unwrap().message_id(), &m.id);
    }
}

#[tokio::test]
async fn close_returns_at_the_drain_timeout_and_later_acks_still_work() {
    let bus = MemoryBus::builder()
        .with_drain_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let topic = conformance::unique_topic("drain_timeout");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new(&b"held"[..]))
        .await
        .unwrap();
    let held = sub.next().await.unwrap().unwrap();
    bus.close().await.unwrap();
    assert!(sub.next().await.is_none(), "nothing handed out after close");
    held.ack().await.unwrap();
    let err = held.extend(Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(err, Error::AlreadySettled { .. }), "{err}");
}

#[tokio::test]
async fn extending_a_lapsed_lease_is_lease_lost() {
    let bus = MemoryBus::builder()
        .with_ack_timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    let topic = conformance::unique_topic("lease_lost");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let m = Message::new(&b"slow"[..]);
    bus.publish(&topic, m.clone()).await.unwrap();
    let held = sub.next().await.unwrap().unwrap();
    let again = sub.next().await.unwrap().unwrap();
    assert_eq!((again.message_id(), again.attempt()), (&m.id, 2));
    match held.extend(Duration::from_secs(1)).await {
        Err(Error::LeaseLost { message_id, .. }) => assert_eq!(message_id, m.id.as_str()),
        other => panic!("{other:?}"),
    }
    again.ack().await.unwrap();
}

#[tokio::test]
async fn a_cancelled_next_does_not_stay_counted_as_waiting() {
    let bus = MemoryBus::builder().build().unwrap();
    let topic = conformance::unique_topic("cancelled_wait");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    for _ in 0..5 {
        let waited = tokio::time::timeout(Duration::from_millis(1), sub.next()).await;
        assert!(waited.is_err(), "nothing was published");
    }
    let state = bus.shared.topic(&topic);
    let waiting = {
        let t = lock(&state.inner);
        t.members[t.groups["g"]]
            .group
            .waiting
            .load(Ordering::SeqCst)
    };
    assert_eq!(waiting, 0, "dropped waits are not counted as waiting");
    bus.publish(&topic, Message::new(&b"x"[..])).await.unwrap();
    let d = sub.next().await.unwrap().unwrap();
    assert_eq!(d.attempt(), 1);
}

#[tokio::test]
async fn a_dead_lettered_keyed_message_releases_its_key() {
    let bus = MemoryBus::builder().with_max_attempts(2).build().unwrap();
    let topic = conformance::unique_topic("key_release");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    for i in 1..=2u8 {
        bus.publish(&topic, Message::new(vec![i]).with_key("k"))
            .await
            .unwrap();
    }
    for attempt in 1..=2 {
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!((d.message().payload[0], d.attempt()), (1, attempt));
        d.nack(Duration::ZERO, "bad").await.unwrap();
    }
    let d = sub.next().await.unwrap().unwrap();
    assert_eq!((d.message().payload[0], d.attempt()), (2, 1));
}

#[tokio::test]
async fn ack_timeouts_count_as_attempts_and_dead_letter_with_that_reason() {
    let bus = MemoryBus::builder()
        .with_max_attempts(1)
        .with_ack_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let topic = conformance::unique_topic("timeout_dlq");
    let mut sub = bus
        .subscribe(&topic, "g", StartPosition::Earliest)
        .await
        .unwrap();
    let mut dlq = bus
        .subscribe(&topic.dead_letter(), "g", StartPosition::Earliest)
        .await
        .unwrap();
    bus.publish(&topic, Message::new(&b"slow"[..]))
        .await
        .unwrap();
    let held = sub.next().await.unwrap().unwrap();
    let none = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
    assert!(none.is_err(), "not redelivered after its last attempt");
    let dead = dlq.next().await.unwrap().unwrap();
    assert_eq!(
        dead.message()
            .headers
            .get(crate::HEADER_LAST_ERROR)
            .map(String::as_str),
        Some("ack timeout")
    );
    held.ack().await.unwrap();
    assert!(bus.health().await.is_up());
    bus.close().await.unwrap();
    assert_eq!(bus.health().await.reason.as_deref(), Some("closed"));
}

#[tokio::test]
async fn a_topic_handle_publishes_like_the_port() {
    let bus = MemoryBus::builder()
        .with_max_message_bytes(100)
        .build()
        .unwrap();
    let topic = conformance::unique_topic("handle");
    let mut a = bus
        .subscribe(&topic, "a", StartPosition::Earliest)
        .await
        .unwrap();
    let handle = bus.publisher(&topic);
    assert_eq!(handle.topic(), &topic);
    let first = Message::new(&b"one"[..]);
    assert_eq!(handle.publish(first.clone()).unwrap(), first.id);
    // A group created after the handle still gets what it publishes (fan-out to every group).
    let mut b = bus
        .subscribe(&topic, "b", StartPosition::Latest)
        .await
        .unwrap();
    // A retry of the same id through the handle or the port adds nothing; the next message follows.
    handle.publish(first.clone()).unwrap();
    bus.publish(&topic, first.clone()).await.unwrap();
    let batch = vec![Message::new(&b"two"[..]), Message::new(&b"three"[..])];
    let ids = handle.publish_batch(batch.clone()).unwrap();
    assert_eq!(ids, vec![batch[0].id.clone(), batch[1].id.clone()]);
    let big = Message::new(vec![0u8; 200]);
    assert!(matches!(
        handle.publish(big.clone()),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        handle.publish_batch(vec![Message::new(&b"ok"[..]), big]),
        Err(Error::TooLarge { .. })
    ));
    let mut got = Vec::new();
    for _ in 0..3 {
        let d = a.next().await.unwrap().unwrap();
        got.push(d.message().payload.clone());
        d.ack().await.unwrap();
    }
    assert_eq!(got, vec![&b"one"[..], &b"two"[..], &b"three"[..]]);
    for want in [&b"two"[..], &b"three"[..]] {
        let d = b.next().await.unwrap().unwrap();
        assert_eq!(&d.message().payload[..], want);
        d.ack().await.unwrap();
    }
    bus.close().await.unwrap();
    assert!(matches!(
        handle.publish(Message::new(&b"late"[..])),
        Err(Error::Closed { .. })
    ));
    assert!(matches!(
        handle.publish_batch(vec![Message::new(&b"late"[..])]),
        Err(Error::Closed { .. })
    ));
}
