//! The EventBus conformance suite: DESIGN §3 EventBus, one documented `pub async fn` per behaviour.
//!
//! Run it against any [`EventBus`] — ours or your own — by implementing [`Harness`] and calling
//! [`run_all`], or call single cases. Every case uses its own topic (a UUID in the name), so cases may run in
//! parallel and reruns never see old data. A case that needs a capability the backend does not declare
//! prints `SKIPPED <case>: backend lacks <capability>` and returns [`Outcome::Skipped`]; it never looks at the
//! backend's name. A failing case panics with what it expected and what it saw.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_event_bus::conformance::{Harness, run_all};
//! use avb_event_bus::{EventBus, Result, Settings, memory::MemoryBus};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! struct Memory;
//! #[async_trait::async_trait]
//! impl Harness for Memory {
//!     fn settings(&self) -> Settings {
//!         Settings { ack_timeout: Duration::from_millis(500), max_attempts: 3, ..Settings::default() }
//!     }
//!     async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
//!         Ok(Arc::new(MemoryBus::builder().with_settings(self.settings()).build()?))
//!     }
//! }
//! let report = run_all(&Memory).await;
//! assert_eq!(report.skipped, Vec::<String>::new());
//! # }
//! ```

use crate::{Delivery, EventBus, Result, Settings, StartPosition, Subscription, Topic};
use avb_core::WorkspaceId;
use std::sync::Arc;
use std::time::Duration;

/// What the suite needs from a backend under test.
#[async_trait::async_trait]
pub trait Harness: Send + Sync {
    /// The settings the buses are built with (the suite waits `ack_timeout` and counts `max_attempts`).
    fn settings(&self) -> Settings;
    /// A bus for one case (a new one each call: the close case closes it).
    async fn new_bus(&self) -> Result<Arc<dyn EventBus>>;
}

/// How a case ended (a failure panics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// The backend lacks the named capability; nothing was checked.
    Skipped(&'static str),
}

/// What [`run_all`] saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Cases that passed.
    pub passed: Vec<String>,
    /// Cases skipped, with the missing capability: `case: capability`.
    pub skipped: Vec<String>,
}

fn skip(case: &str, capability: &'static str) -> Outcome {
    println!("SKIPPED {case}: backend lacks {capability}");
    Outcome::Skipped(capability)
}

async fn bus(h: &dyn Harness) -> Arc<dyn EventBus> {
    match h.new_bus().await {
        Ok(bus) => bus,
        Err(e) => panic!("the harness could not build a bus: {e}"),
    }
}

fn workspace(name: &str) -> WorkspaceId {
    match WorkspaceId::new(name) {
        Ok(ws) => ws,
        Err(e) => panic!("{e}"),
    }
}

/// A fresh topic for `case` in workspace `conformance`.
pub fn unique_topic(case: &str) -> Topic {
    unique_topic_in(&workspace("conformance"), case)
}

fn unique_topic_in(ws: &WorkspaceId, case: &str) -> Topic {
    let name = format!("{case}-{}", uuid::Uuid::new_v4().simple());
    match Topic::new(ws, name) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

fn ok<T>(what: &str, r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

fn patience(h: &dyn Harness) -> Duration {
    h.settings().ack_timeout * 3 + Duration::from_secs(10)
}

/// The next delivery, or a panic naming `what` when none arrives within `wait`.
async fn recv(sub: &mut Subscription, wait: Duration, what: &str) -> Delivery {
    match tokio::time::timeout(wait, sub.next()).await {
        Ok(Some(Ok(d))) => d,
        Ok(Some(Err(e))) => panic!("{what}: the subscription failed: {e}"),
        Ok(None) => panic!("{what}: the subscription ended"),
        Err(_) => panic!("{what}: nothing delivered within {wait:?}"),
    }
}

/// Asserts nothing is delivered within `wait` (used only for isolation checks, never for timing).
async fn nothing(sub: &mut Subscription, wait: Duration, what: &str) {
    if let Ok(Some(Ok(d))) = tokio::time::timeout(wait, sub.next()).await {
        panic!("{what}: unexpected delivery {:?}", d.message());
    }
}

async fn subscribe(
    bus: &dyn EventBus,
    topic: &Topic,
    group: &str,
    start: StartPosition,
) -> Subscription {
    ok("subscribe", bus.subscribe(topic, group, start).await)
}

mod cancel;
mod cases;

pub use cancel::*;
pub use cases::*;

/// A case as [`CASES`] lists it.
pub type CaseFn = for<'a> fn(
    &'a dyn Harness,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + 'a>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every case, by name, in the order [`run_all`] runs them.
        pub const CASES: &[(&str, CaseFn)] = &[$((stringify!($name), |h| Box::pin($name(h)))),*];
    };
}

cases!(
    round_trip,
    batch,
    competing_consumers,
    fan_out,
    start_positions,
    nack_redelivery,
    ack_timeout_redelivery,
    dropped_consumer_redelivery,
    cancelled_next_loses_nothing,
    select_loses_nothing,
    dropped_subscription_gives_back_read_ahead,
    dead_letter,
    per_key_order,
    workspace_isolation,
    bad_input,
    close_semantics,
);

/// Runs every case concurrently, printing one `PASSED`/`SKIPPED` line per case; panics on the first failure
/// (after naming the case).
pub async fn run_all(h: &dyn Harness) -> Report {
    let runs = CASES.iter().map(|(name, case)| async move {
        let outcome = case(h).await;
        (*name, outcome)
    });
    let mut report = Report::default();
    for (name, outcome) in join_all(runs).await {
        match outcome {
            Outcome::Passed => {
                println!("PASSED {name}");
                report.passed.push(name.to_string());
            }
            Outcome::Skipped(cap) => report.skipped.push(format!("{name}: {cap}")),
        }
    }
    report
}

/// Polls all futures concurrently (one task; no extra dependency).
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(f);
    }
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = set.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
