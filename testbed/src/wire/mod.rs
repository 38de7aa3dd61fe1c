//! The wire tap: what in-page connections actually carry, recorded at two depths as the bytes
//! pass. Under noise: the multistream-select negotiation of `/noise`, the three Noise XX
//! handshake messages, then ciphertext. Between noise and yamux: the plaintext, read as the
//! negotiation of `/yamux/1.0.0` and then yamux frames, each stream naming its protocol.
//!
//! Each peer taps its own end of each connection, so a frame is recorded when it is written
//! by one peer and again when the other reads it. Records are bounded; the page drains them.

pub mod decode;
pub mod in_trace;
pub mod kad;
pub mod kad_tap;
pub mod multistream;
pub(crate) mod protobuf;
pub mod tap;
pub mod webrtc;
pub mod yamux;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use libp2p::PeerId;
use web_time::Instant;

pub use decode::WireItem;

/// Records kept until drained: a 100-peer start writes about 100,000 (each frame on both
/// ends); beyond this the oldest are dropped and counted.
pub const MAX_RECORDS: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Written by the local peer.
    Sent,
    /// Read by the local peer.
    Received,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The bytes on the transport: negotiation, the noise handshake, ciphertext.
    Raw,
    /// Inside noise: what yamux reads and writes.
    Plain,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WireRecord {
    /// Ms since the network started, on the clock the peers' events use.
    pub at_ms: f64,
    /// Numbers this end of the connection (each end has its own).
    pub connection: u64,
    pub local: PeerId,
    /// Known once the noise handshake has proved who the remote is.
    pub remote: Option<PeerId>,
    /// The local peer dialed this connection.
    pub dialer: bool,
    pub direction: Direction,
    pub layer: Layer,
    pub item: WireItem,
}

impl WireRecord {
    /// The peer that wrote these bytes and the one that read them.
    pub fn sender_and_receiver(&self) -> Option<(PeerId, PeerId)> {
        let remote = self.remote?;
        Some(match self.direction {
            Direction::Sent => (self.local, remote),
            Direction::Received => (remote, self.local),
        })
    }
}

/// Where every tapped connection of a network writes its records. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WireLog {
    inner: Arc<Mutex<Inner>>,
    origin: Instant,
    depth: Depth,
}

/// How much of each connection a [`WireLog`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Every layer: negotiation, the noise handshake, ciphertext, yamux frames, and the
    /// protocols' messages.
    Everything,
    /// Only Kademlia's messages, read off each stream (see [`kad_tap`]). A big DHT network
    /// needs no more (its lookups' hops are read from them), and reading every byte at every
    /// layer took a large share of its start-up's time.
    KadOnly,
}

#[derive(Debug, Default)]
struct Inner {
    records: VecDeque<WireRecord>,
    dropped: u64,
    next_connection: u64,
}

impl WireLog {
    /// Times are counted from `origin` (the network's start).
    pub fn new(origin: Instant, depth: Depth) -> WireLog {
        WireLog {
            inner: Arc::default(),
            origin,
            depth,
        }
    }

    pub fn depth(&self) -> Depth {
        self.depth
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> f64 {
        self.origin.elapsed().as_secs_f64() * 1000.0
    }

    fn next_connection(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_connection += 1;
        inner.next_connection
    }

    fn push(&self, records: impl IntoIterator<Item = WireRecord>) {
        let mut inner = self.lock();
        for record in records {
            if inner.records.len() == MAX_RECORDS {
                inner.records.pop_front();
                inner.dropped += 1;
            }
            inner.records.push_back(record);
        }
    }

    /// Takes every record so far, oldest first, and how many were dropped unread.
    pub fn drain(&self) -> (Vec<WireRecord>, u64) {
        let mut inner = self.lock();
        let dropped = std::mem::take(&mut inner.dropped);
        (inner.records.drain(..).collect(), dropped)
    }
}
