//! Cases on redelivery: nack, ack timeout, a consumer that goes away, dead letters.

use super::{Subject, bus, nothing, patience, quiet, recv, subscribe, unique_topic};
use crate::{
    HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC, Message, StartPosition,
};
use avb_conformance::{CaseResult, Checks};
use std::time::Duration;
use tokio::time::Instant;

/// A nacked delivery comes back with its attempt count increased, the message unchanged (also after a
/// nack with a delay); once acked, nothing comes back, not even after the ack timeout.
pub async fn nack_redelivery(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("nack_redelivery");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(vec![1u8, 2, 3]).with_header("h", "v");
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let d = recv(c, &mut sub, patience(s), "delivered").await?;
    c.check_eq("first_attempt", d.attempt(), 1, "first delivery");
    c.ok("nack", d.nack(Duration::ZERO, "first failure").await)?;
    let d = recv(c, &mut sub, patience(s), "redelivered_after_nack").await?;
    c.check(
        "unchanged",
        d.message() == &m,
        "the redelivered message is unchanged",
    );
    c.check_eq(
        "second_attempt",
        d.attempt(),
        2,
        "attempt counts the redelivery",
    );
    c.ok(
        "nack_with_delay",
        d.nack(Duration::from_millis(200), "second failure").await,
    )?;
    let d = recv(c, &mut sub, patience(s), "redelivered_after_delayed_nack").await?;
    c.check_eq(
        "same_message",
        &d.message().id,
        &m.id,
        "the redelivered message",
    );
    c.check_eq(
        "third_attempt",
        d.attempt(),
        3,
        "attempt after the delayed nack",
    );
    c.ok("ack", d.ack().await)?;
    nothing(c, &mut sub, quiet(s), "nothing_after_ack").await;
    Ok(())
}

/// A delivery that is neither acked nor nacked is redelivered after the ack timeout.
pub async fn ack_timeout_redelivery(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("ack_timeout_redelivery");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(&b"slow"[..]);
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let held = recv(c, &mut sub, patience(s), "delivered").await?;
    c.check_eq("first_attempt", held.attempt(), 1, "first delivery");
    let again = recv(c, &mut sub, patience(s), "redelivered_after_ack_timeout").await?;
    c.check_eq(
        "same_message",
        &again.message().id,
        &m.id,
        "the held message is delivered again",
    );
    c.check_eq(
        "second_attempt",
        again.attempt(),
        2,
        "attempt of the redelivery",
    );
    c.ok("ack", again.ack().await)?;
    drop(held);
    Ok(())
}

/// A consumer that goes away (drops its un-acked delivery and its subscription): another member of its
/// group receives the message as attempt 2. Where the backend declares
/// [`redeliver_on_drop`](crate::Capabilities::redeliver_on_drop), that happens before the ack timeout could
/// have redelivered it (measured from before the publish), so plain ack-timeout redelivery does not pass
/// for it; otherwise the ack timeout brings it back.
pub async fn dropped_consumer_redelivery(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let prompt = bus.capabilities().redeliver_on_drop;
    let topic = unique_topic("dropped_consumer_redelivery");
    let mut first = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(&b"orphan"[..]);
    let ack_timeout_possible_at = Instant::now() + s.settings().ack_timeout;
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let d = recv(c, &mut first, patience(s), "delivered").await?;
    c.check_eq("first_attempt", d.attempt(), 1, "first delivery");
    drop(d);
    drop(first);
    let mut second = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let (wait, label) = if prompt {
        (
            ack_timeout_possible_at.saturating_duration_since(Instant::now()),
            "redelivered_before_the_ack_timeout",
        )
    } else {
        (patience(s), "redelivered_after_the_ack_timeout")
    };
    let d = recv(c, &mut second, wait, label).await?;
    c.check_eq(
        "same_message",
        &d.message().id,
        &m.id,
        "another member gets the orphaned message",
    );
    c.check_eq("second_attempt", d.attempt(), 2, "the orphan's attempt");
    c.ok("ack", d.ack().await)?;
    Ok(())
}

/// After `max_attempts` failed deliveries the message goes to the dead-letter topic, with headers naming
/// the original topic, the group, the last error and the attempts; it is not delivered again.
pub async fn dead_letter(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let max = s.settings().max_attempts;
    let topic = unique_topic("dead_letter");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let mut dlq = subscribe(
        c,
        &*bus,
        &topic.dead_letter(),
        "ops",
        StartPosition::Earliest,
    )
    .await?;
    let m = Message::new(vec![0xde, 0xad])
        .with_key("k")
        .with_header("x", "y");
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    for attempt in 1..=max {
        let d = recv(c, &mut sub, patience(s), "delivered").await?;
        c.check_eq("attempts_count_up", d.attempt(), attempt, "attempt");
        c.ok(
            "nack",
            d.nack(Duration::ZERO, &format!("boom {attempt}")).await,
        )?;
    }
    let d = recv(c, &mut dlq, patience(s), "dead_lettered").await?;
    let got = d.message();
    c.check_eq("dlq_id", &got.id, &m.id, "the dead letter's id");
    c.check_eq(
        "dlq_payload",
        &got.payload,
        &m.payload,
        "the dead letter's payload",
    );
    c.check_eq("dlq_key", &got.key, &m.key, "the dead letter's key");
    let h = &got.headers;
    let header = |name: &str| h.get(name).map(String::as_str);
    c.check_eq(
        "dlq_headers_kept",
        header("x"),
        Some("y"),
        "the message's own header",
    );
    c.check_eq(
        "dlq_original_topic",
        header(HEADER_ORIGINAL_TOPIC),
        Some(topic.name()),
        HEADER_ORIGINAL_TOPIC,
    );
    c.check_eq("dlq_group", header(HEADER_GROUP), Some("g"), HEADER_GROUP);
    let last = format!("boom {max}");
    c.check_eq(
        "dlq_last_error",
        header(HEADER_LAST_ERROR),
        Some(last.as_str()),
        HEADER_LAST_ERROR,
    );
    let attempts = max.to_string();
    c.check_eq(
        "dlq_attempts",
        header(HEADER_ATTEMPTS),
        Some(attempts.as_str()),
        HEADER_ATTEMPTS,
    );
    c.ok("ack", d.ack().await)?;
    nothing(c, &mut sub, quiet(s), "not_delivered_again").await;
    Ok(())
}
