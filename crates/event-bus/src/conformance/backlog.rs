//! Cases on [`EventBus::backlog`](crate::EventBus::backlog): consumer lag, in-flight and dead-letter counts.

use super::{Subject, bus, patience, recv, subscribe, unique_topic};
use crate::{Backlog, Capabilities, Error, EventBus, Message, StartPosition, Topic};
use avb_conformance::{CaseResult, Checks};
use std::time::Duration;
use tokio::time::Instant;

/// How often a case asks for the backlog again while the broker's counts catch up.
const POLL: Duration = Duration::from_millis(50);

/// What the counts must show: `lag` exactly, `in_flight` within `in_flight_range` (a client may read
/// ahead), `dead_letters` exactly — each only where the capability is declared, `None` where it is not.
struct Want {
    lag: u64,
    in_flight: (u64, u64),
    dead_letters: u64,
}

impl Want {
    fn met(&self, caps: &Capabilities, b: &Backlog) -> bool {
        let lag = if caps.backlog_lag {
            b.lag == Some(self.lag)
        } else {
            b.lag.is_none()
        };
        let in_flight = if caps.backlog_in_flight {
            b.in_flight
                .is_some_and(|n| n >= self.in_flight.0 && n <= self.in_flight.1)
        } else {
            b.in_flight.is_none()
        };
        let dead = if caps.backlog_dead_letters {
            b.dead_letters == Some(self.dead_letters)
        } else {
            b.dead_letters.is_none()
        };
        lag && in_flight && dead
    }
}

/// Asks for the backlog until it shows `want` (brokers update their counts shortly after a settle), for
/// at most [`patience`]; a failure under `label` shows the last answer.
async fn backlog_shows(
    s: &Subject<'_>,
    c: &mut Checks,
    bus: &dyn EventBus,
    topic: &Topic,
    label: &'static str,
    want: Want,
) -> CaseResult {
    let caps = bus.capabilities();
    let give_up = Instant::now() + patience(s);
    loop {
        let seen = c.ok(label, bus.backlog(topic, "g").await)?;
        if want.met(&caps, &seen) {
            c.check(label, true, "");
            return Ok(());
        }
        if Instant::now() >= give_up {
            return Err(c.fail(
                label,
                format_args!(
                    "expected lag {} (declared: {}), in flight {}..={} (declared: {}), dead letters {} \
                     (declared: {}); the backend still answers {seen:?}",
                    want.lag,
                    caps.backlog_lag,
                    want.in_flight.0,
                    want.in_flight.1,
                    caps.backlog_in_flight,
                    want.dead_letters,
                    caps.backlog_dead_letters,
                ),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Publish `m` messages and nack each `max_attempts` times (to the dead-letter topic, where
/// [`dead_letter`](crate::Capabilities::dead_letter)), then publish 6 more and take 2 without settling:
/// the backlog shows a lag of 6, at least 2 in flight (at most 6: a client may read ahead) and `m` dead
/// letters; after acking the 2 the lag is 4. A count the backend does not declare must be `None`.
pub async fn backlog_counts(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let caps = bus.capabilities();
    let max = s.settings().max_attempts;
    let topic = unique_topic("backlog_counts");
    let mut sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    let m: u64 = if caps.dead_letter { 2 } else { 0 };
    let doomed: Vec<Message> = (0..m).map(|i| Message::new(vec![b'd', i as u8])).collect();
    c.ok("publish_doomed", bus.publish_batch(&topic, doomed).await)?;
    let mut dead = 0;
    while dead < m {
        let d = recv(c, &mut sub, patience(s), "doomed_delivered").await?;
        let last = d.attempt() >= max;
        c.ok("nack", d.nack(Duration::ZERO, "to the dead letters").await)?;
        if last {
            dead += 1;
        }
    }
    let rest: Vec<Message> = (0..6u8).map(|i| Message::new(vec![b'r', i])).collect();
    c.ok("publish_rest", bus.publish_batch(&topic, rest).await)?;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(recv(c, &mut sub, patience(s), "delivered").await?);
    }
    let want = Want {
        lag: 6,
        in_flight: (2, 6),
        dead_letters: m,
    };
    backlog_shows(s, c, &*bus, &topic, "two_held", want).await?;
    for d in held {
        c.ok("ack", d.ack().await)?;
    }
    let want = Want {
        lag: 4,
        in_flight: (0, 4),
        dead_letters: m,
    };
    backlog_shows(s, c, &*bus, &topic, "two_acked", want).await?;
    drop(sub);
    Ok(())
}

/// The backlog of a group that was never subscribed, or of a topic that does not exist, is
/// [`Error::UnknownGroup`] (one answer on every backend); a bad group name is
/// [`Error::InvalidGroup`].
pub async fn backlog_unknown_group(s: &Subject<'_>, c: &mut Checks) -> CaseResult {
    let bus = bus(s, c).await?;
    let topic = unique_topic("backlog_unknown_group");
    let sub = subscribe(c, &*bus, &topic, "g", StartPosition::Earliest).await?;
    c.ok(
        "publish",
        bus.publish(&topic, Message::new(&b"x"[..])).await,
    )?;
    c.ok("known_group", bus.backlog(&topic, "g").await)?;
    let other = bus.backlog(&topic, "nobody").await;
    c.check(
        "unknown_group",
        matches!(&other, Err(Error::UnknownGroup { group, .. }) if group == "nobody"),
        format_args!("expected Error::UnknownGroup for group \"nobody\", got {other:?}"),
    );
    let missing = unique_topic("backlog_no_such_topic");
    let none = bus.backlog(&missing, "g").await;
    c.check(
        "unknown_topic",
        matches!(&none, Err(Error::UnknownGroup { .. })),
        format_args!("expected Error::UnknownGroup for a topic never used, got {none:?}"),
    );
    let bad = bus.backlog(&topic, "").await;
    c.check(
        "bad_group_name",
        matches!(&bad, Err(Error::InvalidGroup { .. })),
        format_args!("expected Error::InvalidGroup for an empty group name, got {bad:?}"),
    );
    drop(sub);
    let _ = s;
    Ok(())
}
