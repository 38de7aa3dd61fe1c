//! One libp2p node: a swarm with the testbed's behaviour, run by an event-loop task, and a
//! cloneable [`Handle`] through which the rest of the program talks to it
//! (the Client / EventLoop shape of rust-libp2p's file-sharing example).

use std::collections::HashMap;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{future, SinkExt, StreamExt};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, relay, rendezvous, Multiaddr, PeerId, Swarm, Transport};

use crate::dht;
use crate::dht::node::{self as dht_node, Kad, Stored};
use crate::dht::{LookupOutcome, LookupRequest, RoutingTable};
use crate::event::{EventKind, EventSink, PingStep, TransferStep};
use crate::pace::Pace;
use crate::protocols::ping::{self as testbed_ping, Envelope, PingError};
use crate::protocols::transfer;
use crate::room::{self, Registration, RoomCommand, RoomStep};
use crate::runtime::spawn;
use crate::trace::layer::PEER_SPAN;
use crate::trace::Tracer;
use crate::wire::WireLog;
use tracing::Instrument;

/// Commands waiting for the event loop; a handle's `send` waits when this many are queued.
const COMMAND_QUEUE: usize = 64;

/// The swarm closes a connection with no open streams after this long. Long, so a lesson's
/// connections stay up while the learner reads; finite, and below the browser's timer limit.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// A ping exchange that has not finished by then has failed (the remote vanished or stalled).
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Tries of a ping whose stream is dropped before any answer. libp2p-stream hands a responder
/// one new inbound stream at a time and drops others that arrive meanwhile, so a burst of
/// pings to one peer can lose a stream; a new one soon gets through.
const PING_ATTEMPTS: usize = 4;

/// Wait before the first retry; doubled for each further one.
const PING_RETRY_DELAY: Duration = Duration::from_millis(20);

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
    identify: identify::Behaviour,
    /// libp2p's own ping (`/ipfs/ping/1.0.0`), only where a live round-trip time is shown.
    ping: Toggle<ping::Behaviour>,
    streams: libp2p_stream::Behaviour,
    /// Kademlia (`/ipfs/kad/1.0.0`), on networks that run the DHT.
    kad: Toggle<Kad>,
    /// Circuit relay v2 client and rendezvous client, on a tab's peer that joins rooms.
    relay: Toggle<relay::client::Behaviour>,
    rendezvous: Toggle<rendezvous::client::Behaviour>,
}

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

enum Command {
    Listen {
        address: Multiaddr,
        reply: oneshot::Sender<Result<Multiaddr, PeerError>>,
    },
    Dial {
        peer: Option<PeerId>,
        address: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, PeerError>>,
    },
    /// Stop at once, as if the machine had gone: every connection drops.
    Stop,
    Dht(dht_node::Command),
    Room(RoomCommand),
}

/// The outside's way to a running peer. Cheap to clone; the peer stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Handle {
    peer_id: PeerId,
    commands: mpsc::Sender<Command>,
    streams: libp2p_stream::Control,
    events: EventSink,
    tracer: Tracer,
    /// Everything this peer does runs inside this span, which names the peer.
    span: tracing::Span,
    pace: Pace,
}

/// Options for [`Handle::start`].
pub struct Config {
    pub keypair: Keypair,
    pub transport: TransportKind,
    /// Run libp2p's ping on every connection and report round-trip times.
    pub measure_round_trips: bool,
    /// Holds each of the testbed's messages before it is written (injected latency, pause).
    pub pace: Pace,
    /// Where in-page connections record what they carry (see [`crate::wire`]); None: untapped.
    pub wire: Option<WireLog>,
    /// Run Kademlia with these parameters.
    pub dht: Option<dht::Config>,
}

