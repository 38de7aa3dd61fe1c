//! How the page names things in one short string: a peer, a key, some bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use libp2p::PeerId;

/// Short names already written, by peer: base58 is a long division of the whole PeerId, and a
/// settling DHT names the same peers in every answer it records (2.6 % of a 50-peer network's
/// settling in the page went to it). Bounded, for the random keys of bootstrap lookups.
const MAX_NAMES_KEPT: usize = 4096;

thread_local! {
    static SHORT_NAMES: RefCell<HashMap<PeerId, String>> = RefCell::new(HashMap::new());
}

/// `12D3KooWHxRF…`: every ed25519 PeerId starts `12D3KooW`, so the four characters after it
/// tell peers apart at a glance.
pub fn short_peer_id(peer: &PeerId) -> String {
    SHORT_NAMES.with_borrow_mut(|names| {
        if names.len() >= MAX_NAMES_KEPT {
            names.clear();
        }
        names
            .entry(*peer)
            .or_insert_with(|| {
                let text = peer.to_base58();
                format!("{}…", &text[..text.len().min(12)])
            })
            .clone()
    })
}

/// `XyZw`: the last four characters of a PeerId, as the room names another tab ("another tab
/// …XyZw") and a snapshot it started (`marker S…XyZw.1`).
pub fn peer_tail(peer: &PeerId) -> String {
    let text = peer.to_base58();
    text[text.len().saturating_sub(4)..].to_owned()
}

/// How the learner names a key: a peer's index (`peer 7`) or a text key (`cat.jpg`).
pub fn key_label(key: &[u8], peers: &[PeerId]) -> String {
    if let Ok(peer) = PeerId::from_bytes(key) {
        return match peers.iter().position(|p| *p == peer) {
            Some(index) => format!("peer {index}"),
            None => short_peer_id(&peer),
        };
    }
    match std::str::from_utf8(key) {
        Ok(text) if !text.is_empty() && text.chars().all(|c| !c.is_control()) => text.to_owned(),
        _ => hex(&key[..key.len().min(8)]),
    }
}

/// `13 2f 6d 75`: bytes as hex, space-separated.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a log line reads: a step of what the learner asked for, background, or a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ping,
    Problem,
}

/// Names the learner knows peers and keys by (`peer 3`, `cat.jpg`), for the sentences each
/// protocol writes about its own steps.
pub trait Names {
    fn peer(&self, peer: &PeerId) -> String;

    /// A DHT key: a peer's name, or the text it was made from.
    fn key(&self, key: &[u8]) -> String {
        match PeerId::from_bytes(key) {
            Ok(peer) => self.peer(&peer),
            Err(_) => key_label(key, &[]),
        }
    }

    /// `peer 1, peer 4`, or `none`.
    fn peers(&self, peers: &[PeerId]) -> String {
        if peers.is_empty() {
            return "none".into();
        }
        peers
            .iter()
            .map(|p| self.peer(p))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_peer_id_is_the_start_of_its_base58_each_time_it_is_asked() {
        let peers = [PeerId::random(), PeerId::random()];
        for peer in peers.iter().chain(&peers) {
            assert_eq!(short_peer_id(peer), format!("{}…", &peer.to_base58()[..12]));
        }
    }
}
