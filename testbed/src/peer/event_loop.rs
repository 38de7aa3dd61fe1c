//! A peer's event loop: the one task that owns its swarm, runs the handle's commands and
//! reports what the swarm does as events.

use std::collections::{HashMap, HashSet};

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, DialError, SwarmEvent};
use libp2p::{identify, ping, Multiaddr, PeerId, Swarm};

use super::command::{Command, PeerError};
use super::protocols::Protocols;
use super::swarm::{Behaviour, BehaviourEvent};
use crate::event::{EventKind, EventSink};
use crate::room::{self, RoomStep};

pub(super) struct EventLoop<P: Protocols> {
    swarm: Swarm<Behaviour<P>>,
    /// What the peer's kind keeps for its own protocols.
    state: P::State,
    events: EventSink,
    pending_listens:
        HashMap<libp2p::core::transport::ListenerId, oneshot::Sender<Result<Multiaddr, PeerError>>>,
    pending_dials: HashMap<ConnectionId, (Multiaddr, oneshot::Sender<Result<PeerId, PeerError>>)>,
    /// Relays holding a slot for this peer: a reservation lists one circuit address per
    /// address of the relay, reported once.
    reserved_on: HashSet<PeerId>,
    /// Circuits open to each peer: closed once a direct connection to it is up, so its
    /// streams go direct (it is dialed through the relay again if the direct one fails).
    circuits: HashMap<PeerId, Vec<ConnectionId>>,
    /// Direct connections open to each peer: a circuit to a peer reached directly (the other
    /// tab dialed one at the same moment) is closed as soon as it opens.
    direct: HashMap<PeerId, u32>,
    /// Circuits this peer closed because a direct connection replaces them: their close is
    /// told as such, not as a loss.
    replaced: HashSet<ConnectionId>,
}

