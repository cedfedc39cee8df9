//! The EventBus conformance suite: DESIGN §3 EventBus, one documented `pub async fn` per behaviour, run on the
//! conformance kit ([`avb_conformance`]).
//!
//! Run it against any [`EventBus`] — ours or your own — by implementing [`Harness`] and calling
//! [`run_all`] (or [`run_all_with`] for your own [`Runner`]: concurrency, timeout, declared server gaps),
//! then asserting the exact result with [`Report::assert_exact`]. Every case uses its own
//! topic (a UUID in the name), so cases run concurrently and reruns never see old data. A case that needs a
//! capability the backend does not declare (see [`capability`]) is skipped by the kit and printed as
//! `SKIPPED <case>: lacks <capability>`; nothing looks at the backend's name. A failing check is reported
//! under its label with what was expected and what was seen; every case has a timeout.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use avb_event_bus::conformance::{Expect, Harness, run_all};
//! use avb_event_bus::{EventBus, Result, Settings, memory::MemoryBus};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! struct Memory;
//! #[async_trait::async_trait]
//! impl Harness for Memory {
//!     fn settings(&self) -> Settings {
//!         Settings {
//!             ack_timeout: Duration::from_millis(500),
//!             max_attempts: 3,
//!             retry_max: Duration::from_millis(200),
//!             drain_timeout: Duration::from_millis(500),
//!             ..Settings::default()
//!         }
//!     }
//!     async fn new_bus(&self) -> Result<Arc<dyn EventBus>> {
//!         Ok(Arc::new(MemoryBus::builder().with_settings(self.settings()).build()?))
//!     }
//! }
//! run_all(&Memory).await.assert_exact(&Expect::all());
//! # }
//! ```

use crate::{Capabilities, Delivery, EventBus, Settings, StartPosition, Subscription, Topic};
use avb_conformance::{Abort, Capable, Case, Checks};
use avb_core::WorkspaceId;
use std::sync::Arc;
use std::time::Duration;

mod backlog;
mod batched;
mod cancel;
mod contract;
mod delivery;
mod groups;
mod redelivery;

/// The kit's types a caller needs to run the suite and check its result.
pub use avb_conformance::{Expect, Gap, Report, Runner};
pub use backlog::*;
pub use batched::*;
pub use cancel::*;
pub use contract::*;
pub use delivery::*;
pub use groups::*;
pub use redelivery::*;

/// What the suite needs from a backend under test.
#[async_trait::async_trait]
pub trait Harness: Send + Sync {
    /// The settings the buses are built with (the suite waits `ack_timeout` and `drain_timeout`, counts
    /// `max_attempts`, and checks redelivery spacing against `retry_min`/`retry_max`). Keep the backoff
    /// below the ack timeout and the drain timeout short (a second): the close cases wait it out.
    fn settings(&self) -> Settings;
    /// A bus for one case (a new one each call: the close case closes it).
    async fn new_bus(&self) -> crate::Result<Arc<dyn EventBus>>;
}

/// The capabilities cases require, by the names the report prints.
pub mod capability {
    /// [`Capabilities::dead_letter`](crate::Capabilities::dead_letter).
    pub const DEAD_LETTER: &str = "dead_letter";
    /// [`Capabilities::ordering_per_key`](crate::Capabilities::ordering_per_key).
    pub const ORDERING_PER_KEY: &str = "ordering_per_key";
    /// [`Capabilities::max_message_bytes`](crate::Capabilities::max_message_bytes) takes a 1 MiB payload.
    pub const ONE_MIB_MESSAGES: &str = "max_message_bytes >= 1 MiB";
    /// [`Capabilities::extend_lease`](crate::Capabilities::extend_lease).
    pub const EXTEND_LEASE: &str = "extend_lease";
    /// [`Capabilities::idempotent_publish`](crate::Capabilities::idempotent_publish).
    pub const IDEMPOTENT_PUBLISH: &str = "idempotent_publish";
    /// [`Capabilities::backlog_lag`](crate::Capabilities::backlog_lag).
    pub const BACKLOG_LAG: &str = "backlog_lag";
    /// [`Capabilities::shares_read_ahead`](crate::Capabilities::shares_read_ahead).
    pub const SHARES_READ_AHEAD: &str = "shares_read_ahead";
    /// The harness settings allow two deliveries of a message (`max_attempts >= 2`).
    pub const TWO_ATTEMPTS: &str = "max_attempts >= 2 in the harness settings";
    /// The harness settings allow three deliveries of a message (`max_attempts >= 3`).
    pub const THREE_ATTEMPTS: &str = "max_attempts >= 3 in the harness settings";
}

