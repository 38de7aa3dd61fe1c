//! What a peer's swarm is made of: its behaviour (identify, streams, and by network kind
//! libp2p's ping, Kademlia, the relay and rendezvous clients) and its transport.

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::identity::Keypair;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, ping, relay, rendezvous, PeerId, Transport};

use super::command::PeerError;
use crate::dht::node::Kad;
use crate::event::EventSink;
use crate::wire::WireLog;
use crate::{event::EventKind, room::RoomStep};

/// How a peer reaches others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// In-page peers: `/memory/N` addresses, no sockets, real noise and yamux upgrades.
    Memory,
    /// A tab's own peer: it reaches the native relay over WebSocket (the browser's own in
    /// wasm, over TCP natively) or, in the browser, WebRTC-direct; and the peers of other tabs
    /// through circuits on the relay.
    Remote,
}

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub(super) identify: identify::Behaviour,
    /// libp2p's own ping (`/ipfs/ping/1.0.0`), only where a live round-trip time is shown.
    pub(super) ping: Toggle<ping::Behaviour>,
    pub(super) streams: libp2p_stream::Behaviour,
    /// Kademlia (`/ipfs/kad/1.0.0`), on networks that run the DHT.
    pub(super) kad: Toggle<Kad>,
    /// Circuit relay v2 client and rendezvous client, on a tab's peer that joins rooms.
    pub(super) relay: Toggle<relay::client::Behaviour>,
    pub(super) rendezvous: Toggle<rendezvous::client::Behaviour>,
    /// `/webrtc`'s signaling, on a tab's peer in a browser.
    pub(super) webrtc: Toggle<crate::webrtc::Behaviour>,
}

/// A transport, boxed for the swarm.
pub(super) type BoxedTransport = Boxed<(PeerId, StreamMuxerBox)>;

/// `/webrtc` between tabs, for a tab's peer in a browser: the transport, boxed, and the
/// behaviour its signaling runs on. Each signaling message is reported as a room step: the
/// arrows that cross the relay's lifeline. None natively, and for in-page peers.
pub(super) fn browser_to_browser(
    kind: TransportKind,
    ice: crate::webrtc::ice::Ice,
    events: &EventSink,
    me: PeerId,
) -> (Option<BoxedTransport>, Option<crate::webrtc::Behaviour>) {
    #[cfg(target_arch = "wasm32")]
    if kind == TransportKind::Remote {
        let events = events.clone();
        let report: crate::webrtc::transport::Report =
            std::sync::Arc::new(move |remote, sent, signal| {
                events.emit(
                    me,
                    EventKind::Room(RoomStep::Signal {
                        remote,
                        sent,
                        summary: signal.summary(),
                    }),
                )
            });
        let (transport, behaviour) = crate::webrtc::transport::new(ice, report);
        let transport = transport
            .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
            .boxed();
        return (Some(transport), Some(behaviour));
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (kind, ice, events, me);
    (None, None)
}

pub(super) fn build_transport(
    keypair: &Keypair,
    kind: TransportKind,
    relay: Option<relay::client::Transport>,
    wire: Option<WireLog>,
    browser_to_browser: Option<BoxedTransport>,
    events: EventSink,
    lookups_running: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Result<BoxedTransport, PeerError> {
    use crate::wire::kad_tap::{KadSeen, KadTap, Report};
    use crate::wire::tap::{memory_transport, upgrade, Socket};
    use crate::wire::Direction;
    if kind == TransportKind::Memory {
        return Ok(memory_transport(keypair, wire)?);
    }
    let me = keypair.public().to_peer_id();
    // Between tabs no wire tap runs: Kademlia's messages are read off each stream, so the
    // room's diagram can draw them.
    let kad_seen: Report = {
        let events = events.clone();
        std::sync::Arc::new(move |seen: KadSeen| {
            events.emit(
                me,
                EventKind::Room(RoomStep::Kad {
                    remote: seen.remote,
                    sent: seen.direction == Direction::Sent,
                    label: seen.message.label(seen.request),
                    details: seen.message.details(),
                    background: lookups_running.load(std::sync::atomic::Ordering::SeqCst) == 0,
                }),
            )
        })
    };
    #[cfg(target_arch = "wasm32")]
    let websocket = libp2p::websocket_websys::Transport::default().map(|s, _| Socket::WebSocket(s));
    #[cfg(not(target_arch = "wasm32"))]
    let websocket = libp2p::websocket::Config::new(libp2p::tcp::tokio::Transport::new(
        libp2p::tcp::Config::default(),
    ))
    .map(|s, _| Socket::WebSocket(s));
    // Circuits are dialed over the relay client's transport, then upgraded with noise and
    // yamux end to end, like any connection: the relay sees only ciphertext.
    let circuits = relay.map(|t| t.map(|s, _| Socket::Circuit(s)));
    let upgraded = upgrade(
        match circuits {
            Some(circuits) => libp2p::core::transport::OptionalTransport::some(circuits),
            None => libp2p::core::transport::OptionalTransport::none(),
        }
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
