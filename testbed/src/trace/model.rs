//! The trace model: every message a peer sent, linked to its receive on the other peer by the
//! span id carried in the message. Built from the peers' events; bounded.

use std::collections::{HashMap, VecDeque};

use libp2p::PeerId;

use super::context::{SpanId, TraceId};
use crate::event::{Event, EventKind, PingStep};
use crate::protocols::ping;

/// Messages kept: a long session of pings and lessons stays far below, and at about 150 bytes
/// each the trace stays under ~15 MB. The oldest go first.
pub const MAX_MESSAGES: usize = 100_000;

/// Receives whose send has not been seen yet (the receiver's report overtook the sender's).
const MAX_EARLY_RECEIVES: usize = 1_024;

/// When something happened, by the wall clock and by the peer's Lamport clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    /// Milliseconds since the network started.
    pub at_ms: f64,
    pub lamport: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub trace: TraceId,
    pub span: SpanId,
    pub from: PeerId,
    pub to: PeerId,
    pub protocol: String,
    /// What the diagram writes on the arrow, e.g. `PING`.
    pub label: String,
    pub sent: Stamp,
    /// None while in flight, or if it never arrived.
    pub received: Option<Stamp>,
}

#[derive(Debug, Default)]
pub struct Trace {
    messages: VecDeque<Message>,
    /// The number of messages ever evicted, so `by_span` can hold absolute positions.
    evicted: u64,
    by_span: HashMap<SpanId, u64>,
    early_receives: HashMap<SpanId, Stamp>,
}

impl Trace {
    /// Takes in one event; events that are not sends or receives of traced messages are ignored.
    pub fn apply(&mut self, event: &Event) {
        let EventKind::Ping(step) = &event.kind else {
            return;
        };
        match step {
            PingStep::Sent { remote, envelope } => {
                let Some(context) = envelope.traceparent else {
                    return;
                };
                self.record_send(Message {
                    trace: context.trace_id,
                    span: context.span_id,
                    from: event.peer,
                    to: *remote,
                    protocol: ping::PROTOCOL.to_string(),
                    label: envelope.kind.to_string(),
                    sent: Stamp {
                        at_ms: event.at_ms,
                        lamport: envelope.lamport,
                    },
                    received: None,
                });
            }
            PingStep::Received {
                envelope, lamport, ..
            } => {
                if let Some(context) = envelope.traceparent {
                    let stamp = Stamp {
                        at_ms: event.at_ms,
                        lamport: *lamport,
                    };
                    self.record_receive(context.span_id, stamp);
                }
            }
            _ => {}
        }
    }

    fn record_send(&mut self, mut message: Message) {
        message.received = self.early_receives.remove(&message.span);
        let position = self.evicted + self.messages.len() as u64;
        self.by_span.insert(message.span, position);
        self.messages.push_back(message);
        while self.messages.len() > MAX_MESSAGES {
            if let Some(old) = self.messages.pop_front() {
                self.by_span.remove(&old.span);
                self.evicted += 1;
            }
        }
    }

    fn record_receive(&mut self, span: SpanId, stamp: Stamp) {
        let index = self
            .by_span
            .get(&span)
            .and_then(|&position| usize::try_from(position - self.evicted).ok());
        match index.and_then(|i| self.messages.get_mut(i)) {
            Some(message) => message.received = Some(stamp),
            None if self.early_receives.len() < MAX_EARLY_RECEIVES => {
                self.early_receives.insert(span, stamp);
            }
            None => {}
        }
    }

    /// Every message kept, in the order they were sent.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter()
    }

    /// Messages sent and not (or not yet) received.
    pub fn unreceived(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(|m| m.received.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::ping::Envelope;
    use crate::trace::Tracer;

    fn peer(index: usize) -> PeerId {
        crate::identity::keypair(3, index).public().to_peer_id()
    }

    fn sent(from: PeerId, to: PeerId, envelope: &Envelope, at_ms: f64) -> Event {
        Event {
            at_ms,
            peer: from,
            kind: EventKind::Ping(PingStep::Sent {
                remote: to,
                envelope: envelope.clone(),
            }),
        }
    }

    fn received(by: PeerId, from: PeerId, envelope: &Envelope, lamport: u64, at_ms: f64) -> Event {
        Event {
            at_ms,
            peer: by,
            kind: EventKind::Ping(PingStep::Received {
                remote: from,
                envelope: envelope.clone(),
                lamport,
            }),
        }
    }

    fn ping_from(a: PeerId, tracer: &Tracer) -> Envelope {
        Envelope::ping("1".into(), a, String::new(), tracer.start_trace())
    }

    #[test]
    fn a_receive_is_linked_to_its_send() {
        let (a, b) = (peer(0), peer(1));
        let ping = ping_from(a, &Tracer::new(&a));
        let mut trace = Trace::default();
        trace.apply(&sent(a, b, &ping, 1.0));
        assert_eq!(trace.unreceived().count(), 1, "in flight");
        trace.apply(&received(b, a, &ping, 7, 2.0));
        let message = trace.messages().next().unwrap();
        assert_eq!(
            (message.from, message.to, message.label.as_str()),
            (a, b, "PING")
        );
        assert_eq!(
            message.received,
            Some(Stamp {
                at_ms: 2.0,
                lamport: 7
            })
        );
        assert_eq!(trace.unreceived().count(), 0);
    }

    #[test]
    fn a_receive_reported_before_its_send_is_still_linked() {
        let (a, b) = (peer(0), peer(1));
        let ping = ping_from(a, &Tracer::new(&a));
        let mut trace = Trace::default();
        trace.apply(&received(b, a, &ping, 2, 2.0));
        trace.apply(&sent(a, b, &ping, 1.0));
        assert!(trace.messages().next().unwrap().received.is_some());
    }

    #[test]
    fn the_oldest_messages_go_first_and_links_stay_right() {
        let (a, b) = (peer(0), peer(1));
        let tracer = Tracer::new(&a);
        let pings: Vec<_> = (0..MAX_MESSAGES + 10)
            .map(|_| ping_from(a, &tracer))
            .collect();
        let mut trace = Trace::default();
        for ping in &pings {
            trace.apply(&sent(a, b, ping, 0.0));
        }
        assert_eq!(trace.messages().count(), MAX_MESSAGES);
        let last = pings.last().unwrap();
        trace.apply(&received(b, a, last, 1, 1.0));
        let newest = trace.messages().last().unwrap();
        assert_eq!(Some(newest.span), last.traceparent.map(|c| c.span_id));
        assert!(newest.received.is_some());
        // A receive of an evicted message is ignored, not misattributed.
        trace.apply(&received(b, a, &pings[0], 1, 1.0));
        assert_eq!(trace.unreceived().count(), MAX_MESSAGES - 1);
    }
}
