//! One consumer of a group: [`RedisSource`] hands out what its reader task (`reader`) fetched, and
//! [`RedisSettle`] acks and nacks.

use super::reader::{self, Inbox, Reader};
use super::wire::{self, DeadLetter, RawEntry};
use super::{SCHEME, Shared, backoff_field, errors_key, map_err, scripts, stream_key};
use crate::backend::{Receipt, Settle, Source};
use crate::{Delivery, Error, Result, Topic};
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;

const DROPPED: &str = "delivery dropped without ack or nack";

pub(crate) struct RedisSource {
    shared: Arc<Shared>,
    topic: Arc<Topic>,
    group: Arc<str>,
    settle: Arc<RedisSettle>,
    inbox: Arc<Inbox>,
}

impl RedisSource {
    /// The subscription and its reader task (spawned here: call inside a Tokio runtime).
    pub(crate) fn start(
        shared: Arc<Shared>,
        conn: ConnectionManager,
        topic: Topic,
        group: String,
    ) -> Self {
        let consumer = uuid::Uuid::new_v4().simple().to_string();
        let topic = Arc::new(topic);
        let group: Arc<str> = Arc::from(group);
        let settle = Arc::new(RedisSettle {
            shared: shared.clone(),
            topic: (*topic).clone(),
            group: group.to_string(),
            consumer: consumer.clone(),
        });
        let inbox = Arc::new(Inbox::default());
        shared
            .readers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let reader = Reader {
            shared: shared.clone(),
            conn,
            key: stream_key(&shared.root, &topic),
            topic: topic.clone(),
            group: group.clone(),
            consumer,
            inbox: inbox.clone(),
            last_claim: None,
            cursor: "0-0".into(),
        };
        tokio::spawn(reader.run());
        Self {
            shared,
            topic,
            group,
            settle,
            inbox,
        }
    }

    fn delivery(&self, b: reader::Buffered) -> Delivery {
        self.shared.handed_out();
        let receipt = Receipt {
            tag: 0,
            id: b.entry_id,
            attempt: b.attempt,
        };
        Delivery::new(
            Arc::new(b.message),
            self.topic.clone(),
            self.group.clone(),
            receipt,
            self.settle.clone(),
        )
    }

    /// A buffered delivery, an error or the end; `None`: nothing yet (and the reader was asked for more).
    fn take(&self) -> Option<Option<Result<Delivery>>> {
        let mut one = None;
        let outcome = self.take_up_to(1, |b| one = Some(b))?;
        Some(outcome.map(|r| r.and_then(|()| one.map(|b| self.delivery(b)).ok_or_else(lost))))
    }

    /// Up to `max` buffered deliveries (one lock), an error or the end; `None`: nothing yet.
    fn take_batch(&self, max: usize) -> Option<Option<Result<Vec<Delivery>>>> {
        let mut taken = Vec::new();
        let outcome = self.take_up_to(max, |b| taken.push(b))?;
        Some(outcome.map(|r| r.map(|()| taken.into_iter().map(|b| self.delivery(b)).collect())))
    }

    /// Hands up to `max` fresh buffered entries to `take` under one lock: `Some(Some(Ok(())))` when at
    /// least one was taken; an error, the end, or `None` (nothing yet: the reader is asked for more).
    /// Entries read too long ago (their lease nearly lapsed) go back to the reader instead.
    fn take_up_to(
        &self,
        max: usize,
        mut take: impl FnMut(reader::Buffered),
    ) -> Option<Option<Result<()>>> {
        if self.shared.is_closed() {
            return Some(None);
        }
        let max_age = reader::max_age(self.shared.settings.ack_timeout);
        let mut wake_reader = false;
        let taken = {
            let mut s = self.inbox.lock();
            let mut count = 0;
            while count < max {
                let Some(b) = s.buffer.pop_front() else {
                    break;
                };
                if b.read_at.elapsed() < max_age {
                    take(b);
                    count += 1;
                } else {
                    s.give_back.push(b);
                    wake_reader = true;
                }
            }
            if count > 0 {
                Some(Some(Ok(())))
            } else if let Some(e) = s.error.take() {
                Some(Some(Err(e)))
            } else if s.stopped {
                Some(None)
            } else {
                s.wanted = true;
                wake_reader = true;
                None
            }
        };
        if wake_reader {
            self.inbox.wake.notify_one();
        }
        taken
    }
}

