//! The trace model: every message one peer sent to another, linked to its receive. Messages
//! that carry trace context (the testbed's envelopes) are linked by their span id; the steps a
//! connection and a stream go through (dial, open, close) carry none on the wire, and are
//! linked in order, first sent to first received, per pair of peers. Built from the peers'
//! events and from the wire tap's records (the connection's handshakes and yamux frames,
//! linked the same way); bounded, with the wire's detail kept apart so its volume never
//! pushes out the steps a lesson is about.

use std::collections::{vec_deque, HashMap, HashSet, VecDeque};

use libp2p::PeerId;

use super::context::{SpanId, TraceId};
use super::mark::{FromAnotherTab, Mark, MessageKind, Said};
use crate::dht::Lookups;
use crate::event::{Event, EventKind};
use crate::snapshot::cuts::{Cut, Cuts};
use crate::wire::decode::WireItem;
use crate::wire::yamux::Header;
use crate::wire::{Direction, WireRecord};

/// Messages kept, besides the detail: a long session of pings and lessons stays far below,
/// and at about 150 bytes each they stay under ~15 MB. The oldest go first.
pub const MAX_MESSAGES: usize = 100_000;

/// Detail messages kept (see [`MessageKind::is_detail`]): a settling 30-peer DHT makes this
/// many in a few seconds, so they are bounded on their own and the oldest go first.
pub const MAX_DETAIL: usize = 50_000;

/// Receives whose send has not been seen yet (the receiver's report overtook the sender's),
/// and sends without trace context waiting for their receive.
const MAX_PENDING: usize = 65_536;

/// When something happened, by the wall clock and by the peer's Lamport clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    /// Milliseconds since the network started.
    pub at_ms: f64,
    /// Only messages that carry a clock have one.
    pub lamport: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its place in the trace: 0 for the first message ever recorded.
    pub position: u64,
    pub kind: MessageKind,
    /// Trace context, for messages that carry it.
    pub context: Option<(TraceId, SpanId)>,
    pub from: PeerId,
    pub to: PeerId,
    pub protocol: String,
    /// What the diagram writes on the arrow, e.g. `PING`.
    pub label: String,
    /// The envelope's JSON, for messages that are one; a frame's fields and bytes.
    pub payload: Option<String>,
    /// The yamux frame's header, for frames.
    pub frame: Option<Header>,
    pub sent: Stamp,
    /// Sent in another tab where this trace cannot see, with no clock of its own (WebRTC
    /// signaling): `sent` is only when it arrived.
    pub sent_unseen: bool,
    /// None while in flight, or if it never arrived.
    pub received: Option<Stamp>,
    /// Tokens a snapshot recorded as in flight on their channel.
    pub recorded: bool,
}

type Route = (PeerId, PeerId, MessageKind);

#[derive(Debug, Default)]
pub struct Trace {
    /// Messages of the kinds that are not detail, oldest first.
    story: VecDeque<Message>,
    /// Detail messages, oldest first.
    detail: VecDeque<Message>,
    /// The number of messages ever recorded: the next one's position.
    recorded: u64,
    /// Every kind of message recorded so far, evicted ones included.
    kinds: HashSet<MessageKind>,
    by_span: HashMap<SpanId, u64>,
    early_by_span: HashMap<SpanId, Stamp>,
    /// Untraced sends waiting for their receive, oldest first, per route.
    waiting_sends: HashMap<Route, VecDeque<u64>>,
    early_by_route: HashMap<Route, VecDeque<Stamp>>,
    pending: usize,
    /// Snapshot cuts, folded from the same events.
    cuts: Cuts,
    /// DHT lookups, rebuilt hop by hop from the same events and wire records.
    lookups: Lookups,
    /// When each peer that left the network left (ms since it started).
    departures: HashMap<PeerId, f64>,
    /// For a trace of one tab's peer talking to other tabs: when its clock started, in ms
    /// since the Unix epoch (see [`Trace::across_tabs`]).
    across_tabs_since: Option<f64>,
}

impl Trace {
    /// A trace of one tab's peer and the peers of other tabs, whose events this tab never
    /// sees. The other end of each message is taken from the envelope: a receive brings its
    /// send's wall-clock and Lamport time, a PONG the moment its PING arrived. Times count from
    /// `since_unix_ms`; tabs on other machines may disagree on the time, so a send is never
    /// drawn after its receive.
    pub fn across_tabs(since_unix_ms: f64) -> Trace {
        Trace {
            across_tabs_since: Some(since_unix_ms),
            ..Trace::default()
        }
    }

