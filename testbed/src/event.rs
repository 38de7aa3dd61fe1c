//! What the peers report as they run: the raw material of the page's log and network view.
//!
//! Peers never block on the page: events go into a bounded queue with `try_send`, and an event
//! that does not fit is counted as dropped rather than stalling a peer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use crate::labels::{Names, Tone};
use crate::trace::mark::{Mark, MessageKind, Said};

// Each protocol reports its own steps; the page reads them all from one stream.
pub use crate::dht::DhtStep;
pub use crate::protocols::ping::PingStep;
pub use crate::protocols::transfer::TransferStep;
pub use crate::room::RoomStep;
pub use crate::snapshot::TokenStep;

/// Room for every connection event of a 100-peer full mesh (4,950 connections, two ends each)
/// while the page is busy drawing.
pub const EVENT_QUEUE: usize = 16_384;

/// Index of a peer in its network: peer 0, peer 1, …
pub type PeerIndex = usize;

#[derive(Debug, Clone)]
pub struct Event {
    /// Milliseconds since the network started.
    pub at_ms: f64,
    /// The peer that saw this happen.
    pub peer: PeerId,
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    Listening {
        address: Multiaddr,
    },
    Dialing {
        remote: PeerId,
    },
    ConnectionEstablished {
        remote: PeerId,
        /// True on the side that dialed.
        dialer: bool,
    },
    ConnectionClosed {
        remote: PeerId,
        cause: Option<String>,
    },
    DialFailed {
        remote: Option<PeerId>,
        error: String,
    },
    /// This peer stopped (left the network): all its connections drop at once, and it
    /// reports nothing more, not even their closing.
    Left,
    /// The remote's identify answer: what software it runs and which protocols it speaks.
    Identified {
        remote: PeerId,
        agent: String,
        protocols: Vec<String>,
    },
    /// A libp2p ping (`/ipfs/ping/1.0.0`) round trip.
    RoundTrip {
        remote: PeerId,
        rtt_ms: f64,
    },
    Ping(PingStep),
    Transfer(TransferStep),
    Tokens(TokenStep),
    Dht(DhtStep),
    Room(RoomStep),
}

impl EventKind {
    /// What this event means to the trace: a peer's own connection steps here, each
    /// protocol's steps from the protocol.
    pub fn mark(&self) -> Option<Mark> {
        match self {
            EventKind::Dialing { remote } => Some(Mark::Sent {
                to: *remote,
                said: Said::plain(MessageKind::Connect, "noise + yamux", "dial"),
            }),
            EventKind::ConnectionEstablished {
                remote,
                dialer: false,
            } => Some(Mark::ReceivedInOrder {
                from: *remote,
                kind: MessageKind::Connect,
                in_flight: None,
            }),
            EventKind::Ping(step) => step.mark(),
            EventKind::Tokens(step) => step.mark(),
            EventKind::Room(step) => step.mark(),
            _ => None,
        }
    }

    /// The log's sentence, for events worth a line; `me` names the peer that saw it. A
    /// peer's own connection steps are told here, each protocol's steps by the protocol.
    pub fn sentence(&self, me: &str, names: &impl Names) -> Option<(Tone, String)> {
        Some(match self {
            // One line per connection, from the side that dialed; the listening side's report
            // of the same connection would only repeat it.
            EventKind::ConnectionEstablished {
                remote,
                dialer: true,
            } => (
                Tone::Info,
                format!(
                    "{me} dialed {} and is connected: noise proved who each side is, yamux is ready for streams",
                    names.peer(remote)
                ),
            ),
            EventKind::ConnectionClosed { remote, cause } => (
                Tone::Info,
                format!(
                    "{me}'s connection to {} closed{}",
                    names.peer(remote),
                    cause
                        .as_ref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                ),
            ),
            EventKind::Left => (
                Tone::Problem,
                format!("{me} left the network: all its connections dropped at once"),
            ),
            EventKind::DialFailed { remote, error } => (
                Tone::Problem,
                format!(
                    "{me} could not connect to {}: {error}",
                    remote.map_or("an address".to_owned(), |r| names.peer(&r))
                ),
            ),
            EventKind::RoundTrip { remote, rtt_ms } => (
                Tone::Info,
                format!("{me} ↔ {}: libp2p ping round trip {rtt_ms:.1} ms", names.peer(remote)),
            ),
            EventKind::Ping(step) => step.sentence(me, names),
            EventKind::Transfer(step) => step.sentence(me, names),
            EventKind::Tokens(step) => return step.sentence(me, names),
            EventKind::Dht(step) => step.sentence(me, names),
            EventKind::Room(step) => return step.sentence(names),
            EventKind::Listening { .. }
            | EventKind::Dialing { .. }
            | EventKind::ConnectionEstablished { dialer: false, .. }
            | EventKind::Identified { .. } => return None,
        })
    }
}

/// The sending end shared by every peer of a network.
#[derive(Clone)]
pub struct EventSink {
    // One shared sender: futures' mpsc gives every clone of a sender a slot of its own, so
    // cloning per event would make the queue unbounded.
    queue: Arc<Mutex<mpsc::Sender<Event>>>,
    started: Instant,
    dropped: Arc<AtomicU64>,
}

pub type EventStream = mpsc::Receiver<Event>;

impl EventSink {
    pub fn new() -> (EventSink, EventStream) {
        let (queue, stream) = mpsc::channel(EVENT_QUEUE);
        let sink = EventSink {
            queue: Arc::new(Mutex::new(queue)),
            started: Instant::now(),
            dropped: Arc::default(),
        };
        (sink, stream)
    }

    pub fn emit(&self, peer: PeerId, kind: EventKind) {
        let at_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let event = Event { at_ms, peer, kind };
        let sent = match self.queue.lock() {
            Ok(mut queue) => queue.try_send(event).is_ok(),
            Err(_) => false,
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The moment `Event::at_ms` counts from.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Events that did not fit in the queue (or came after the page stopped listening).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
