//! An in-page peer of the DHT lessons: libp2p-kad over `/memory`, beside what every peer runs.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use libp2p::multiaddr::Protocol;
use libp2p::{identify, kad, Multiaddr, PeerId};

use super::node::{self as dht_node, Kad, Node};
use crate::event::{EventKind, EventSink};
use crate::peer::{BoxedTransport, Config, PeerError, Protocols};
use crate::wire::tap::memory_transport;

/// A DHT peer's own protocol is Kademlia alone.
pub type DhtPeer = Kad;

impl Protocols for DhtPeer {
    type State = Node;

    fn build(
        config: &Config,
        _events: &EventSink,
        _lookups_running: &Arc<AtomicUsize>,
    ) -> Result<(BoxedTransport, Self, Node), PeerError> {
        let dht = config.dht.unwrap_or_default();
        let me = config.keypair.public().to_peer_id();
        let transport = memory_transport(&config.keypair, config.wire.clone())?;
        Ok((transport, dht_node::behaviour(me, dht), Node::new(dht)))
    }

    fn on_dht_command(&mut self, node: &mut Node, command: dht_node::Command) -> Vec<EventKind> {
        node.on_command(self, command)
            .into_iter()
            .map(EventKind::Dht)
            .collect()
    }

    fn on_event(&mut self, node: &mut Node, _local: PeerId, event: kad::Event) -> Vec<EventKind> {
        node.on_event(self, event)
            .into_iter()
            .map(EventKind::Dht)
            .collect()
    }

    fn on_identified(&mut self, peer: PeerId, info: &identify::Info) {
        Node::on_identified(self, peer, info);
    }

    /// Every in-page peer can reach a `/memory` address: it is external. Kademlia hands it
    /// out in provider records, which are useless without an address.
    fn is_external(&self, address: &Multiaddr) -> bool {
        address.iter().any(|p| matches!(p, Protocol::Memory(_)))
    }
}
