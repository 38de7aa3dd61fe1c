//! What a handle asks of its peer's event loop, and what can go wrong.

use futures::channel::oneshot;
use libp2p::{noise, Multiaddr, PeerId};

use crate::dht::node as dht_node;
use crate::room::RoomCommand;

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("could not set up the noise handshake: {0}")]
    Noise(#[from] noise::Error),
    #[error("the peer has stopped")]
    Stopped,
    #[error("this network does not run the DHT")]
    NoDht,
    #[error("only a peer that reaches the relay joins rooms")]
    NoRoom,
    #[error("the relay refused the {what}: {reason}")]
    Refused { what: &'static str, reason: String },
    #[error("could not listen on {address}: {reason}")]
    Listen { address: Multiaddr, reason: String },
    #[error("could not dial {address}: {reason}")]
    Dial { address: Multiaddr, reason: String },
}

pub(super) enum Command {
    Listen {
        address: Multiaddr,
        reply: oneshot::Sender<Result<Multiaddr, PeerError>>,
    },
    Dial {
        peer: Option<PeerId>,
        address: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, PeerError>>,
    },
    /// Whether a connection to `peer` is up.
    Connected {
        peer: PeerId,
        reply: oneshot::Sender<bool>,
    },
    /// Stop at once, as if the machine had gone: every connection drops.
    Stop,
    Dht(dht_node::Command),
    Room(RoomCommand),
}
