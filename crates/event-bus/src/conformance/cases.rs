//! The cases, one `pub async fn` per behaviour of DESIGN §3 EventBus.

use super::{
    Harness, Outcome, bus, nothing, ok, patience, recv, skip, subscribe, unique_topic,
    unique_topic_in, workspace,
};
use crate::{
    Delivery, Error, EventBus, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR,
    HEADER_ORIGINAL_TOPIC, Message, StartPosition, Topic,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Payload (non-UTF-8, empty and 1 MiB), key, headers and id survive the round trip byte for byte.
pub async fn round_trip(h: &dyn Harness) -> Outcome {
    const CASE: &str = "round_trip";
    let bus = bus(h).await;
    let big_fits = bus.capabilities().max_message_bytes >= 1024 * 1024 + 4096;
    let topic = unique_topic(CASE);
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let mut big = vec![0u8; 1024 * 1024];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    let mut sent = vec![
        Message::new(vec![0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28])
            .with_key("k-1")
            .with_header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .with_header("ünïcode", "välue with spaces\nand newline")
            .with_header("empty", ""),
        Message::new(Vec::<u8>::new()),
    ];
    if big_fits {
        sent.push(Message::new(big));
    }
    for m in &sent {
        let id = ok("publish", bus.publish(&topic, m.clone()).await);
        assert_eq!(id, m.id, "publish returns the message's id");
    }
    for m in &sent {
        let d = recv(&mut sub, patience(h), CASE).await;
        assert_eq!(d.message(), m, "the message round-trips byte for byte");
        assert_eq!(d.attempt(), 1);
        assert_eq!(d.topic(), &topic);
        assert_eq!(d.group(), "g");
        ok("ack", d.ack().await);
    }
    if !big_fits {
        return skip(CASE, "max_message_bytes >= 1 MiB (the 1 MiB payload part)");
    }
    Outcome::Passed
}

/// `publish_batch` publishes in order and returns the ids in order.
pub async fn batch(h: &dyn Harness) -> Outcome {
    const CASE: &str = "batch";
    let bus = bus(h).await;
    let topic = unique_topic(CASE);
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let msgs: Vec<Message> = (0..100)
        .map(|i| Message::new(format!("m{i}").into_bytes()))
        .collect();
    let ids = ok(
        "publish_batch",
        bus.publish_batch(&topic, msgs.clone()).await,
    );
    assert_eq!(
        ids,
        msgs.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        "ids in order"
    );
    for m in &msgs {
        let d = recv(&mut sub, patience(h), CASE).await;
        assert_eq!(d.message().payload, m.payload, "batch order kept");
        ok("ack", d.ack().await);
    }
    let empty = ok("empty batch", bus.publish_batch(&topic, Vec::new()).await);
    assert!(empty.is_empty());
    Outcome::Passed
}

/// One delivery as a group member saw it.
#[derive(Debug, Clone)]
struct Seen {
    member: usize,
    message: Message,
    attempt: u32,
}

/// What a member does with a delivery: `None` acks, `Some(reason)` nacks with no delay.
type Decide = Arc<dyn Fn(&Delivery) -> Option<String> + Send + Sync>;

/// Runs `members` consumers of `group` concurrently until `total` deliveries were handled (acked or nacked
/// by `decide`); returns them in the order they arrived.
async fn run_members(
    bus: &dyn EventBus,
    topic: &Topic,
    group: &str,
    members: usize,
    total: usize,
    wait: Duration,
    decide: Decide,
) -> Vec<Seen> {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let mut tasks = Vec::new();
    for member in 0..members {
        let mut sub = subscribe(bus, topic, group, StartPosition::Earliest).await;
        let (seen, decide, mut stop_rx, stop_tx) = (
            seen.clone(),
            decide.clone(),
            stop_rx.clone(),
            stop_tx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let d = tokio::select! {
                    _ = stop_rx.changed() => return,
                    d = sub.next() => match d {
                        Some(Ok(d)) => d,
                        Some(Err(e)) => panic!("member {member}: {e}"),
                        None => return,
                    },
                };
                let count = {
                    let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                    s.push(Seen {
                        member,
                        message: d.message().clone(),
                        attempt: d.attempt(),
                    });
                    s.len()
                };
                tokio::task::yield_now().await;
                match decide(&d) {
                    None => ok("ack", d.ack().await),
                    Some(reason) => ok("nack", d.nack(Duration::ZERO, &reason).await),
                }
                if count >= total {
                    let _ = stop_tx.send(true);
                    return;
                }
            }
        }));
    }
    let all = async {
        for t in tasks {
            if let Err(e) = t.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    };
    if tokio::time::timeout(wait, all).await.is_err() {
        let got = seen.lock().unwrap_or_else(|e| e.into_inner()).len();
        panic!("only {got} of {total} deliveries within {wait:?}");
    }
    seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Within one group each message goes to one member: a message held by one member is not given to another,
/// and a batch spread over two members is delivered once in all.
pub async fn competing_consumers(h: &dyn Harness) -> Outcome {
    const CASE: &str = "competing_consumers";
    let bus = bus(h).await;
    {
        let topic = unique_topic(CASE);
        let mut a = subscribe(&*bus, &topic, "hold", StartPosition::Earliest).await;
        let mut b = subscribe(&*bus, &topic, "hold", StartPosition::Earliest).await;
        ok(
            "publish_batch",
            bus.publish_batch(
                &topic,
                vec![Message::new(&b"one"[..]), Message::new(&b"two"[..])],
            )
            .await,
        );
        let held = recv(&mut a, patience(h), CASE).await;
        let other = recv(&mut b, patience(h), CASE).await;
        // The same message may reach the other member only as a redelivery (the ack timeout passed).
        assert!(
            held.message().id != other.message().id || other.attempt() > held.attempt(),
            "two members of one group got the same delivery of {}",
            held.message().id
        );
        ok("ack", held.ack().await);
        ok("ack", other.ack().await);
    }
    let topic = unique_topic(CASE);
    let msgs: Vec<Message> = (0..60)
        .map(|i| Message::new(format!("m{i}").into_bytes()))
        .collect();
    let wait = patience(h) * 2;
    let runner = run_members(&*bus, &topic, "g", 2, msgs.len(), wait, Arc::new(|_| None));
    let publish = async {
        // Let both members join before anything is there to take.
        tokio::time::sleep(Duration::from_millis(100)).await;
        ok(
            "publish_batch",
            bus.publish_batch(&topic, msgs.clone()).await,
        );
    };
    let (seen, ()) = tokio::join!(runner, publish);
    let mut ids: Vec<String> = seen.iter().map(|s| s.message.id.to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        msgs.len(),
        "each message delivered once within the group (acks came before the ack timeout): {seen:?}"
    );
    assert!(seen.iter().all(|s| s.attempt == 1));
    Outcome::Passed
}

/// Every group gets every message.
pub async fn fan_out(h: &dyn Harness) -> Outcome {
    const CASE: &str = "fan_out";
    let bus = bus(h).await;
    let topic = unique_topic(CASE);
    let mut subs = Vec::new();
    for g in ["g1", "g2", "g3"] {
        subs.push(subscribe(&*bus, &topic, g, StartPosition::Earliest).await);
    }
    let msgs: Vec<Message> = (0..20)
        .map(|i| Message::new(format!("m{i}").into_bytes()))
        .collect();
    ok(
        "publish_batch",
        bus.publish_batch(&topic, msgs.clone()).await,
    );
    for sub in &mut subs {
        for m in &msgs {
            let d = recv(sub, patience(h), CASE).await;
            assert_eq!(
                d.message().id,
                m.id,
                "every group gets every message, in order"
            );
            ok("ack", d.ack().await);
        }
    }
    Outcome::Passed
}

/// A new group starts at `Earliest` (retained messages first) or `Latest` (only newer ones); an existing
/// group resumes after its last ack whatever start it asks for.
pub async fn start_positions(h: &dyn Harness) -> Outcome {
    const CASE: &str = "start_positions";
    let bus = bus(h).await;
    let topic = unique_topic(CASE);
    let old = Message::new(&b"old"[..]);
    ok("publish", bus.publish(&topic, old.clone()).await);
    let mut earliest = subscribe(&*bus, &topic, "early", StartPosition::Earliest).await;
    let mut latest = subscribe(&*bus, &topic, "late", StartPosition::Latest).await;
    let new = Message::new(&b"new"[..]);
    ok("publish", bus.publish(&topic, new.clone()).await);
    for expected in [&old, &new] {
        let d = recv(&mut earliest, patience(h), CASE).await;
        assert_eq!(d.message().id, expected.id, "earliest sees old then new");
        ok("ack", d.ack().await);
    }
    let d = recv(&mut latest, patience(h), CASE).await;
    assert_eq!(d.message().id, new.id, "latest skips what came before it");
    ok("ack", d.ack().await);
    // Resume: the group continues after its acks, even when asking for Earliest again.
    drop(earliest);
    let third = Message::new(&b"third"[..]);
    ok("publish", bus.publish(&topic, third.clone()).await);
    let mut again = subscribe(&*bus, &topic, "early", StartPosition::Earliest).await;
    let d = recv(&mut again, patience(h), CASE).await;
    assert_eq!(
        d.message().id,
        third.id,
        "a group resumes after its last ack"
    );
    ok("ack", d.ack().await);
    Outcome::Passed
}

/// A nacked delivery comes back with its attempt count increased, the message unchanged.
pub async fn nack_redelivery(h: &dyn Harness) -> Outcome {
    const CASE: &str = "nack_redelivery";
    let bus = bus(h).await;
    if h.settings().max_attempts < 3 {
        return skip(CASE, "max_attempts >= 3 in the harness settings");
    }
    let topic = unique_topic(CASE);
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let m = Message::new(vec![1u8, 2, 3]).with_header("h", "v");
    ok("publish", bus.publish(&topic, m.clone()).await);
    let d = recv(&mut sub, patience(h), CASE).await;
    assert_eq!(d.attempt(), 1);
    ok("nack", d.nack(Duration::ZERO, "first failure").await);
    let d = recv(&mut sub, patience(h), CASE).await;
    assert_eq!(d.message(), &m, "the redelivered message is unchanged");
    assert_eq!(d.attempt(), 2, "attempt counts the redelivery");
    ok(
        "nack with delay",
        d.nack(Duration::from_millis(200), "second failure").await,
    );
    let d = recv(&mut sub, patience(h), CASE).await;
    assert_eq!(d.message().id, m.id);
    assert_eq!(d.attempt(), 3);
    ok("ack", d.ack().await);
    nothing(&mut sub, Duration::from_millis(300), CASE).await;
    Outcome::Passed
}

/// A delivery that is neither acked nor nacked is redelivered after the ack timeout.
pub async fn ack_timeout_redelivery(h: &dyn Harness) -> Outcome {
    const CASE: &str = "ack_timeout_redelivery";
    let bus = bus(h).await;
    if h.settings().max_attempts < 2 {
        return skip(CASE, "max_attempts >= 2 in the harness settings");
    }
    let topic = unique_topic(CASE);
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let m = Message::new(&b"slow"[..]);
    ok("publish", bus.publish(&topic, m.clone()).await);
    let held = recv(&mut sub, patience(h), CASE).await;
    assert_eq!(held.attempt(), 1);
    let again = recv(&mut sub, patience(h), CASE).await;
    assert_eq!(
        again.message().id,
        m.id,
        "the held message is delivered again"
    );
    assert_eq!(again.attempt(), 2);
    ok("ack", again.ack().await);
    drop(held);
    Outcome::Passed
}

/// A consumer that goes away with un-acked deliveries: another member of its group receives them.
pub async fn dropped_consumer_redelivery(h: &dyn Harness) -> Outcome {
    const CASE: &str = "dropped_consumer_redelivery";
    let bus = bus(h).await;
    if h.settings().max_attempts < 2 {
        return skip(CASE, "max_attempts >= 2 in the harness settings");
    }
    let topic = unique_topic(CASE);
    let mut first = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let m = Message::new(&b"orphan"[..]);
    ok("publish", bus.publish(&topic, m.clone()).await);
    let d = recv(&mut first, patience(h), CASE).await;
    assert_eq!(d.attempt(), 1);
    drop(d);
    drop(first);
    let mut second = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let d = recv(&mut second, patience(h), CASE).await;
    assert_eq!(
        d.message().id,
        m.id,
        "another member gets the orphaned message"
    );
    assert_eq!(d.attempt(), 2);
    ok("ack", d.ack().await);
    Outcome::Passed
}

/// After `max_attempts` failed deliveries the message goes to the dead-letter topic, with headers naming
/// the original topic, the group, the last error and the attempts; it is not delivered again.
pub async fn dead_letter(h: &dyn Harness) -> Outcome {
    const CASE: &str = "dead_letter";
    let bus = bus(h).await;
    if !bus.capabilities().dead_letter {
        return skip(CASE, "dead_letter");
    }
    let max = h.settings().max_attempts;
    let topic = unique_topic(CASE);
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let mut dlq = subscribe(&*bus, &topic.dead_letter(), "ops", StartPosition::Earliest).await;
    let m = Message::new(vec![0xde, 0xad])
        .with_key("k")
        .with_header("x", "y");
    ok("publish", bus.publish(&topic, m.clone()).await);
    for attempt in 1..=max {
        let d = recv(&mut sub, patience(h), CASE).await;
        assert_eq!(d.attempt(), attempt);
        ok(
            "nack",
            d.nack(Duration::ZERO, &format!("boom {attempt}")).await,
        );
    }
    let d = recv(&mut dlq, patience(h), CASE).await;
    let got = d.message();
    assert_eq!(got.id, m.id);
    assert_eq!(got.payload, m.payload);
    assert_eq!(got.key, m.key);
    let h_ = &got.headers;
    assert_eq!(h_.get("x").map(String::as_str), Some("y"));
    assert_eq!(
        h_.get(HEADER_ORIGINAL_TOPIC).map(String::as_str),
        Some(topic.name())
    );
    assert_eq!(h_.get(HEADER_GROUP).map(String::as_str), Some("g"));
    assert_eq!(
        h_.get(HEADER_LAST_ERROR).map(String::as_str),
        Some(format!("boom {max}").as_str())
    );
    assert_eq!(
        h_.get(HEADER_ATTEMPTS).map(String::as_str),
        Some(max.to_string().as_str())
    );
    ok("ack", d.ack().await);
    nothing(&mut sub, Duration::from_millis(300), CASE).await;
    Outcome::Passed
}

/// Same-key messages reach a group's consumers in publish order, also across a redelivery, with two
/// consumers working concurrently.
pub async fn per_key_order(h: &dyn Harness) -> Outcome {
    const CASE: &str = "per_key_order";
    let bus = bus(h).await;
    if !bus.capabilities().ordering_per_key {
        return skip(CASE, "ordering_per_key");
    }
    let topic = unique_topic(CASE);
    let per_key = 30u32;
    let mut msgs = Vec::new();
    for seq in 0..per_key {
        for key in ["a", "b", "c"] {
            msgs.push(Message::new(seq.to_string().into_bytes()).with_key(key));
        }
    }
    let total = msgs.len() + 3;
    let runner = run_members(
        &*bus,
        &topic,
        "g",
        2,
        total,
        patience(h) * 2,
        Arc::new(|d: &Delivery| {
            (d.message().payload.as_ref() == b"3" && d.attempt() == 1)
                .then(|| "retry once".to_string())
        }),
    );
    let publish = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ok("publish_batch", bus.publish_batch(&topic, msgs).await);
    };
    let (seen, ()) = tokio::join!(runner, publish);
    let members: HashSet<usize> = seen.iter().map(|s| s.member).collect();
    let seen: Vec<(String, u32, u32)> = seen
        .into_iter()
        .map(|s| {
            let seq = String::from_utf8_lossy(&s.message.payload)
                .parse()
                .unwrap_or(u32::MAX);
            (s.message.key.unwrap_or_default(), seq, s.attempt)
        })
        .collect();
    assert!(!members.is_empty());
    let mut by_key: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    for (key, seq, attempt) in seen {
        by_key.entry(key).or_default().push((seq, attempt));
    }
    for key in ["a", "b", "c"] {
        let got = by_key.get(key).cloned().unwrap_or_default();
        let mut expected: Vec<(u32, u32)> = (0..per_key).map(|s| (s, 1)).collect();
        expected.insert(4, (3, 2));
        assert_eq!(
            got, expected,
            "key {key}: publish order, redelivery in place"
        );
    }
    Outcome::Passed
}

