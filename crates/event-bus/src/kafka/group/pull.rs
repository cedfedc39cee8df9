//! Pulling records from the group's consumer into the [`Reader`]'s queue — by the reader task, or by a
//! member that found the queue empty.
//!
//! The reader task waits for librdkafka (the only one that waits); a member that runs out of ready
//! records takes what librdkafka fetched already itself, on its own thread, instead of sleeping until the
//! reader task (often on the other core) wakes up, reads and wakes it: that hand-off was the largest cost
//! of `next` + `ack` against a raw consumer (`docs/benchmarks.md`, Kafka).
//!
//! Per-key order: records leave librdkafka in partition order, and only the holder of the [`Token`] takes
//! them, queuing what it took before it lets go. So the queue has them in the order librdkafka gave them,
//! whoever pulled.

use super::{READ_AHEAD, READ_BATCH, Read, Reader, Stream};
use crate::kafka::state::lock;
use futures::StreamExt as _;
use futures::task::AtomicWaker;
use rdkafka::Message as _;
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::sync::Notify;

/// The right to take records from the consumer; held from a record's taking until it is queued. And who
/// waits for records: the reader task waits for librdkafka only while a member waits.
#[derive(Default)]
pub(super) struct Token {
    busy: AtomicBool,
    /// The reader task, waiting for a member to let go.
    reader: AtomicWaker,
    /// Members waiting for a delivery.
    waiting: AtomicUsize,
    /// A member began to wait.
    wanted: Notify,
}

/// A member waiting (while it lives: a dropped `next` stops counting).
pub(super) struct Waiting<'a>(&'a Token);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Token {
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Completes once a member began to wait (also for one that began before the call).
    pub(super) async fn wanted(&self) {
        self.wanted.notified().await;
    }

    /// A member is about to wait for a delivery: the reader task waits for librdkafka for it.
    pub(super) fn wait(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.wanted.notify_one();
        Waiting(self)
    }

    fn try_take(&self) -> Option<Pulling<'_>> {
        self.busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
            .then_some(Pulling(self))
    }
}

/// The [`Token`], held; dropping it lets go.
pub(super) struct Pulling<'a>(&'a Token);

impl Drop for Pulling<'_> {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::SeqCst);
    }
}

fn lock_slot<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Reader {
    /// The reader task's next record (or error), with the token held: the caller queues what it read,
    /// then drops the token. Cancel-safe: while it waits it holds neither a record nor the token.
    pub(super) fn next_record<'s, 'f, 'c>(
        &'s self,
        stream: &'f mut Stream<'c>,
    ) -> impl Future<Output = (Option<KafkaResult<BorrowedMessage<'c>>>, Pulling<'s>)> + use<'s, 'f, 'c>
    {
        std::future::poll_fn(move |cx| {
            let token = match self.pulling.try_take() {
                Some(token) => token,
                None => {
                    // A member is pulling: it wakes this task when it lets go.
                    self.pulling.reader.register(cx.waker());
                    match self.pulling.try_take() {
                        Some(token) => token,
                        None => return Poll::Pending,
                    }
                }
            };
            match stream.poll_next_unpin(cx) {
                Poll::Ready(record) => Poll::Ready((record, token)),
                // The stream left this task's waker with librdkafka; the token goes back.
                Poll::Pending => Poll::Pending,
            }
        })
    }

    /// A record, decoded (outside the state's lock).
    pub(super) fn read(record: &BorrowedMessage<'_>) -> Read {
        (
            record.partition(),
            record.offset(),
            Arc::new(crate::kafka::wire::decode(record)),
        )
    }

    /// Takes what librdkafka already fetched, without waiting, until `batch` holds `max` records (the
    /// token held); an error met on the way is returned (the records before it are in `batch`). One
    /// stream for the reader's life: no waker registered and unregistered per record.
    pub(super) async fn read_more(
        stream: &mut Stream<'_>,
        batch: &mut Vec<Read>,
        max: usize,
    ) -> Option<rdkafka::error::KafkaError> {
        std::future::poll_fn(|cx| Poll::Ready(Self::take_fetched(stream, cx, batch, max))).await
    }

    /// Keeps the consumer's error for the next member whose `next` finds no delivery (one report per
    /// error; a newer one replaces it), and wakes the members.
    pub(super) fn report(&self, e: rdkafka::error::KafkaError) {
        lock(&self.state).error = Some(crate::kafka::map_err(
            e,
            "reading from the group's consumer",
        ));
        self.wake.notify_waiters();
    }

    /// Polls `stream` until it has nothing ready, `batch` holds `max`, or it meets an error (returned).
    fn take_fetched(
        stream: &mut Stream<'_>,
        cx: &mut Context<'_>,
        batch: &mut Vec<Read>,
        max: usize,
    ) -> Option<rdkafka::error::KafkaError> {
        while batch.len() < max {
            match stream.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(record))) => batch.push(Self::read(&record)),
                Poll::Ready(Some(Err(e))) => return Some(e),
                // `Pending` leaves the caller's waker with librdkafka: a spurious wake-up at most.
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        None
    }

    /// Queues records read (one lock, one wake-up for the batch).
    pub(super) fn on_records(&self, batch: Vec<Read>) {
        if batch.is_empty() {
            return;
        }
        let mut state = lock(&self.state);
        for (partition, offset, message) in batch {
            // Attempt counts from the commit metadata: usually none (no lookup then).
            let attempts = if state.restored.is_empty() {
                0
            } else {
                let counts = state.restored.get_mut(&partition);
                let attempts = counts.and_then(|r| r.remove(&offset)).unwrap_or(0);
                if state.restored.get(&partition).is_some_and(|r| r.is_empty()) {
                    state.restored.remove(&partition);
                }
                attempts
            };
            let part = state.parts.entry(partition).or_default();
            part.next = offset + 1;
            part.unsettled.insert(offset);
            state.ready.push_back(super::Entry {
                partition,
                offset,
                message,
                attempts,
            });
        }
        drop(state);
        self.wake.notify_waiters();
    }

    /// A member found no ready record: it queues what librdkafka fetched already (up to a batch, within
    /// the read-ahead), unless the reader task or another member is pulling. `true` when it queued
    /// something or found an error to report (the caller looks again).
    pub(super) fn pull(&self) -> bool {
        let Some(token) = self.pulling.try_take() else {
            return false;
        };
        let Some(consumer) = lock_slot(&self.consumer).clone() else {
            return false;
        };
        let room = READ_AHEAD
            .saturating_sub(lock(&self.state).ready.len())
            .min(READ_BATCH);
        let mut batch = Vec::new();
        let mut error = None;
        if room > 0 {
            let mut stream = consumer.stream();
            let mut cx = Context::from_waker(std::task::Waker::noop());
            error = Self::take_fetched(&mut stream, &mut cx, &mut batch, room);
        }
        let found = !batch.is_empty() || error.is_some();
        self.on_records(batch);
        if let Some(e) = error {
            self.report(e);
        }
        // The reader task drops the consumer once no member can hold a reference to it.
        drop(consumer);
        drop(token);
        // The reader task may have found the token taken: it waits for this.
        self.pulling.reader.wake();
        found
    }

    /// Takes the token for good and the members' consumer away (the reader stops): afterwards the reader
    /// task's consumer is the last reference.
    pub(super) async fn retire_pulling(&self) {
        loop {
            if let Some(token) = self.pulling.try_take() {
                std::mem::forget(token);
                break;
            }
            tokio::task::yield_now().await;
        }
        lock_slot(&self.consumer).take();
    }
}
