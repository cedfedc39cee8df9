//! `GET /api/v2/system/events`: the dev console's server-sent events (development only, else 404).
//!
//! Each connection gets `event: state` (the console's state as JSON, see [`super::console`]) at once, then
//! again whenever it changes: on every mode switch ([`Platform::changes`]) and when a health check, run every
//! [`HEALTH_EVERY`], reports something different. Between events a keep-alive comment every
//! [`KEEP_ALIVE`] keeps proxies from closing the stream. The stream is a plain future-driven stream — no
//! spawned task — so a client that goes away drops it, and with it its viewer slot (`viewers` in the state
//! counts open streams).

use super::console;
use crate::Platform;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How often an open stream asks the ports for their health (an event follows only when it changed).
pub const HEALTH_EVERY: Duration = Duration::from_secs(2);
/// How often a keep-alive comment is sent while nothing changes.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the console routes share: the platform and the count of open event streams.
#[derive(Debug)]
pub(super) struct Hub {
    pub(super) platform: Arc<Platform>,
    viewers: Arc<AtomicUsize>,
}

impl Hub {
    pub(super) fn new(platform: Arc<Platform>) -> Self {
        Self {
            platform,
            viewers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The console's state now.
    pub(super) async fn state(&self) -> Value {
        let ports = self.platform.ports();
        let health = ports.health().await;
        console::state(
            &self.platform,
            &ports,
            &health,
            self.viewers.load(Ordering::SeqCst),
        )
    }
}

pub(super) fn routes(hub: Arc<Hub>) -> axum::Router {
    axum::Router::new()
        .route("/api/v2/system/events", get(events))
        .with_state(hub)
}

/// One open stream's slot in [`Hub`]'s count; freed when the stream is dropped.
struct Viewer(Arc<AtomicUsize>);

impl Viewer {
    fn join(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The state of one stream between events.
struct Feed {
    hub: Arc<Hub>,
    changes: tokio::sync::watch::Receiver<u64>,
    ticks: tokio::time::Interval,
    last: Option<String>,
    _viewer: Viewer,
}

impl Feed {
    /// The next event: the state, as soon as it differs from the last one sent. `None` ends the stream
    /// (the platform is gone).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if self.last.is_some() {
                tokio::select! {
                    changed = self.changes.changed() => changed.ok()?,
                    _ = self.ticks.tick() => {}
                }
            }
            let text = self.hub.state().await.to_string();
            if self.last.as_deref() != Some(text.as_str()) {
                let event = Event::default().event("state").data(&text);
                self.last = Some(text);
                return Some((Ok(event), self));
            }
        }
    }
}

async fn events(State(hub): State<Arc<Hub>>) -> Response {
    if let Some(refusal) = console::development_only(&hub.platform) {
        return refusal;
    }
    let mut ticks = tokio::time::interval(HEALTH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.reset(); // the first tick one period from now: the first event is sent without waiting
    let feed = Feed {
        changes: hub.platform.changes(),
        ticks,
        last: None,
        _viewer: Viewer::join(&hub.viewers),
        hub,
    };
    let stream = futures::stream::unfold(feed, Feed::next);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}