impl<P: Protocols> EventLoop<P> {
    pub(super) fn new(swarm: Swarm<Behaviour<P>>, events: EventSink, state: P::State) -> Self {
        EventLoop {
            swarm,
            state,
            events,
            pending_listens: HashMap::new(),
            pending_dials: HashMap::new(),
            reserved_on: HashSet::new(),
            circuits: HashMap::new(),
            direct: HashMap::new(),
            replaced: HashSet::new(),
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            crate::runtime::take_turn().await;
            futures::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.next() => match command {
                    Some(command) => {
                        if self.on_command(command).is_break() {
                            return;
                        }
                    }
                    // Every handle is gone: stop, closing all connections.
                    None => return,
                },
            }
        }
    }

    fn emit(&self, kind: EventKind) {
        self.events.emit(*self.swarm.local_peer_id(), kind);
    }

    fn emit_all(&self, kinds: Vec<EventKind>) {
        for kind in kinds {
            self.emit(kind);
        }
    }

    /// Closes a circuit to a peer now reached directly.
    fn close_replaced(&mut self, circuit: ConnectionId) {
        if self.swarm.close_connection(circuit) {
            self.replaced.insert(circuit);
        }
    }

    /// Break: the peer stops, closing all connections.
    fn on_command(&mut self, command: Command) -> std::ops::ControlFlow<()> {
        match command {
            Command::Stop => {
                self.emit(EventKind::Left);
                return std::ops::ControlFlow::Break(());
            }
            Command::Connected { peer, reply } => {
                let _ = reply.send(self.swarm.is_connected(&peer));
            }
            Command::Dht(command) => {
                let steps =
                    (self.swarm.behaviour_mut().kind).on_dht_command(&mut self.state, command);
                self.emit_all(steps);
            }
            Command::Room(command) => {
                let steps =
                    (self.swarm.behaviour_mut().kind).on_room_command(&mut self.state, command);
                self.emit_all(steps);
            }
            Command::Listen { address, reply } => match self.swarm.listen_on(address.clone()) {
                Ok(listener) => {
                    self.pending_listens.insert(listener, reply);
                }
                Err(error) => {
                    let _ = reply.send(Err(PeerError::Listen {
                        address,
                        reason: error.to_string(),
                    }));
                }
            },
            Command::Dial {
                peer,
                address,
                reply,
            } => {
                let opts = match peer {
                    // A direct WebRTC connection is dialed while the relayed one is up.
                    Some(peer) if is_direct(&address) => DialOpts::peer_id(peer)
                        .addresses(vec![address.clone()])
                        .condition(PeerCondition::Always)
                        .build(),
                    Some(peer) => DialOpts::peer_id(peer)
                        .addresses(vec![address.clone()])
                        .build(),
                    None => DialOpts::unknown_peer_id().address(address.clone()).build(),
                };
                let connection = opts.connection_id();
                if let Some(remote) = peer {
                    self.emit(EventKind::Dialing { remote });
                }
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.pending_dials.insert(connection, (address, reply));
                    }
                    Err(error) => {
                        let reason = error.to_string();
                        self.emit(EventKind::DialFailed {
                            remote: peer,
                            error: reason.clone(),
                        });
                        let _ = reply.send(Err(PeerError::Dial { address, reason }));
                    }
                }
            }
        }
        std::ops::ControlFlow::Continue(())
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent<P>>) {
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                if self.swarm.behaviour().kind.is_external(&address) {
                    self.swarm.add_external_address(address.clone());
                }
                // A circuit address is how the peers of other tabs reach this one: it is
                // what a room lists.
                if let Some(relay) = room::relay_in_circuit(&address) {
                    self.swarm.add_external_address(address.clone());
                    if self.reserved_on.insert(relay) {
                        self.emit(EventKind::Room(RoomStep::Reserved {
                            relay,
                            address: address.clone(),
                        }));
                    }
                }
                self.emit(EventKind::Listening {
                    address: address.clone(),
                });
                if let Some(reply) = self.pending_listens.remove(&listener_id) {
                    let _ = reply.send(Ok(address));
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                self.emit(EventKind::ConnectionEstablished {
                    remote: peer_id,
                    dialer: endpoint.is_dialer(),
                });
                let address = match &endpoint {
                    libp2p::core::ConnectedPoint::Dialer { address, .. } => address,
                    libp2p::core::ConnectedPoint::Listener { local_addr, .. } => local_addr,
                };
                if is_direct(address) {
                    self.emit(EventKind::Room(RoomStep::DirectOpened {
                        remote: peer_id,
                        dialer: endpoint.is_dialer(),
                    }));
                    *self.direct.entry(peer_id).or_default() += 1;
                    for circuit in self.circuits.remove(&peer_id).unwrap_or_default() {
                        self.close_replaced(circuit);
                    }
                } else if let Some(relay) = room::relay_in_circuit(address) {
                    if self.direct.contains_key(&peer_id) {
                        self.close_replaced(connection_id);
                    } else {
                        self.circuits
                            .entry(peer_id)
                            .or_default()
                            .push(connection_id);
                    }
                    self.emit(EventKind::Room(RoomStep::CircuitOpened {
                        relay,
                        remote: peer_id,
                        dialer: endpoint.is_dialer(),
                    }));
                }
                if let Some((_, reply)) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                endpoint,
                cause,
                num_established,
            } => {
                if let Some(circuits) = self.circuits.get_mut(&peer_id) {
                    circuits.retain(|&c| c != connection_id);
                }
                if is_direct(endpoint.get_remote_address()) {
                    if let Some(open) = self.direct.get_mut(&peer_id) {
                        *open -= 1;
                        if *open == 0 {
                            self.direct.remove(&peer_id);
                        }
                    }
                    self.emit(EventKind::Room(RoomStep::DirectClosed {
                        remote: peer_id,
                        reason: cause.as_ref().map(|c| c.to_string()),
                    }));
                }
                // A reservation on a relay goes with the last connection to it.
                if num_established == 0 {
                    self.reserved_on.remove(&peer_id);
                }
                let cause = match self.replaced.remove(&connection_id) {
                    true => Some(
                        "a circuit, closed by this tab: the direct connection replaces it"
                            .to_owned(),
                    ),
                    false => cause.map(|c| c.to_string()),
                };
                self.emit(EventKind::ConnectionClosed {
                    remote: peer_id,
                    cause,
                });
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                let reason = error.to_string();
                self.emit(EventKind::DialFailed {
                    remote: peer_id,
                    error: dial_failure(&error),
                });
                if let Some((address, reply)) = self.pending_dials.remove(&connection_id) {
                    if let (true, Some(remote)) = (is_direct(&address), peer_id) {
                        self.emit(EventKind::Room(RoomStep::DirectFailed {
                            remote,
                            reason: dial_failure(&error),
                        }));
                    }
                    let _ = reply.send(Err(PeerError::Dial { address, reason }));
                }
            }
            // The side that answers an offer: its handshake failed (ICE found no route).
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } if is_direct(&send_back_addr) => {
                if let Some(Protocol::P2p(remote)) = send_back_addr.iter().last() {
                    self.emit(EventKind::Room(RoomStep::DirectFailed {
                        remote,
                        reason: innermost(&error),
                    }));
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(reply) = self.pending_listens.remove(&listener_id) {
                    let reason = reason.err().map_or("closed".to_owned(), |e| e.to_string());
                    let _ = reply.send(Err(PeerError::Listen {
                        address: Multiaddr::empty(),
                        reason,
                    }));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                (self.swarm.behaviour_mut().kind).on_identified(peer_id, &info);
                self.emit(EventKind::Identified {
                    remote: peer_id,
                    agent: info.agent_version,
                    protocols: info.protocols.iter().map(ToString::to_string).collect(),
                })
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kind(event)) => {
                let local = *self.swarm.local_peer_id();
                let steps =
                    (self.swarm.behaviour_mut().kind).on_event(&mut self.state, local, event);
                self.emit_all(steps);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            })) => self.emit(EventKind::RoundTrip {
                remote: peer,
                rtt_ms: rtt.as_secs_f64() * 1000.0,
            }),
            _ => {}
        }
    }
}

/// A direct WebRTC connection's address (`…/webrtc/…`), not a circuit's or the relay's.
fn is_direct(address: &Multiaddr) -> bool {
    address.iter().any(|p| p == Protocol::WebRTC)
}

/// Why a dial failed, in the transport's own words ("no route between the two browsers…"),
/// not "Failed to negotiate transport protocol(s)".
fn dial_failure(error: &DialError) -> String {
    match error {
        DialError::Transport(errors) => errors
            .first()
            .map(|(_, error)| innermost(error))
            .unwrap_or_else(|| error.to_string()),
        other => innermost(other),
    }
}

/// The cause at the bottom of an error's chain.
fn innermost(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
