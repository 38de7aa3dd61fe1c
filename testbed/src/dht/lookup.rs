//! Lookups rebuilt hop by hop. libp2p-kad reports a lookup when it starts (here, as the
//! peer's event) and when it ends; what happened in between is read from the wire: every kad
//! request the peer that ran it wrote with the lookup's key, and the answer that came back on
//! the same stream.

use std::collections::{HashMap, HashSet, VecDeque};

use libp2p::PeerId;

use super::{Distance, KeyPoint, LookupKind, LookupOutcome};
use crate::event::{DhtStep, Event, EventKind};
use crate::wire::kad::{KadKind, KadMessage};
use crate::wire::{Direction, WireItem, WireRecord};

/// Kad messages kept (both ends of every request and answer); the oldest go first. A
/// 100-peer network's start-up bootstrap writes about 20,000.
const MAX_KAD_MESSAGES: usize = 100_000;

/// Lookups kept; the oldest go first.
const MAX_LOOKUPS: usize = 1_000;

/// Malformed kad messages kept for the page.
const MAX_ERRORS: usize = 100;

/// A kad message as one end of a connection wrote or read it.
#[derive(Debug, Clone)]
struct KadRecord {
    at_ms: f64,
    local: PeerId,
    remote: PeerId,
    /// The connection (as numbered at the local end) and stream it went on.
    stream: (u64, u32),
    direction: Direction,
    request: bool,
    message: KadMessage,
}

/// A kad message that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct KadError {
    pub at_ms: f64,
    pub from: PeerId,
    pub to: PeerId,
    pub error: String,
}

/// One lookup a peer ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub origin: PeerId,
    /// The origin's own number for it (its `DhtStep::LookupStarted`).
    pub number: u64,
    /// Its place among every lookup the trace saw start, from 0.
    pub sequence: u64,
    pub kind: LookupKind,
    pub key: Vec<u8>,
    pub started_ms: f64,
    pub finished_ms: Option<f64>,
    pub outcome: Option<LookupOutcome>,
}

/// One request of a lookup and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    pub asked: PeerId,
    pub request: KadKind,
    /// The asked peer's distance to the key.
    pub distance: Distance,
    pub sent_ms: f64,
    /// Requests of this lookup in flight once this one was sent (itself included).
    pub in_flight: usize,
    /// 1 for a peer the origin knew from its own routing table; n + 1 for a peer first named
    /// by the answer of a request at depth n.
    pub depth: usize,
    /// Sent after the lookup had finished (see [`Lookups::claims`]): its answer is ignored.
    pub late: bool,
    pub answer: Option<Answer>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub at_ms: f64,
    /// The closer peers it named, each with its distance to the key.
    pub peers: Vec<Found>,
    /// It answered with the record.
    pub record: bool,
    pub providers: Vec<PeerId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub peer: PeerId,
    pub distance: Distance,
    /// Not asked and not named by any earlier answer of this lookup.
    pub new: bool,
}

/// Every lookup of a network and the kad messages they are read from.
#[derive(Debug, Default)]
pub struct Lookups {
    lookups: VecDeque<Lookup>,
    messages: VecDeque<KadRecord>,
    errors: VecDeque<KadError>,
    /// Whether the request on each end's stream (local peer, connection, stream) belongs to
    /// a lookup the page asked for: its answer is classed the same.
    asked_on_stream: HashMap<(PeerId, u64, u32), bool>,
    /// Kad messages ever taken in, background traffic included.
    pub seen: u64,
    /// Lookups ever started.
    pub started: u64,
    /// PUT_VALUE and ADD_PROVIDER requests ever received: each may have changed who holds
    /// what. An ADD_PROVIDER arrives after its lookup has ended (it has no answer to wait for).
    pub stores_asked: u64,
    /// Once the network's start-up bootstrap is over: how long its routing tables had been
    /// unchanged then, in ms.
    pub settled: Option<u64>,
}

/// Streams whose request is remembered until its answer; beyond this they are forgotten.
const MAX_OPEN_STREAMS: usize = 50_000;

impl Lookups {
    pub fn apply_event(&mut self, event: &Event) {
        let EventKind::Dht(step) = &event.kind else {
            return;
        };
        match step {
            DhtStep::LookupStarted { lookup, kind, key } => {
                if self.lookups.len() == MAX_LOOKUPS {
                    self.lookups.pop_front();
                }
                self.lookups.push_back(Lookup {
                    origin: event.peer,
                    number: *lookup,
                    sequence: self.started,
                    kind: *kind,
                    key: key.clone(),
                    started_ms: event.at_ms,
                    finished_ms: None,
                    outcome: None,
                });
                self.started += 1;
            }
            DhtStep::LookupFinished { lookup, outcome } => {
                if let Some(found) = self
                    .lookups
                    .iter_mut()
                    .rev()
                    .find(|l| l.origin == event.peer && l.number == *lookup)
                {
                    found.finished_ms = Some(event.at_ms);
                    found.outcome = Some(outcome.clone());
                }
            }
            DhtStep::Settled {
                tables_steady_ms, ..
            } => self.settled = Some(*tables_steady_ms),
        }
    }

