//! Kademlia on the in-page peers: libp2p-kad itself runs in every peer (server mode, fed by
//! identify); this module sets it up, asks it for lookups and its routing table, and rebuilds
//! each lookup hop by hop from the kad messages the wire tap read ([`crate::wire::kad`]),
//! because libp2p-kad reports a lookup only once it has finished.

pub mod key;
pub mod lookup;
pub mod node;
pub mod settle;

use std::fmt;

use libp2p::PeerId;
use serde::{Deserialize, Serialize};

pub use key::{Distance, KeyPoint};
pub use lookup::{Hop, Lookup, Lookups};
pub use node::{LookupRequest, RoutingTable};

/// Kademlia's parameters, from the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DhtConfig {
    /// Bucket size and how many closest peers a lookup looks for (Kademlia's k). Lessons use
    /// 2 to 4 so that lookups among 20 to 100 peers take several hops.
    pub k: u8,
    /// Requests a lookup keeps in flight at once (Kademlia's α).
    pub alpha: u8,
    /// How many of the closest peers a record is stored on.
    pub replication: u8,
}

impl Default for DhtConfig {
    fn default() -> Self {
        DhtConfig {
            k: 3,
            alpha: 3,
            replication: 3,
        }
    }
}

/// Largest k, α and replication factor a scenario may ask for (libp2p-kad's own k is 20).
pub const MAX_PARAMETER: u8 = 20;

/// What a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupKind {
    /// The k peers closest to a key (FIND_NODE).
    ClosestPeers,
    /// Find the closest peers to a record's key, then store the record on them (PUT_VALUE).
    PutRecord,
    /// Ask peers ever closer to a key for its record (GET_VALUE).
    GetRecord,
    /// Find the closest peers, then tell them this peer provides the key (ADD_PROVIDER).
    Provide,
    /// Ask peers ever closer to a key who provides it (GET_PROVIDERS).
    FindProviders,
}

impl LookupKind {
    pub fn name(self) -> &'static str {
        match self {
            LookupKind::ClosestPeers => "closest peers",
            LookupKind::PutRecord => "put record",
            LookupKind::GetRecord => "get record",
            LookupKind::Provide => "provide",
            LookupKind::FindProviders => "find providers",
        }
    }
}

impl fmt::Display for LookupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a lookup ended, as the peer that ran it saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupOutcome {
    pub kind: LookupKind,
    pub key: Vec<u8>,
    /// The closest peers found, closest first.
    pub closest: Vec<PeerId>,
    /// A record's value, when one was found.
    pub value: Option<Vec<u8>>,
    /// Peers that answered with the record (get), or stored it (put).
    pub holders: Vec<PeerId>,
    pub providers: Vec<PeerId>,
    /// Why it failed, when it did (a timeout, a quorum not reached, no known peers).
    pub error: Option<String>,
    /// Requests libp2p-kad counted for the lookup.
    pub requests: u32,
    pub took_ms: f64,
}

/// How the learner names a key: a peer's index (`peer 7`) or a text key (`cat.jpg`).
pub fn key_label(key: &[u8], peers: &[PeerId]) -> String {
    if let Ok(peer) = PeerId::from_bytes(key) {
        return match peers.iter().position(|p| *p == peer) {
            Some(index) => format!("peer {index}"),
            None => crate::view::short_peer_id(&peer),
        };
    }
    match std::str::from_utf8(key) {
        Ok(text) if !text.is_empty() && text.chars().all(|c| !c.is_control()) => {
            format!("\"{text}\"")
        }
        _ => crate::trace::model::hex(&key[..key.len().min(8)]),
    }
}
