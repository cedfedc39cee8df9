//! Cases for cancel safety and what counts as an attempt: a dropped `next()` future (a timeout, a losing
//! `select!` branch) loses nothing and changes no attempt count; an attempt is a hand-out to the
//! application, never a read-ahead; a dropped subscription gives back what it read ahead untouched.

use super::{Subject, bus, patience, quiet, quiet_check, recv, silence, subscribe, unique_topic};
use crate::{Delivery, EventBus, Message, MessageId, StartPosition, Subscription, Topic};
use avb_conformance::{Abort, CaseResult, Checks};
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
/// `next()` future. A failure (stopping the case) when nothing arrives within `wait` (a lost message) or
/// the subscription fails or ends.
async fn next_under_cancellation(
    c: &mut Checks,
    sub: &mut Subscription,
    wait: Duration,
    cancelled: &mut usize,
) -> Result<Delivery, Abort> {
    let deadline = Instant::now() + wait;
    let mut round = 0;
    while Instant::now() < deadline {
        match tokio::time::timeout(CANCEL_AFTER[round % CANCEL_AFTER.len()], sub.next()).await {
            Ok(Some(Ok(d))) => return Ok(d),
            Ok(Some(Err(e))) => {
                return Err(c.fail("delivered", format_args!("the subscription failed: {e}")));
            }
            Ok(None) => return Err(c.fail("delivered", "the subscription ended")),
            Err(_) => {
                *cancelled += 1;
                round += 1;
                // Let the publisher and the other cases run (a zero timeout does not yield).
                tokio::task::yield_now().await;
            }
        }
    }
    Err(c.fail(
        "delivered",
        format_args!(
            "nothing delivered within {wait:?} of cancelled next() calls ({cancelled} cancelled)"
        ),
    ))
}

/// Publishes `messages` one by one with a short pause between them, so they arrive while consumers wait.
async fn trickle(bus: &dyn EventBus, topic: &Topic, messages: Vec<Message>) -> crate::Result<()> {
    for m in messages {
        bus.publish(topic, m).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

fn numbered(prefix: &str, n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| Message::new(format!("{prefix}{i}").into_bytes()))
        .collect()
}

/// Checks that exactly `sent` arrived, each once, on its first attempt.
fn all_first_attempts(c: &mut Checks, sent: &[Message], got: &[(MessageId, u32)]) {
    let mut by_id: BTreeMap<&MessageId, Vec<u32>> = BTreeMap::new();
    for (id, attempt) in got {
        by_id.entry(id).or_default().push(*attempt);
    }
    for m in sent {
        c.check(
            "once_as_attempt_1",
            by_id.get(&m.id).map(Vec::as_slice) == Some(&[1u32][..]),
            format_args!(
                "message {} must arrive exactly once, as attempt 1 (attempts seen: all {by_id:?})",
                m.id
            ),
        );
    }
    c.check_eq("nothing_else", got.len(), sent.len(), "deliveries in all");
}

/// Checks nothing more comes on `sub` (no stranded message comes back after the ack timeout) and, where
/// the backend dead-letters, nothing in the dead-letter topic.
async fn nothing_left(
    s: &Subject<'_>,
    c: &mut Checks,
    sub: &mut Subscription,
    dlq: Option<Subscription>,
) {
    match dlq {
        Some(mut dlq) => {
            let (seen, dead) = tokio::join!(silence(sub, quiet(s)), silence(&mut dlq, quiet(s)));
            quiet_check(c, "nothing_left", seen);
            quiet_check(c, "nothing_dead_lettered", dead);
        }
        None => {
            let seen = silence(sub, quiet(s)).await;
            quiet_check(c, "nothing_left", seen);
        }
    }
}

async fn dead_letters(
    c: &mut Checks,
    bus: &dyn EventBus,
    topic: &Topic,
) -> Result<Option<Subscription>, Abort> {
    if !bus.capabilities().dead_letter {
        return Ok(None);
    }
    Ok(Some(
        subscribe(c, bus, &topic.dead_letter(), "ops", StartPosition::Earliest).await?,
    ))
}

/// A consumer whose every `next()` is cancelled by a short timeout (zero to a few milliseconds) while
/// messages are published still receives each message once, as attempt 1; a nacked message comes back as
/// attempt 2 through the same cancelled calls; nothing is redelivered or dead-lettered afterwards.
pub async fn cancelled_next_loses_nothing(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("cancelled_next_loses_nothing");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let dlq = dead_letters(c, &*bus, &topic).await?;
    let sent = numbered("m", 30);
    let mut cancelled = 0;
    let consume = async {
        let mut got = Vec::new();
        while got.len() < sent.len() {
            let d = next_under_cancellation(c, &mut sub, patience(s), &mut cancelled).await?;
            got.push((d.message().id.clone(), d.attempt()));
            c.ok("ack", d.ack().await)?;
        }
        Ok(got)
    };
    let (got, published) = tokio::join!(consume, trickle(&*bus, &topic, sent.clone()));
    let got: Vec<(MessageId, u32)> = got?;
    c.ok("publish", published)?;
    all_first_attempts(c, &sent, &got);

    let retried = Message::new(&b"retried"[..]);
    c.ok("publish", bus.publish(&topic, retried.clone()).await)?;
    let d = next_under_cancellation(c, &mut sub, patience(s), &mut cancelled).await?;
    c.check_eq(
        "retried_first",
        (&d.message().id, d.attempt()),
        (&retried.id, 1),
        "the retried message",
    );
    c.ok("nack", d.nack(Duration::ZERO, "once more").await)?;
    let d = next_under_cancellation(c, &mut sub, patience(s), &mut cancelled).await?;
    c.check_eq(
        "retried_second",
        (&d.message().id, d.attempt()),
        (&retried.id, 2),
        "a redelivery through cancelled next() calls counts one attempt more, no more",
    );
    c.ok("ack", d.ack().await)?;
    c.check(
        "some_cancelled",
        cancelled > 0,
        "some next() calls were cancelled",
    );
    nothing_left(s, c, &mut sub, dlq).await;
    Ok(())
}

/// One task `select!`s over two subscriptions (the losing branch's `next()` is dropped each time) while
/// both topics get messages: every message arrives once, as attempt 1.
pub async fn select_loses_nothing(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let (ta, tb) = (
        unique_topic("select_loses_nothing"),
        unique_topic("select_loses_nothing"),
    );
    let mut a = subscribe(c, &*bus, &ta, "g", StartPosition::Earliest).await?;
    let mut b = subscribe(c, &*bus, &tb, "g", StartPosition::Earliest).await?;
    let (sent_a, sent_b) = (numbered("a", 25), numbered("b", 25));
    let total = sent_a.len() + sent_b.len();
    let consume = async {
        let mut got = Vec::new();
        let deadline = Instant::now() + patience(s) * 2;
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
                Ok(Some(Err(e))) => {
                    return Err(c.fail("delivered", format_args!("a subscription failed: {e}")));
                }
                Ok(None) => return Err(c.fail("delivered", "a subscription ended")),
                Err(_) => {
                    return Err(c.fail(
                        "delivered",
                        format_args!("only {} of {total} delivered", got.len()),
                    ));
                }
            };
            got.push((d.message().id.clone(), d.attempt()));
            c.ok("ack", d.ack().await)?;
        }
        Ok(got)
    };
    let publish = async {
        let (ra, rb) = tokio::join!(
            trickle(&*bus, &ta, sent_a.clone()),
            trickle(&*bus, &tb, sent_b.clone())
        );
        ra.and(rb)
    };
    let (got, published) = tokio::join!(consume, publish);
    let got: Vec<(MessageId, u32)> = got?;
    c.ok("publish", published)?;
    let sent: Vec<Message> = sent_a.into_iter().chain(sent_b).collect();
    all_first_attempts(c, &sent, &got);
    let (seen_a, seen_b) = tokio::join!(silence(&mut a, quiet(s)), silence(&mut b, quiet(s)));
    quiet_check(c, "nothing_left", seen_a);
    quiet_check(c, "nothing_left", seen_b);
    Ok(())
}