    /// Takes in a kad message from the wire tap. Returns, for a message that could be read,
    /// whether it belongs to a lookup the page asked for (false: background traffic, such as
    /// libp2p-kad's own bootstrap). The lookup's start must have been applied first.
    pub fn apply_wire(&mut self, record: &WireRecord) -> Option<bool> {
        let WireItem::Kad {
            stream,
            request,
            message,
        } = &record.item
        else {
            return None;
        };
        let remote = record.remote?;
        self.seen += 1;
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                // Each end reads what the writer sent; the reader's view is the one that counts.
                if record.direction == Direction::Received {
                    if self.errors.len() == MAX_ERRORS {
                        self.errors.pop_front();
                    }
                    self.errors.push_back(KadError {
                        at_ms: record.at_ms,
                        from: remote,
                        to: record.local,
                        error: error.clone(),
                    });
                }
                return None;
            }
        };
        if *request
            && record.direction == Direction::Received
            && matches!(message.kind, KadKind::PutValue | KadKind::AddProvider)
        {
            self.stores_asked += 1;
        }
        let stream_key = (record.local, record.connection, *stream);
        let asked = if *request {
            let origin = match record.direction {
                Direction::Sent => record.local,
                Direction::Received => remote,
            };
            let asked = self.lookups.iter().any(|l| {
                l.origin == origin && l.key == message.key && l.started_ms <= record.at_ms
            });
            if self.asked_on_stream.len() >= MAX_OPEN_STREAMS {
                self.asked_on_stream.clear();
            }
            self.asked_on_stream.insert(stream_key, asked);
            asked
        } else {
            self.asked_on_stream.remove(&stream_key).unwrap_or(false)
        };
        if self.messages.len() == MAX_KAD_MESSAGES {
            self.messages.pop_front();
        }
        self.messages.push_back(KadRecord {
            at_ms: record.at_ms,
            local: record.local,
            remote,
            stream: (record.connection, *stream),
            direction: record.direction,
            request: *request,
            message: message.clone(),
        });
        Some(asked)
    }

    pub fn lookups(&self) -> impl DoubleEndedIterator<Item = &Lookup> {
        self.lookups.iter()
    }

    /// The latest lookup of `kind` that has finished.
    pub fn last_finished(&self, kind: LookupKind) -> Option<&Lookup> {
        self.last_finished_since(kind, 0)
    }

    /// The latest lookup of `kind` that has finished, of those started once `sequence`
    /// lookups had.
    pub fn last_finished_since(&self, kind: LookupKind, sequence: u64) -> Option<&Lookup> {
        self.lookups
            .iter()
            .rev()
            .take_while(|l| l.sequence >= sequence)
            .find(|l| l.kind == kind && l.outcome.is_some())
    }

    pub fn errors(&self) -> impl Iterator<Item = &KadError> {
        self.errors.iter()
    }

    /// A kad message belongs to the latest lookup its writer started for the same key. A
    /// request may go out after its lookup finished: libp2p-kad hands it to a connection
    /// still being dialed, and sends it once that connection is up.
    fn claims(&self, lookup: &Lookup, message: &KadRecord) -> bool {
        message.local == lookup.origin
            && message.message.key == lookup.key
            && message.at_ms >= lookup.started_ms
            && !self.lookups.iter().any(|later| {
                later.origin == lookup.origin
                    && later.key == lookup.key
                    && later.started_ms > lookup.started_ms
                    && later.started_ms <= message.at_ms
            })
    }

    /// The hops of `lookup`, in the order their requests were sent.
    pub fn hops(&self, lookup: &Lookup) -> Vec<Hop> {
        let target = KeyPoint::of_bytes(&lookup.key);
        let mut hops: Vec<Hop> = Vec::new();
        let mut by_stream: HashMap<(u64, u32), usize> = HashMap::new();
        let mut known: HashSet<PeerId> = HashSet::new();
        // The depth of each peer an answer named, from the first answer that named it.
        let mut named_at: HashMap<PeerId, usize> = HashMap::new();
        // Answers carry no key (libp2p-kad leaves it empty): they belong to the request made
        // on the same stream.
        let origin_messages = self
            .messages
            .iter()
            .filter(|m| m.local == lookup.origin && m.at_ms >= lookup.started_ms);
        for record in origin_messages {
            match (record.direction, record.request) {
                (Direction::Sent, true) if self.claims(lookup, record) => {
                    known.insert(record.remote);
                    by_stream.insert(record.stream, hops.len());
                    let in_flight = 1 + hops
                        .iter()
                        .filter(|h| h.answer.is_none() && h.request == record.message.kind)
                        .count();
                    hops.push(Hop {
                        asked: record.remote,
                        request: record.message.kind,
                        distance: KeyPoint::of_peer(&record.remote).distance(&target),
                        sent_ms: record.at_ms,
                        in_flight,
                        depth: named_at.get(&record.remote).map_or(1, |d| d + 1),
                        late: lookup.finished_ms.is_some_and(|end| record.at_ms > end),
                        answer: None,
                    });
                }
                (Direction::Received, false) => {
                    let Some(&index) = by_stream.get(&record.stream) else {
                        continue;
                    };
                    let depth = hops[index].depth;
                    for peer in &record.message.closer {
                        named_at.entry(peer.id).or_insert(depth);
                    }
                    let peers = record
                        .message
                        .closer
                        .iter()
                        .filter(|p| p.id != lookup.origin)
                        .map(|p| Found {
                            peer: p.id,
                            distance: KeyPoint::of_peer(&p.id).distance(&target),
                            new: known.insert(p.id),
                        })
                        .collect();
                    hops[index].answer = Some(Answer {
                        at_ms: record.at_ms,
                        peers,
                        record: record.message.record.is_some(),
                        providers: record.message.providers.iter().map(|p| p.id).collect(),
                    });
                }
                _ => {}
            }
        }
        hops
    }

    /// Why `lookup` stopped, in a sentence.
    pub fn stop_reason(&self, lookup: &Lookup) -> String {
        let Some(outcome) = &lookup.outcome else {
            return "still running".into();
        };
        if let Some(error) = &outcome.error {
            return format!("it failed: {error}");
        }
        match lookup.kind {
            LookupKind::GetRecord => {
                "a peer answered with the record: the quorum was reached".into()
            }
            LookupKind::PutRecord => {
                "it had found the closest peers and sent each of them the record (PUT_VALUE)".into()
            }
            LookupKind::Provide => "it had found the closest peers and sent each of them a \
                                    provider record (ADD_PROVIDER)"
                .into(),
            LookupKind::FindProviders if !outcome.providers.is_empty() => {
                "the closest peers answered, naming the providers they know".into()
            }
            _ => format!(
                "the {} closest peers it had heard of had all answered, and none named a peer \
                 closer than those",
                outcome.closest.len()
            ),
        }
    }
}

