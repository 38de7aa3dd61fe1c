//! N in-page peers on `MemoryTransport` (real noise and yamux, no sockets), identities from a
//! seed, connected by a [`Topology`].

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::join_all;
use futures::StreamExt;
use libp2p::{Multiaddr, PeerId};
use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use rand::SeedableRng;

use crate::dht;
use crate::dht::peer::DhtPeer;
use crate::event::{EventSink, PeerIndex};
use crate::identity;
use crate::pace::Pace;
use crate::peer;
use crate::peer::{InPage, PeerError};
use crate::protocols::ping::{Envelope, PingError};
use crate::protocols::transfer;
use crate::topology::{self, Topology};
use crate::wire::{Depth, WireLog};

/// Most peers one page runs: a full mesh of 200 is 19,900 connections, about what a laptop's
/// browser tab holds comfortably.
pub const MAX_PEERS: usize = 200;

/// Beyond this many connections a page takes long to bring a network up, every Noise handshake
/// on its one thread: the original topology of 100 peers (4,950) connects in seconds; 200
/// peers' 19,900 took 87 s and 2 GB of memory here.
pub const MANY_CONNECTIONS: usize = 5_000;

/// Dials in flight at once while a network connects. In a page every Noise handshake runs on
/// the thread that draws it, so after each this many dials done the page gets a turn to draw.
const DIALS_IN_FLIGHT: usize = 32;

/// Networks up to this size are started with the wire tap at every depth. Beyond it a network
/// has thousands of connections, whose every frame would bury the rest of the trace: a bigger
/// DHT network records its Kademlia messages only, and any other none.
pub const MAX_TAPPED_PEERS: usize = 30;

/// Most latency a scenario may add to each message: slow enough to watch a message in
/// flight, short enough that a PING and its PONG stay well inside the ping timeout.
pub const MAX_LATENCY_MS: u64 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkConfig {
    pub peers: usize,
    pub topology: Topology,
    pub seed: u64,
    /// Milliseconds each of the testbed's messages is held before it is written, as if the
    /// link were slow: its arrow in the diagram slants by that much.
    pub latency_ms: u64,
    /// Run Kademlia on every peer, with these parameters.
    pub dht: Option<dht::Config>,
}

/// What to tell a learner waiting for `connections` among `peers` to come up, when there are
/// many; None when they come up quickly.
pub fn slow_to_connect(peers: usize, connections: usize) -> Option<String> {
    (connections > MANY_CONNECTIONS).then(|| {
        format!(
            "{connections} connections take a minute or more in one page, and gigabytes of memory; {peers} peers connect in seconds as a ring, star, line or random graph."
        )
    })
}

impl Default for NetworkConfig {
    /// The original testbed: 20 peers, each dialing every peer after it.
    fn default() -> Self {
        NetworkConfig {
            peers: 20,
            topology: Topology::Original,
            seed: 42,
            latency_ms: 0,
            dht: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("a network needs between 2 and {MAX_PEERS} peers, not {0}")]
    PeerCount(usize),
    #[error("there is no peer {0}")]
    NoSuchPeer(PeerIndex),
    #[error("peer {0} cannot open a stream to itself")]
    PingSelf(PeerIndex),
    #[error("peer {0} has left the network: it answers nothing now")]
    Left(PeerIndex),
    #[error("the {what} from peer {from} to peer {to} broke off: peer {gone} left the network")]
    LeftMidway {
        what: &'static str,
        from: PeerIndex,
        to: PeerIndex,
        gone: PeerIndex,
    },
    #[error(
        "peer {from} and peer {to} are not connected in this topology, and a stream needs a \
         connection; peer {from} can ping {neighbours}"
    )]
    NotNeighbours {
        from: PeerIndex,
        to: PeerIndex,
        neighbours: String,
    },
    #[error("peer {peer}: {source}")]
    Peer {
        peer: PeerIndex,
        #[source]
        source: PeerError,
    },
    #[error("ping from peer {from} to peer {to} failed: {source}")]
    Ping {
        from: PeerIndex,
        to: PeerIndex,
        #[source]
        source: PingError,
    },
    #[error("transfer from peer {from} to peer {to} failed: {source}")]
    Transfer {
        from: PeerIndex,
        to: PeerIndex,
        #[source]
        source: transfer::TransferError,
    },
}

/// A dial of the topology that did not connect.
#[derive(Debug)]
pub struct FailedDial {
    pub from: PeerIndex,
    pub to: PeerIndex,
    pub error: PeerError,
}

pub struct Network {
    config: NetworkConfig,
    /// The topology's (dialer, listener) pairs.
    dials: Vec<(PeerIndex, PeerIndex)>,
    peers: Vec<peer::Handle>,
    addresses: Vec<Multiaddr>,
    pace: Pace,
    wire: Option<WireLog>,
    events: EventSink,
    /// Peers stopped by [`Network::stop_peer`].
    left: Mutex<BTreeSet<PeerIndex>>,
}