/// A member takes one of three messages, acks it and leaves (drops its subscription): whatever it read
/// ahead goes back untouched, so the next member gets the other two as attempt 1. The same when the member
/// leaves while a cancelled `next()` may have read messages nobody was handed.
pub async fn dropped_subscription_gives_back_read_ahead(
    s: &Subject<'_>,
    c: &mut Checks,
) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("dropped_subscription_gives_back_read_ahead");
    let mut first = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let sent = numbered("m", 3);
    c.ok(
        "publish_batch",
        bus.publish_batch(&topic, sent.clone()).await,
    )?;
    let d = recv(c, &mut first, patience(s), "delivered").await?;
    c.check_eq(
        "first",
        (&d.message().id, d.attempt()),
        (&sent[0].id, 1),
        "the first message",
    );
    c.ok("ack", d.ack().await)?;
    drop(first);

    let mut second = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let mut got = Vec::new();
    for _ in 1..sent.len() {
        let d = recv(c, &mut second, patience(s), "given_back").await?;
        got.push((d.message().id.clone(), d.attempt()));
        c.ok("ack", d.ack().await)?;
    }
    all_first_attempts(c, &sent[1..], &got);

    // A member that leaves while its cancelled next() was waiting: what arrived meanwhile is not its.
    let later = numbered("later", 2);
    let waited = tokio::time::timeout(Duration::from_millis(1), second.next()).await;
    c.check(
        "nothing_yet",
        waited.is_err(),
        format_args!("nothing was published yet, got {waited:?}"),
    );
    c.ok(
        "publish_batch",
        bus.publish_batch(&topic, later.clone()).await,
    )?;
    // Give a backend that reads ahead the chance to have read them (not an assertion on time).
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(second);
    let mut third = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let mut got = Vec::new();
    for _ in 0..later.len() {
        let d = recv(
            c,
            &mut third,
            patience(s),
            "given_back_after_cancelled_next",
        )
        .await?;
        got.push((d.message().id.clone(), d.attempt()));
        c.ok("ack", d.ack().await)?;
    }
    all_first_attempts(c, &later, &got);
    Ok(())
}

/// A `publish` or `publish_batch` whose future is created and dropped without being polled publishes
/// nothing, on every backend (sandbox and live alike: a port call does its work when awaited, never
/// when called — the Platform's layers included); the next published message is the first delivered.
pub async fn unpolled_publish_publishes_nothing(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("unpolled_publish");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    drop(bus.publish(&topic, Message::new(&b"never"[..])));
    drop(bus.publish_batch(&topic, vec![Message::new(&b"never either"[..])]));
    let marker = Message::new(&b"marker"[..]);
    c.ok("publish", bus.publish(&topic, marker.clone()).await)?;
    let d = recv(c, &mut sub, patience(s), "delivered").await?;
    c.check_eq(
        "first_is_the_awaited_one",
        &d.message().id,
        &marker.id,
        "the first delivery after two dropped, never-polled publishes",
    );
    c.ok("ack", d.ack().await)?;
    let more = silence(&mut sub, quiet(s)).await;
    quiet_check(c, "nothing_else", more);
    Ok(())
}
