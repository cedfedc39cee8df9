//! Cases on consumer groups: competing consumers, fan-out, per-key order.

use super::{Subject, bus, patience, recv, subscribe, unique_topic};
use crate::{Delivery, EventBus, Message, StartPosition, Topic};
use avb_conformance::{Abort, CaseResult, Checks};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

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
/// by `decide`); returns them in the order they arrived. With `rendezvous`, each member holds its first
/// delivery (unsettled) until every member holds one, so the members provably work at the same time (a
/// backend that hands nothing to a second member while the first holds a delivery fails here). A member's
/// error stops the run (a failure under `members`); the member tasks end with the run (also when the case
/// times out).
#[allow(clippy::too_many_arguments)]
async fn run_members(
    c: &mut Checks,
    bus: &dyn EventBus,
    topic: &Topic,
    members: usize,
    total: usize,
    wait: Duration,
    rendezvous: Option<Duration>,
    decide: Decide,
) -> Result<Vec<Seen>, Abort> {
    let barrier = Arc::new(tokio::sync::Barrier::new(members));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let mut tasks = tokio::task::JoinSet::new();
    for member in 0..members {
        let mut sub = subscribe(c, bus, topic, "g", StartPosition::Earliest).await?;
        let (seen, decide, mut stop_rx, stop_tx) = (
            seen.clone(),
            decide.clone(),
            stop_rx.clone(),
            stop_tx.clone(),
        );
        let barrier = barrier.clone();
        tasks.spawn(async move {
            let mut first = true;
            loop {
                let d = tokio::select! {
                    _ = stop_rx.changed() => return Ok(()),
                    d = sub.next() => match d {
                        Some(Ok(d)) => d,
                        Some(Err(e)) => return Err(format!("member {member}: the subscription failed: {e}")),
                        None => return Err(format!("member {member}: the subscription ended")),
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
                if let (true, Some(hold)) = (first, rendezvous)
                    && tokio::time::timeout(hold, barrier.wait()).await.is_err()
                {
                    return Err(format!(
                        "member {member} held its first delivery for {hold:?} while not every other \
                         member got one: the members did not work concurrently"
                    ));
                }
                first = false;
                tokio::task::yield_now().await;
                let settled = match decide(&d) {
                    None => d.ack().await,
                    Some(reason) => d.nack(Duration::ZERO, &reason).await,
                };
                if let Err(e) = settled {
                    return Err(format!("member {member}: settling a delivery failed: {e}"));
                }
                if count >= total {
                    let _ = stop_tx.send(true);
                    return Ok(());
                }
            }
        });
    }
    let all = async {
        let mut errors = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("a member task failed: {e}")),
            }
        }
        errors
    };
    match tokio::time::timeout(wait, all).await {
        Ok(errors) if errors.is_empty() => {}
        Ok(errors) => return Err(c.fail("members", errors.join("; "))),
        Err(_) => {
            let got = seen.lock().unwrap_or_else(|e| e.into_inner()).len();
            return Err(c.fail(
                "members",
                format_args!("only {got} of {total} deliveries within {wait:?}"),
            ));
        }
    }
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(seen)
}

/// While one member of a group holds a delivery, another member that waits gets the *other* message,
/// as attempt 1, before the ack timeout could have redelivered anything (so a redelivery of the held
/// message cannot pass for it): a member's read-ahead does not keep its idle peers waiting. Two members,
/// two messages. Requires [`Capabilities::shares_read_ahead`](crate::Capabilities::shares_read_ahead).
pub async fn idle_member_gets_the_other(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("idle_member_gets_the_other");
    let mut a = subscribe(c, &*bus, &topic, "hold", StartPosition::Earliest).await?;
    let mut b = subscribe(c, &*bus, &topic, "hold", StartPosition::Earliest).await?;
    // Nothing of this topic was read before this instant, so no ack timeout can end before its end.
    let redelivery_possible_at = Instant::now() + s.settings().ack_timeout;
    c.ok(
        "publish_batch",
        bus.publish_batch(
            &topic,
            vec![Message::new(&b"one"[..]), Message::new(&b"two"[..])],
        )
        .await,
    )?;
    let held = recv(
        c,
        &mut a,
        s.settings().ack_timeout,
        "first_member_delivered",
    )
    .await?;
    let wait = redelivery_possible_at.saturating_duration_since(Instant::now());
    let other = recv(
        c,
        &mut b,
        wait,
        "second_member_gets_the_other_before_the_ack_timeout",
    )
    .await?;
    c.check(
        "distinct_messages",
        held.message().id != other.message().id,
        format_args!(
            "two members of one group got the same message {}",
            held.message().id
        ),
    );
    c.check_eq(
        "first_attempt_held",
        held.attempt(),
        1,
        "the held delivery's attempt",
    );
    c.check_eq(
        "first_attempt_other",
        other.attempt(),
        1,
        "the other member's delivery's attempt",
    );
    c.ok("ack", held.ack().await)?;
    c.ok("ack", other.ack().await)?;
    Ok(())
}