/// What the cases run against: the harness, its settings, and the capabilities its buses declare.
pub struct Subject<'a> {
    harness: &'a dyn Harness,
    settings: Settings,
    /// `None` when the harness could not build a bus: nothing is skipped, every case fails building one.
    capabilities: Option<Capabilities>,
}

impl<'a> Subject<'a> {
    /// Asks the harness for its settings and one bus's capabilities.
    pub async fn probe(harness: &'a dyn Harness) -> Self {
        let capabilities = match harness.new_bus().await {
            Ok(bus) => Some(bus.capabilities()),
            Err(_) => None,
        };
        Self {
            harness,
            settings: harness.settings(),
            capabilities,
        }
    }

    /// The harness.
    pub fn harness(&self) -> &dyn Harness {
        self.harness
    }

    /// The harness's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl Capable for Subject<'_> {
    fn has(&self, wanted: &'static str) -> bool {
        let Some(caps) = &self.capabilities else {
            return true;
        };
        match wanted {
            capability::DEAD_LETTER => caps.dead_letter,
            capability::ORDERING_PER_KEY => caps.ordering_per_key,
            capability::EXTEND_LEASE => caps.extend_lease,
            capability::IDEMPOTENT_PUBLISH => caps.idempotent_publish,
            capability::BACKLOG_LAG => caps.backlog_lag,
            capability::SHARES_READ_AHEAD => caps.shares_read_ahead,
            capability::ONE_MIB_MESSAGES => caps.max_message_bytes >= ONE_MIB + 4096,
            capability::TWO_ATTEMPTS => self.settings.max_attempts >= 2,
            capability::THREE_ATTEMPTS => self.settings.max_attempts >= 3,
            _ => false,
        }
    }
}

const ONE_MIB: usize = 1024 * 1024;

macro_rules! case {
    ($name:ident) => {
        Case::new(stringify!($name), |s, c| Box::pin($name(s, c)))
    };
}

/// Every case, in the order the report lists them.
pub fn cases<'a>() -> Vec<Case<Subject<'a>>> {
    use capability::*;
    vec![
        case!(round_trip),
        case!(round_trip_1mib).requires(&[ONE_MIB_MESSAGES]),
        case!(batch),
        case!(competing_consumers),
        case!(idle_member_gets_the_other).requires(&[SHARES_READ_AHEAD]),
        case!(fan_out),
        case!(start_positions),
        case!(nack_redelivery).requires(&[THREE_ATTEMPTS]),
        case!(ack_timeout_redelivery).requires(&[TWO_ATTEMPTS]),
        case!(dropped_consumer_redelivery).requires(&[TWO_ATTEMPTS]),
        case!(cancelled_next_loses_nothing),
        case!(select_loses_nothing),
        case!(unpolled_publish_publishes_nothing),
        case!(dropped_subscription_gives_back_read_ahead),
        case!(dead_letter).requires(&[DEAD_LETTER]),
        case!(per_key_order).requires(&[ORDERING_PER_KEY]),
        case!(workspace_isolation),
        case!(bad_input),
        case!(close_semantics),
        case!(lease_extension).requires(&[EXTEND_LEASE]),
        case!(backoff_spacing).requires(&[THREE_ATTEMPTS]),
        case!(idempotent_publish).requires(&[IDEMPOTENT_PUBLISH]),
        case!(close_drains),
        case!(publish_now_agrees_with_publish),
        case!(try_next_agrees_with_next),
        case!(stale_nack_changes_nothing).requires(&[TWO_ATTEMPTS]),
        case!(batched_take_and_ack),
        case!(batched_per_key_order).requires(&[ORDERING_PER_KEY]),
        case!(batched_redelivery_and_dead_letter).requires(&[DEAD_LETTER]),
        case!(backlog_counts).requires(&[BACKLOG_LAG]),
        case!(backlog_unknown_group).requires(&[BACKLOG_LAG]),
    ]
}