/// The kind of peer a network of `config` runs: DHT peers where it runs the DHT.
fn kind_of_peer(config: &NetworkConfig) -> peer::Start {
    match config.dht {
        Some(_) => peer::Handle::start::<DhtPeer>,
        None => peer::Handle::start::<InPage>,
    }
}

impl Network {
    /// Starts every peer and waits until each listens on its `/memory` address. Nothing is
    /// connected yet: [`Network::connect`] dials the topology.
    /// Peers of networks up to [`MAX_TAPPED_PEERS`] record what their connections carry; of
    /// bigger DHT networks, their Kademlia messages.
    pub async fn start(config: NetworkConfig, events: EventSink) -> Result<Network, NetworkError> {
        Network::start_with(config, events, kind_of_peer(&config)).await
    }

    /// [`Network::start`] with peers started by `start`, the kind the config asks for: the
    /// page passes it once that kind's code has loaded (see [`peer::Start`]).
    pub async fn start_with(
        config: NetworkConfig,
        events: EventSink,
        start: peer::Start,
    ) -> Result<Network, NetworkError> {
        // A DHT network is always tapped: its lookups' hops are read from the wire.
        let depth = if config.peers <= MAX_TAPPED_PEERS {
            Some(Depth::Everything)
        } else {
            config.dht.map(|_| Depth::KadOnly)
        };
        let wire = depth.map(|depth| WireLog::new(events.started(), depth));
        Network::launch(config, events, wire, start).await
    }

    /// Like [`Network::start`] without the wire tap: to measure what tapping costs.
    pub async fn start_untapped(
        config: NetworkConfig,
        events: EventSink,
    ) -> Result<Network, NetworkError> {
        Network::launch(config, events, None, kind_of_peer(&config)).await
    }