    /// Takes in one event: a send or a receive becomes part of an arrow, a peer leaving ends
    /// its lifeline, and snapshot and lookup events feed the cuts and lookups; others draw
    /// nothing.
    pub fn apply(&mut self, event: &Event) {
        self.lookups.apply_event(event);
        self.cuts.apply_event(event);
        if matches!(event.kind, EventKind::Left) {
            self.departures.entry(event.peer).or_insert(event.at_ms);
        }
        let Some(mark) = event.kind.mark() else {
            return;
        };
        let me = event.peer;
        let stamp = |lamport| Stamp {
            at_ms: event.at_ms,
            lamport,
        };
        match mark {
            Mark::Sent { to, said } => {
                let lamport = said.stamp.map(|s| s.lamport);
                self.record_send(message(me, to, said, stamp(lamport)));
            }
            Mark::ReceivedInOrder {
                from,
                kind,
                in_flight,
            } => {
                let position = self.record_receive_on((from, me, kind), stamp(None));
                if let (Some(message), Some(note)) =
                    (position.and_then(|p| self.message_mut(p)), in_flight)
                {
                    message.recorded = true;
                    message.payload = Some(note);
                }
            }
            Mark::Arrived { from, said } => {
                self.keep(Message {
                    sent_unseen: true,
                    received: Some(stamp(None)),
                    ..message(from, me, said, stamp(None))
                });
            }
            Mark::Received {
                span,
                lamport,
                from_another_tab,
            } => match self.across_tabs_since {
                Some(since) => {
                    self.receive_from_another_tab(since, me, from_another_tab, stamp(Some(lamport)))
                }
                None => self.record_receive_of(span, stamp(Some(lamport))),
            },
        }
    }

    /// Every recording's cut, oldest first.
    pub fn cuts(&self) -> impl Iterator<Item = &Cut> {
        self.cuts.iter()
    }

    pub fn lookups(&self) -> &Lookups {
        &self.lookups
    }

    /// When `peer` left the network, if it did.
    pub fn departure(&self, peer: &PeerId) -> Option<f64> {
        self.departures.get(peer).copied()
    }

    /// Takes in one record of the wire tap: a handshake message or a yamux frame, sent or
    /// received. Returns the position of the message it belongs to, when it is one.
    pub fn apply_wire(&mut self, record: &WireRecord) -> Option<u64> {
        let (from, to) = record.sender_and_receiver()?;
        let asked = self.lookups.apply_wire(record);
        let frame = match &record.item {
            WireItem::Frame { header, .. } => Some(*header),
            _ => None,
        };
        let asked = asked == Some(true);
        let stamp = Stamp {
            at_ms: record.at_ms,
            lamport: None,
        };
        match record.direction {
            Direction::Sent => {
                let said = record.said(asked)?;
                let position = self.next_position();
                self.record_send(Message {
                    frame,
                    ..message(from, to, said, stamp)
                });
                Some(position)
            }
            // Its send carries the words: a receive is matched by kind alone.
            Direction::Received => self.record_receive_on((from, to, record.kind(asked)?), stamp),
        }
    }

    fn next_position(&self) -> u64 {
        self.recorded
    }

    fn receive_from_another_tab(
        &mut self,
        since_unix_ms: f64,
        me: PeerId,
        message_from: FromAnotherTab,
        received: Stamp,
    ) {
        let local = |unix_ms: u64| unix_ms as f64 - since_unix_ms;
        if let Some((trace, at_unix_ms, lamport)) = message_from.answers {
            let answered = self.messages().rev().find(|m| {
                m.from == me
                    && m.to == message_from.from
                    && m.received.is_none()
                    && m.context.map(|(t, _)| t) == Some(trace)
            });
            if let Some((position, sent)) = answered.map(|m| (m.position, m.sent.at_ms)) {
                let at_ms = local(at_unix_ms).clamp(sent, received.at_ms.max(sent));
                self.mark_received(
                    position,
                    Stamp {
                        at_ms,
                        lamport: Some(lamport),
                    },
                );
            }
        }
        let sent = Stamp {
            at_ms: local(message_from.sent_unix_ms).min(received.at_ms),
            lamport: message_from.said.stamp.map(|s| s.lamport),
        };
        self.record_send(Message {
            received: Some(received),
            ..message(message_from.from, me, message_from.said, sent)
        });
    }