/// The runner [`run_all`] uses: 8 cases at once, each within three times [`patience`] (one delivery's wait).
pub fn runner(settings: &Settings) -> Runner {
    Runner::new()
        .concurrency(8)
        .timeout(patience_for(settings) * 3)
}

/// Runs every case against `harness` with [`runner`]; prints one line per case as it goes.
pub async fn run_all(harness: &dyn Harness) -> Report {
    run_all_with(harness, &runner(&harness.settings())).await
}

/// Runs every case against `harness` with `runner` (your concurrency, timeout, declared server gaps).
pub async fn run_all_with(harness: &dyn Harness, runner: &Runner) -> Report {
    let subject = Subject::probe(harness).await;
    runner.run(&subject, &cases()).await
}

fn workspace(name: &str) -> WorkspaceId {
    match WorkspaceId::new(name) {
        Ok(ws) => ws,
        Err(e) => panic!("a fixed workspace name is valid: {e}"),
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
        Err(e) => panic!("a case name with a UUID is a valid topic name: {e}"),
    }
}

fn patience_for(settings: &Settings) -> Duration {
    settings.ack_timeout * 3 + Duration::from_secs(10)
}

/// How long a case waits for one delivery that must come (generous: a slow machine is not a failure).
pub fn patience(s: &Subject<'_>) -> Duration {
    patience_for(&s.settings)
}

/// How long the suite watches for nothing to come: past the ack timeout (and a claim round), so a redelivery of anything
/// still pending would show.
pub fn quiet(s: &Subject<'_>) -> Duration {
    s.settings.ack_timeout * 2 + Duration::from_millis(300)
}

async fn bus(s: &Subject<'_>, c: &mut Checks) -> Result<Arc<dyn EventBus>, Abort> {
    c.ok("new_bus", s.harness.new_bus().await)
}

async fn subscribe(
    c: &mut Checks,
    bus: &dyn EventBus,
    topic: &Topic,
    group: &str,
    start: StartPosition,
) -> Result<Subscription, Abort> {
    c.ok("subscribe", bus.subscribe(topic, group, start).await)
}

/// The next delivery; a failure under `label` (stopping the case) when none arrives within `wait`, the
/// subscription fails or it ends.
async fn recv(
    c: &mut Checks,
    sub: &mut Subscription,
    wait: Duration,
    label: &'static str,
) -> Result<Delivery, Abort> {
    match tokio::time::timeout(wait, sub.next()).await {
        Ok(Some(Ok(d))) => Ok(d),
        Ok(Some(Err(e))) => Err(c.fail(label, format_args!("the subscription failed: {e}"))),
        Ok(None) => Err(c.fail(label, "the subscription ended")),
        Err(_) => Err(c.fail(label, format_args!("nothing delivered within {wait:?}"))),
    }
}

/// Watches `sub` for `wait`: `Err` describes a delivery, a subscription error or the end of the stream.
async fn silence(sub: &mut Subscription, wait: Duration) -> Result<(), String> {
    match tokio::time::timeout(wait, sub.next()).await {
        Err(_) => Ok(()),
        Ok(Some(Ok(d))) => Err(format!(
            "unexpected delivery (attempt {}) of {:?}",
            d.attempt(),
            d.message()
        )),
        Ok(Some(Err(e))) => Err(format!(
            "the subscription failed while nothing was expected: {e}"
        )),
        Ok(None) => Err("the subscription ended while it should have stayed open".to_string()),
    }
}

/// Checks (under `label`) that nothing comes for `wait` (see [`silence`]): a delivery, a subscription
/// error and the end of the stream are each a failure. Use [`quiet`] as `wait` to exclude a redelivery
/// after the ack timeout.
async fn nothing(
    c: &mut Checks,
    sub: &mut Subscription,
    wait: Duration,
    label: &'static str,
) -> bool {
    let seen = silence(sub, wait).await;
    quiet_check(c, label, seen)
}

/// Records the result of [`silence`] under `label`.
fn quiet_check(c: &mut Checks, label: &'static str, seen: Result<(), String>) -> bool {
    match seen {
        Ok(()) => c.check(label, true, ""),
        Err(why) => c.check(label, false, why),
    }
}
