//! One [`Subscription`](crate::Subscription): a consumer of the group's Shared subscription on the topic
//! and on the group's retry topic, owned by a task; the deliveries it handed out and their leases.
//!
//! The task reads from the consumer into a small channel (the read-ahead beyond the consumer's receiver
//! queue) while the subscription is open, sends the acks, and lets leases lapse. The [`Source`] hands out
//! what the channel holds, synchronously after the receive, so a dropped `next()` loses nothing.

use super::{SCHEME, Shared, map_err, wire, within_setup_timeout};
use crate::backend::{Origin, Receipt, Settle};
use crate::{
    Delivery, Error, HEADER_ATTEMPTS, HEADER_GROUP, HEADER_LAST_ERROR, HEADER_ORIGINAL_TOPIC,
    Message, Result, StartPosition, Topic,
};
use futures::StreamExt;
use pulsar::consumer::{ConsumerOptions, InitialPosition};
use pulsar::proto::MessageIdData;
use pulsar::{Consumer, SubType, TokioExecutor};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// Messages the task reads ahead into the channel.
const CHANNEL: usize = 1;
/// The default flow permits a consumer asks the broker for (its receiver queue,
/// [`PulsarBusBuilder::with_receiver_queue`](super::PulsarBusBuilder::with_receiver_queue)). One: a Shared
/// subscription's dispatcher gives each member as many messages as it has permits, so a member with a larger
/// queue hoards messages another idle member could be working on (the conformance suite's
/// competing-consumers case caught it with 64).
pub(crate) const RECEIVER_QUEUE: u32 = 1;

/// A delivery handed out and not yet settled.
struct Flight {
    raw_topic: String,
    id: MessageIdData,
    message: Arc<Message>,
    attempt: u32,
    deadline: Instant,
    /// A redelivery or dead-lettering is under way (no lease any more).
    settling: bool,
}

enum Cmd {
    Ack(String, MessageIdData),
    Flush(oneshot::Sender<()>),
}

struct Incoming {
    raw_topic: String,
    id: MessageIdData,
    message: Message,
    attempt: u32,
}

