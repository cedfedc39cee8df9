//! Cases on the delivery contract's refinements (DESIGN §3): lease extension, redelivery backoff,
//! idempotent publish, and the drain on `close`.

use super::{Subject, bus, nothing, patience, quiet, recv, silence, subscribe, unique_topic};
use crate::{Error, Message, MessageId, PublishNow, StartPosition};
use avb_conformance::{CaseResult, Checks};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

/// A delivery whose lease is extended again and again (every third of the ack timeout, as a heartbeat)
/// is held far beyond the ack timeout without another member of its group receiving it; once acked,
/// nothing comes back. Extending a settled delivery is [`Error::AlreadySettled`], and an extension over
/// [`Capabilities::max_lease_extension`](crate::Capabilities::max_lease_extension) is
/// [`Error::DelayTooLong`].
pub async fn lease_extension(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let ack_timeout = s.settings().ack_timeout;
    let max = bus.capabilities().max_lease_extension;
    let topic = unique_topic("lease_extension");
    let mut holder = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(&b"long job"[..]);
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let d = recv(c, &mut holder, patience(s), "delivered").await?;
    c.check_eq("first_attempt", d.attempt(), 1, "first delivery");
    let mut other = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let hold_until = Instant::now() + quiet(s);
    let step = ack_timeout / 3;
    let mut extended = 0u32;
    while Instant::now() < hold_until {
        c.ok("extend", d.extend(ack_timeout.min(max)).await)?;
        extended += 1;
        if let Err(why) = silence(&mut other, step).await {
            c.check("not_redelivered_while_extended", false, why);
            break;
        }
    }
    c.check(
        "held_beyond_the_ack_timeout",
        extended >= 3,
        format_args!("extended {extended} times over {:?}", quiet(s)),
    );
    let too_long = d.extend(max + Duration::from_secs(1)).await;
    c.check(
        "extension_over_the_maximum",
        matches!(too_long, Err(Error::DelayTooLong { .. })),
        format_args!("extend beyond {max:?}: expected Error::DelayTooLong, got {too_long:?}"),
    );
    c.ok("ack", d.ack().await)?;
    let late = d.extend(ack_timeout.min(max)).await;
    c.check(
        "extend_after_ack",
        matches!(late, Err(Error::AlreadySettled { .. })),
        format_args!("extend after ack: expected Error::AlreadySettled, got {late:?}"),
    );
    nothing(c, &mut other, quiet(s), "nothing_after_ack").await;
    Ok(())
}

/// Redelivery waits the backoff policy ([`Settings::retry_delay`](crate::Settings::retry_delay), capped
/// at [`Capabilities::max_nack_delay`](crate::Capabilities::max_nack_delay)): attempt 2 comes no sooner
/// than the policy's minimum after a `nack` without a delay, and attempt 3 no sooner than the ack timeout
/// plus the policy's second step after attempt 2's lease lapsed. Lower bounds only (a contract, not a
/// speed): measured from before the `nack` call, and from before the `next` call that handed attempt 2 out.
pub async fn backoff_spacing(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let settings = s.settings().clone();
    let cap = bus.capabilities().max_nack_delay;
    let floor = |attempt: u32| settings.retry_delay_with(attempt, 0.0).min(cap);
    let topic = unique_topic("backoff_spacing");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(&b"flaky"[..]);
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let d = recv(c, &mut sub, patience(s), "delivered").await?;
    c.check_eq("first_attempt", d.attempt(), 1, "first delivery");
    let nacked_at = Instant::now();
    c.ok("nack", d.nack(Duration::ZERO, "no explicit delay").await)?;
    let asked_at = Instant::now();
    let d = recv(c, &mut sub, patience(s), "redelivered_after_nack").await?;
    let spacing = nacked_at.elapsed();
    c.check_eq("second_attempt", d.attempt(), 2, "attempt after the nack");
    c.check(
        "nack_backoff_at_least_the_minimum",
        spacing >= floor(1),
        format_args!(
            "attempt 2 came {spacing:?} after the nack; the policy's minimum is {:?}",
            floor(1)
        ),
    );
    // Attempt 2 is neither acked nor nacked: its lease lapses, then the backoff runs.
    let d3 = recv(c, &mut sub, patience(s), "redelivered_after_lapse").await?;
    let spacing = asked_at.elapsed();
    let want = settings.ack_timeout + floor(2);
    c.check_eq("third_attempt", d3.attempt(), 3, "attempt after the lapse");
    c.check(
        "lapse_backoff_at_least_the_minimum",
        spacing >= want,
        format_args!(
            "attempt 3 came {spacing:?} after attempt 2 was asked for; ack timeout + backoff is {want:?}"
        ),
    );
    c.check_eq(
        "same_message",
        d3.message_id(),
        &m.id,
        "the stable message id",
    );
    c.ok("ack", d3.ack().await)?;
    drop(d);
    nothing(c, &mut sub, quiet(s), "nothing_after_ack").await;
    Ok(())
}

