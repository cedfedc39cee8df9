//! Cases for cancel safety and what counts as an attempt: a dropped `next()` future (a timeout, a losing
//! `select!` branch) loses nothing and changes no attempt count; an attempt is a hand-out to the
//! application, never a read-ahead; a dropped subscription gives back what it read ahead untouched.

use super::{Harness, Outcome, bus, nothing, ok, patience, recv, subscribe, unique_topic};
use crate::{Delivery, EventBus, Message, MessageId, StartPosition, Subscription, Topic};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long each cancelled `next()` may wait: zero (polled once, then dropped) and a few milliseconds.
const CANCEL_AFTER: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_millis(1),
    Duration::from_millis(3),
];

/// Calls `next()` under ever-firing short timeouts until a delivery comes: every timeout drops a pending
/// `next()` future. Panics when nothing arrives within `wait` (a lost message) or the subscription fails.
async fn next_under_cancellation(
    sub: &mut Subscription,
    wait: Duration,
    what: &str,
    cancelled: &mut usize,
) -> Delivery {
    let deadline = Instant::now() + wait;
    for round in 0.. {
        assert!(
            Instant::now() < deadline,
            "{what}: nothing delivered within {wait:?} of cancelled next() calls ({cancelled} cancelled)"
        );
        match tokio::time::timeout(CANCEL_AFTER[round % CANCEL_AFTER.len()], sub.next()).await {
            Ok(Some(Ok(d))) => return d,
            Ok(Some(Err(e))) => panic!("{what}: the subscription failed: {e}"),
            Ok(None) => panic!("{what}: the subscription ended"),
            Err(_) => {
                *cancelled += 1;
                // Let the publisher and the other cases run (a zero timeout does not yield).
                tokio::task::yield_now().await;
            }
        }
    }
    unreachable!("the loop returns or panics")
}

