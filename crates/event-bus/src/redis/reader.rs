//! The reader task behind one Redis subscription: it reads (`XREADGROUP`) and claims (`XAUTOCLAIM`) entries
//! when the subscription asks for more, and gives back (`XCLAIM … RETRYCOUNT`) what was read but never handed
//! out. [`crate::Subscription::next`] only takes from the task's [`Inbox`] and waits on a [`Notify`], so
//! dropping a pending `next()` loses nothing: no Redis command lives inside the caller's future.
//!
//! **Attempts count hand-outs.** Redis counts a delivery each time `XREADGROUP`/`XAUTOCLAIM` hands an entry
//! to a consumer, also for entries the consumer only buffered. So every entry read but not handed to the
//! application goes back with its counter restored: `XCLAIM <id> IDLE <ack_timeout> RETRYCOUNT <attempt-1>
//! JUSTID` (due at once for any member, and the next claim counts the same attempt again). That happens when
//! the subscription is dropped, when the bus is closed, and when a buffered entry grew stale (read more than
//! half the ack timeout ago: handing it out would leave the application little of its lease). The `XCLAIM`
//! carries a min-idle of the time since the entry was read, so an entry another member claimed meanwhile
//! (its idle time restarted) is left alone. Only a process that dies without running destructors leaves its
//! buffer (at most `read_count` entries) to the ack timeout, counted one attempt more.

use super::wire::{self, DeadLetter, RawEntry};
use super::{Shared, backoff_field, errors_key, map_err};
use crate::{Error, Message, Result, Topic};
use redis::Value;
use redis::aio::ConnectionManager;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The last error of a delivery whose lease lapsed.
const LAPSED: &str = "ack timeout";

/// An entry read from Redis, not yet handed out.
pub(super) struct Buffered {
    pub(super) entry_id: String,
    pub(super) message: Message,
    /// The attempt a hand-out would be (Redis's delivery counter for this read).
    pub(super) attempt: u32,
    /// When the reply that read it arrived: its server-side idle time is at least `read_at.elapsed()` (and
    /// more only by the reply's transit time).
    pub(super) read_at: Instant,
}

/// What the subscription and its reader task share.
#[derive(Default)]
pub(super) struct Inbox {
    state: Mutex<State>,
    /// Reader → subscription: entries, an error, or the end.
    pub(super) ready: Notify,
    /// Subscription → reader: it wants entries, gave some back, or went away.
    pub(super) wake: Notify,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) buffer: VecDeque<Buffered>,
    /// A read or claim failed: handed to the next `next()`.
    pub(super) error: Option<Error>,
    /// The subscription found nothing and waits.
    pub(super) wanted: bool,
    /// Read but not to be handed out (stale): the reader gives them back.
    pub(super) give_back: Vec<Buffered>,
    /// The subscription was dropped.
    pub(super) gone: bool,
    /// The reader stopped (the bus was closed): nothing more comes.
    pub(super) stopped: bool,
}

impl Inbox {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is panic-free bookkeeping: a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) struct Reader {
    pub(super) shared: Arc<Shared>,
    /// Its own connection: a blocking `XREADGROUP` must not hold up the shared one.
    pub(super) conn: ConnectionManager,
    pub(super) topic: Arc<Topic>,
    pub(super) group: Arc<str>,
    pub(super) consumer: String,
    pub(super) key: String,
    pub(super) inbox: Arc<Inbox>,
    pub(super) last_claim: Option<Instant>,
    pub(super) cursor: String,
}

/// A buffered entry older than this (since its read) is given back instead of handed out.
pub(super) fn max_age(ack_timeout: Duration) -> Duration {
    ack_timeout / 2
}

