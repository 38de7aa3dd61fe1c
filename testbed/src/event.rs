//! What the peers report as they run: the raw material of the page's log and network view.
//!
//! Peers never block on the page: events go into a bounded queue with `try_send`, and an event
//! that does not fit is counted as dropped rather than stalling a peer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

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