/// Never happens: `take_up_to` reports a take only after handing one over.
fn lost() -> Error {
    Error::Backend {
        backend: SCHEME,
        reason: "a buffered delivery went missing".into(),
        source: None,
    }
}

#[async_trait::async_trait]
impl Source for RedisSource {
    /// Cancel-safe: it only takes from the inbox and waits on a notification; the reader task does the I/O.
    async fn next(&mut self) -> Option<Result<Delivery>> {
        loop {
            let ready = self.inbox.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if let Some(outcome) = self.take() {
                return outcome;
            }
            ready.await;
        }
    }

    /// Cancel-safe like `next`; hands out up to `max` of what one `XREADGROUP COUNT n` buffered.
    async fn next_batch(&mut self, max: usize) -> Option<Result<Vec<Delivery>>> {
        loop {
            let ready = self.inbox.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if let Some(outcome) = self.take_batch(max) {
                return outcome;
            }
            ready.await;
        }
    }
}

impl Drop for RedisSource {
    fn drop(&mut self) {
        // The reader gives back what it read and this subscription never handed out, then stops.
        self.inbox.lock().gone = true;
        self.inbox.wake.notify_one();
    }
}

/// Acks and nacks for one consumer; a delivery's [`Receipt`] carries its entry id and attempt.
struct RedisSettle {
    shared: Arc<Shared>,
    topic: Topic,
    group: String,
    consumer: String,
}

impl RedisSettle {
    /// Makes the entry due for redelivery after `delay` (its idle time is set so XAUTOCLAIM picks it
    /// then) and records `reason` as its last error, and `attempt` as the attempt whose backoff is applied
    /// (so the reader does not take the redelivery for a lapsed lease) — in one [`scripts::NACK`] call,
    /// only while this consumer still holds the entry at `attempt`.
    async fn give_back(
        &self,
        entry_id: &str,
        attempt: u32,
        delay: Duration,
        reason: &str,
    ) -> Result<()> {
        let ack_timeout = self.shared.settings.ack_timeout;
        let idle = u64::try_from(ack_timeout.saturating_sub(delay).as_millis()).unwrap_or(0);
        let keys = [
            stream_key(&self.shared.root, &self.topic).into_bytes(),
            errors_key(&self.shared.root, &self.topic, &self.group).into_bytes(),
        ];
        let args = [
            self.group.clone().into_bytes(),
            self.consumer.clone().into_bytes(),
            entry_id.as_bytes().to_vec(),
            attempt.to_string().into_bytes(),
            idle.to_string().into_bytes(),
            reason.as_bytes().to_vec(),
            backoff_field(entry_id).into_bytes(),
        ];
        let mut conn = self.shared.conn.clone();
        // 0: a stale receipt (the lease lapsed and the entry was handed out again) — left to its holder.
        let _given_back: i64 = scripts::NACK.run(&mut conn, &keys, &args).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Settle for RedisSettle {
    async fn ack(&self, r: &Receipt) -> Result<()> {
        let mut conn = self.shared.conn.clone();
        let key = stream_key(&self.shared.root, &self.topic);
        let result = if r.attempt == 1 {
            redis::cmd("XACK")
                .arg(&key)
                .arg(&*self.group)
                .arg(&r.id)
                .query_async::<()>(&mut conn)
                .await
        } else {
            redis::pipe()
                .cmd("XACK")
                .arg(&key)
                .arg(&*self.group)
                .arg(&r.id)
                .ignore()
                .cmd("HDEL")
                .arg(errors_key(&self.shared.root, &self.topic, &self.group))
                .arg(&r.id)
                .arg(backoff_field(&r.id))
                .ignore()
                .query_async::<()>(&mut conn)
                .await
        };
        result.map_err(|e| map_err(e, "XACK"))?;
        self.shared.settled();
        Ok(())
    }

    /// One `XACK` for every entry (and one `HDEL` of the redelivered ones' last errors), in one pipeline.
    async fn ack_batch(&self, receipts: &[&Receipt]) -> Result<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        let xack = pipe
            .cmd("XACK")
            .arg(stream_key(&self.shared.root, &self.topic))
            .arg(&*self.group);
        for r in receipts {
            xack.arg(&r.id);
        }
        xack.ignore();
        let redelivered: Vec<&&Receipt> = receipts.iter().filter(|r| r.attempt > 1).collect();
        if !redelivered.is_empty() {
            let hdel =
                pipe.cmd("HDEL")
                    .arg(errors_key(&self.shared.root, &self.topic, &self.group));
            for r in redelivered {
                hdel.arg(&r.id).arg(backoff_field(&r.id));
            }
            hdel.ignore();
        }
        let mut conn = self.shared.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| map_err(e, "XACK"))?;
        for _ in receipts {
            self.shared.settled();
        }
        Ok(())
    }

