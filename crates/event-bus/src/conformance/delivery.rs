//! Cases on publishing and receiving: round trips, batches, start positions, workspaces, bad input, close.

use super::{
    Subject, bus, nothing, patience, quiet, recv, subscribe, unique_topic, unique_topic_in,
    workspace,
};
use crate::{Error, Message, StartPosition, Topic};
use avb_conformance::{CaseResult, Checks};
use std::time::Duration;

/// Payload (non-UTF-8 and empty), key, headers and id survive the round trip byte for byte.
pub async fn round_trip(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let sent = vec![
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
    round_trips(s, c, "round_trip", sent).await
}

/// A 1 MiB payload survives the round trip byte for byte (for a backend whose limit allows it).
pub async fn round_trip_1mib(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let mut big = vec![0u8; super::ONE_MIB];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i * 31 % 251) as u8;
    }
    round_trips(s, c, "round_trip_1mib", vec![Message::new(big)]).await
}

async fn round_trips(
    s: &Subject<'_>,
    c: &mut Checks,
    case: &str,
    sent: Vec<Message>,
) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic(case);
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    for m in &sent {
        let id = c.ok("publish", bus.publish(&topic, m.clone()).await)?;
        c.check_eq(
            "publish_returns_id",
            &id,
            &m.id,
            "publish returns the message's id",
        );
    }
    for m in &sent {
        let d = recv(c, &mut sub, patience(s), "delivered").await?;
        c.check(
            "byte_for_byte",
            d.message() == m,
            format_args!(
                "the message round-trips byte for byte: sent {m:?}, got {:?}",
                d.message()
            ),
        );
        c.check_eq("attempt", d.attempt(), 1, "first delivery");
        c.check_eq("topic", d.topic(), &topic, "the delivery's topic");
        c.check_eq("group", d.group(), "g", "the delivery's group");
        c.ok("ack", d.ack().await)?;
    }
    Ok(())
}

/// `publish_batch` publishes in order and returns the ids in order; an empty batch is fine.
pub async fn batch(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("batch");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let msgs: Vec<Message> = (0..100)
        .map(|i| Message::new(format!("m{i}").into_bytes()))
        .collect();
    let ids = c.ok(
        "publish_batch",
        bus.publish_batch(&topic, msgs.clone()).await,
    )?;
    c.check_eq(
        "ids_in_order",
        ids,
        msgs.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        "ids in order",
    );
    for m in &msgs {
        let d = recv(c, &mut sub, patience(s), "delivered").await?;
        c.check_eq(
            "order",
            &d.message().payload,
            &m.payload,
            "batch order kept",
        );
        c.ok("ack", d.ack().await)?;
    }
    let empty = c.ok("empty_batch", bus.publish_batch(&topic, Vec::new()).await)?;
    c.check_eq(
        "empty_batch_ids",
        empty.len(),
        0,
        "an empty batch returns no ids",
    );
    Ok(())
}

/// A new group starts at `Earliest` (retained messages first) or `Latest` (only newer ones); an existing
/// group resumes after its last ack whatever start it asks for.
pub async fn start_positions(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("start_positions");
    let old = Message::new(&b"old"[..]);
    c.ok("publish", bus.publish(&topic, old.clone()).await)?;
    let mut earliest = subscribe(c, &*bus, &topic, "early", StartPosition::Earliest).await?;
    let mut latest = subscribe(c, &*bus, &topic, "late", StartPosition::Latest).await?;
    let new = Message::new(&b"new"[..]);
    c.ok("publish", bus.publish(&topic, new.clone()).await)?;
    for expected in [&old, &new] {
        let d = recv(c, &mut earliest, patience(s), "earliest_delivered").await?;
        c.check_eq(
            "earliest",
            &d.message().id,
            &expected.id,
            "earliest sees old then new",
        );
        c.ok("ack", d.ack().await)?;
    }
    let d = recv(c, &mut latest, patience(s), "latest_delivered").await?;
    c.check_eq(
        "latest",
        &d.message().id,
        &new.id,
        "latest skips what came before it",
    );
    c.ok("ack", d.ack().await)?;
    // Resume: the group continues after its acks, even when asking for Earliest again.
    drop(earliest);
    let third = Message::new(&b"third"[..]);
    c.ok("publish", bus.publish(&topic, third.clone()).await)?;
    let mut again = subscribe(c, &*bus, &topic, "early", StartPosition::Earliest).await?;
    let d = recv(c, &mut again, patience(s), "resumed_delivered").await?;
    c.check_eq(
        "resume",
        &d.message().id,
        &third.id,
        "a group resumes after its last ack",
    );
    c.ok("ack", d.ack().await)?;
    Ok(())
}

/// The same topic name in two workspaces never mixes.
pub async fn workspace_isolation(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let a = unique_topic_in(&workspace("conformance-a"), "workspace_isolation");
    let b = c.ok("topic", Topic::new(&workspace("conformance-b"), a.name()))?;
    let mut sub_a = subscribe(c, &*bus, &a, "g", StartPosition::Earliest).await?;
    let mut sub_b = subscribe(c, &*bus, &b, "g", StartPosition::Earliest).await?;
    let ma = Message::new(&b"for a"[..]);
    let mb = Message::new(&b"for b"[..]);
    c.ok("publish", bus.publish(&a, ma.clone()).await)?;
    c.ok("publish", bus.publish(&b, mb.clone()).await)?;
    let d = recv(c, &mut sub_a, patience(s), "a_delivered").await?;
    c.check_eq(
        "a_gets_its_own",
        &d.message().id,
        &ma.id,
        "workspace a's message",
    );
    c.ok("ack", d.ack().await)?;
    let d = recv(c, &mut sub_b, patience(s), "b_delivered").await?;
    c.check_eq(
        "b_gets_its_own",
        &d.message().id,
        &mb.id,
        "workspace b's message",
    );
    c.ok("ack", d.ack().await)?;
    let (seen_a, seen_b) = tokio::join!(
        super::silence(&mut sub_a, quiet(s)),
        super::silence(&mut sub_b, quiet(s))
    );
    super::quiet_check(c, "nothing_more_in_a", seen_a);
    super::quiet_check(c, "nothing_more_in_b", seen_b);
    Ok(())
}