/// The same topic name in two workspaces never mixes.
pub async fn workspace_isolation(h: &dyn Harness) -> Outcome {
    const CASE: &str = "workspace_isolation";
    let bus = bus(h).await;
    let a = unique_topic_in(&workspace("conformance-a"), CASE);
    let b = match Topic::new(&workspace("conformance-b"), a.name()) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let mut sub_a = subscribe(&*bus, &a, "g", StartPosition::Earliest).await;
    let mut sub_b = subscribe(&*bus, &b, "g", StartPosition::Earliest).await;
    let ma = Message::new(&b"for a"[..]);
    let mb = Message::new(&b"for b"[..]);
    ok("publish", bus.publish(&a, ma.clone()).await);
    ok("publish", bus.publish(&b, mb.clone()).await);
    let d = recv(&mut sub_a, patience(h), CASE).await;
    assert_eq!(d.message().id, ma.id);
    ok("ack", d.ack().await);
    let d = recv(&mut sub_b, patience(h), CASE).await;
    assert_eq!(d.message().id, mb.id);
    ok("ack", d.ack().await);
    nothing(&mut sub_a, Duration::from_millis(300), CASE).await;
    nothing(&mut sub_b, Duration::from_millis(300), CASE).await;
    Outcome::Passed
}

/// `close` stops publishing (then [`Error::Closed`]) and subscriptions, while acks of in-flight
/// deliveries still go through.
pub async fn close_semantics(h: &dyn Harness) -> Outcome {
    const CASE: &str = "close_semantics";
    let bus = bus(h).await;
    let topic = unique_topic(CASE);
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    ok(
        "publish",
        bus.publish(&topic, Message::new(&b"x"[..])).await,
    );
    let d = recv(&mut sub, patience(h), CASE).await;
    ok("close", bus.close().await);
    match bus.publish(&topic, Message::new(&b"late"[..])).await {
        Err(Error::Closed { .. }) => {}
        other => panic!("publish after close: expected Error::Closed, got {other:?}"),
    }
    match bus
        .publish_batch(&topic, vec![Message::new(&b"late"[..])])
        .await
    {
        Err(Error::Closed { .. }) => {}
        other => panic!("publish_batch after close: expected Error::Closed, got {other:?}"),
    }
    ok("ack of an in-flight delivery after close", d.ack().await);
    match tokio::time::timeout(patience(h), sub.next()).await {
        Ok(None) => {}
        Ok(Some(other)) => panic!("a subscription after close yielded {other:?}"),
        Err(_) => panic!("a subscription did not end after close"),
    }
    match bus.subscribe(&topic, "g2", StartPosition::Earliest).await {
        Err(Error::Closed { .. }) => {}
        other => panic!("subscribe after close: expected Error::Closed, got {other:?}"),
    }
    Outcome::Passed
}

