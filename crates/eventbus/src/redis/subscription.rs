//! One consumer of a group: reads new entries (XREADGROUP), claims idle and nacked ones (XAUTOCLAIM), and
//! acks or nacks them.

use super::{SCHEME, Shared, decode, errors_key, map_err, stream_key};
use crate::{Delivery, Error, Receipt, Result, Settle, Source, Topic};
use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamRangeReply, StreamReadReply,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

const DROPPED: &str = "delivery dropped without ack or nack";

struct Pending {
    entry: StreamId,
    attempt: u32,
}

pub(crate) struct RedisSource {
    shared: Arc<Shared>,
    /// Its own connection: a blocking XREADGROUP must not hold up the shared one.
    conn: ConnectionManager,
    topic: Arc<Topic>,
    group: Arc<str>,
    settle: Arc<RedisSettle>,
    key: String,
    consumer: String,
    buffer: VecDeque<Pending>,
    last_claim: Option<Instant>,
    cursor: String,
}

impl RedisSource {
    pub(crate) fn new(
        shared: Arc<Shared>,
        conn: ConnectionManager,
        topic: Topic,
        group: String,
    ) -> Self {
        let consumer = uuid::Uuid::new_v4().simple().to_string();
        let settle = Arc::new(RedisSettle {
            shared: shared.clone(),
            topic: topic.clone(),
            group: group.clone(),
            consumer: consumer.clone(),
        });
        Self {
            key: stream_key(&topic),
            shared,
            conn,
            topic: Arc::new(topic),
            group: Arc::from(group),
            settle,
            consumer,
            buffer: VecDeque::new(),
            last_claim: None,
            cursor: "0-0".into(),
        }
    }

    /// Claims entries idle for longer than the ack timeout (also nacked ones, whose idle time `nack` set);
    /// dead-letters those delivered `max_attempts` times already.
    async fn claim(&mut self) -> Result<()> {
        let settings = &self.shared.settings;
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&self.key)
            .arg(&*self.group)
            .arg(&self.consumer)
            .arg(settings.ack_timeout.as_millis() as u64)
            .arg(&self.cursor)
            .arg("COUNT")
            .arg(self.shared.read_count)
            .query_async(&mut self.conn)
            .await
            .map_err(|e| map_err(e, "XAUTOCLAIM"))?;
        self.cursor = reply.next_stream_id;
        if reply.claimed.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for e in &reply.claimed {
            pipe.cmd("XPENDING")
                .arg(&self.key)
                .arg(&*self.group)
                .arg(&e.id)
                .arg(&e.id)
                .arg(1);
        }
        let counts: Vec<StreamPendingCountReply> = pipe
            .query_async(&mut self.conn)
            .await
            .map_err(|e| map_err(e, "XPENDING"))?;
        for (entry, count) in reply.claimed.into_iter().zip(counts) {
            let delivered = count
                .ids
                .first()
                .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX));
            if delivered > settings.max_attempts {
                let last: Option<String> = redis::cmd("HGET")
                    .arg(errors_key(&self.topic, &self.group))
                    .arg(&entry.id)
                    .query_async(&mut self.conn)
                    .await
                    .map_err(|e| map_err(e, "HGET"))?;
                self.shared
                    .dead_letter(
                        &self.topic,
                        &self.group,
                        &entry.id,
                        &entry.map,
                        delivered - 1,
                        last.as_deref().unwrap_or("ack timeout"),
                    )
                    .await?;
            } else {
                self.buffer.push_back(Pending {
                    entry,
                    attempt: delivered,
                });
            }
        }
        Ok(())
    }

    /// Reads new entries, blocking up to `block`.
    async fn read(&mut self, block: Duration) -> Result<()> {
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&*self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.shared.read_count)
            .arg("BLOCK")
            .arg(block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(">")
            .query_async(&mut self.conn)
            .await
            .map_err(|e| map_err(e, "XREADGROUP"))?;
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            self.buffer.extend(
                stream
                    .ids
                    .into_iter()
                    .map(|entry| Pending { entry, attempt: 1 }),
            );
        }
        Ok(())
    }

    /// A retryable error is returned after a pause, so a caller that loops on `next` does not spin.
    async fn fail(&self, e: Error) -> Option<Result<Delivery>> {
        if e.is_retryable() {
            tokio::time::sleep(self.shared.claim_interval).await;
        }
        Some(Err(e))
    }
}