impl Handle {
    /// Builds the swarm, starts its event loop and the ping responder, and returns the handle.
    pub fn start(config: Config, events: EventSink) -> Result<Handle, PeerError> {
        let Config {
            keypair,
            transport,
            measure_round_trips,
            pace,
            wire,
            dht,
        } = config;
        let peer_id = keypair.public().to_peer_id();
        let (relay_transport, relay_client) = match transport {
            TransportKind::Remote => {
                let (transport, behaviour) = relay::client::new(peer_id);
                (Some(transport), Some(behaviour))
            }
            TransportKind::Memory => (None, None),
        };
        let rooms = relay_client.is_some();
        let mut identify_config = identify::Config::new("/testbed/1.0.0".into(), keypair.public())
            .with_agent_version(format!("p2p-testbed/{}", env!("CARGO_PKG_VERSION")));
        // Kademlia learns the address of a peer that dialed in only from identify. Repeated at
        // every refresh, a peer that met full buckets is offered again and can take the place
        // of a peer that left.
        if let Some(refresh) = dht.and_then(|config| config.refresh_interval()) {
            identify_config = identify_config.with_interval(refresh);
        }
        let behaviour = Behaviour {
            identify: identify::Behaviour::new(identify_config),
            ping: Toggle::from(measure_round_trips.then(ping::Behaviour::default)),
            streams: libp2p_stream::Behaviour::new(),
            kad: Toggle::from(dht.map(|config| dht_node::behaviour(peer_id, config))),
            relay: Toggle::from(relay_client),
            rendezvous: Toggle::from(
                rooms.then(|| rendezvous::client::Behaviour::new(keypair.clone())),
            ),
        };
        let mut streams = behaviour.streams.new_control();
        // Connection tasks run inside the swarm's own poll, so all of a peer's work happens in
        // its event-loop task: the same on tokio and in the browser.
        let swarm_config = libp2p::swarm::Config::without_executor()
            .with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT);
        let swarm = Swarm::new(
            build_transport(&keypair, transport, relay_transport, wire)?,
            behaviour,
            peer_id,
            swarm_config,
        );

        let (commands, command_queue) = mpsc::channel(COMMAND_QUEUE);
        let event_loop = EventLoop {
            swarm,
            events: events.clone(),
            pending_listens: HashMap::new(),
            pending_dials: HashMap::new(),
            dht: dht.map(dht_node::Node::new),
            room: room::Client::default(),
        };
        let span = tracing::info_span!(PEER_SPAN, peer = %peer_id);
        spawn(event_loop.run(command_queue).instrument(span.clone()));

        let transfers = streams
            .accept(transfer::PROTOCOL)
            .expect("a new peer has no transfer receiver yet");
        spawn(answer_transfers(peer_id, transfers, events.clone()).instrument(span.clone()));
        let tracer = Tracer::new(&peer_id);
        let incoming = streams
            .accept(testbed_ping::PROTOCOL)
            .expect("a new peer has no ping responder yet");
        spawn(
            answer_pings(
                peer_id,
                incoming,
                events.clone(),
                tracer.clone(),
                pace.clone(),
            )
            .instrument(span.clone()),
        );