/// Bad input is a clear error, never a panic: invalid topic and group names, a message over the limit,
/// a second ack, `nack` after `ack`, a nack delay over the limit.
pub async fn bad_input(h: &dyn Harness) -> Outcome {
    const CASE: &str = "bad_input";
    let bus = bus(h).await;
    let ws = workspace("conformance");
    for bad in ["", "has space", "slash/inside", ":colon", "ü"] {
        match Topic::new(&ws, bad) {
            Err(Error::InvalidTopic { name, .. }) => assert_eq!(name, bad),
            other => panic!("Topic::new({bad:?}): expected InvalidTopic, got {other:?}"),
        }
    }
    let topic = unique_topic(CASE);
    for bad in ["", "a b", "x:y"] {
        match bus.subscribe(&topic, bad, StartPosition::Earliest).await {
            Err(Error::InvalidGroup { name, .. }) => assert_eq!(name, bad),
            other => panic!("subscribe(group {bad:?}): expected InvalidGroup, got {other:?}"),
        }
    }
    let limit = bus.capabilities().max_message_bytes;
    let huge = Message::new(vec![7u8; limit + 1]);
    match bus.publish(&topic, huge.clone()).await {
        Err(Error::TooLarge { limit: l, .. }) => assert_eq!(l, limit),
        other => panic!("publish over the limit: expected TooLarge, got {other:?}"),
    }
    let ok_msg = Message::new(&b"fine"[..]);
    match bus.publish_batch(&topic, vec![ok_msg, huge]).await {
        Err(Error::TooLarge { .. }) => {}
        other => panic!("batch with one message over the limit: expected TooLarge, got {other:?}"),
    }
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let m = Message::new(&b"once"[..]);
    ok("publish", bus.publish(&topic, m.clone()).await);
    let d = recv(&mut sub, patience(h), CASE).await;
    assert_eq!(d.message().id, m.id, "the rejected batch published nothing");
    let max_delay = bus.capabilities().max_nack_delay;
    match d.nack(max_delay + Duration::from_secs(1), "too long").await {
        Err(Error::DelayTooLong { .. }) => {}
        other => panic!("nack over max_nack_delay: expected DelayTooLong, got {other:?}"),
    }
    ok("ack", d.ack().await);
    match d.ack().await {
        Err(Error::AlreadySettled {
            attempted: "ack",
            settled: "acked",
            ..
        }) => {}
        other => panic!("second ack: expected AlreadySettled, got {other:?}"),
    }
    match d.nack(Duration::ZERO, "late").await {
        Err(e @ Error::AlreadySettled { .. }) => {
            assert!(e.to_string().contains("cannot nack"), "{e}");
            assert!(!e.is_retryable());
        }
        other => panic!("nack after ack: expected AlreadySettled, got {other:?}"),
    }
    nothing(&mut sub, Duration::from_millis(300), CASE).await;
    Outcome::Passed
}