    async fn launch(
        config: NetworkConfig,
        events: EventSink,
        wire: Option<WireLog>,
        start: peer::Start,
    ) -> Result<Network, NetworkError> {
        if !(2..=MAX_PEERS).contains(&config.peers) {
            return Err(NetworkError::PeerCount(config.peers));
        }
        let pace = Pace::new(Duration::from_millis(config.latency_ms.min(MAX_LATENCY_MS)));
        let peers = (0..config.peers)
            .map(|index| {
                let config = peer::Config {
                    keypair: identity::keypair(config.seed, index),
                    measure_round_trips: false,
                    pace: pace.clone(),
                    wire: wire.clone(),
                    dht: config.dht,
                    ice: Default::default(),
                };
                start(config, events.clone()).map_err(|source| NetworkError::Peer {
                    peer: index,
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let any_port: Multiaddr = "/memory/0".parse().expect("a valid multiaddr");
        let addresses = join_all(peers.iter().map(|peer| peer.listen(any_port.clone())))
            .await
            .into_iter()
            .enumerate()
            .map(|(index, address)| {
                address.map_err(|source| NetworkError::Peer {
                    peer: index,
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Network {
            config,
            dials: config.topology.dials(config.peers, config.seed),
            peers,
            addresses,
            pace,
            wire,
            events,
            left: Mutex::default(),
        })
    }

    /// Dials every connection of the topology, a bounded number at a time, and waits for all
    /// of them; returns the dials that failed (none, when all is well).
    pub async fn connect(&self) -> Vec<FailedDial> {
        let mut dialing = futures::stream::iter(self.dials.iter().copied())
            .map(|(from, to)| async move {
                let dialed = self.peers[from]
                    .dial(Some(self.peers[to].peer_id()), self.addresses[to].clone())
                    .await;
                dialed.err().map(|error| FailedDial { from, to, error })
            })
            .buffer_unordered(DIALS_IN_FLIGHT);
        let mut failed = Vec::new();
        let mut done = 0;
        while let Some(outcome) = dialing.next().await {
            failed.extend(outcome);
            done += 1;
            if done % DIALS_IN_FLIGHT == 0 {
                crate::runtime::yield_now().await;
            }
        }
        failed
    }

    pub fn config(&self) -> NetworkConfig {
        self.config
    }

    /// What the connections carried, when tapped.
    pub fn wire(&self) -> Option<&WireLog> {
        self.wire.as_ref()
    }

    /// Where the peers report what they do; applications on top report here too.
    pub fn events(&self) -> &EventSink {
        &self.events
    }

    /// The pace of every peer's messages: speed, pause, step.
    pub fn pace(&self) -> &Pace {
        &self.pace
    }

    /// Peer `index` leaves at once, as if its machine went away: its connections drop. A peer
    /// that has left already stays gone.
    pub async fn stop_peer(&self, index: PeerIndex) -> Result<(), NetworkError> {
        let peer = self
            .peers
            .get(index)
            .ok_or(NetworkError::NoSuchPeer(index))?;
        if !self.left_set().insert(index) {
            return Ok(());
        }
        peer.stop().await.map_err(|source| NetworkError::Peer {
            peer: index,
            source,
        })
    }

    pub fn has_left(&self, index: PeerIndex) -> bool {
        self.left_set().contains(&index)
    }

    /// Whichever of `a` and `b` has left the network (`a` first), if either has.
    pub fn gone_of(&self, a: PeerIndex, b: PeerIndex) -> Option<PeerIndex> {
        [a, b].into_iter().find(|&peer| self.has_left(peer))
    }

    fn left_set(&self) -> std::sync::MutexGuard<'_, BTreeSet<PeerIndex>> {
        // Nothing panics while holding it; a poisoned set is still the right set.
        self.left
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn peers(&self) -> &[peer::Handle] {
        &self.peers
    }

    pub fn peer(&self, index: PeerIndex) -> Option<&peer::Handle> {
        self.peers.get(index)
    }

    pub fn peer_ids(&self) -> Vec<PeerId> {
        self.peers.iter().map(peer::Handle::peer_id).collect()
    }

    /// How many connections the topology makes when every dial succeeds.
    pub fn expected_connections(&self) -> usize {
        self.dials.len()
    }

    /// The peers `from` is connected to by the topology, in order.
    pub fn neighbours(&self, from: PeerIndex) -> Vec<PeerIndex> {
        topology::neighbours(self.dials.iter().copied(), from)
    }

    /// The peers still in the network with a neighbour still in it: those that can ping.
    /// One pass over the topology, for it runs before every ping of "Keep pinging".
    pub fn peers_with_a_neighbour(&self) -> Vec<PeerIndex> {
        let left = self.left_set();
        let mut has_one = vec![false; self.peers.len()];
        for &(a, b) in &self.dials {
            if !left.contains(&a) && !left.contains(&b) {
                has_one[a] = true;
                has_one[b] = true;
            }
        }
        (0..self.peers.len())
            .filter(|&peer| has_one[peer])
            .collect()
    }

    /// The peer a "random" ping from `from` goes to: one of its neighbours still in the
    /// network, drawn from the seed and the ping's number, so a scenario replays the same
    /// choices.
    pub fn random_target(&self, from: PeerIndex, nth_ping: u64) -> Option<PeerIndex> {
        let mut neighbours = self.neighbours(from);
        neighbours.retain(|&peer| !self.has_left(peer));
        if neighbours.is_empty() {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ nth_ping.rotate_left(32));
        Some(neighbours[rng.random_range(0..neighbours.len())])
    }

    /// The testbed's ping from one peer to another: returns the PONG.
    pub async fn ping(
        &self,
        from: PeerIndex,
        to: PeerIndex,
        id: String,
    ) -> Result<Envelope, NetworkError> {
        let (initiator, responder) = self.pair(from, to)?;
        initiator.ping(responder, id).await.map_err(|source| {
            self.left_midway("ping", from, to)
                .unwrap_or(NetworkError::Ping { from, to, source })
        })
    }

    /// `from` sends bytes to `to` over a new stream (see [`crate::protocols::transfer`]),
    /// optionally giving up midway.
    pub async fn transfer(
        &self,
        from: PeerIndex,
        to: PeerIndex,
        request: transfer::Request,
        give_up_after: Option<u64>,
    ) -> Result<u64, NetworkError> {
        let (sender, receiver) = self.pair(from, to)?;
        sender
            .transfer(receiver, request, give_up_after)
            .await
            .map_err(|source| {
                self.left_midway("transfer", from, to)
                    .unwrap_or(NetworkError::Transfer { from, to, source })
            })
    }

    /// Why an exchange between `from` and `to` failed, when one of them has left since it
    /// began: libp2p's own error would only say that a stream or a dial failed.
    fn left_midway(
        &self,
        what: &'static str,
        from: PeerIndex,
        to: PeerIndex,
    ) -> Option<NetworkError> {
        let gone = self.gone_of(to, from)?;
        Some(NetworkError::LeftMidway {
            what,
            from,
            to,
            gone,
        })
    }

    /// `from`'s handle and `to`'s PeerId, when `from` may open a stream to `to`.
    fn pair(
        &self,
        from: PeerIndex,
        to: PeerIndex,
    ) -> Result<(&peer::Handle, PeerId), NetworkError> {
        let initiator = self.peers.get(from).ok_or(NetworkError::NoSuchPeer(from))?;
        let responder = self.peers.get(to).ok_or(NetworkError::NoSuchPeer(to))?;
        if from == to {
            return Err(NetworkError::PingSelf(from));
        }
        if let Some(gone) = self.gone_of(from, to) {
            return Err(NetworkError::Left(gone));
        }
        let neighbours = self.neighbours(from);
        if !neighbours.contains(&to) {
            let names: Vec<_> = neighbours.iter().map(|p| format!("peer {p}")).collect();
            return Err(NetworkError::NotNeighbours {
                from,
                to,
                neighbours: names.join(", "),
            });
        }
        Ok((initiator, responder.peer_id()))
    }
}
