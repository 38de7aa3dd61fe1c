//! What a kind of peer runs beyond what every peer runs (identify, libp2p's ping, the
//! testbed's streams), put together per kind: in-page peers ([`InPage`]), DHT peers
//! (`dht::peer`), a tab's peer in rooms (`room::peer`). A kind's code is reached only through
//! its own `Handle::start`, so a page that has started no DHT and joined no room
//! carries no Kademlia, relay or WebRTC code until it does (the page loads each kind's
//! `Start` when first used).

use std::convert::Infallible;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::swarm::{dummy, NetworkBehaviour};
use libp2p::{identify, Multiaddr, PeerId};

use super::command::PeerError;
use super::config::Config;
use crate::dht::node as dht_node;
use crate::event::{EventKind, EventSink};
use crate::room::RoomCommand;
use crate::wire::tap::memory_transport;

/// A transport, boxed for the swarm.
pub type BoxedTransport = Boxed<(PeerId, StreamMuxerBox)>;

/// A kind of peer's own protocols: their behaviour, the state the event loop keeps for them,
/// and what they do with commands and events. Reported steps are returned, in order.
pub trait Protocols: NetworkBehaviour + Send + Sized + 'static {
    type State: Send + 'static;

    /// The transport, this kind's behaviour and its state, for a peer about to start.
    /// `lookups_running` counts the DHT lookups its handle is waiting for.
    fn build(
        config: &Config,
        events: &EventSink,
        lookups_running: &Arc<AtomicUsize>,
    ) -> Result<(BoxedTransport, Self, Self::State), PeerError>;

    /// A DHT command; a kind without the DHT drops it, and its reply with it (the handle says
    /// so).
    fn on_dht_command(
        &mut self,
        _state: &mut Self::State,
        _command: dht_node::Command,
    ) -> Vec<EventKind> {
        vec![]
    }

    /// A room command; a kind that joins no rooms drops it, and its reply with it.
    fn on_room_command(
        &mut self,
        _state: &mut Self::State,
        _command: RoomCommand,
    ) -> Vec<EventKind> {
        vec![]
    }

    fn on_event(
        &mut self,
        state: &mut Self::State,
        local: PeerId,
        event: Self::ToSwarm,
    ) -> Vec<EventKind>;

    /// What identify learned of a peer.
    fn on_identified(&mut self, _peer: PeerId, _info: &identify::Info) {}

    /// Whether this address the peer listens on is one others reach it at (made external).
    fn is_external(&self, _address: &Multiaddr) -> bool {
        false
    }
}

/// An in-page peer of the first lessons: nothing beyond the basics, over `/memory`.
pub type InPage = dummy::Behaviour;

impl Protocols for InPage {
    type State = ();

    fn build(
        config: &Config,
        _events: &EventSink,
        _lookups_running: &Arc<AtomicUsize>,
    ) -> Result<(BoxedTransport, Self, ()), PeerError> {
        let transport = memory_transport(&config.keypair, config.wire.clone())?;
        Ok((transport, dummy::Behaviour, ()))
    }

    fn on_event(&mut self, _: &mut (), _: PeerId, event: Infallible) -> Vec<EventKind> {
        match event {}
    }
}
