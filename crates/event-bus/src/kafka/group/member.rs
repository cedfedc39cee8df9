//! The members of a group consumer (one per subscription): they take deliveries from the [`Reader`]'s
//! queue in turn; the last one to leave stops the reader. Joining a group starts a reader or joins one.

use super::Reader;
use crate::backend::Source;
use crate::kafka::{SCHEME, Shared};
use crate::{Delivery, Error, Result, StartPosition, Subscription, Topic};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// One subscription: a member of the reader's group in this process.
struct Member {
    reader: Arc<Reader>,
}

impl Member {
    fn ended(&self) -> bool {
        self.reader.draining.load(Ordering::SeqCst)
            || self.reader.stopping.load(Ordering::SeqCst)
            || self.reader.done.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Source for Member {
    async fn next(&mut self) -> Option<Result<Delivery>> {
        loop {
            let woken = self.reader.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.ended() {
                return None;
            }
            if let Some(ready) = self.reader.take_or_error() {
                return Some(ready);
            }
            woken.await;
        }
    }

    /// Up to `max` ready deliveries under one lock of the group's state (cancel-safe like `next`).
    async fn next_batch(&mut self, max: usize) -> Option<Result<Vec<Delivery>>> {
        loop {
            let woken = self.reader.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.ended() {
                return None;
            }
            if let Some(ready) = self.reader.take_many_or_error(max) {
                return Some(ready);
            }
            woken.await;
        }
    }

    fn try_next(&mut self) -> Option<Result<Delivery>> {
        if self.ended() {
            return None;
        }
        self.reader.take_or_error()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(bus) = self.reader.bus.upgrade() else {
            self.reader.stop();
            return;
        };
        let _readers = bus.readers.lock();
        if self.reader.members.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.reader.stop();
        }
    }
}

/// Joins `group` of `topic` in this bus: the existing reader, or a new consumer.
pub(crate) async fn subscribe(
    bus: &Arc<Shared>,
    topic: &Topic,
    kafka_topic: &str,
    group: &str,
    start: StartPosition,
) -> Result<Subscription> {
    let key = (kafka_topic.to_string(), group.to_string());
    loop {
        let existing = {
            let readers = bus.readers.lock().map_err(|_| poisoned())?;
            match readers.get(&key) {
                Some(r) if !r.stopping.load(Ordering::SeqCst) => {
                    r.members.fetch_add(1, Ordering::SeqCst);
                    return Ok(member(r.clone()));
                }
                other => other.cloned(),
            }
        };
        match existing {
            // A reader of this group is leaving: its commit must land before a new consumer reads.
            Some(old) => old.stopped().await,
            None => break,
        }
    }
    let reader = crate::kafka::join::start_reader(bus, topic, kafka_topic, group, start).await?;
    let mut readers = bus.readers.lock().map_err(|_| poisoned())?;
    reader.members.fetch_add(1, Ordering::SeqCst);
    readers.insert(key, reader.clone());
    Ok(member(reader))
}

fn member(reader: Arc<Reader>) -> Subscription {
    Subscription::new(Box::new(Member { reader }))
}

fn poisoned() -> Error {
    Error::Backend {
        backend: SCHEME,
        reason: "an internal lock was poisoned by a panic".into(),
        source: None,
    }
}
