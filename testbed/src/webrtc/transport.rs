//! `/webrtc` as a libp2p `Transport` that the swarm composes beside its others. It dials
//! `<relayed address>/webrtc/p2p/<peer>`: over the relayed connection to that peer it opens
//! a signaling stream and offers. Listening, it answers every signaling stream another tab
//! opens. Both sides' signaling streams go through the behaviour made with it ([`new`]), on
//! whatever connection the two already share (the relayed one); the `PeerId` of the direct
//! connection is that connection's, authenticated by its Noise handshake.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryFutureExt};
use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::{DialOpts, ListenerId, TransportError, TransportEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use send_wrapper::SendWrapper;
use web_sys::{RtcConfiguration, RtcIceServer, RtcIceTransportPolicy};

use super::connection::Connection;
use super::handshake::{answer, in_time, offer, HandshakeError};
use super::ice::Ice;
use crate::wire::webrtc::{Signal, SIGNALING_PROTOCOL};

/// The report of one handshake: `report` with the peer at its other end.
fn reporting(report: &Report, peer: PeerId) -> super::handshake::Report {
    let report = report.clone();
    std::sync::Arc::new(move |sent, signal| report(peer, sent, signal))
}

const SIGNALING: StreamProtocol = StreamProtocol::new(SIGNALING_PROTOCOL);

/// Hears each signaling message, with the peer at the other end: `true` for one sent.
pub type Report = std::sync::Arc<dyn Fn(PeerId, bool, &Signal) + Send + Sync>;

pub struct Transport {
    streams: libp2p_stream::Control,
    report: Report,
    /// Where ICE looks for routes: STUN or TURN servers beyond the machine and its LAN.
    ice: Ice,
    listener: Option<(ListenerId, libp2p_stream::IncomingStreams)>,
    /// The swarm has heard that the listener is up.
    announced: bool,
}

type Upgrade = BoxFuture<'static, Result<(PeerId, Connection), HandshakeError>>;

/// The `/webrtc` transport and the behaviour its signaling runs on, made together: the swarm
/// takes the transport, and its behaviour holds the other. `ice` says where ICE looks for
/// routes; `report` hears each signaling message.
pub fn new(ice: Ice, report: Report) -> (Transport, super::Behaviour) {
    let behaviour = super::Behaviour::new();
    let transport = Transport {
        streams: behaviour.new_control(),
        report,
        ice,
        listener: None,
        announced: false,
    };
    (transport, behaviour)
}

/// The peer a `/webrtc` address leads to: `…/p2p-circuit/webrtc/p2p/<peer>`.
fn webrtc_peer(address: &Multiaddr) -> Option<PeerId> {
    let mut protocols: Vec<Protocol> = address.iter().collect();
    let Some(Protocol::P2p(peer)) = protocols.pop() else {
        return None;
    };
    let through_relay = protocols.contains(&Protocol::P2pCircuit);
    (protocols.pop() == Some(Protocol::WebRTC) && through_relay).then_some(peer)
}

/// A peer connection's settings, made where it is used (a JS object cannot cross threads,
/// and there is only one, but the swarm asks for `Send`).
fn configuration(ice: &Ice) -> RtcConfiguration {
    let config = RtcConfiguration::new();
    let servers = js_sys::Array::new();
    for server in &ice.servers {
        let entry = RtcIceServer::new();
        entry.set_urls(&server.url.as_str().into());
        if let Some(username) = &server.username {
            entry.set_username(username);
        }
        if let Some(credential) = &server.credential {
            entry.set_credential(credential);
        }
        servers.push(&entry);
    }
    config.set_ice_servers(&servers);
    if ice.relay_only {
        config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    }
    config
}

impl libp2p::Transport for Transport {
    type Output = (PeerId, Connection);
    type Error = HandshakeError;
    type ListenerUpgrade = Upgrade;
    type Dial = Upgrade;

    fn listen_on(
        &mut self,
        id: ListenerId,
        address: Multiaddr,
    ) -> Result<(), TransportError<HandshakeError>> {
        // `/webrtc` alone: the tab is reached through its relayed addresses.
        if address.iter().collect::<Vec<_>>() != [Protocol::WebRTC] || self.listener.is_some() {
            return Err(TransportError::MultiaddrNotSupported(address));
        }
        let incoming = self
            .streams
            .accept(SIGNALING)
            .map_err(|_| TransportError::MultiaddrNotSupported(address))?;
        self.listener = Some((id, incoming));
        self.announced = false;
        Ok(())
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        let ours = self
            .listener
            .as_ref()
            .is_some_and(|(listening, _)| *listening == id);
        if ours {
            self.listener = None;
        }
        ours
    }

    fn dial(
        &mut self,
        address: Multiaddr,
        _: DialOpts,
    ) -> Result<Upgrade, TransportError<HandshakeError>> {
        let Some(peer) = webrtc_peer(&address) else {
            return Err(TransportError::MultiaddrNotSupported(address));
        };
        let mut streams = self.streams.clone();
        let ice = self.ice.clone();
        let report = reporting(&self.report, peer);
        Ok(SendWrapper::new(async move {
            let open = streams
                .open_stream(peer, SIGNALING)
                .map_err(|e| HandshakeError::Stream(e.to_string()));
            let stream = in_time("signaling stream", open).await?;
            let connection = offer(stream, &configuration(&ice), report).await?;
            Ok((peer, connection))
        })
        .boxed())
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Upgrade, HandshakeError>> {
        let ice = self.ice.clone();
        let all_reports = self.report.clone();
        let Some((listener_id, _)) = self.listener.as_ref() else {
            return Poll::Pending;
        };
        let listener_id = *listener_id;
        if !self.announced {
            self.announced = true;
            return Poll::Ready(TransportEvent::NewAddress {
                listener_id,
                listen_addr: Multiaddr::empty().with(Protocol::WebRTC),
            });
        }
        let Some((_, incoming)) = self.listener.as_mut() else {
            return Poll::Pending;
        };
        match incoming.poll_next_unpin(cx) {
            Poll::Ready(Some((peer, stream))) => {
                let report = reporting(&all_reports, peer);
                Poll::Ready(TransportEvent::Incoming {
                    listener_id,
                    upgrade: SendWrapper::new(async move {
                        let connection = answer(stream, &configuration(&ice), report).await?;
                        Ok((peer, connection))
                    })
                    .boxed(),
                    local_addr: Multiaddr::empty().with(Protocol::WebRTC),
                    send_back_addr: Multiaddr::empty()
                        .with(Protocol::WebRTC)
                        .with(Protocol::P2p(peer)),
                })
            }
            Poll::Ready(None) => {
                self.listener = None;
                Poll::Ready(TransportEvent::ListenerClosed {
                    listener_id,
                    reason: Ok(()),
                })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