    fn record_send(&mut self, mut message: Message) {
        let position = self.next_position();
        message.position = position;
        match message.context {
            Some((_, span)) => {
                if let Some(early) = self.early_by_span.remove(&span) {
                    self.pending -= 1;
                    message.received = Some(early);
                }
                self.by_span.insert(span, position);
            }
            None => {
                let route = (message.from, message.to, message.kind);
                let early = self
                    .early_by_route
                    .get_mut(&route)
                    .and_then(VecDeque::pop_front);
                if early.is_some() {
                    self.pending -= 1;
                    message.received = early;
                } else if self.pending < MAX_PENDING {
                    self.pending += 1;
                    self.waiting_sends
                        .entry(route)
                        .or_default()
                        .push_back(position);
                }
            }
        }
        self.keep(message);
    }

    /// Keeps a message recorded, evicting the oldest of its tier past the tier's limit.
    fn keep(&mut self, mut message: Message) {
        message.position = self.next_position();
        self.recorded += 1;
        self.kinds.insert(message.kind);
        let (tier, limit) = match message.kind.is_detail() {
            true => (&mut self.detail, MAX_DETAIL),
            false => (&mut self.story, MAX_MESSAGES),
        };
        tier.push_back(message);
        while tier.len() > limit {
            if let Some((_, span)) = tier.pop_front().and_then(|old| old.context) {
                self.by_span.remove(&span);
            }
        }
    }

    fn record_receive_of(&mut self, span: SpanId, stamp: Stamp) {
        match self.by_span.get(&span).copied() {
            Some(position) => self.mark_received(position, stamp),
            None if self.pending < MAX_PENDING => {
                self.pending += 1;
                self.early_by_span.insert(span, stamp);
            }
            None => {}
        }
    }

    /// Links a receive to the oldest send waiting on its route; returns that send's position.
    fn record_receive_on(&mut self, route: Route, stamp: Stamp) -> Option<u64> {
        let waiting = self
            .waiting_sends
            .get_mut(&route)
            .and_then(VecDeque::pop_front);
        match waiting {
            Some(position) => {
                self.pending -= 1;
                self.mark_received(position, stamp);
                Some(position)
            }
            None if self.pending < MAX_PENDING => {
                self.pending += 1;
                self.early_by_route
                    .entry(route)
                    .or_default()
                    .push_back(stamp);
                None
            }
            None => None,
        }
    }

    fn mark_received(&mut self, position: u64, stamp: Stamp) {
        if let Some(message) = self.message_mut(position) {
            message.received = Some(stamp);
        }
    }

    fn message_mut(&mut self, position: u64) -> Option<&mut Message> {
        match index_of(&self.story, position) {
            Some(index) => self.story.get_mut(index),
            None => index_of(&self.detail, position).and_then(|i| self.detail.get_mut(i)),
        }
    }

    /// The message at `position`, while it is kept.
    pub fn message(&self, position: u64) -> Option<&Message> {
        index_of(&self.story, position)
            .and_then(|i| self.story.get(i))
            .or_else(|| index_of(&self.detail, position).and_then(|i| self.detail.get(i)))
    }

    /// Every message kept, in the order they were sent.
    pub fn messages(&self) -> Messages<'_> {
        Messages {
            story: self.story.iter(),
            detail: self.detail.iter(),
        }
    }

    /// Messages sent and not (or not yet) received.
    pub fn unreceived(&self) -> impl Iterator<Item = &Message> {
        self.messages().filter(|m| m.received.is_none())
    }

    /// Whether a message of `kind` was ever recorded: the page offers to show or hide only
    /// the kinds this run has.
    pub fn has_kind(&self, kind: MessageKind) -> bool {
        self.kinds.contains(&kind)
    }

    pub fn len(&self) -> usize {
        self.story.len() + self.detail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.story.is_empty() && self.detail.is_empty()
    }
}

/// Where the message at `position` is in `tier`, ordered by position.
fn index_of(tier: &VecDeque<Message>, position: u64) -> Option<usize> {
    tier.binary_search_by_key(&position, |m| m.position).ok()
}

/// The trace's messages in the order they were sent: its two tiers merged by position.
#[derive(Clone)]
pub struct Messages<'a> {
    story: vec_deque::Iter<'a, Message>,
    detail: vec_deque::Iter<'a, Message>,
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a Message;

    fn next(&mut self) -> Option<&'a Message> {
        match (self.story.clone().next(), self.detail.clone().next()) {
            (Some(story), Some(detail)) if detail.position < story.position => self.detail.next(),
            (Some(_), _) => self.story.next(),
            (None, _) => self.detail.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.story.len() + self.detail.len();
        (len, Some(len))
    }
}