/// One subscription's state, shared by its task, its source and its deliveries.
pub(crate) struct Group {
    me: Weak<Group>,
    bus: Arc<Shared>,
    topic: Topic,
    group: Arc<str>,
    retry_url: String,
    dlq_url: String,
    flights: Mutex<HashMap<u64, Flight>>,
    next_tag: AtomicU64,
    cmds: mpsc::UnboundedSender<Cmd>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Group {
    /// Subscribes and starts the subscription's task.
    pub(crate) async fn start(
        bus: Arc<Shared>,
        topic: &Topic,
        group: &str,
        start: StartPosition,
    ) -> Result<(Arc<Group>, PulsarSource)> {
        let names = bus.names();
        let main_url = names.topic_url(topic);
        let retry_url = names.retry_topic(topic, group);
        let dlq_url = names.topic_url(&topic.dead_letter());
        let position = match start {
            StartPosition::Earliest => InitialPosition::Earliest,
            StartPosition::Latest => InitialPosition::Latest,
        };
        let consumer: Consumer<Vec<u8>, TokioExecutor> =
            within_setup_timeout("subscribing", async {
                bus.client()
                    .await?
                    .consumer()
                    .with_topics([main_url.as_str(), retry_url.as_str()])
                    .with_subscription(group)
                    .with_subscription_type(SubType::Shared)
                    .with_batch_size(bus.receiver_queue)
                    .with_options(
                        ConsumerOptions::default()
                            .with_initial_position(position)
                            .durable(true),
                    )
                    .build()
                    .await
                    .map_err(|e| map_err(e, "subscribing"))
            })
            .await?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (tx, rx) = mpsc::channel(CHANNEL);
        let closing = bus.closing.subscribe();
        let g = Arc::new_cyclic(|me| Group {
            me: me.clone(),
            bus: bus.clone(),
            topic: topic.clone(),
            group: Arc::from(group),
            retry_url,
            dlq_url,
            flights: Mutex::new(HashMap::new()),
            next_tag: AtomicU64::new(1),
            cmds: cmd_tx,
        });
        tokio::spawn(drive(g.clone(), consumer, tx, cmd_rx, closing.clone()));
        let source = PulsarSource {
            group: g.clone(),
            rx,
            closing,
            done: false,
        };
        Ok((g, source))
    }

    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.flights).len()
    }

    /// Waits until the task has sent every ack queued so far (at most a few seconds).
    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmds.send(Cmd::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }

    fn hand_out(&self, incoming: Incoming) -> Delivery {
        let tag = self.next_tag.fetch_add(1, Ordering::Relaxed);
        let message = Arc::new(incoming.message);
        let attempt = incoming.attempt;
        lock(&self.flights).insert(
            tag,
            Flight {
                raw_topic: incoming.raw_topic,
                id: incoming.id,
                message: message.clone(),
                attempt,
                deadline: Instant::now() + self.bus.settings().ack_timeout,
                settling: false,
            },
        );
        let origin: Arc<dyn Origin> = match self.me.upgrade() {
            Some(me) => me,
            // Unreachable while `self` is borrowed from an Arc; an orphan would only be redelivered.
            None => Arc::new(Orphan(self.topic.clone(), self.group.clone())),
        };
        Delivery::from_origin(
            message,
            Receipt {
                tag,
                id: String::new(),
                attempt,
            },
            origin,
        )
    }

    /// Marks the flight `tag` as settling; `None` when it is gone or already settling.
    fn begin_settling(&self, tag: u64) -> Option<(Arc<Message>, u32)> {
        let mut flights = lock(&self.flights);
        let f = flights.get_mut(&tag)?;
        if f.settling {
            return None;
        }
        f.settling = true;
        Some((f.message.clone(), f.attempt))
    }

    /// Removes the flight `tag` and queues the ack of its message.
    fn finish(&self, tag: u64) {
        if let Some(f) = lock(&self.flights).remove(&tag) {
            let _ = self.cmds.send(Cmd::Ack(f.raw_topic, f.id));
        }
    }

    /// Publishes the redelivery (or the dead letter) of the settling flight `tag`, then acks the original.
    /// On failure the flight is open again (its lease as it was).
    async fn redeliver(
        &self,
        tag: u64,
        message: &Message,
        attempt: u32,
        delay: Duration,
        reason: &str,
    ) -> Result<()> {
        let settings = self.bus.settings();
        let result = if attempt >= settings.max_attempts {
            let extra = [
                (HEADER_ORIGINAL_TOPIC, self.topic.name().to_string()),
                (HEADER_GROUP, self.group.to_string()),
                (HEADER_LAST_ERROR, reason.to_string()),
                (HEADER_ATTEMPTS, attempt.to_string()),
            ];
            let raw = wire::encode(message, &extra);
            self.bus.send_all(&self.dlq_url, vec![raw]).await
        } else {
            let mut raw = wire::encode(
                message,
                &[(wire::PROPERTY_ATTEMPT, (attempt + 1).to_string())],
            );
            if !delay.is_zero() {
                let at = SystemTime::now() + delay;
                let ms = at
                    .duration_since(UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                    .unwrap_or(0);
                raw.deliver_at_time = Some(ms);
            }
            self.bus.send_all(&self.retry_url, vec![raw]).await
        };
        match result {
            Ok(()) => {
                self.finish(tag);
                Ok(())
            }
            Err(e) => {
                if let Some(f) = lock(&self.flights).get_mut(&tag) {
                    f.settling = false;
                }
                Err(e)
            }
        }
    }

    /// Redelivers `tag` after the backoff, in a task (a dropped delivery, a lapsed lease).
    fn redeliver_later(&self, tag: u64, reason: &'static str) {
        let Some((message, attempt)) = self.begin_settling(tag) else {
            return;
        };
        let Some(me) = self.me.upgrade() else {
            return;
        };
        let delay = self.bus.settings().retry_delay(attempt);
        tokio::spawn(async move {
            // A failure (broker down) leaves the flight open: its lease lapses again and this retries.
            let _ = me.redeliver(tag, &message, attempt, delay, reason).await;
        });
    }

    /// Redelivers the flights whose lease lapsed.
    fn expire(&self) {
        let now = Instant::now();
        let lapsed: Vec<u64> = lock(&self.flights)
            .iter()
            .filter(|(_, f)| !f.settling && f.deadline <= now)
            .map(|(tag, _)| *tag)
            .collect();
        for tag in lapsed {
            if let Some(f) = lock(&self.flights).get_mut(&tag) {
                // The next lapse (if this redelivery fails) waits another ack timeout.
                f.deadline = now + self.bus.settings().ack_timeout;
            }
            self.redeliver_later(tag, "ack timeout");
        }
    }
}