        Ok(Handle {
            peer_id,
            commands,
            streams,
            events,
            tracer,
            span,
            pace,
        })
    }

    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Starts listening and returns the address the transport actually assigned
    /// (`/memory/0` becomes a free port).
    pub async fn listen(&self, address: Multiaddr) -> Result<Multiaddr, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Listen { address, reply }).await?;
        answer.await.map_err(|_| PeerError::Stopped)?
    }

    /// Dials `address` and waits until the connection is established (or fails). With `peer`
    /// given, the remote must prove it is that peer during the noise handshake.
    pub async fn dial(
        &self,
        peer: Option<PeerId>,
        address: Multiaddr,
    ) -> Result<PeerId, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Dial {
            peer,
            address,
            reply,
        })
        .await?;
        answer.await.map_err(|_| PeerError::Stopped)?
    }

    /// The testbed's ping: open a stream to `remote`, PING, PONG, close from both sides.
    /// A stream dropped before any answer is retried on a new stream (see [`PING_ATTEMPTS`]).
    pub async fn ping(&self, remote: PeerId, id: String) -> Result<Envelope, PingError> {
        let report = |step| self.events.emit(self.peer_id, EventKind::Ping(step));
        let mut attempt = 0;
        loop {
            match self.ping_once(remote, id.clone()).await {
                Err(error) if error.is_unanswered() && attempt + 1 < PING_ATTEMPTS => {
                    report(PingStep::Retrying {
                        remote,
                        error: error.to_string(),
                        attempt,
                    });
                    futures_timer::Delay::new(PING_RETRY_DELAY * 2u32.pow(attempt as u32)).await;
                    attempt += 1;
                }
                Err(error) => {
                    report(PingStep::Failed {
                        remote,
                        error: error.to_string(),
                    });
                    return Err(error);
                }
                Ok(pong) => return Ok(pong),
            }
        }
    }

    async fn ping_once(&self, remote: PeerId, id: String) -> Result<Envelope, PingError> {
        let report = |step| self.events.emit(self.peer_id, EventKind::Ping(step));
        let exchange = async {
            let mut stream = self
                .open_stream(remote, testbed_ping::PROTOCOL)
                .await
                .map_err(|e| PingError::OpenStream(e.to_string()))?;
            report(PingStep::StreamOpened {
                remote,
                protocol: testbed_ping::PROTOCOL.to_string(),
            });
            let ping = Envelope::ping(
                id,
                self.peer_id,
                "hello from the testbed".into(),
                self.tracer.start_trace(),
            );
            testbed_ping::initiate(&mut stream, remote, ping, &self.tracer, &self.pace, &report)
                .await
        };
        let span = tracing::info_span!(parent: &self.span, "ping exchange", role = "initiator", remote = %remote);
        let pong = with_timeout(exchange, &self.pace)
            .instrument(span.clone())
            .await?;
        span.in_scope(|| tracing::info!(id = %pong.id, "PONG received"));
        Ok(pong)
    }

    /// Sends `request.bytes` to `remote` over a new stream (see [`transfer`]); with
    /// `give_up_after`, drops the stream once that many are written, and yamux resets it.
    pub async fn transfer(
        &self,
        remote: PeerId,
        request: transfer::Request,
        give_up_after: Option<u64>,
    ) -> Result<u64, transfer::TransferError> {
        let report = |step| self.events.emit(self.peer_id, EventKind::Transfer(step));
        let started = web_time::Instant::now();
        let result = async {
            let mut stream = self
                .open_stream(remote, transfer::PROTOCOL)
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            report(TransferStep::Started {
                remote,
                bytes: request.bytes,
                slow_reader: request.read_delay_ms > 0,
            });
            transfer::send(&mut stream, request, give_up_after).await
        }
        .await;
        match &result {
            Ok(sent) if give_up_after.is_some() => report(TransferStep::GaveUp {
                remote,
                sent: *sent,
            }),
            Ok(bytes) => report(TransferStep::Finished {
                remote,
                bytes: *bytes,
                took_ms: started.elapsed().as_secs_f64() * 1000.0,
            }),
            Err(error) => report(TransferStep::Failed {
                remote,
                error: error.to_string(),
            }),
        }
        result
    }

    /// Accepts the inbound streams of `protocol` (once per protocol and peer).
    pub fn accept(
        &self,
        protocol: libp2p::StreamProtocol,
    ) -> Result<libp2p_stream::IncomingStreams, libp2p_stream::AlreadyRegistered> {
        self.streams.clone().accept(protocol)
    }

    /// Opens a new stream to `remote` and negotiates `protocol` on it (dialing first if there
    /// is no connection yet).
    pub async fn open_stream(
        &self,
        remote: PeerId,
        protocol: libp2p::StreamProtocol,
    ) -> Result<libp2p::Stream, libp2p_stream::OpenStreamError> {
        self.streams.clone().open_stream(remote, protocol).await
    }

    /// Runs a DHT lookup and waits for its outcome.
    pub async fn lookup(&self, request: LookupRequest) -> Result<LookupOutcome, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Dht(dht_node::Command::Lookup { request, reply }))
            .await?;
        answer.await.map_err(|_| PeerError::NoDht)
    }

    /// Whether this peer's DHT side is busy.
    pub async fn dht_status(&self) -> Result<dht_node::Status, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Dht(dht_node::Command::Status { reply }))
            .await?;
        answer.await.map_err(|_| PeerError::NoDht)
    }

    /// This peer's Kademlia routing table.
    pub async fn routing_table(&self) -> Result<RoutingTable, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Dht(dht_node::Command::Table { reply }))
            .await?;
        answer.await.map_err(|_| PeerError::NoDht)
    }

    /// The record keys this peer stores, and which of `provider_keys` it keeps provider
    /// records for.
    pub async fn stored(&self, provider_keys: Vec<Vec<u8>>) -> Result<Stored, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Dht(dht_node::Command::Stored {
            provider_keys,
            reply,
        }))
        .await?;
        answer.await.map_err(|_| PeerError::NoDht)
    }

    /// Asks the relay at `relay` (an address ending in `/p2p/RELAY`) to hold a slot for this
    /// peer; returns the circuit address others reach it at.
    pub async fn reserve(&self, relay: Multiaddr) -> Result<Multiaddr, PeerError> {
        self.listen(relay.with(Protocol::P2pCircuit))
            .await
            .map_err(|error| match error {
                PeerError::Listen { reason, .. } => PeerError::Refused {
                    what: "reservation",
                    reason,
                },
                other => other,
            })
    }

    /// Lists this peer's circuit address in `room` on the relay's rendezvous point.
    pub async fn register(&self, room: String, relay: PeerId) -> Result<(), PeerError> {
        self.ask_rendezvous("registration", |reply| RoomCommand::Register {
            room,
            relay,
            reply,
        })
        .await
    }

    /// The room's other peers and their circuit addresses.
    pub async fn discover(
        &self,
        room: String,
        relay: PeerId,
    ) -> Result<Vec<Registration>, PeerError> {
        self.ask_rendezvous("discovery", |reply| RoomCommand::Discover {
            room,
            relay,
            reply,
        })
        .await
    }

    /// Sends a rendezvous request and waits for the relay's answer; a refusal names `what`.
    async fn ask_rendezvous<T>(
        &self,
        what: &'static str,
        command: impl FnOnce(oneshot::Sender<Result<T, String>>) -> RoomCommand,
    ) -> Result<T, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Room(command(reply))).await?;
        answer
            .await
            .map_err(|_| PeerError::NoRoom)?
            .map_err(|reason| PeerError::Refused { what, reason })
    }

    /// Stops the peer even while other handles to it remain: its connections drop, as when
    /// a peer's machine goes away.
    pub async fn stop(&self) -> Result<(), PeerError> {
        self.send(Command::Stop).await
    }

    async fn send(&self, command: Command) -> Result<(), PeerError> {
        self.commands
            .clone()
            .send(command)
            .await
            .map_err(|_| PeerError::Stopped)
    }
}