/// A publish retried with the same message id (one by one and inside a batch) is one message: the group
/// receives it once, with the other message of the batch; the retries return the same id. The same id on
/// another topic is another message.
pub async fn idempotent_publish(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("idempotent_publish");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(&b"charge 10 EUR"[..]);
    let first = c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let retried = c.ok("publish_retried", bus.publish(&topic, m.clone()).await)?;
    c.check_eq(
        "retry_returns_the_id",
        &retried,
        &first,
        "the retried publish's id",
    );
    let other = Message::new(&b"charge 20 EUR"[..]);
    let ids = c.ok(
        "publish_batch_with_a_retry",
        bus.publish_batch(&topic, vec![m.clone(), other.clone()])
            .await,
    )?;
    c.check_eq(
        "batch_ids",
        &ids,
        &vec![m.id.clone(), other.id.clone()],
        "the batch's ids",
    );
    let mut got = Vec::new();
    for _ in 0..2 {
        let d = recv(c, &mut sub, patience(s), "delivered").await?;
        got.push(d.message_id().clone());
        c.ok("ack", d.ack().await)?;
    }
    c.check_eq(
        "one_message_per_id",
        &got,
        &vec![m.id.clone(), other.id.clone()],
        "the messages delivered, in order",
    );
    nothing(c, &mut sub, quiet(s), "no_duplicate").await;
    let elsewhere = unique_topic("idempotent_publish_other");
    let mut sub2 = subscribe(c, &*bus, &elsewhere, "g", StartPosition::Earliest).await?;
    c.ok(
        "publish_elsewhere",
        bus.publish(&elsewhere, m.clone()).await,
    )?;
    let d = recv(c, &mut sub2, patience(s), "same_id_on_another_topic").await?;
    c.check_eq(
        "elsewhere_id",
        d.message_id(),
        &m.id,
        "the message on the other topic",
    );
    c.ok("ack_elsewhere", d.ack().await)?;
    Ok(())
}

/// `close` drains: with deliveries in flight it does not return at once (it waits up to the drain timeout
/// for them), it hands out nothing more (`next` ends), acks made during the drain succeed, and it returns
/// once they are made; publishing after it is [`Error::Closed`]. On a persistent backend, a new bus then
/// gets exactly the messages never handed out, each still at attempt 1 (read-ahead went back untouched),
/// and never the acked ones (nothing twice).
pub async fn close_drains(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let persistent = bus.capabilities().persistent;
    let drain = s.settings().drain_timeout;
    let topic = unique_topic("close_drains");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let messages: Vec<Message> = (0..5u8).map(|i| Message::new(vec![i])).collect();
    c.ok("publish", bus.publish_batch(&topic, messages.clone()).await)?;
    let d1 = recv(c, &mut sub, patience(s), "delivered").await?;
    let d2 = recv(c, &mut sub, patience(s), "delivered").await?;
    let handed: BTreeSet<MessageId> = [d1.message_id().clone(), d2.message_id().clone()].into();
    let closing_bus = bus.clone();
    let mut closing = tokio::spawn(async move { closing_bus.close().await });
    let early = tokio::time::timeout(drain / 4, &mut closing).await.ok();
    c.check(
        "close_waits_for_in_flight",
        early.is_none(),
        format_args!(
            "close returned within {:?} with two deliveries in flight",
            drain / 4
        ),
    );
    match tokio::time::timeout(patience(s), sub.next()).await {
        Ok(None) => {}
        Ok(Some(other)) => {
            c.check(
                "no_new_hand_outs",
                false,
                format_args!("a subscription yielded {other:?} while closing"),
            );
        }
        Err(_) => {
            c.check(
                "no_new_hand_outs",
                false,
                "next() did not end while closing",
            );
        }
    }
    c.ok("ack_while_draining", d1.ack().await)?;
    c.ok("ack_while_draining", d2.ack().await)?;
    let joined = match early {
        Some(joined) => joined,
        None => match tokio::time::timeout(drain + patience(s), &mut closing).await {
            Ok(joined) => joined,
            Err(_) => return Err(c.fail("close", "close did not return after the acks")),
        },
    };
    match joined {
        Ok(result) => c.ok("close", result)?,
        Err(e) => return Err(c.fail("close", format_args!("close panicked: {e}"))),
    }
    let late = bus.publish(&topic, Message::new(&b"late"[..])).await;
    c.check(
        "publish_after_close",
        matches!(late, Err(Error::Closed { .. })),
        format_args!("publish after close: expected Error::Closed, got {late:?}"),
    );
    drop(sub);
    if !persistent {
        return Ok(());
    }
    let again = super::bus(s, c).await?;
    let mut sub = subscribe(c, &*again, &topic, "g", StartPosition::Earliest).await?;
    let mut rest = BTreeSet::new();
    for _ in 0..3 {
        let d = recv(c, &mut sub, patience(s), "rest_delivered_after_restart").await?;
        c.check_eq(
            "rest_untouched",
            d.attempt(),
            1,
            "attempt of a message never handed out",
        );
        rest.insert(d.message_id().clone());
        c.ok("ack_rest", d.ack().await)?;
    }
    let want: BTreeSet<MessageId> = messages
        .iter()
        .map(|m| m.id.clone())
        .filter(|id| !handed.contains(id))
        .collect();
    c.check_eq(
        "nothing_lost",
        &rest,
        &want,
        "the messages never handed out",
    );
    nothing(c, &mut sub, quiet(s), "nothing_twice").await;
    Ok(())
}