/// The subscription's task: reads ahead while the subscription is open, sends acks, lapses leases; once
/// the subscription is dropped or the bus closes and nothing is in flight, closes the consumer (the broker
/// gives what was read ahead to the other members, untouched).
async fn drive(
    g: Arc<Group>,
    mut consumer: Consumer<Vec<u8>, TokioExecutor>,
    tx: mpsc::Sender<Result<Incoming>>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    closing: watch::Receiver<bool>,
) {
    let ack_timeout = g.bus.settings().ack_timeout;
    let period = (ack_timeout / 4).clamp(Duration::from_millis(1), Duration::from_millis(20));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ended = false;
    loop {
        let reading = !ended && !tx.is_closed() && !*closing.borrow();
        if !reading && g.in_flight() == 0 {
            break;
        }
        tokio::select! {
            biased;
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Ack(topic, id)) => {
                    let _ = consumer.ack_with_id(&topic, id).await;
                }
                Some(Cmd::Flush(done)) => {
                    let _ = done.send(());
                }
                None => {}
            },
            _ = tick.tick() => g.expire(),
            next = consumer.next(), if reading && tx.capacity() > 0 => match next {
                Some(Ok(raw)) => {
                    let from_retry = raw.topic.ends_with(&g.retry_url) || raw.topic == g.retry_url;
                    let (message, attempt) = wire::decode(&raw);
                    let attempt = if from_retry { attempt.unwrap_or(2) } else { 1 };
                    let incoming = Incoming {
                        raw_topic: raw.topic.clone(),
                        id: raw.message_id.id.clone(),
                        message,
                        attempt,
                    };
                    let _ = tx.try_send(Ok(incoming));
                }
                Some(Err(e)) => {
                    let _ = tx.try_send(Err(map_err(e, "receiving")));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => ended = true,
            },
        }
    }
    while let Ok(cmd) = cmds.try_recv() {
        match cmd {
            Cmd::Ack(topic, id) => {
                let _ = consumer.ack_with_id(&topic, id).await;
            }
            Cmd::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
    let _ = consumer.close().await;
}

#[async_trait::async_trait]
impl Settle for Group {
    async fn ack(&self, receipt: &Receipt) -> Result<()> {
        self.finish_unless_settling(receipt.tag);
        Ok(())
    }

    fn try_ack(&self, receipt: &Receipt) -> Option<Result<()>> {
        self.finish_unless_settling(receipt.tag);
        Some(Ok(()))
    }

    async fn ack_batch(&self, receipts: &[&Receipt]) -> Result<()> {
        for r in receipts {
            self.finish_unless_settling(r.tag);
        }
        Ok(())
    }

    async fn nack(&self, receipt: &Receipt, delay: Duration, reason: &str) -> Result<()> {
        if delay > super::MAX_NACK_DELAY {
            return Err(Error::DelayTooLong {
                delay,
                max: super::MAX_NACK_DELAY,
                backend: SCHEME,
            });
        }
        let Some((message, attempt)) = self.begin_settling(receipt.tag) else {
            // The lease lapsed: the redelivery is already under way.
            return Ok(());
        };
        let delay = if delay.is_zero() {
            self.bus.settings().retry_delay(attempt)
        } else {
            delay
        };
        self.redeliver(receipt.tag, &message, attempt, delay, reason)
            .await
    }

    async fn extend(&self, receipt: &Receipt, duration: Duration) -> Result<()> {
        let max = self.bus.settings().ack_timeout;
        if duration > max {
            return Err(Error::DelayTooLong {
                delay: duration,
                max,
                backend: SCHEME,
            });
        }
        let mut flights = lock(&self.flights);
        match flights.get_mut(&receipt.tag) {
            Some(f) if !f.settling => {
                f.deadline = Instant::now() + duration;
                Ok(())
            }
            _ => Err(Error::LeaseLost {
                message_id: String::new(),
                backend: SCHEME,
            }),
        }
    }

    fn dropped(&self, receipt: &Receipt) {
        self.redeliver_later(receipt.tag, "dropped without ack or nack");
    }
}

impl Group {
    /// Acks `tag` unless its lease lapsed (then its redelivery stands, and the ack is a no-op).
    fn finish_unless_settling(&self, tag: u64) {
        let f = {
            let mut flights = lock(&self.flights);
            match flights.get(&tag) {
                Some(f) if !f.settling => flights.remove(&tag),
                _ => None,
            }
        };
        if let Some(f) = f {
            let _ = self.cmds.send(Cmd::Ack(f.raw_topic, f.id));
        }
    }
}

impl Origin for Group {
    fn topic(&self) -> &Topic {
        &self.topic
    }
    fn group(&self) -> &str {
        &self.group
    }
}

/// Settles nothing (see [`Group::hand_out`]).
struct Orphan(Topic, Arc<str>);

#[async_trait::async_trait]
impl Settle for Orphan {
    async fn ack(&self, _: &Receipt) -> Result<()> {
        Ok(())
    }
    async fn nack(&self, _: &Receipt, _: Duration, _: &str) -> Result<()> {
        Ok(())
    }
}

impl Origin for Orphan {
    fn topic(&self) -> &Topic {
        &self.0
    }
    fn group(&self) -> &str {
        &self.1
    }
}

/// The [`crate::backend::Source`] of one subscription.
pub(crate) struct PulsarSource {
    group: Arc<Group>,
    rx: mpsc::Receiver<Result<Incoming>>,
    closing: watch::Receiver<bool>,
    done: bool,
}

impl PulsarSource {
    fn end(&mut self) -> Option<Result<Delivery>> {
        self.done = true;
        self.rx.close();
        None
    }
}

#[async_trait::async_trait]
impl crate::backend::Source for PulsarSource {
    async fn next(&mut self) -> Option<Result<Delivery>> {
        loop {
            if self.done || *self.closing.borrow() {
                return self.end();
            }
            tokio::select! {
                item = self.rx.recv() => return match item {
                    Some(Ok(incoming)) => Some(Ok(self.group.hand_out(incoming))),
                    Some(Err(e)) => Some(Err(e)),
                    None => self.end(),
                },
                changed = self.closing.changed() => {
                    if changed.is_err() {
                        return self.end();
                    }
                }
            }
        }
    }

    fn try_next(&mut self) -> Option<Result<Delivery>> {
        if self.done || *self.closing.borrow() {
            return None;
        }
        match self.rx.try_recv() {
            Ok(Ok(incoming)) => Some(Ok(self.group.hand_out(incoming))),
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => None,
        }
    }
}
