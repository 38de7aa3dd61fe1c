//! A tab's peer in rooms: it reaches the native relay over WebSocket (the browser's own in
//! wasm, over TCP natively) or, in a browser, WebRTC-direct; the peers of other tabs through
//! circuits on the relay, then directly over `/webrtc`; and it runs the relay and rendezvous
//! clients and, where asked, Kademlia across the tabs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::identity::Keypair;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, relay, rendezvous, PeerId, Transport};

use super::client::Client;
use super::{RoomCommand, RoomStep};
use crate::dht::node::{self as dht_node, Kad, Node};
use crate::event::{EventKind, EventSink};
use crate::peer::{BoxedTransport, Config, PeerError, Protocols};
use crate::wire::kad_tap::{KadSeen, KadTap, Report};
use crate::wire::tap::{upgrade, Socket};
use crate::wire::Direction;

#[derive(NetworkBehaviour)]
pub struct RoomPeer {
    relay: relay::client::Behaviour,
    rendezvous: rendezvous::client::Behaviour,
    /// Kademlia (`/ipfs/kad/1.0.0`) across the room's tabs, where the peer runs the DHT.
    kad: Toggle<Kad>,
    /// `/webrtc`'s signaling, on a tab's peer in a browser.
    webrtc: Toggle<crate::webrtc::Behaviour>,
}

/// The room's requests waiting for the relay, and the DHT's lookups.
pub struct RoomState {
    room: Client,
    dht: Option<Node>,
}

impl Protocols for RoomPeer {
    type State = RoomState;

    fn build(
        config: &Config,
        events: &EventSink,
        lookups_running: &Arc<AtomicUsize>,
    ) -> Result<(BoxedTransport, Self, RoomState), PeerError> {
        let me = config.keypair.public().to_peer_id();
        let (relay_transport, relay) = relay::client::new(me);
        let (webrtc_transport, webrtc) = browser_to_browser(config, events, me);
        let transport = build_transport(
            &config.keypair,
            relay_transport,
            webrtc_transport,
            events.clone(),
            lookups_running.clone(),
        )?;
        let behaviour = RoomPeer {
            relay,
            rendezvous: rendezvous::client::Behaviour::new(config.keypair.clone()),
            kad: Toggle::from(config.dht.map(|dht| dht_node::behaviour(me, dht))),
            webrtc: Toggle::from(webrtc),
        };
        let state = RoomState {
            room: Client::default(),
            dht: config.dht.map(Node::new),
        };
        Ok((transport, behaviour, state))
    }

    fn on_dht_command(
        &mut self,
        state: &mut RoomState,
        command: dht_node::Command,
    ) -> Vec<EventKind> {
        match (state.dht.as_mut(), self.kad.as_mut()) {
            (Some(node), Some(kad)) => node
                .on_command(kad, command)
                .into_iter()
                .map(EventKind::Dht)
                .collect(),
            _ => vec![],
        }
    }

    fn on_room_command(&mut self, state: &mut RoomState, command: RoomCommand) -> Vec<EventKind> {
        state
            .room
            .on_command(&mut self.rendezvous, command)
            .into_iter()
            .map(EventKind::Room)
            .collect()
    }

    fn on_event(
        &mut self,
        state: &mut RoomState,
        local: PeerId,
        event: RoomPeerEvent,
    ) -> Vec<EventKind> {
        match event {
            RoomPeerEvent::Rendezvous(event) => state
                .room
                .on_rendezvous(local, event)
                .into_iter()
                .map(EventKind::Room)
                .collect(),
            RoomPeerEvent::Kad(event) => match (state.dht.as_mut(), self.kad.as_mut()) {
                (Some(node), Some(kad)) => node
                    .on_event(kad, event)
                    .into_iter()
                    .map(EventKind::Dht)
                    .collect(),
                _ => vec![],
            },
            RoomPeerEvent::Relay(_) | RoomPeerEvent::Webrtc(_) => vec![],
        }
    }

