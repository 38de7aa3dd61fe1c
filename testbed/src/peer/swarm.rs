//! What a peer's swarm is made of: what every peer runs (identify, libp2p's ping where a
//! round-trip time is shown, the testbed's streams) and its kind's own protocols.

use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, ping};

use super::protocols::Protocols;

#[derive(NetworkBehaviour)]
pub struct Behaviour<P: Protocols> {
    pub(super) identify: identify::Behaviour,
    /// libp2p's own ping (`/ipfs/ping/1.0.0`), only where a live round-trip time is shown.
    pub(super) ping: Toggle<ping::Behaviour>,
    pub(super) streams: libp2p_stream::Behaviour,
    pub(super) kind: P,
}