/// Publishes `messages` one by one with a short pause between them, so they arrive while consumers wait.
async fn trickle(bus: &dyn EventBus, topic: &Topic, messages: Vec<Message>) {
    for m in messages {
        ok("publish", bus.publish(topic, m).await);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn numbered(prefix: &str, n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message::new(format!("{prefix}{i}").into_bytes()))
        .collect()
}

/// Asserts that exactly `sent` arrived, each once, on its first attempt.
fn all_first_attempts(case: &str, sent: &[Message], got: &[(MessageId, u32)]) {
    let mut by_id: BTreeMap<&MessageId, Vec<u32>> = BTreeMap::new();
    for (id, attempt) in got {
        by_id.entry(id).or_default().push(*attempt);
    }
    for m in sent {
        assert_eq!(
            by_id.get(&m.id).map(Vec::as_slice),
            Some(&[1u32][..]),
            "{case}: message {} must arrive exactly once, as attempt 1 (attempts seen: all {by_id:?})",
            m.id
        );
    }
    assert_eq!(got.len(), sent.len(), "{case}: nothing else arrived");
}

/// Nothing more on `sub` (no stranded message comes back after the ack timeout) and, where the backend
/// dead-letters, nothing in the dead-letter topic.
async fn nothing_left(
    h: &dyn Harness,
    sub: &mut Subscription,
    dlq: Option<Subscription>,
    case: &str,
) {
    let wait = h.settings().ack_timeout * 2 + Duration::from_millis(300);
    match dlq {
        Some(mut dlq) => {
            tokio::join!(
                nothing(sub, wait, case),
                nothing(&mut dlq, wait, "the dead-letter topic")
            );
        }
        None => nothing(sub, wait, case).await,
    }
}

async fn dead_letters(bus: &dyn EventBus, topic: &Topic) -> Option<Subscription> {
    if !bus.capabilities().dead_letter {
        return None;
    }
    Some(subscribe(bus, &topic.dead_letter(), "ops", StartPosition::Earliest).await)
}

/// A consumer whose every `next()` is cancelled by a short timeout (zero to a few milliseconds) while
/// messages are published still receives each message once, as attempt 1; a nacked message comes back as
/// attempt 2 through the same cancelled calls; nothing is redelivered or dead-lettered afterwards.
pub async fn cancelled_next_loses_nothing(h: &dyn Harness) -> Outcome {
    const CASE: &str = "cancelled_next_loses_nothing";
    let bus = bus(h).await;
    let topic = unique_topic(CASE);
    let mut sub = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let dlq = dead_letters(&*bus, &topic).await;
    let sent = numbered("m", 30);
    let mut cancelled = 0;
    let consume = async {
        let mut got = Vec::new();
        while got.len() < sent.len() {
            let d = next_under_cancellation(&mut sub, patience(h), CASE, &mut cancelled).await;
            got.push((d.message().id.clone(), d.attempt()));
            ok("ack", d.ack().await);
        }
        got
    };
    let (got, ()) = tokio::join!(consume, trickle(&*bus, &topic, sent.clone()));
    all_first_attempts(CASE, &sent, &got);

    let retried = Message::new(&b"retried"[..]);
    ok("publish", bus.publish(&topic, retried.clone()).await);
    let d = next_under_cancellation(&mut sub, patience(h), CASE, &mut cancelled).await;
    assert_eq!((&d.message().id, d.attempt()), (&retried.id, 1));
    ok("nack", d.nack(Duration::ZERO, "once more").await);
    let d = next_under_cancellation(&mut sub, patience(h), CASE, &mut cancelled).await;
    assert_eq!(
        (&d.message().id, d.attempt()),
        (&retried.id, 2),
        "a redelivery through cancelled next() calls counts one attempt more, no more"
    );
    ok("ack", d.ack().await);
    assert!(cancelled > 0, "{CASE}: some next() calls were cancelled");
    nothing_left(h, &mut sub, dlq, CASE).await;
    Outcome::Passed
}

/// One task `select!`s over two subscriptions (the losing branch's `next()` is dropped each time) while
/// both topics get messages: every message arrives once, as attempt 1.
pub async fn select_loses_nothing(h: &dyn Harness) -> Outcome {
    const CASE: &str = "select_loses_nothing";
    let bus = bus(h).await;
    let (ta, tb) = (unique_topic(CASE), unique_topic(CASE));
    let mut a = subscribe(&*bus, &ta, "g", StartPosition::Earliest).await;
    let mut b = subscribe(&*bus, &tb, "g", StartPosition::Earliest).await;
    let (sent_a, sent_b) = (numbered("a", 25), numbered("b", 25));
    let total = sent_a.len() + sent_b.len();
    let consume = async {
        let mut got = Vec::new();
        let deadline = Instant::now() + patience(h) * 2;
        while got.len() < total {
            let wait = deadline.saturating_duration_since(Instant::now());
            let next = async {
                tokio::select! {
                    d = a.next() => d,
                    d = b.next() => d,
                }
            };
            let d = match tokio::time::timeout(wait, next).await {
                Ok(Some(Ok(d))) => d,
                Ok(Some(Err(e))) => panic!("{CASE}: a subscription failed: {e}"),
                Ok(None) => panic!("{CASE}: a subscription ended"),
                Err(_) => panic!("{CASE}: only {} of {total} delivered", got.len()),
            };
            got.push((d.message().id.clone(), d.attempt()));
            ok("ack", d.ack().await);
        }
        got
    };
    let publish = async {
        tokio::join!(
            trickle(&*bus, &ta, sent_a.clone()),
            trickle(&*bus, &tb, sent_b.clone())
        );
    };
    let (got, ()) = tokio::join!(consume, publish);
    let sent: Vec<Message> = sent_a.into_iter().chain(sent_b).collect();
    all_first_attempts(CASE, &sent, &got);
    let wait = h.settings().ack_timeout * 2 + Duration::from_millis(300);
    tokio::join!(nothing(&mut a, wait, CASE), nothing(&mut b, wait, CASE));
    Outcome::Passed
}

/// A member takes one of three messages, acks it and leaves (drops its subscription): whatever it read
/// ahead goes back untouched, so the next member gets the other two as attempt 1. The same when the member
/// leaves while a cancelled `next()` may have read messages nobody was handed.
pub async fn dropped_subscription_gives_back_read_ahead(h: &dyn Harness) -> Outcome {
    const CASE: &str = "dropped_subscription_gives_back_read_ahead";
    let bus = bus(h).await;
    let topic = unique_topic(CASE);
    let mut first = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let sent = numbered("m", 3);
    ok(
        "publish_batch",
        bus.publish_batch(&topic, sent.clone()).await,
    );
    let d = recv(&mut first, patience(h), CASE).await;
    assert_eq!((&d.message().id, d.attempt()), (&sent[0].id, 1));
    ok("ack", d.ack().await);
    drop(first);

    let mut second = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let mut got = Vec::new();
    for _ in 1..sent.len() {
        let d = recv(&mut second, patience(h), CASE).await;
        got.push((d.message().id.clone(), d.attempt()));
        ok("ack", d.ack().await);
    }
    all_first_attempts(CASE, &sent[1..], &got);

    // A member that leaves while its cancelled next() was waiting: what arrived meanwhile is not its.
    let later = numbered("later", 2);
    let waited = tokio::time::timeout(Duration::from_millis(1), second.next()).await;
    assert!(waited.is_err(), "{CASE}: nothing was published yet");
    ok(
        "publish_batch",
        bus.publish_batch(&topic, later.clone()).await,
    );
    // Give a backend that reads ahead the chance to have read them (not an assertion on time).
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(second);
    let mut third = subscribe(&*bus, &topic, "g", StartPosition::Earliest).await;
    let mut got = Vec::new();
    for _ in 0..later.len() {
        let d = recv(&mut third, patience(h), CASE).await;
        got.push((d.message().id.clone(), d.attempt()));
        ok("ack", d.ack().await);
    }
    all_first_attempts(CASE, &later, &got);
    Outcome::Passed
}
