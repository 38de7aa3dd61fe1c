//! What the peers report as they run: the raw material of the page's log and network view.
//!
//! Peers never block on the page: events go into a bounded queue with `try_send`, and an event
//! that does not fit is counted as dropped rather than stalling a peer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

pub use crate::room::RoomStep;

use crate::dht::{LookupKind, LookupOutcome};
use crate::protocols::ping::Envelope;
use crate::snapshot::{Recording, SnapshotId, Tokens};

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

/// What a peer's DHT side reports ([`crate::dht`]); the hops of a lookup come from the wire.
#[derive(Debug, Clone)]
pub enum DhtStep {
    /// `lookup` numbers this peer's lookups from 0.
    LookupStarted {
        lookup: u64,
        kind: LookupKind,
        key: Vec<u8>,
    },
    LookupFinished {
        lookup: u64,
        outcome: LookupOutcome,
    },
    /// Every peer's DHT side has been quiet for a while: libp2p-kad's start-up bootstrap is
    /// over (reported once, by peer 0, for the network). `entries`: over all routing tables.
    Settled {
        entries: usize,
    },
}

/// One step of the token application and its snapshots ([`crate::snapshot`]), as seen by one
/// peer.
#[derive(Debug, Clone)]
pub enum TokenStep {
    Sent {
        remote: PeerId,
        tokens: Tokens,
    },
    Received {
        remote: PeerId,
        tokens: Tokens,
        /// Snapshots that recorded these tokens as in flight on their channel.
        recorded_by: Vec<SnapshotId>,
    },
    MarkerSent {
        remote: PeerId,
        id: SnapshotId,
    },
    MarkerReceived {
        remote: PeerId,
        id: SnapshotId,
    },
    /// This peer's part of snapshot `id` can never finish: its channel from `closed` closed
    /// before that channel's marker came.
    Abandoned {
        id: SnapshotId,
        closed: PeerId,
    },
    /// This peer wrote down its balance: its point of that recording's cut.
    Recorded {
        recording: Recording,
        balance: u64,
    },
}

/// One step of the testbed's bulk transfer, as seen by one side.
#[derive(Debug, Clone)]
pub enum TransferStep {
    /// This side opened a stream to send `bytes`; the reader pauses after each 16 KiB when slow.
    Started {
        remote: PeerId,
        bytes: u64,
        slow_reader: bool,
    },
    /// Every byte arrived, and the other side said so.
    Finished {
        remote: PeerId,
        bytes: u64,
        took_ms: f64,
    },
    /// This side dropped the stream after `sent` bytes: yamux resets it (RST).
    GaveUp {
        remote: PeerId,
        sent: u64,
    },
    /// This side read a whole transfer.
    Received {
        remote: PeerId,
        bytes: u64,
    },
    Failed {
        remote: PeerId,
        error: String,
    },
}

/// One step of the testbed's ping exchange, as seen by one side.
#[derive(Debug, Clone)]
pub enum PingStep {
    StreamOpened {
        remote: PeerId,
        protocol: String,
    },
    StreamAccepted {
        remote: PeerId,
        protocol: String,
    },
    Sent {
        remote: PeerId,
        envelope: Envelope,
    },
    Received {
        remote: PeerId,
        envelope: Envelope,
        /// This peer's Lamport time of the receive.
        lamport: u64,
    },
    /// This side closed its half of the stream: it will write no more.
    ClosedOwnSide {
        remote: PeerId,
    },
    /// The remote closed its half too: the stream is closed from both sides.
    RemoteClosed {
        remote: PeerId,
    },
    /// The stream was dropped before an answer came; a new one is tried.
    Retrying {
        remote: PeerId,
        error: String,
        attempt: usize,
    },
    Failed {
        remote: PeerId,
        error: String,
    },
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
