//! A `tracing` Layer that keeps the spans and events of every peer in the page, each tagged
//! with the peer it ran in, in bounded storage the page drains once per frame.
//!
//! libp2p runs a connection's work detached from the caller's span (`parent: Span::none()`),
//! but our swarms poll their connections inside their own event loop (no executor), and every
//! peer task runs inside a `peer` span, so the peer is found by walking up the span scope.

use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Write};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use web_time::Instant;

/// Finished spans and events kept before the page drains them: a busy second of 20 peers
/// pinging stays well inside; beyond, the oldest go and are counted.
pub const MAX_RECORDS: usize = 20_000;

/// The name of the span each peer's tasks run in; its `peer` field names the peer.
pub const PEER_SPAN: &str = "peer";

#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// The PeerId (base58) of the peer the span ran in, if any.
    pub peer: Option<String>,
    pub name: &'static str,
    pub target: &'static str,
    pub fields: Vec<(&'static str, String)>,
    /// On the same monotonic clock as the peers' events (`web_time`, so `performance.now()`
    /// in the browser), so spans and messages line up to the sub-millisecond.
    pub start: Instant,
    pub end: Instant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub peer: Option<String>,
    pub level: tracing::Level,
    pub target: &'static str,
    pub message: String,
    pub at: Instant,
}

#[derive(Debug, Default)]
struct Store {
    open: HashMap<Id, SpanRecord>,
    spans: VecDeque<SpanRecord>,
    events: VecDeque<EventRecord>,
    dropped: u64,
}

/// The page's side: cloneable, drained once per frame.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    store: Arc<Mutex<Store>>,
}

/// The `tracing` side.
#[derive(Debug, Clone)]
pub struct RecordingLayer {
    recorder: Recorder,
}

impl Recorder {
    pub fn layer(&self) -> RecordingLayer {
        RecordingLayer {
            recorder: self.clone(),
        }
    }

    /// Takes every finished span and event recorded since the last call.
    pub fn drain(&self) -> (Vec<SpanRecord>, Vec<EventRecord>) {
        let mut store = self.lock();
        (
            store.spans.drain(..).collect(),
            store.events.drain(..).collect(),
        )
    }

    /// Records dropped because the page did not drain them in time.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Collects a span's or event's fields as text.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields.push((field.name(), format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.push((field.name(), value.to_owned()));
        }
    }
}

/// The peer a span belongs to, kept in the span's extensions.
struct PeerTag(String);

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, dropped: &mut u64) {
    if queue.len() == MAX_RECORDS {
        queue.pop_front();
        *dropped += 1;
    }
    queue.push_back(item);
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for RecordingLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let Some(span) = ctx.span(id) else { return };
        let own = (attrs.metadata().name() == PEER_SPAN)
            .then(|| {
                fields
                    .fields
                    .iter()
                    .find(|(k, _)| *k == "peer")
                    .map(|(_, v)| v.clone())
            })
            .flatten();
        let inherited = || {
            span.scope()
                .skip(1)
                .find_map(|s| s.extensions().get::<PeerTag>().map(|t| t.0.clone()))
        };
        let peer = own.or_else(inherited);
        if let Some(peer) = &peer {
            span.extensions_mut().insert(PeerTag(peer.clone()));
        }
        let record = SpanRecord {
            peer,
            name: attrs.metadata().name(),
            target: attrs.metadata().target(),
            fields: fields.fields,
            start: Instant::now(),
            end: Instant::now(),
        };
        self.recorder.lock().open.insert(id.clone(), record);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let peer = ctx.event_scope(event).and_then(|scope| {
            scope
                .from_root()
                .find_map(|s| s.extensions().get::<PeerTag>().map(|t| t.0.clone()))
        });
        let mut message = fields.message;
        for (key, value) in fields.fields {
            let _ = write!(message, " {key}={value}");
        }
        let record = EventRecord {
            peer,
            level: *event.metadata().level(),
            target: event.metadata().target(),
            message,
            at: Instant::now(),
        };
        let mut store = self.recorder.lock();
        let Store {
            events, dropped, ..
        } = &mut *store;
        push_bounded(events, record, dropped);
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        let mut store = self.recorder.lock();
        if let Some(mut record) = store.open.remove(&id) {
            record.end = Instant::now();
            let Store { spans, dropped, .. } = &mut *store;
            push_bounded(spans, record, dropped);
        }
    }
}
