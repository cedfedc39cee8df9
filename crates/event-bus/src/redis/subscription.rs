//! One consumer of a group: [`RedisSource`] hands out what its reader task (`reader`) fetched, and
//! [`RedisSettle`] acks and nacks.

use super::reader::{self, Inbox, Reader};
use super::wire::{self, DeadLetter, RawEntry};
use super::{SCHEME, Shared, errors_key, map_err, stream_key};
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
        let reader = Reader {
            shared: shared.clone(),
            conn,
            key: stream_key(&topic),
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
        if self.shared.is_closed() {
            return Some(None);
        }
        let max_age = reader::max_age(self.shared.settings.ack_timeout);
        let mut wake_reader = false;
        let taken = {
            let mut s = self.inbox.lock();
            let mut fresh = None;
            while let Some(b) = s.buffer.pop_front() {
                if b.read_at.elapsed() < max_age {
                    fresh = Some(b);
                    break;
                }
                s.give_back.push(b);
                wake_reader = true;
            }
            match (fresh, s.error.take()) {
                (Some(b), error) => {
                    s.error = error;
                    Some(Some(Ok(b)))
                }
                (None, Some(e)) => Some(Some(Err(e))),
                (None, None) if s.stopped => Some(None),
                (None, None) => {
                    s.wanted = true;
                    wake_reader = true;
                    None
                }
            }
        };
        if wake_reader {
            self.inbox.wake.notify_one();
        }
        taken.map(|t| t.map(|r| r.map(|b| self.delivery(b))))
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
            let range: redis::Value = redis::cmd("XRANGE")
                .arg(stream_key(&self.topic))
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
            return self
                .shared
                .dead_letter(&self.topic, &self.group, &entry, &why)
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
