//! Rooms: this tab's peer meets the peers of other tabs and machines through the relay.
//!
//! A browser cannot listen for connections, so the peer asks the relay to hold a slot for it
//! (a circuit relay v2 *reservation*); others reach it through the relay at its *circuit
//! address*, `/…/p2p/RELAY/p2p-circuit/p2p/PEER`. It registers that address in the room (a
//! rendezvous namespace on the relay) and discovers the room's other peers there.

pub mod client;
pub mod link;
pub mod members;
pub mod peer;
mod shown;
pub mod tokens;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use crate::trace::mark::MessageKind;
use crate::trace::SendStamp;

pub use client::{Client, Registration, RoomCommand};
pub use members::{Member, MemberState, Members, Path};

/// The protocol of the token channels between tabs (see [`tokens`]).
pub const TOKEN_CHANNEL: &str = "/testbed/room-tokens/1.0.0";

/// How long a registration lasts unless renewed: a tab that closes leaves the room's list
/// within this. The relay must accept TTLs this short.
pub const REGISTRATION_TTL_SECONDS: u64 = 60;

/// Longest room name: it travels in URLs and in the relay's namespace.
pub const MAX_ROOM_NAME: usize = 40;

/// What a peer's room side reports.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomStep {
    /// The relay holds a slot for this peer: others reach it at `address`.
    Reserved { relay: PeerId, address: Multiaddr },
    /// This peer's circuit address is listed in `room`.
    Registered { room: String },
    /// The room lists these peers besides this one.
    Discovered { room: String, peers: Vec<PeerId> },
    /// A connection through `relay` to or from `remote` is open.
    CircuitOpened {
        relay: PeerId,
        remote: PeerId,
        dialer: bool,
    },
    /// A direct WebRTC connection to or from `remote` is open: no relay in between.
    DirectOpened { remote: PeerId, dialer: bool },
    /// The direct connection to `remote` could not be made: traffic stays on the relay.
    DirectFailed { remote: PeerId, reason: String },
    /// A WebRTC signaling message to (`sent`) or from `remote`, over the circuit: what
    /// `summary` says it carries.
    Signal {
        remote: PeerId,
        sent: bool,
        summary: String,
    },
    /// The direct connection to `remote` closed.
    DirectClosed {
        remote: PeerId,
        reason: Option<String>,
    },
    /// The relay refused: a limit, or a room it could not serve.
    Refused { what: &'static str, reason: String },
    /// A Kademlia request or answer to (`sent`) or from `remote`, read off the stream:
    /// `label` for its arrow, `details` for its panel. It carries no trace context.
    /// `background` when no lookup of this tab's was running: libp2p-kad's own upkeep (its
    /// bootstrap, each time a peer joins a small routing table), or another tab's lookup.
    Kad {
        remote: PeerId,
        sent: bool,
        label: String,
        details: String,
        background: bool,
    },
    /// Tokens or a marker (`kind`) on the token channel to `remote` (`received: None`), or
    /// from it (`received`: this tab's Lamport time once it arrived): `label` for its arrow,
    /// `line` as it went on the wire, stamped with its send's trace context and Lamport time
    /// and the sender's clock.
    Channel {
        remote: PeerId,
        kind: MessageKind,
        label: String,
        line: String,
        stamp: SendStamp,
        sent_unix_ms: u64,
        received: Option<u64>,
    },
}

/// A room name a learner can type and share: letters, digits, `-` and `_`.
pub fn check_room_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a room needs a name".into());
    }
    if name.len() > MAX_ROOM_NAME {
        return Err(format!(
            "the room name is {} characters; at most {MAX_ROOM_NAME}",
            name.len()
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some(c) => Err(format!(
            "the room name may hold letters, digits, '-' and '_', not {c:?}"
        )),
        None => Ok(()),
    }
}

/// The rendezvous namespace of a room.
pub fn namespace(room: &str) -> String {
    format!("p2p-testbed/{room}")
}

/// How to reach `peer` through the relay at `relay` (an address ending in `/p2p/RELAY`).
pub fn circuit_address(relay: &Multiaddr, peer: PeerId) -> Multiaddr {
    relay
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(peer))
}

/// The relay's PeerId, from an address ending in `/p2p/RELAY`.
pub fn relay_of(address: &Multiaddr) -> Option<PeerId> {
    match address.iter().last()? {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    }
}

/// The relay a circuit address goes through: the peer named just before `/p2p-circuit`.
pub fn relay_in_circuit(address: &Multiaddr) -> Option<PeerId> {
    let mut relay = None;
    for protocol in address.iter() {
        match protocol {
            Protocol::P2p(peer) => relay = Some(peer),
            Protocol::P2pCircuit => return relay,
            _ => {}
        }
    }
    None
}

/// Waits before the next try to reach the relay: 1 s, doubling to at most 30 s.
pub fn backoff(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_secs(1u64 << attempt.min(5)).min(std::time::Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_short_and_plain() {
        assert!(check_room_name("class-7b_2").is_ok());
        assert!(check_room_name("").unwrap_err().contains("needs a name"));
        assert!(check_room_name("a b").unwrap_err().contains("' '"));
        assert!(check_room_name(&"x".repeat(41)).unwrap_err().contains("41"));
    }

    #[test]
    fn a_circuit_address_goes_through_the_relay_to_the_peer() {
        let relay = PeerId::random();
        let peer = PeerId::random();
        let at: Multiaddr = format!("/ip4/127.0.0.1/tcp/4001/ws/p2p/{relay}")
            .parse()
            .unwrap();
        assert_eq!(relay_of(&at), Some(relay));
        assert_eq!(
            circuit_address(&at, peer).to_string(),
            format!("/ip4/127.0.0.1/tcp/4001/ws/p2p/{relay}/p2p-circuit/p2p/{peer}")
        );
        assert_eq!(relay_of(&"/ip4/127.0.0.1/tcp/1".parse().unwrap()), None);
        assert_eq!(relay_in_circuit(&circuit_address(&at, peer)), Some(relay));
        assert_eq!(relay_in_circuit(&at), None);
    }

    #[test]
    fn backoff_doubles_up_to_half_a_minute() {
        let waits: Vec<u64> = (0..8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