#[async_trait::async_trait]
impl Source for RedisSource {
    async fn next(&mut self) -> Option<Result<Delivery>> {
        loop {
            if self.shared.closed.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(mut p) = self.buffer.pop_front() {
                match decode(std::mem::take(&mut p.entry.map)) {
                    Ok(message) => {
                        let receipt = Receipt {
                            tag: 0,
                            id: p.entry.id,
                            attempt: p.attempt,
                        };
                        return Some(Ok(Delivery::new(
                            Arc::new(message),
                            self.topic.clone(),
                            self.group.clone(),
                            receipt,
                            self.settle.clone(),
                        )));
                    }
                    Err((reason, fields)) => {
                        p.entry.map = fields;
                        // Not something avb wrote: it goes to the dead-letter stream, never vanishes.
                        let moved = self
                            .shared
                            .dead_letter(
                                &self.topic,
                                &self.group,
                                &p.entry.id,
                                &p.entry.map,
                                p.attempt,
                                &reason,
                            )
                            .await;
                        if let Err(e) = moved {
                            self.buffer.push_front(p);
                            return self.fail(e).await;
                        }
                        continue;
                    }
                }
            }
            let interval = self.shared.claim_interval;
            let due = self
                .last_claim
                .map_or(Duration::ZERO, |t| interval.saturating_sub(t.elapsed()));
            if due.is_zero() {
                self.last_claim = Some(Instant::now());
                if let Err(e) = self.claim().await {
                    return self.fail(e).await;
                }
                if !self.buffer.is_empty() {
                    continue;
                }
            }
            let block = if due.is_zero() { interval } else { due };
            if let Err(e) = self.read(block).await {
                return self.fail(e).await;
            }
        }
    }
}

impl Drop for RedisSource {
    fn drop(&mut self) {
        // Entries read but never handed out go back at once (else the ack timeout returns them).
        let ids: Vec<String> = self.buffer.drain(..).map(|p| p.entry.id).collect();
        if ids.is_empty() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let settle = self.settle.clone();
            rt.spawn(async move {
                for id in ids {
                    let _ = settle.give_back(&id, Duration::ZERO, None).await;
                }
            });
        }
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
    /// then) and records `reason` as its last error.
    async fn give_back(&self, entry_id: &str, delay: Duration, reason: Option<&str>) -> Result<()> {
        let ack_timeout = self.shared.settings.ack_timeout;
        let idle = ack_timeout.saturating_sub(delay);
        let mut pipe = redis::pipe();
        if let Some(reason) = reason {
            pipe.cmd("HSET")
                .arg(errors_key(&self.topic, &self.group))
                .arg(entry_id)
                .arg(reason)
                .ignore();
        }
        pipe.cmd("XCLAIM")
            .arg(stream_key(&self.topic))
            .arg(&*self.group)
            .arg(&self.consumer)
            .arg(0)
            .arg(entry_id)
            .arg("IDLE")
            .arg(idle.as_millis() as u64)
            .arg("JUSTID")
            .ignore();
        let mut conn = self.shared.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| map_err(e, "XCLAIM (nack)"))
    }
}

#[async_trait::async_trait]
impl Settle for RedisSettle {
    async fn ack(&self, r: &Receipt) -> Result<()> {
        let mut conn = self.shared.conn.clone();
        let key = stream_key(&self.topic);
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
                .arg(errors_key(&self.topic, &self.group))
                .arg(&r.id)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
        };
        result.map_err(|e| map_err(e, "XACK"))
    }

    async fn nack(&self, r: &Receipt, delay: Duration, reason: &str) -> Result<()> {
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
            let range: StreamRangeReply = redis::cmd("XRANGE")
                .arg(stream_key(&self.topic))
                .arg(&r.id)
                .arg(&r.id)
                .query_async(&mut conn)
                .await
                .map_err(|e| map_err(e, "XRANGE"))?;
            let fields = range
                .ids
                .into_iter()
                .next()
                .map(|e| e.map)
                .unwrap_or_default();
            return self
                .shared
                .dead_letter(&self.topic, &self.group, &r.id, &fields, r.attempt, reason)
                .await;
        }
        self.give_back(&r.id, delay, Some(reason)).await
    }

    fn dropped(&self, r: &Receipt) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let me = RedisSettle {
                shared: self.shared.clone(),
                topic: self.topic.clone(),
                group: self.group.clone(),
                consumer: self.consumer.clone(),
            };
            let r = r.clone();
            rt.spawn(async move {
                // On failure the ack timeout redelivers it all the same.
                let _ = me.nack(&r, Duration::ZERO, DROPPED).await;
            });
        }
    }
}