/// A consumer whose lease lapsed while it worked settles late, after its message went to another member:
/// its `nack` is accepted and changes nothing. The new holder keeps its lease (where leases can be
/// extended, its `extend` still succeeds), its `ack` ends the message, and nothing is delivered again or
/// dead-lettered. A stale `nack` that took the message back would redeliver it behind the holder's back
/// (or, at the last attempt, dead-letter a message that is being handled).
pub async fn stale_nack_changes_nothing(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let caps = bus.capabilities();
    let topic = unique_topic("stale_nack_changes_nothing");
    let mut first = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(&b"slow job"[..]);
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let stale = recv(c, &mut first, patience(s), "delivered").await?;
    c.check_eq("first_attempt", stale.attempt(), 1, "first delivery");
    // The slow consumer stops reading; its delivery stays out until the lease lapses.
    drop(first);
    let mut second = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let current = recv(c, &mut second, patience(s), "redelivered_after_lapse").await?;
    c.check_eq(
        "same_message",
        &current.message().id,
        &m.id,
        "the lapsed message goes to the other member",
    );
    c.check_eq("second_attempt", current.attempt(), 2, "after the lapse");
    c.ok(
        "stale_nack_accepted",
        stale.nack(Duration::ZERO, "woke up late").await,
    )?;
    if caps.extend_lease {
        let kept = current
            .extend(s.settings().ack_timeout.min(caps.max_lease_extension))
            .await;
        c.check(
            "holder_keeps_its_lease",
            kept.is_ok(),
            format_args!("extend by the current holder after a stale nack: {kept:?}"),
        );
    }
    c.ok("ack", current.ack().await)?;
    nothing(c, &mut second, quiet(s), "nothing_after_ack").await;
    if caps.dead_letter {
        let mut dlq =
            subscribe(c, &*bus, &topic.dead_letter(), "d", StartPosition::Earliest).await?;
        nothing(c, &mut dlq, quiet(s), "nothing_dead_lettered").await;
    }
    Ok(())
}