/// `close` stops publishing (then [`Error::Closed`]) and subscriptions, while acks of in-flight
/// deliveries still go through.
pub async fn close_semantics(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("close_semantics");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    c.ok(
        "publish",
        bus.publish(&topic, Message::new(&b"x"[..])).await,
    )?;
    let d = recv(c, &mut sub, patience(s), "delivered").await?;
    c.ok("close", bus.close().await)?;
    let late = bus.publish(&topic, Message::new(&b"late"[..])).await;
    c.check(
        "publish_after_close",
        matches!(late, Err(Error::Closed { .. })),
        format_args!("publish after close: expected Error::Closed, got {late:?}"),
    );
    let late = bus
        .publish_batch(&topic, vec![Message::new(&b"late"[..])])
        .await;
    c.check(
        "publish_batch_after_close",
        matches!(late, Err(Error::Closed { .. })),
        format_args!("publish_batch after close: expected Error::Closed, got {late:?}"),
    );
    c.ok("ack_after_close", d.ack().await)?;
    match tokio::time::timeout(patience(s), sub.next()).await {
        Ok(None) => {}
        Ok(Some(other)) => {
            c.check(
                "subscription_ends",
                false,
                format_args!("a subscription after close yielded {other:?}"),
            );
        }
        Err(_) => {
            c.check(
                "subscription_ends",
                false,
                "a subscription did not end after close",
            );
        }
    }
    let late = bus.subscribe(&topic, "g2", StartPosition::Earliest).await;
    c.check(
        "subscribe_after_close",
        matches!(late, Err(Error::Closed { .. })),
        format_args!(
            "subscribe after close: expected Error::Closed, got {:?}",
            late.map(|_| "a subscription")
        ),
    );
    Ok(())
}

/// Bad input is a clear error, never a panic: invalid topic and group names, a message over the limit,
/// a second ack, `nack` after `ack`, a nack delay over the limit.
pub async fn bad_input(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let ws = workspace("conformance");
    for bad in ["", "has space", "slash/inside", ":colon", "ü"] {
        let got = Topic::new(&ws, bad);
        c.check(
            "invalid_topic",
            matches!(&got, Err(Error::InvalidTopic { name, .. }) if name == bad),
            format_args!("Topic::new({bad:?}): expected InvalidTopic naming it, got {got:?}"),
        );
    }
    let topic = unique_topic("bad_input");
    for bad in ["", "a b", "x:y"] {
        let got = bus.subscribe(&topic, bad, StartPosition::Earliest).await;
        c.check(
            "invalid_group",
            matches!(&got, Err(Error::InvalidGroup { name, .. }) if name == bad),
            format_args!(
                "subscribe(group {bad:?}): expected InvalidGroup naming it, got {:?}",
                got.map(|_| "a subscription")
            ),
        );
    }
    let limit = bus.capabilities().max_message_bytes;
    let huge = Message::new(vec![7u8; limit + 1]);
    let got = bus.publish(&topic, huge.clone()).await;
    c.check(
        "too_large",
        matches!(&got, Err(Error::TooLarge { limit: l, .. }) if *l == limit),
        format_args!("publish over the limit {limit}: expected TooLarge naming it, got {got:?}"),
    );
    let got = bus
        .publish_batch(&topic, vec![Message::new(&b"fine"[..]), huge])
        .await;
    c.check(
        "batch_too_large",
        matches!(got, Err(Error::TooLarge { .. })),
        format_args!("batch with one message over the limit: expected TooLarge, got {got:?}"),
    );
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m = Message::new(&b"once"[..]);
    c.ok("publish", bus.publish(&topic, m.clone()).await)?;
    let d = recv(c, &mut sub, patience(s), "delivered").await?;
    c.check_eq(
        "rejected_batch_published_nothing",
        &d.message().id,
        &m.id,
        "the first message after the rejected batch",
    );
    let max_delay = bus.capabilities().max_nack_delay;
    let got = d.nack(max_delay + Duration::from_secs(1), "too long").await;
    c.check(
        "delay_too_long",
        matches!(got, Err(Error::DelayTooLong { .. })),
        format_args!("nack over max_nack_delay: expected DelayTooLong, got {got:?}"),
    );
    c.ok("ack", d.ack().await)?;
    let got = d.ack().await;
    c.check(
        "second_ack",
        matches!(
            got,
            Err(Error::AlreadySettled {
                attempted: "ack",
                settled: "acked",
                ..
            })
        ),
        format_args!("second ack: expected AlreadySettled, got {got:?}"),
    );
    match d.nack(Duration::ZERO, "late").await {
        Err(e @ Error::AlreadySettled { .. }) => {
            c.check(
                "nack_after_ack_message",
                e.to_string().contains("cannot nack"),
                format_args!("the error says it cannot nack: {e}"),
            );
            c.check(
                "nack_after_ack_permanent",
                !e.is_retryable(),
                "not retryable",
            );
        }
        other => {
            c.check(
                "nack_after_ack",
                false,
                format_args!("nack after ack: expected AlreadySettled, got {other:?}"),
            );
        }
    }
    nothing(c, &mut sub, quiet(s), "nothing_more").await;
    Ok(())
}