impl DoubleEndedIterator for Messages<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match (
            self.story.clone().next_back(),
            self.detail.clone().next_back(),
        ) {
            (Some(story), Some(detail)) if detail.position > story.position => {
                self.detail.next_back()
            }
            (Some(_), _) => self.story.next_back(),
            (None, _) => self.detail.next_back(),
        }
    }
}

impl ExactSizeIterator for Messages<'_> {}

/// A message as sent, not yet received; its position is given as it is recorded.
fn message(from: PeerId, to: PeerId, said: Said, sent: Stamp) -> Message {
    Message {
        position: 0,
        kind: said.kind,
        context: said.stamp.map(|s| (s.context.trace_id, s.context.span_id)),
        from,
        to,
        protocol: said.protocol,
        label: said.label,
        payload: said.payload,
        frame: None,
        sent,
        sent_unseen: false,
        received: None,
        recorded: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, PingStep};
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
                lamport: Some(7)
            })
        );
        assert_eq!(trace.unreceived().count(), 0);
    }

    #[test]
    fn a_signal_sent_waits_for_the_other_tab_and_one_received_arrives_whole() {
        use crate::room::RoomStep;
        let (me, other) = (peer(0), peer(1));
        let signal = |sent, at_ms| Event {
            at_ms,
            peer: me,
            kind: EventKind::Room(RoomStep::Signal {
                remote: other,
                sent,
                summary: "ICE candidate · host udp 10.0.0.2:5000".into(),
            }),
        };
        let mut trace = Trace::across_tabs(0.0);
        trace.apply(&signal(true, 1.0));
        trace.apply(&signal(false, 3.0));
        let messages: Vec<&Message> = trace.messages().collect();
        assert_eq!(messages.len(), 2);
        assert_eq!((messages[0].from, messages[0].received), (me, None));
        let arrived = messages[1];
        assert_eq!((arrived.from, arrived.to), (other, me));
        assert_eq!(arrived.kind, MessageKind::Signal);
        assert_eq!(arrived.received.map(|r| r.at_ms), Some(3.0));
        assert!(arrived.sent_unseen && !messages[0].sent_unseen);
        assert_eq!(arrived.position, 1);
    }

    #[test]
    fn each_tab_draws_both_ends_of_a_ping_to_another_tab() {
        use crate::protocols::ping::Receipt;
        let (a, b) = (peer(0), peer(1));
        let (a_tracer, b_tracer) = (Tracer::new(&a), Tracer::new(&b));
        let mut ping = ping_from(a, &a_tracer);
        ping.created = 1_010;
        let ping_lamport = b_tracer.receive(ping.lamport);
        let receipt = Receipt {
            at: 1_015,
            lamport: ping_lamport,
        };
        let mut pong = ping.pong(b_tracer.continue_trace(&ping.traceparent.unwrap()), receipt);
        pong.created = 1_016;

        // Tab A started at 1,000 ms: it saw its send of the PING and the PONG's arrival.
        let mut tab_a = Trace::across_tabs(1_000.0);
        tab_a.apply(&sent(a, b, &ping, 10.0));
        tab_a.apply(&received(a, b, &pong, 9, 20.0));
        let arrows: Vec<_> = tab_a
            .messages()
            .map(|m| {
                (
                    m.from,
                    m.label.as_str(),
                    m.sent.at_ms,
                    m.received.map(|r| r.at_ms),
                )
            })
            .collect();
        assert_eq!(
            arrows,
            vec![(a, "PING", 10.0, Some(15.0)), (b, "PONG", 16.0, Some(20.0))]
        );
        assert_eq!(
            tab_a.messages().next().unwrap().received.unwrap().lamport,
            Some(ping_lamport)
        );

        // Tab B started at 1,005 ms, on a machine whose clock runs 20 ms behind: the PING
        // seems sent after it arrived, so its send is drawn at the arrival.
        let mut tab_b = Trace::across_tabs(985.0);
        tab_b.apply(&received(b, a, &ping, ping_lamport, 20.0));
        tab_b.apply(&sent(b, a, &pong, 21.0));
        let first = tab_b.messages().next().unwrap();
        assert_eq!((first.from, first.sent.at_ms), (a, 20.0));
        assert_eq!(first.sent.lamport, Some(ping.lamport));
        assert_eq!(
            tab_b.unreceived().count(),
            1,
            "the PONG's arrival is in tab A"
        );
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
        let newest = trace.messages().next_back().unwrap();
        assert_eq!(
            newest.context.map(|(_, span)| span),
            last.traceparent.map(|c| c.span_id)
        );
        assert!(newest.received.is_some());
        // A receive of an evicted message is ignored, not misattributed.
        trace.apply(&received(b, a, &pings[0], 1, 1.0));
        assert_eq!(trace.unreceived().count(), MAX_MESSAGES - 1);
    }

    #[test]
    fn the_wire_s_detail_never_pushes_out_the_story() {
        let (a, b) = (peer(0), peer(1));
        let at = |at_ms| Stamp {
            at_ms,
            lamport: None,
        };
        let mut trace = Trace::default();
        let said = |kind, label| Said::plain(kind, "/test", label);
        trace.keep(message(a, b, said(MessageKind::Connect, "dial"), at(0.0)));
        for i in 0..MAX_DETAIL + 5 {
            trace.keep(message(
                a,
                b,
                said(MessageKind::Frame, "DATA"),
                at(i as f64),
            ));
        }
        trace.keep(message(b, a, said(MessageKind::Close, "close"), at(1e9)));

        assert_eq!(trace.len(), MAX_DETAIL + 2);
        let dial = trace.message(0).expect("the dial is kept");
        assert_eq!(dial.label, "dial");
        assert!(trace.message(1).is_none(), "the oldest frames went");
        let positions: Vec<u64> = trace.messages().map(|m| m.position).collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "in the order sent"
        );
        assert_eq!(positions.len(), trace.messages().len());
        let backwards: Vec<u64> = trace.messages().rev().map(|m| m.position).collect();
        assert!(backwards.iter().rev().eq(positions.iter()));
        assert_eq!(
            trace.messages().next_back().map(|m| m.label.as_str()),
            Some("close")
        );
        let last_position = positions[positions.len() - 1];
        assert_eq!(
            trace.message(last_position).map(|m| m.kind),
            Some(MessageKind::Close)
        );
    }

    fn step(peer: PeerId, step: PingStep, at_ms: f64) -> Event {
        Event {
            at_ms,
            peer,
            kind: EventKind::Ping(step),
        }
    }

    #[test]
    fn dials_streams_and_closes_are_linked_first_sent_first_received() {
        let (a, b) = (peer(0), peer(1));
        let mut trace = Trace::default();
        trace.apply(&Event {
            at_ms: 0.0,
            peer: a,
            kind: EventKind::Dialing { remote: b },
        });
        trace.apply(&Event {
            at_ms: 1.0,
            peer: b,
            kind: EventKind::ConnectionEstablished {
                remote: a,
                dialer: false,
            },
        });
        // Two streams from a to b: b's reports of acceptance come in the same order.
        for at in [2.0, 3.0] {
            let protocol = "/testbed/ping/1.0.0".to_string();
            trace.apply(&step(
                a,
                PingStep::StreamOpened {
                    remote: b,
                    protocol,
                },
                at,
            ));
        }
        // The receiver's report of the first close overtakes the sender's.
        trace.apply(&step(b, PingStep::RemoteClosed { remote: a }, 5.0));
        trace.apply(&step(a, PingStep::ClosedOwnSide { remote: b }, 4.0));
        let protocol = "/testbed/ping/1.0.0".to_string();
        trace.apply(&step(
            b,
            PingStep::StreamAccepted {
                remote: a,
                protocol: protocol.clone(),
            },
            6.0,
        ));
        trace.apply(&step(
            b,
            PingStep::StreamAccepted {
                remote: a,
                protocol,
            },
            7.0,
        ));

        let arrows: Vec<_> = trace
            .messages()
            .map(|m| (m.kind, m.sent.at_ms, m.received.map(|r| r.at_ms)))
            .collect();
        assert_eq!(
            arrows,
            [
                (MessageKind::Connect, 0.0, Some(1.0)),
                (MessageKind::OpenStream, 2.0, Some(6.0)),
                (MessageKind::OpenStream, 3.0, Some(7.0)),
                (MessageKind::Close, 4.0, Some(5.0)),
            ]
        );
        assert!(trace.messages().all(|m| m.sent.lamport.is_none()));
        assert!(trace.has_kind(MessageKind::Close));
        assert!(!trace.has_kind(MessageKind::Envelope));
    }
}