/// Within one group each message goes to one member: sixty messages over two members are delivered once
/// in all, each as attempt 1.
pub async fn competing_consumers(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("competing_consumers");
    let msgs: Vec<Message> = (0..60)
        .map(|i| Message::new(format!("m{i}").into_bytes()))
        .collect();
    let wait = patience(s) * 2;
    let publish = async {
        // Let both members join before anything is there to take.
        tokio::time::sleep(Duration::from_millis(100)).await;
        bus.publish_batch(&topic, msgs.clone()).await
    };
    let (seen, published) = tokio::join!(
        run_members(
            c,
            &*bus,
            &topic,
            2,
            msgs.len(),
            wait,
            None,
            Arc::new(|_| None)
        ),
        publish
    );
    let seen = seen?;
    c.ok("publish_batch", published)?;
    let mut ids: Vec<String> = seen.iter().map(|s| s.message.id.to_string()).collect();
    ids.sort();
    ids.dedup();
    c.check(
        "each_once",
        ids.len() == msgs.len() && seen.len() == msgs.len(),
        format_args!(
            "each message delivered once within the group (acks came before the ack timeout): {} distinct in {} deliveries",
            ids.len(),
            seen.len()
        ),
    );
    c.check(
        "all_first_attempts",
        seen.iter().all(|s| s.attempt == 1),
        format_args!("every delivery is attempt 1: {seen:?}"),
    );
    Ok(())
}

/// Every group gets every message, in order.
pub async fn fan_out(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("fan_out");
    let mut subs = Vec::new();
    for g in ["g1", "g2", "g3"] {
        subs.push(subscribe(c, &*bus, &topic, g, StartPosition::Earliest).await?);
    }
    let msgs: Vec<Message> = (0..20)
        .map(|i| Message::new(format!("m{i}").into_bytes()))
        .collect();
    c.ok(
        "publish_batch",
        bus.publish_batch(&topic, msgs.clone()).await,
    )?;
    for sub in &mut subs {
        for m in &msgs {
            let d = recv(c, sub, patience(s), "delivered").await?;
            c.check_eq(
                "every_group_every_message",
                &d.message().id,
                &m.id,
                "every group gets every message, in order",
            );
            c.ok("ack", d.ack().await)?;
        }
    }
    Ok(())
}

/// Same-key messages reach a group's consumers in publish order, also across a redelivery, with two
/// consumers working concurrently: each holds its first delivery until the other got one (a different key),
/// and both handle deliveries.
pub async fn per_key_order(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("per_key_order");
    let per_key = 30u32;
    let mut msgs = Vec::new();
    for seq in 0..per_key {
        for key in ["a", "b", "c"] {
            msgs.push(Message::new(seq.to_string().into_bytes()).with_key(key));
        }
    }
    let total = msgs.len() + 3;
    let publish = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        bus.publish_batch(&topic, msgs).await
    };
    let decide: Decide = Arc::new(|d: &Delivery| {
        (d.message().payload.as_ref() == b"3" && d.attempt() == 1).then(|| "retry once".to_string())
    });
    // Each member holds its first delivery until the other holds one too: well inside the ack timeout,
    // so the held delivery is not redelivered meanwhile.
    let hold = s.settings().ack_timeout / 2;
    let (seen, published) = tokio::join!(
        run_members(
            c,
            &*bus,
            &topic,
            2,
            total,
            patience(s) * 2,
            Some(hold),
            decide
        ),
        publish
    );
    let seen = seen?;
    c.ok("publish_batch", published)?;
    let members: HashSet<usize> = seen.iter().map(|s| s.member).collect();
    c.check(
        "both_members_consumed",
        members.len() == 2,
        format_args!(
            "two consumers work concurrently: deliveries went to members {members:?} of 0 and 1"
        ),
    );
    let mut by_key: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    for s in seen {
        let seq = String::from_utf8_lossy(&s.message.payload)
            .parse()
            .unwrap_or(u32::MAX);
        by_key
            .entry(s.message.key.unwrap_or_default())
            .or_default()
            .push((seq, s.attempt));
    }
    for key in ["a", "b", "c"] {
        let got = by_key.get(key).cloned().unwrap_or_default();
        let mut expected: Vec<(u32, u32)> = (0..per_key).map(|s| (s, 1)).collect();
        expected.insert(4, (3, 2));
        c.check_eq(
            "publish_order_per_key",
            got,
            expected,
            format_args!("key {key}: (seq, attempt) in publish order, the redelivery in place"),
        );
    }
    Ok(())
}
