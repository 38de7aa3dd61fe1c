//! One libp2p node: a swarm with the testbed's behaviour, run by an event-loop task, and a
//! cloneable [`Handle`] through which the rest of the program talks to it
//! (the Client / EventLoop shape of rust-libp2p's file-sharing example).

mod command;
mod config;
mod event_loop;
mod protocols;
mod responders;
mod swarm;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::SinkExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{identify, ping, Multiaddr, PeerId, Swarm};

use crate::dht::node::{self as dht_node, Stored};
use crate::dht::{LookupOutcome, LookupRequest, RoutingTable};
use crate::event::{EventKind, EventSink, PingStep, TransferStep};
use crate::pace::Pace;
use crate::protocols::ping::{self as testbed_ping, Envelope, PingError};
use crate::protocols::transfer;
use crate::room::{Registration, RoomCommand};
use crate::runtime::spawn;
use crate::trace::layer::PEER_SPAN;
use crate::trace::Tracer;
use command::Command;
use event_loop::EventLoop;
use responders::{answer_pings, answer_transfers, with_timeout};
use swarm::Behaviour;
use tracing::Instrument;

pub use command::PeerError;
pub use config::Config;
pub use protocols::{BoxedTransport, InPage, Protocols};
pub use responders::PING_TIMEOUT;

/// Commands waiting for the event loop; a handle's `send` waits when this many are queued.
const COMMAND_QUEUE: usize = 64;

/// The swarm closes a connection with no open streams after this long. Long, so a lesson's
/// connections stay up while the learner reads; finite, and below the browser's timer limit.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Tries of a ping whose stream is dropped before any answer. libp2p-stream hands a responder
/// one new inbound stream at a time and drops others that arrive meanwhile, so a burst of
/// pings to one peer can lose a stream; a new one soon gets through.
const PING_ATTEMPTS: usize = 4;

/// Wait before the first retry; doubled for each further one.
const PING_RETRY_DELAY: Duration = Duration::from_millis(20);

/// Where a peer's connection tasks (a connection's handshake, then its streams' work) run:
/// natively, inside the swarm's own poll. In a page, run there, all of a busy peer's
/// connections were worked through in one go: with 100 DHT peers a page task lasted 50-80 ms
/// (20 frames a second). So there each is a task of its own that takes turns with the page, in
/// the peer's span (what it logs is the peer's).
fn connection_tasks() -> libp2p::swarm::Config {
    #[cfg(target_arch = "wasm32")]
    return libp2p::swarm::Config::with_executor(
        |task: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| {
            crate::runtime::spawn_in_turns(task.in_current_span())
        },
    );
    #[cfg(not(target_arch = "wasm32"))]
    libp2p::swarm::Config::without_executor()
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
    /// Lookups asked for through this handle and not yet answered: Kademlia traffic between
    /// tabs while none runs is libp2p-kad's own (see [`crate::room::RoomStep::Kad`]).
    lookups_running: Arc<AtomicUsize>,
    pace: Pace,
}

/// Starts one peer of a kind: `Handle::start::<Kind>`, as a plain function pointer.
pub type Start = fn(Config, EventSink) -> Result<Handle, PeerError>;

impl Handle {
    /// Builds a swarm of kind `P`, starts its event loop and the ping responder, and returns
    /// the handle. `Handle::start::<P>` is that kind's [`Start`].
    pub fn start<P: Protocols>(config: Config, events: EventSink) -> Result<Handle, PeerError> {
        let peer_id = config.keypair.public().to_peer_id();
        let lookups_running = Arc::new(AtomicUsize::new(0));
        let (transport, kind, state) = P::build(&config, &events, &lookups_running)?;
        let Config {
            keypair,
            measure_round_trips,
            pace,
            dht,
            ..
        } = config;
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
            kind,
        };
        let mut streams = behaviour.streams.new_control();
        let swarm_config = connection_tasks().with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT);
        let swarm = Swarm::new(transport, behaviour, peer_id, swarm_config);

        let (commands, command_queue) = mpsc::channel(COMMAND_QUEUE);
        let event_loop = EventLoop::new(swarm, events.clone(), state);
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
            lookups_running,
        })
    }

    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The peer's trace context and Lamport clock, for protocols run outside the peer that
    /// stamp their messages (the room's token channels).
    pub fn tracer(&self) -> &Tracer {
        &self.tracer
    }

    /// Reports a step of a protocol run outside the peer, as one of its events.
    pub fn report(&self, kind: EventKind) {
        self.events.emit(self.peer_id, kind);
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
            let error = match self.ping_once(remote, id.clone()).await {
                Ok(pong) => return Ok(pong),
                Err(error) => error,
            };
            // A new stream rides the connection: once that is gone, trying again would dial.
            let retry = error.is_unanswered()
                && attempt + 1 < PING_ATTEMPTS
                && self.is_connected(remote).await;
            if !retry {
                report(PingStep::Failed {
                    remote,
                    error: error.to_string(),
                });
                return Err(error);
            }
            report(PingStep::Retrying {
                remote,
                error: error.to_string(),
                attempt,
            });
            futures_timer::Delay::new(PING_RETRY_DELAY * 2u32.pow(attempt as u32)).await;
            attempt += 1;
        }
    }

    /// Whether a connection to `peer` is up (false once this peer has stopped).
    async fn is_connected(&self, peer: PeerId) -> bool {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Connected { peer, reply }).await.is_ok() && answer.await.unwrap_or(false)
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
        let _running = LookupRunning::new(&self.lookups_running);
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

/// A lookup counted as running while it is alive.
struct LookupRunning(Arc<AtomicUsize>);

impl LookupRunning {
    fn new(count: &Arc<AtomicUsize>) -> LookupRunning {
        count.fetch_add(1, Ordering::SeqCst);
        LookupRunning(count.clone())
    }
}

impl Drop for LookupRunning {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
