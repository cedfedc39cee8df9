//! Captures `tracing` events on the current thread (a `#[tokio::test]` runs its futures there): a minimal
//! subscriber that records each event's level, target and fields.

use std::fmt;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One captured event.
#[derive(Debug, Clone)]
pub struct Captured {
    pub level: Level,
    pub target: String,
    /// The `message` field.
    pub message: String,
    /// The other fields, `name=value`.
    pub fields: Vec<(String, String)>,
}

impl Captured {
    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The events captured so far.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Captured>>>);

impl Log {
    pub fn events(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }
}

struct Fields<'a>(&'a mut Captured);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.message = value.to_string();
        } else {
            self.0
                .fields
                .push((field.name().to_string(), value.to_string()));
        }
    }
}

struct Capture(Log);

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut captured = Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            message: String::new(),
            fields: Vec::new(),
        };
        event.record(&mut Fields(&mut captured));
        (self.0).0.lock().unwrap().push(captured);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Captures the current thread's events until the guard is dropped.
pub fn capture() -> (Log, tracing::subscriber::DefaultGuard) {
    let log = Log::default();
    let guard = tracing::subscriber::set_default(Capture(log.clone()));
    (log, guard)
}
