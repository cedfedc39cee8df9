//! A `tracing` layer that keeps every span (name, parent, fields) and every event's fields, so a test can
//! assert what the spans carry — and what they do not (secrets).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// One span as recorded.
#[derive(Debug, Clone, Default)]
pub struct SpanRec {
    pub id: u64,
    pub parent: Option<u64>,
    pub name: String,
    pub fields: BTreeMap<String, String>,
}

/// Everything captured.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub spans: Arc<Mutex<Vec<SpanRec>>>,
    pub events: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
}

impl Captured {
    /// The spans named `name` (a copy).
    pub fn spans_named(&self, name: &str) -> Vec<SpanRec> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// Every span's and event's fields as one text (to search for what must not be there).
    pub fn all_text(&self) -> String {
        let spans = self.spans.lock().unwrap();
        let events = self.events.lock().unwrap();
        format!("{spans:?}\n{events:?}")
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut rec = SpanRec {
            id: id.into_u64(),
            name: attrs.metadata().name().to_string(),
            ..Default::default()
        };
        rec.parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.id().into_u64());
        attrs.record(&mut Fields(&mut rec.fields));
        self.spans.lock().unwrap().push(rec);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(rec) = spans.iter_mut().rev().find(|s| s.id == id.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
}