/// The best distance to the key a lookup knew, from its [`Lookups::hops`]: first from its own
/// table (the closest of the peers it asked before any answer came), then after each answer,
/// in the order answers came (the closest of the peers asked so far and of those the answers
/// named).
pub fn progress(hops: &[Hop]) -> Vec<Distance> {
    let hops: Vec<&Hop> = hops.iter().filter(|h| !h.late).collect();
    let answered_at = |h: &Hop| h.answer.as_ref().map(|a| a.at_ms);
    let Some(first_answer) = hops
        .iter()
        .copied()
        .filter_map(answered_at)
        .min_by(f64::total_cmp)
    else {
        return Vec::new();
    };
    let mut best = hops
        .iter()
        .filter(|h| h.sent_ms <= first_answer)
        .map(|h| h.distance)
        .min()
        .expect("the first answer's request was sent before it");
    let mut answered: Vec<&Hop> = hops
        .iter()
        .copied()
        .filter(|h| h.answer.is_some())
        .collect();
    answered.sort_by(|a, b| {
        answered_at(a)
            .unwrap_or(0.0)
            .total_cmp(&answered_at(b).unwrap_or(0.0))
    });
    let mut progress = vec![best];
    for hop in answered {
        let answer = hop.answer.as_ref().expect("kept only answered hops");
        let closest = answer
            .peers
            .iter()
            .map(|f| f.distance)
            .chain([hop.distance])
            .min()
            .expect("the asked peer at least");
        best = best.min(closest);
        progress.push(best);
    }
    progress
}

/// How many hops deep a lookup went, from its [`Lookups::hops`]: the greatest depth of a
/// request it made in time.
pub fn depth(hops: &[Hop]) -> usize {
    hops.iter()
        .filter(|h| !h.late)
        .map(|h| h.depth)
        .max()
        .unwrap_or(0)
}