/// [`EventBus::publish_now`](crate::EventBus::publish_now) answers exactly as `publish` would, on every
/// backend: a message it publishes is delivered like a published one (its id, once); one it hands back
/// (`Wait`) comes back untouched and was not published; an oversized message and a publish after `close`
/// are refused with `publish`'s error, the message handed back. (The Platform's layers take this path
/// for backends that never wait, so a difference here would make the layered port and the bare one
/// answer differently.)
pub async fn publish_now_agrees_with_publish(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("publish_now");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let first = Message::new(&b"now"[..]).with_key("k");
    match bus.publish_now(&topic, first.clone()) {
        PublishNow::Published(id) => {
            c.check_eq("published_id", &id, &first.id, "publish_now's id");
        }
        PublishNow::Wait(back) => {
            c.check(
                "handed_back_untouched",
                back == first,
                format_args!("Wait handed back {back:?}, expected {first:?}"),
            );
            c.ok("publish_after_wait", bus.publish(&topic, back).await)?;
        }
        PublishNow::Failed(e, _) => {
            return Err(c.fail(
                "published",
                format_args!("an open bus refused a valid message: {e}"),
            ));
        }
    }
    let marker = Message::new(&b"marker"[..]);
    c.ok("publish_marker", bus.publish(&topic, marker.clone()).await)?;
    let d = recv(c, &mut sub, patience(s), "first_delivered").await?;
    c.check_eq(
        "first_is_it",
        &d.message().id,
        &first.id,
        "the first delivery",
    );
    c.check(
        "same_message",
        *d.message() == first,
        format_args!("delivered {:?}, published {first:?}", d.message()),
    );
    c.ok("ack", d.ack().await)?;
    let d = recv(c, &mut sub, patience(s), "marker_delivered").await?;
    c.check_eq(
        "then_the_marker",
        &d.message().id,
        &marker.id,
        "the second delivery",
    );
    c.ok("ack_marker", d.ack().await)?;
    nothing(c, &mut sub, quiet(s), "delivered_once").await;

    let limit = bus.capabilities().max_message_bytes;
    let huge = Message::new(vec![7u8; limit + 1]);
    let by_publish = bus.publish(&topic, huge.clone()).await;
    refused_alike(
        c,
        "too_large",
        bus.publish_now(&topic, huge.clone()),
        &huge,
        &by_publish,
    );
    c.ok("close", bus.close().await)?;
    let late = Message::new(&b"late"[..]);
    let by_publish = bus.publish(&topic, late.clone()).await;
    refused_alike(
        c,
        "after_close",
        bus.publish_now(&topic, late.clone()),
        &late,
        &by_publish,
    );
    Ok(())
}

/// `publish_now`'s answer to a message `publish` refused (`by_publish`): the same error, or `Wait`; the
/// message handed back either way.
fn refused_alike(
    c: &mut Checks,
    label: &'static str,
    now: PublishNow,
    sent: &Message,
    by_publish: &crate::Result<MessageId>,
) {
    let Err(expected) = by_publish else {
        c.check(
            label,
            false,
            format_args!("publish accepted it: {by_publish:?}"),
        );
        return;
    };
    match now {
        PublishNow::Failed(e, back) => c.check(
            label,
            std::mem::discriminant(&e) == std::mem::discriminant(expected) && back == *sent,
            format_args!(
                "publish_now: {e:?} (message handed back: {}); publish: {expected:?}",
                back == *sent
            ),
        ),
        PublishNow::Wait(back) => c.check(
            label,
            back == *sent,
            "publish_now answered Wait but changed the message",
        ),
        PublishNow::Published(id) => c.check(
            label,
            false,
            format_args!("publish_now published {id} where publish said {expected:?}"),
        ),
    };
}

/// [`Subscription::try_next`](crate::Subscription::try_next) hands out what `next` would, without
/// waiting, on every backend: with nothing ready it answers `None` and takes nothing (the next message
/// still comes at attempt 1); what it hands out is delivered once, at attempt 1, like a `next`'s; taking
/// by `try_next` where it can and `next` otherwise gets every message once; after `close` it answers
/// `None`. (A backend without a fast path may always answer `None`; the Platform's subscriptions take this
/// path first on every `next`.)
pub async fn try_next_agrees_with_next(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("try_next");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    if let Some(got) = sub.try_next() {
        return Err(c.fail(
            "nothing_ready",
            format_args!("try_next on an empty topic: {got:?}"),
        ));
    }
    let sent: Vec<Message> = (0..4u8).map(|i| Message::new(vec![i])).collect();
    for m in &sent {
        c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    }
    let mut seen = BTreeSet::new();
    while seen.len() < sent.len() {
        let d = match sub.try_next() {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                return Err(c.fail("try_next", format_args!("the subscription failed: {e}")));
            }
            None => recv(c, &mut sub, patience(s), "delivered").await?,
        };
        c.check_eq("first_attempt", d.attempt(), 1, "a first delivery");
        let fresh = seen.insert(d.message().id.clone());
        c.check(
            "once",
            fresh,
            format_args!("{} handed out twice", d.message().id),
        );
        c.check(
            "one_of_them",
            sent.iter().any(|m| *m == *d.message()),
            format_args!("delivered {:?}, not one published", d.message()),
        );
        c.ok("ack", d.ack().await)?;
    }
    nothing(c, &mut sub, quiet(s), "each_once").await;
    c.ok("close", bus.close().await)?;
    let late = sub.try_next();
    c.check(
        "none_after_close",
        late.is_none(),
        format_args!("try_next after close: {late:?}"),
    );
    Ok(())
}