/// Marks the inbox stopped when the reader task ends, however it ends.
struct Ended(Arc<Inbox>, Arc<Shared>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.lock().stopped = true;
        self.0.ready.notify_one();
        self.1
            .readers
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

enum Step {
    Stop,
    GiveBack(Vec<Buffered>),
    Fetch,
    Idle(Option<Instant>),
}

impl Reader {
    pub(super) async fn run(mut self) {
        let (shared, inbox) = (self.shared.clone(), self.inbox.clone());
        // However the task ends (also dropped by a runtime shutting down), `next` returns `None` then
        // instead of waiting for a reader that is gone.
        let _ended = Ended(inbox.clone(), shared.clone());
        loop {
            // Registered before `step` looks at the state, so a `close` in between is not missed.
            let closing = shared.closing.notified();
            tokio::pin!(closing);
            closing.as_mut().enable();
            let wake = inbox.wake.notified();
            tokio::pin!(wake);
            match self.step() {
                Step::Stop => return self.stop().await,
                Step::GiveBack(entries) => self.give_back(entries).await,
                Step::Fetch => self.fetch().await,
                Step::Idle(stale_at) => {
                    let stale = async {
                        match stale_at {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = closing => {}
                        _ = wake => {}
                        _ = stale => {}
                    }
                }
            }
        }
    }

    /// What to do next, from the shared state (stale buffered entries move to `give_back` here).
    fn step(&self) -> Step {
        let closed = self.shared.is_closed();
        let max_age = max_age(self.shared.settings.ack_timeout);
        let mut s = self.inbox.lock();
        if s.gone || closed {
            return Step::Stop;
        }
        while s
            .buffer
            .front()
            .is_some_and(|b| b.read_at.elapsed() >= max_age)
        {
            if let Some(b) = s.buffer.pop_front() {
                s.give_back.push(b);
            }
        }
        if !s.give_back.is_empty() {
            return Step::GiveBack(std::mem::take(&mut s.give_back));
        }
        if s.wanted && s.buffer.is_empty() {
            return Step::Fetch;
        }
        Step::Idle(s.buffer.front().map(|b| b.read_at + max_age))
    }

    /// The subscription went away or the bus closed: everything read goes back, and `next` ends.
    async fn stop(mut self) {
        let entries: Vec<Buffered> = {
            let mut s = self.inbox.lock();
            s.stopped = true;
            let mut all = std::mem::take(&mut s.give_back);
            all.extend(s.buffer.drain(..));
            all
        };
        self.inbox.ready.notify_one();
        self.give_back(entries).await;
    }

    /// Reads or claims one batch into the inbox; an error goes to the inbox too, then a pause.
    async fn fetch(&mut self) {
        let mut batch = Vec::new();
        let result = self.fetch_into(&mut batch).await;
        let failed = result.is_err();
        {
            let mut s = self.inbox.lock();
            if !batch.is_empty() {
                s.buffer.extend(batch);
                s.wanted = false;
            }
            if let Err(e) = result {
                s.error = Some(e);
                s.wanted = false;
            }
            if s.buffer.is_empty() && s.error.is_none() {
                return; // nothing yet: the next step fetches again
            }
        }
        self.inbox.ready.notify_one();
        if failed {
            // A consumer that loops on `next` does not make the reader spin against a broker that is down.
            let shared = self.shared.clone();
            let closing = shared.closing.notified();
            tokio::select! {
                _ = closing => {}
                _ = tokio::time::sleep(self.shared.claim_interval) => {}
            }
        }
    }

    /// Claims due entries every `claim_interval`, else reads new ones (blocking until the next claim is
    /// due). Entries handled before an error are kept in `batch`.
    async fn fetch_into(&mut self, batch: &mut Vec<Buffered>) -> Result<()> {
        let interval = self.shared.claim_interval;
        let due = self
            .last_claim
            .map_or(Duration::ZERO, |t| interval.saturating_sub(t.elapsed()));
        if due.is_zero() {
            self.last_claim = Some(Instant::now());
            self.claim(batch).await?;
            if !batch.is_empty() {
                return Ok(());
            }
        }
        self.read(if due.is_zero() { interval } else { due }, batch)
            .await
    }

    async fn query(&mut self, cmd: &redis::Cmd, what: &str) -> Result<Value> {
        cmd.query_async(&mut self.conn)
            .await
            .map_err(|e| map_err(e, what))
    }

    /// Entries idle longer than the ack timeout (also nacked and given-back ones, whose idle time was set):
    /// the attempt is Redis's delivery counter; past `max_attempts` they are dead-lettered.
    async fn claim(&mut self, batch: &mut Vec<Buffered>) -> Result<()> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&self.key)
            .arg(&*self.group)
            .arg(&self.consumer)
            .arg(self.shared.settings.ack_timeout.as_millis() as u64)
            .arg(&self.cursor)
            .arg("COUNT")
            .arg(self.shared.read_count);
        let reply = self.query(&cmd, "XAUTOCLAIM").await?;
        let read_at = Instant::now();
        let (cursor, claimed) = wire::autoclaim_reply(reply).map_err(backend)?;
        self.cursor = cursor;
        if claimed.is_empty() {
            return Ok(());
        }
        let errors = errors_key(&self.shared.root, &self.topic, &self.group);
        let mut pipe = redis::pipe();
        for e in &claimed {
            pipe.cmd("XPENDING")
                .arg(&self.key)
                .arg(&*self.group)
                .arg(&e.id)
                .arg(&e.id)
                .arg(1);
            pipe.cmd("HGET").arg(&errors).arg(backoff_field(&e.id));
        }
        let replies: Vec<Value> = pipe
            .query_async(&mut self.conn)
            .await
            .map_err(|e| map_err(e, "XPENDING"))?;
        let mut replies = replies.into_iter();
        let max_attempts = self.shared.settings.max_attempts;
        let mut lapsed = Vec::new();
        let mut first_error = Ok(());
        for entry in claimed {
            let (Some(count), Some(backoff)) = (replies.next(), replies.next()) else {
                break; // unreachable: two replies per entry
            };
            let Some(delivered) = wire::pending_count(count).map_err(backend)? else {
                continue; // settled meanwhile (acked or deleted): nothing to deliver
            };
            let delivered = u32::try_from(delivered).unwrap_or(u32::MAX).max(1);
            // The attempt whose backoff was applied (nack, drop, or a lapse delayed below); an entry
            // claimed for a later attempt than that + 1 lapsed its lease.
            let backed_off = redis::from_redis_value::<Option<u32>>(backoff)
                .ok()
                .flatten()
                .unwrap_or(0);
            let lease_lapsed = delivered >= 2 && backed_off != delivered - 1;
            let handled = if delivered > max_attempts {
                let reason = lease_lapsed.then_some(LAPSED);
                self.dead_letter_claimed(&entry, delivered - 1, reason)
                    .await
            } else if lease_lapsed {
                lapsed.push((entry.id, delivered - 1));
                Ok(())
            } else {
                self.accept(entry, delivered, read_at, batch).await
            };
            first_error = first_error.and(handled);
        }
        self.delay_lapsed(lapsed).await;
        first_error
    }

    /// Entries whose lease lapsed (attempt `n` neither acked nor nacked within the ack timeout) wait the
    /// backoff before attempt `n + 1`: given back with their counter restored and an idle time that makes
    /// them due after [`crate::Settings::retry_delay`]`(n)` (capped at the ack timeout), their last error
    /// `ack timeout` and attempt `n` marked as backed off.
    async fn delay_lapsed(&mut self, lapsed: Vec<(String, u32)>) {
        if lapsed.is_empty() {
            return;
        }
        let settings = &self.shared.settings;
        let errors = errors_key(&self.shared.root, &self.topic, &self.group);
        let mut pipe = redis::pipe();
        for (id, attempt) in &lapsed {
            let backoff = settings.retry_delay(*attempt).min(settings.ack_timeout);
            let idle = settings.ack_timeout.saturating_sub(backoff);
            pipe.cmd("HSET")
                .arg(&errors)
                .arg(id)
                .arg(LAPSED)
                .arg(backoff_field(id))
                .arg(*attempt)
                .ignore()
                .cmd("XCLAIM")
                .arg(&self.key)
                .arg(&*self.group)
                .arg(&self.consumer)
                .arg(0)
                .arg(id)
                .arg("IDLE")
                .arg(idle.as_millis() as u64)
                .arg("RETRYCOUNT")
                .arg(*attempt)
                .arg("JUSTID")
                .ignore();
        }
        // On failure (broker down) they stay claimed by this consumer: the ack timeout returns them, counted
        // one attempt more (as a failed give-back of read-ahead is).
        let _ = pipe.query_async::<()>(&mut self.conn).await;
    }

    /// Dead-letters an entry that used up its attempts, with its last recorded error.
    async fn dead_letter_claimed(
        &mut self,
        entry: &RawEntry,
        attempts: u32,
        reason: Option<&str>,
    ) -> Result<()> {
        if let Some(reason) = reason {
            return self.dead_letter(entry, attempts, reason).await;
        }
        let mut hget = redis::cmd("HGET");
        hget.arg(errors_key(&self.shared.root, &self.topic, &self.group))
            .arg(&entry.id);
        let last = match self.query(&hget, "HGET").await? {
            Value::Nil => None,
            v => redis::from_redis_value::<String>(v).ok(),
        };
        let reason = last.as_deref().unwrap_or(LAPSED);
        self.dead_letter(entry, attempts, reason).await
    }

    /// Reads new entries, blocking up to `block`.
    async fn read(&mut self, block: Duration, batch: &mut Vec<Buffered>) -> Result<()> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&*self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.shared.read_count)
            .arg("BLOCK")
            .arg(block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(">");
        let reply = self.query(&cmd, "XREADGROUP").await?;
        let read_at = Instant::now();
        let mut first_error = Ok(());
        for entry in wire::read_reply(reply).map_err(backend)? {
            let accepted = self.accept(entry, 1, read_at, batch).await;
            first_error = first_error.and(accepted);
        }
        first_error
    }

    /// Decodes an entry into the batch; one that is not an avb message goes to the dead-letter stream.
    async fn accept(
        &mut self,
        entry: RawEntry,
        attempt: u32,
        read_at: Instant,
        batch: &mut Vec<Buffered>,
    ) -> Result<()> {
        match wire::decode(entry) {
            Ok((entry_id, message)) => {
                batch.push(Buffered {
                    entry_id,
                    message,
                    attempt,
                    read_at,
                });
                Ok(())
            }
            Err((entry, reason)) => self.dead_letter(&entry, attempt, &reason).await,
        }
    }

    async fn dead_letter(&self, entry: &RawEntry, attempts: u32, reason: &str) -> Result<()> {
        let why = DeadLetter {
            topic: self.topic.name(),
            group: &self.group,
            last_error: reason,
            attempts,
        };
        // This reader just claimed or read the entry: no holder check.
        self.shared
            .dead_letter(&self.topic, &self.group, entry, &why, None)
            .await
            .map(drop)
    }

    /// Gives entries back to the group with their delivery counter restored (see the module docs).
    async fn give_back(&mut self, entries: Vec<Buffered>) {
        if entries.is_empty() {
            return;
        }
        let idle = self.shared.settings.ack_timeout.as_millis() as u64;
        let mut pipe = redis::pipe();
        for b in &entries {
            pipe.cmd("XCLAIM")
                .arg(&self.key)
                .arg(&*self.group)
                .arg(&self.consumer)
                .arg(b.read_at.elapsed().as_millis() as u64)
                .arg(&b.entry_id)
                .arg("IDLE")
                .arg(idle)
                .arg("RETRYCOUNT")
                .arg(b.attempt.saturating_sub(1))
                .arg("JUSTID")
                .ignore();
        }
        // On failure (broker down) the ack timeout returns them, counted one attempt more.
        let _ = pipe.query_async::<()>(&mut self.conn).await;
    }
}

fn backend(reason: String) -> Error {
    Error::Backend {
        backend: super::SCHEME,
        reason,
        source: None,
    }
}
