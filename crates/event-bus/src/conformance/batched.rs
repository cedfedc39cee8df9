//! Cases on batched consumption: [`Subscription::next_batch`](crate::Subscription::next_batch) and
//! [`Delivery::ack_all`] lose nothing, deliver nothing twice, respect `max`, keep per-key order where
//! declared, stay cancel-safe, and count attempts and dead-letter as single deliveries do.

use super::{Subject, bus, nothing, patience, quiet, subscribe, unique_topic};
use crate::{
    Delivery, Error, HEADER_ATTEMPTS, HEADER_LAST_ERROR, Message, MessageId, StartPosition,
    Subscription,
};
use avb_conformance::{Abort, CaseResult, Checks};
use std::collections::BTreeMap;
use std::time::Duration;

/// The next batch of at most `max`; a failure under `label` (stopping the case) when none arrives within
/// `wait`, the subscription fails or it ends, or the batch is empty or larger than `max`.
async fn recv_batch(
    c: &mut Checks,
    sub: &mut Subscription,
    max: usize,
    wait: Duration,
    label: &'static str,
) -> Result<Vec<Delivery>, Abort> {
    let batch = match tokio::time::timeout(wait, sub.next_batch(max)).await {
        Ok(Some(Ok(batch))) => batch,
        Ok(Some(Err(e))) => return Err(c.fail(label, format_args!("the subscription failed: {e}"))),
        Ok(None) => return Err(c.fail(label, "the subscription ended")),
        Err(_) => return Err(c.fail(label, format_args!("nothing delivered within {wait:?}"))),
    };
    c.check(
        "batch_within_max",
        (1..=max).contains(&batch.len()),
        format_args!("a batch holds 1..={max} deliveries, got {}", batch.len()),
    );
    Ok(batch)
}

/// Twelve messages taken as batches of at most 5 and acked with one `ack_all` per batch: each arrives
/// exactly once, as attempt 1; a second `ack_all` of a settled batch is `AlreadySettled` and changes
/// nothing; nothing is redelivered after the ack timeout. Also, a `next_batch` dropped mid-wait (a
/// timeout) loses nothing.
pub async fn batched_take_and_ack(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("batched_take_and_ack");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    // Cancelled while nothing is there: the dropped future must not swallow what comes next.
    let early = tokio::time::timeout(Duration::from_millis(5), sub.next_batch(5)).await;
    c.check(
        "cancelled_wait",
        early.is_err(),
        "next_batch on an empty topic waits",
    );
    let sent: Vec<Message> = (0..12u8).map(|i| Message::new(vec![i])).collect();
    c.ok(
        "publish_batch",
        bus.publish_batch(&topic, sent.clone()).await,
    )?;
    let mut seen: BTreeMap<MessageId, Vec<u32>> = BTreeMap::new();
    let mut last = Vec::new();
    while seen.values().map(Vec::len).sum::<usize>() < sent.len() {
        let batch = recv_batch(c, &mut sub, 5, patience(s), "delivered").await?;
        for d in &batch {
            seen.entry(d.message_id().clone())
                .or_default()
                .push(d.attempt());
        }
        c.ok("ack_all", Delivery::ack_all(&batch).await)?;
        last = batch;
    }
    for m in &sent {
        c.check(
            "once_as_attempt_1",
            seen.get(&m.id).map(Vec::as_slice) == Some(&[1u32][..]),
            format_args!(
                "message {} exactly once, as attempt 1 (seen: {seen:?})",
                m.id
            ),
        );
    }
    c.check_eq("nothing_else", seen.len(), sent.len(), "distinct messages");
    let again = Delivery::ack_all(&last).await;
    c.check(
        "ack_all_twice",
        matches!(again, Err(Error::AlreadySettled { .. })),
        format_args!("a second ack_all of a settled batch: {again:?}"),
    );
    nothing(c, &mut sub, quiet(s), "nothing_after_ack_all").await;
    Ok(())
}

/// Keyed messages taken in batches arrive per key in publish order (a later same-key message waits
/// until the earlier one is acked, so a batch may hold fewer than `max`).
pub async fn batched_per_key_order(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("batched_per_key_order");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let sent: Vec<Message> = (0..12u8)
        .map(|i| Message::new(vec![i]).with_key(format!("k{}", i % 3)))
        .collect();
    c.ok(
        "publish_batch",
        bus.publish_batch(&topic, sent.clone()).await,
    )?;
    let mut order: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut got = 0;
    while got < sent.len() {
        let batch = recv_batch(c, &mut sub, 8, patience(s), "delivered").await?;
        for d in &batch {
            let key = d.message().key.clone().unwrap_or_default();
            order
                .entry(key)
                .or_default()
                .extend_from_slice(&d.message().payload);
        }
        got += batch.len();
        c.ok("ack_all", Delivery::ack_all(&batch).await)?;
    }
    for k in 0..3u8 {
        let expected: Vec<u8> = (0..12u8).filter(|i| i % 3 == k).collect();
        c.check_eq(
            "per_key_order",
            order.get(&format!("k{k}")),
            Some(&expected),
            "payloads of one key in publish order",
        );
    }
    Ok(())
}

/// A delivery taken in a batch and nacked comes back with its attempt count increased while its batch
/// mates, acked with `ack_all`, stay settled; after `max_attempts` it goes to the dead-letter topic with
/// the attempt count and the last nack reason.
pub async fn batched_redelivery_and_dead_letter(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("batched_redelivery");
    let mut dlq = subscribe(c, &*bus, &topic.dead_letter(), "d", StartPosition::Earliest).await?;
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let (failing, fine) = (Message::new(&b"fails"[..]), Message::new(&b"fine"[..]));
    c.ok(
        "publish_batch",
        bus.publish_batch(&topic, vec![failing.clone(), fine.clone()])
            .await,
    )?;
    let max_attempts = s.settings().max_attempts;
    let mut expected_attempt = 1;
    let mut fine_seen = 0;
    while expected_attempt <= max_attempts {
        let batch = recv_batch(c, &mut sub, 4, patience(s), "delivered").await?;
        let mut keep = Vec::new();
        for d in batch {
            if d.message_id() == &failing.id {
                c.check_eq(
                    "attempt_counts",
                    d.attempt(),
                    expected_attempt,
                    "attempt of the nacked message",
                );
                let reason = format!("failure {expected_attempt}");
                c.ok("nack", d.nack(Duration::ZERO, &reason).await)?;
                expected_attempt += 1;
            } else {
                fine_seen += 1;
                keep.push(d);
            }
        }
        c.ok("ack_all", Delivery::ack_all(&keep).await)?;
    }
    c.check_eq(
        "batch_mate_once",
        fine_seen,
        1,
        "deliveries of the acked message",
    );
    let dead = match tokio::time::timeout(patience(s), dlq.next()).await {
        Ok(Some(Ok(d))) => d,
        other => return Err(c.fail("dead_lettered", format_args!("no dead letter: {other:?}"))),
    };
    c.check_eq(
        "dead_letter_id",
        dead.message_id(),
        &failing.id,
        "the dead letter's id",
    );
    c.check_eq(
        "dead_letter_attempts",
        dead.message().headers.get(HEADER_ATTEMPTS),
        Some(&max_attempts.to_string()),
        "attempts header",
    );
    c.check_eq(
        "dead_letter_reason",
        dead.message().headers.get(HEADER_LAST_ERROR),
        Some(&format!("failure {max_attempts}")),
        "last error header",
    );
    c.ok("ack_dead_letter", dead.ack().await)?;
    nothing(c, &mut sub, quiet(s), "nothing_after_dead_letter").await;
    Ok(())
}