fn build_transport(
    keypair: &Keypair,
    kind: TransportKind,
    relay: Option<relay::client::Transport>,
    wire: Option<WireLog>,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, PeerError> {
    use crate::wire::tap::{memory_transport, upgrade, Socket};
    if kind == TransportKind::Memory {
        return Ok(memory_transport(keypair, wire)?);
    }
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
        .map(|either, _| either.into_inner())
        .boxed();
    Ok(upgraded)
}

/// Fails `work` once the ping timeout, plus its two paced messages' latency, has passed
/// while the pace was playing.
async fn with_timeout<T>(
    work: impl std::future::Future<Output = Result<T, PingError>>,
    pace: &Pace,
) -> Result<T, PingError> {
    let deadline = pace.deadline(PING_TIMEOUT, 2);
    futures::pin_mut!(deadline);
    futures::pin_mut!(work);
    match future::select(work, deadline).await {
        future::Either::Left((result, _)) => result,
        future::Either::Right(((), _)) => Err(PingError::Timeout(PING_TIMEOUT.as_secs())),
    }
}

/// Reads every inbound transfer, each in its own task.
async fn answer_transfers(
    local: PeerId,
    mut incoming: libp2p_stream::IncomingStreams,
    events: EventSink,
) {
    while let Some((remote, mut stream)) = incoming.next().await {
        let events = events.clone();
        spawn(async move {
            let step = match transfer::receive(&mut stream).await {
                Ok((_, bytes)) => TransferStep::Received { remote, bytes },
                Err(error) => TransferStep::Failed {
                    remote,
                    error: error.to_string(),
                },
            };
            events.emit(local, EventKind::Transfer(step));
        });
    }
}

/// Answers every inbound `/testbed/ping/1.0.0` stream, each in its own task, so a slow
/// initiator never holds up the next one.
async fn answer_pings(
    local: PeerId,
    mut incoming: libp2p_stream::IncomingStreams,
    events: EventSink,
    tracer: Tracer,
    pace: Pace,
) {
    while let Some((remote, mut stream)) = incoming.next().await {
        let events = events.clone();
        let tracer = tracer.clone();
        let pace = pace.clone();
        let span = tracing::info_span!("ping exchange", role = "responder", remote = %remote);
        spawn(
            async move {
                let report = |step| events.emit(local, EventKind::Ping(step));
                report(PingStep::StreamAccepted {
                    remote,
                    protocol: testbed_ping::PROTOCOL.to_string(),
                });
                let exchange = testbed_ping::respond(&mut stream, remote, &tracer, &pace, &report);
                if let Err(error) = with_timeout(exchange, &pace).await {
                    report(PingStep::Failed {
                        remote,
                        error: error.to_string(),
                    });
                }
            }
            .instrument(span),
        );
    }
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    events: EventSink,
    pending_listens:
        HashMap<libp2p::core::transport::ListenerId, oneshot::Sender<Result<Multiaddr, PeerError>>>,
    pending_dials: HashMap<ConnectionId, (Multiaddr, oneshot::Sender<Result<PeerId, PeerError>>)>,
    dht: Option<dht_node::Node>,
    room: room::Client,
}

impl EventLoop {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
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

    /// Break: the peer stops, closing all connections.
    fn on_command(&mut self, command: Command) -> std::ops::ControlFlow<()> {
        match command {
            Command::Stop => {
                self.emit(EventKind::Left);
                return std::ops::ControlFlow::Break(());
            }
            // Without the DHT the command's reply is dropped: the handle says so.
            Command::Dht(command) => {
                if let (Some(node), Some(kad)) =
                    (self.dht.as_mut(), self.swarm.behaviour_mut().kad.as_mut())
                {
                    for step in node.on_command(kad, command) {
                        self.emit(EventKind::Dht(step));
                    }
                }
            }
            Command::Room(command) => {
                if let Some(rendezvous) = self.swarm.behaviour_mut().rendezvous.as_mut() {
                    for step in self.room.on_command(rendezvous, command) {
                        self.emit(EventKind::Room(step));
                    }
                }
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

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                // Every in-page peer can reach a `/memory` address: it is external. kad hands
                // it out in provider records, which are useless without an address.
                if self.swarm.behaviour().kad.is_enabled()
                    && address
                        .iter()
                        .any(|p| matches!(p, libp2p::multiaddr::Protocol::Memory(_)))
                {
                    self.swarm.add_external_address(address.clone());
                }
                // A circuit address is how the peers of other tabs reach this one: it is
                // what a room lists.
                if let Some(relay) = room::relay_in_circuit(&address) {
                    self.swarm.add_external_address(address.clone());
                    if self.room.is_new_reservation(relay) {
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
                if let Some(relay) = room::relay_in_circuit(address) {
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
                cause,
                num_established,
                ..
            } => {
                if num_established == 0 {
                    self.room.on_connection_closed(peer_id);
                }
                self.emit(EventKind::ConnectionClosed {
                    remote: peer_id,
                    cause: cause.map(|c| c.to_string()),
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
                    error: reason.clone(),
                });
                if let Some((address, reply)) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Err(PeerError::Dial { address, reason }));
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
                if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                    dht_node::Node::on_identified(kad, peer_id, &info);
                }
                self.emit(EventKind::Identified {
                    remote: peer_id,
                    agent: info.agent_version,
                    protocols: info.protocols.iter().map(ToString::to_string).collect(),
                })
            }
            SwarmEvent::Behaviour(BehaviourEvent::Rendezvous(event)) => {
                let local = *self.swarm.local_peer_id();
                for step in self.room.on_rendezvous(local, event) {
                    self.emit(EventKind::Room(step));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => {
                if let (Some(node), Some(kad)) =
                    (self.dht.as_mut(), self.swarm.behaviour_mut().kad.as_mut())
                {
                    for step in node.on_event(kad, event) {
                        self.emit(EventKind::Dht(step));
                    }
                }
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