    async fn nack(&self, r: &Receipt, delay: Duration, reason: &str) -> Result<()> {
        self.nack_entry(r, delay, reason).await?;
        self.shared.settled();
        Ok(())
    }

    async fn extend(&self, r: &Receipt, duration: Duration) -> Result<()> {
        let ack_timeout = self.shared.settings.ack_timeout;
        if duration > ack_timeout {
            return Err(Error::DelayTooLong {
                delay: duration,
                max: ack_timeout,
                backend: SCHEME,
            });
        }
        let idle = u64::try_from(ack_timeout.saturating_sub(duration).as_millis()).unwrap_or(0);
        let keys = [stream_key(&self.shared.root, &self.topic).into_bytes()];
        let args = [
            self.group.clone().into_bytes(),
            self.consumer.clone().into_bytes(),
            r.id.clone().into_bytes(),
            r.attempt.to_string().into_bytes(),
            idle.to_string().into_bytes(),
        ];
        let mut conn = self.shared.conn.clone();
        let kept: i64 = scripts::EXTEND.run(&mut conn, &keys, &args).await?;
        if kept == 1 {
            Ok(())
        } else {
            Err(Error::LeaseLost {
                message_id: String::new(),
                backend: SCHEME,
            })
        }
    }

    fn dropped(&self, r: &Receipt) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.shared.settled();
            return;
        };
        let me = RedisSettle {
            shared: self.shared.clone(),
            topic: self.topic.clone(),
            group: self.group.clone(),
            consumer: self.consumer.clone(),
        };
        let r = r.clone();
        rt.spawn(async move {
            // On failure the ack timeout redelivers it all the same. Counted as settled once done, so
            // `close` waits for this flush.
            let _ = me.nack_entry(&r, Duration::ZERO, DROPPED).await;
            me.shared.settled();
        });
    }
}

impl RedisSettle {
    /// A `nack` without the drain bookkeeping (shared by `nack` and `dropped`).
    async fn nack_entry(&self, r: &Receipt, delay: Duration, reason: &str) -> Result<()> {
        let max = self.shared.settings.ack_timeout;
        if delay > max {
            return Err(Error::DelayTooLong {
                delay,
                max,
                backend: SCHEME,
            });
        }
        if r.attempt >= self.shared.settings.max_attempts {
            let mut conn = self.shared.conn.clone();
            let range: redis::Value = redis::cmd("XRANGE")
                .arg(stream_key(&self.shared.root, &self.topic))
                .arg(&r.id)
                .arg(&r.id)
                .query_async(&mut conn)
                .await
                .map_err(|e| map_err(e, "XRANGE"))?;
            let entry = wire::entries("XRANGE", range)
                .map_err(|reason| Error::Backend {
                    backend: SCHEME,
                    reason,
                    source: None,
                })?
                .into_iter()
                .next()
                // Trimmed away meanwhile: dead-lettered as an empty entry, so the failure stays visible.
                .unwrap_or_else(|| RawEntry {
                    id: r.id.clone(),
                    ..RawEntry::default()
                });
            let why = DeadLetter {
                topic: self.topic.name(),
                group: &self.group,
                last_error: reason,
                attempts: r.attempt,
            };
            // Only while this consumer still holds it: a stale receipt never dead-letters a message
            // another consumer is working on.
            return self
                .shared
                .dead_letter(
                    &self.topic,
                    &self.group,
                    &entry,
                    &why,
                    Some((&self.consumer, r.attempt)),
                )
                .await
                .map(drop);
        }
        // No explicit delay: the backoff policy's, capped at what XCLAIM IDLE can express (the ack timeout).
        let delay = if delay.is_zero() {
            self.shared.settings.retry_delay(r.attempt).min(max)
        } else {
            delay
        };
        self.give_back(&r.id, r.attempt, delay, reason).await
    }
}
