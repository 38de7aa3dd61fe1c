//! Chandy-Lamport global snapshots of the token application: peers hold tokens and send
//! amounts to their neighbours over FIFO channels, so the total never changes; a snapshot
//! records every peer's balance and every channel's tokens in flight, and must add up.
//!
//! [`machine`] is the algorithm, sans-IO. [`sim`] runs it over a seeded simulated network (no
//! libp2p) and [`check`] verifies every snapshot against what really happened.

pub mod channel;
pub mod check;
pub mod collect;
pub mod cuts;
pub mod in_trace;
pub mod live;
pub mod machine;
pub mod report;
pub mod script;
mod shown;
pub mod sim;
pub mod truth;

use libp2p::PeerId;
use serde::Serialize;

pub use machine::{LocalPart, Machine, Output, SnapshotError, SnapshotId};

/// Tokens sent from one peer to another; `id` tells the messages apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Tokens {
    pub id: u64,
    pub amount: u64,
}

/// What a peer wrote its balance down for: a Chandy-Lamport snapshot, or a naive one where
/// every peer records when told, all at once, without markers and without channel states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recording {
    Snapshot(SnapshotId),
    Naive(u32),
}

impl std::fmt::Display for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recording::Snapshot(id) => id.fmt(f),
            Recording::Naive(number) => write!(f, "naive {}", number + 1),
        }
    }
}

/// `1 token`, `7 tokens`.
pub fn amount(tokens: u64) -> String {
    if tokens == 1 {
        "1 token".to_owned()
    } else {
        format!("{tokens} tokens")
    }
}

/// A finished snapshot: every peer's recorded balance and channel contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GlobalSnapshot {
    pub id: SnapshotId,
    /// By peer index.
    pub parts: Vec<LocalPart<u64, Tokens>>,
}

impl GlobalSnapshot {
    /// Tokens in the recorded balances plus tokens recorded in flight.
    pub fn total(&self) -> u64 {
        self.parts
            .iter()
            .map(|part| {
                part.state
                    + part
                        .channels
                        .values()
                        .flatten()
                        .map(|t| t.amount)
                        .sum::<u64>()
            })
            .sum()
    }
}

/// One step of the token application and its snapshots, as seen by one
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