    fn on_identified(&mut self, peer: PeerId, info: &identify::Info) {
        if let Some(kad) = self.kad.as_mut() {
            Node::on_identified(kad, peer, info);
        }
    }
}

/// `/webrtc` between tabs, for a tab's peer in a browser: the transport, boxed, and the
/// behaviour its signaling runs on. Each signaling message is reported as a room step: the
/// arrows that cross the relay's lifeline. None natively.
fn browser_to_browser(
    config: &Config,
    events: &EventSink,
    me: PeerId,
) -> (Option<BoxedTransport>, Option<crate::webrtc::Behaviour>) {
    #[cfg(target_arch = "wasm32")]
    {
        let events = events.clone();
        let report: crate::webrtc::transport::Report = Arc::new(move |remote, sent, signal| {
            events.emit(
                me,
                EventKind::Room(RoomStep::Signal {
                    remote,
                    sent,
                    summary: signal.summary(),
                }),
            )
        });
        let (transport, behaviour) = crate::webrtc::transport::new(config.ice.clone(), report);
        let transport = transport
            .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
            .boxed();
        (Some(transport), Some(behaviour))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (config, events, me);
        (None, None)
    }
}

fn build_transport(
    keypair: &Keypair,
    relay: relay::client::Transport,
    browser_to_browser: Option<BoxedTransport>,
    events: EventSink,
    lookups_running: Arc<AtomicUsize>,
) -> Result<BoxedTransport, PeerError> {
    let me = keypair.public().to_peer_id();
    // Between tabs no wire tap runs: Kademlia's messages are read off each stream, so the
    // room's diagram can draw them.
    let kad_seen: Report = Arc::new(move |seen: KadSeen| {
        let (label, details) = match &seen.message {
            Ok(message) => (message.label(seen.request), message.details()),
            Err(error) => ("malformed kad message".to_owned(), error.clone()),
        };
        events.emit(
            me,
            EventKind::Room(RoomStep::Kad {
                remote: seen.remote,
                sent: seen.direction == Direction::Sent,
                label,
                details,
                background: lookups_running.load(Ordering::SeqCst) == 0,
            }),
        )
    });
    #[cfg(target_arch = "wasm32")]
    let websocket =
        libp2p::websocket_websys::Transport::default().map(|s, _| Socket::Remote(Box::new(s)));
    #[cfg(not(target_arch = "wasm32"))]
    let websocket = libp2p::websocket::Config::new(libp2p::tcp::tokio::Transport::new(
        libp2p::tcp::Config::default(),
    ))
    .map(|s, _| Socket::Remote(Box::new(s)));
    // Circuits are dialed over the relay client's transport, then upgraded with noise and
    // yamux end to end, like any connection: the relay sees only ciphertext.
    let circuits = relay.map(|s, _| Socket::Remote(Box::new(s)));
    let upgraded = upgrade(
        circuits
            .or_transport(websocket)
            .map(|either, _| either.into_inner()),
        keypair,
        None,
    )?;
    // WebRTC brings its own encryption (DTLS, then noise inside) and muxing (data channels).
    #[cfg(target_arch = "wasm32")]
    let upgraded = upgraded
        .or_transport(
            libp2p::webrtc_websys::Transport::new(libp2p::webrtc_websys::Config::new(keypair))
                .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection))),
        )
        .map(|either, _| either.into_inner());
    // Browser to browser: signaling over the relayed connection, then a direct one. First,
    // or the relay client would take `…/p2p-circuit/webrtc/p2p/B` for a circuit.
    let upgraded = match browser_to_browser {
        Some(webrtc) => webrtc
            .or_transport(upgraded)
            .map(|either, _| either.into_inner())
            .boxed(),
        None => upgraded.boxed(),
    };
    Ok(upgraded
        .map(move |(peer, muxer), _| {
            let tapped = KadTap::new(muxer, peer, kad_seen.clone());
            (peer, StreamMuxerBox::new(tapped))
        })
        .boxed())
}
