//! The relay's swarm: listeners, behaviour, and its event loop until Ctrl-C.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::Transport;
use libp2p::{identify, noise, ping, relay, rendezvous, tcp, yamux, Multiaddr};

use crate::event_log::{EventLog, Limits};
use crate::info::{self, RelayInfo};
use crate::{key, Options};

/// Browsers keep connections to the relay open while a lesson runs; close only idle ones, and
/// only after long enough for a learner to read a step.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Shortest registration a room member may ask for, in seconds.
const MIN_REGISTRATION_TTL_SECONDS: u64 = 30;

#[derive(NetworkBehaviour)]
struct Behaviour {
    relay: relay::Behaviour,
    /// Where tabs register under their room's name and discover each other.
    rendezvous: rendezvous::server::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Key(#[from] key::KeyError),
    #[error("could not set up the transports: {0}")]
    Transport(String),
    #[error("could not listen on {address}: {reason}")]
    Listen { address: String, reason: String },
}

/// libp2p's limits, with the flags' values; per peer, libp2p's own rates stay (30 reservations
/// and 30 circuits per 2 minutes).
fn relay_config(options: &Options) -> relay::Config {
    let per_peer = NonZeroU32::new(30).expect("30 > 0");
    let per_ip = NonZeroU32::new(options.max_per_ip_per_minute).unwrap_or(NonZeroU32::MIN);
    let (two_minutes, minute) = (Duration::from_secs(120), Duration::from_secs(60));
    relay::Config {
        max_reservations: options.max_reservations,
        max_circuits: options.max_circuits,
        max_circuits_per_peer: options.max_circuits_per_peer,
        max_circuit_duration: Duration::from_secs(options.max_circuit_seconds),
        max_circuit_bytes: options.max_circuit_bytes,
        reservation_rate_limiters: Vec::new(),
        circuit_src_rate_limiters: Vec::new(),
        ..relay::Config::default()
    }
    .reservation_rate_per_peer(per_peer, two_minutes)
    .reservation_rate_per_ip(per_ip, minute)
    .circuit_src_per_peer(per_peer, two_minutes)
    .circuit_src_per_ip(per_ip, minute)
}

fn relay_limits(options: &Options) -> Limits {
    Limits {
        max_reservations: options.max_reservations,
        max_reservations_per_peer: relay::Config::default().max_reservations_per_peer,
        max_circuits: options.max_circuits,
        max_circuits_per_peer: options.max_circuits_per_peer,
        max_circuit_seconds: options.max_circuit_seconds,
        max_circuit_bytes: options.max_circuit_bytes,
        max_per_ip_per_minute: options.max_per_ip_per_minute,
    }
}

pub async fn run(options: Options) -> Result<(), RelayError> {
    let keypair = key::load_or_create(&options.key_file)?;
    let certificate = key::load_or_create_certificate(&key::certificate_path(&options.key_file))?;
    let peer_id = keypair.public().to_peer_id();
    let transport_error = |e: &dyn std::fmt::Display| RelayError::Transport(e.to_string());
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| transport_error(&e))?
        // WebRTC brings its own encryption (DTLS, then noise inside) and muxing (data channels).
        .with_other_transport(|key| {
            libp2p_webrtc::tokio::Transport::new(key.clone(), certificate)
                .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
        })
        .map_err(|e| transport_error(&e))?
        .with_dns()
        .map_err(|e| transport_error(&e))?
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .map_err(|e| transport_error(&e))?
        .with_behaviour(|key| Behaviour {
            // Every tab of a class may come from one IP: the limits are raised above libp2p's
            // defaults by the flags' defaults, and stay bounded.
            relay: relay::Behaviour::new(key.public().to_peer_id(), relay_config(&options)),
            // A tab renews its registration every half minute and closes without saying so:
            // a short TTL takes closed tabs off a room's list soon (libp2p's minimum is 2 h).
            rendezvous: rendezvous::server::Behaviour::new(
                rendezvous::server::Config::default().with_min_ttl(MIN_REGISTRATION_TTL_SECONDS),
            ),
            identify: identify::Behaviour::new(
                identify::Config::new("/testbed/1.0.0".into(), key.public())
                    .with_agent_version(format!("p2p-testbed-relay/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: ping::Behaviour::default(),
        })
        .map_err(|e| transport_error(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();

    let ip = Protocol::from(options.listen_ip);
    for address in [
        Multiaddr::empty()
            .with(ip.clone())
            .with(Protocol::Tcp(options.ws_port))
            .with(Protocol::Ws("/".into())),
        Multiaddr::empty()
            .with(ip.clone())
            .with(Protocol::Tcp(options.tcp_port)),
        Multiaddr::empty()
            .with(ip.clone())
            .with(Protocol::Udp(options.webrtc_port))
            .with(Protocol::WebRTCDirect),
    ] {
        swarm
            .listen_on(address.clone())
            .map_err(|e| RelayError::Listen {
                address: address.to_string(),
                reason: e.to_string(),
            })?;
    }

    for address in &options.announce {
        swarm.add_external_address(address.clone());
        tracing::info!("announcing {address} as reachable from other machines");
    }

    let info_address = SocketAddr::new(options.listen_ip, options.info_port);
    let info_listener = tokio::net::TcpListener::bind(info_address)
        .await
        .map_err(|e| RelayError::Listen {
            address: info_address.to_string(),
            reason: e.to_string(),
        })?;
    let info_address = info_listener.local_addr().unwrap_or(info_address);
    let shared_info = Arc::new(RwLock::new(RelayInfo {
        peer_id: peer_id.to_string(),
        addresses: Vec::new(),
    }));
    let limits = info::Limits {
        read_timeout: Duration::from_secs(options.info_timeout_seconds),
        max_connections: options.max_info_connections,
    };
    tokio::spawn(info::serve(info_listener, shared_info.clone(), limits));
    tracing::info!("relay {peer_id} starting; info endpoint on http://{info_address}/");

    let mut event_log = EventLog::new(relay_limits(&options));
    loop {
        tokio::select! {
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    // Relay v2 hands out reservations only with a confirmed external address.
                    swarm.add_external_address(address.clone());
                    let full = address.with(Protocol::P2p(peer_id));
                    // Listed before it is logged: whoever reads the log line may ask at once.
                    shared_info
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .addresses
                        .push(full.to_string());
                    tracing::info!("listening on {full}");
                }
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                    tracing::info!("connected: {peer_id} from {}", endpoint.get_remote_address());
                }
                SwarmEvent::ConnectionClosed { peer_id, cause, .. } => {
                    let cause = cause.map(|c| c.to_string()).unwrap_or_else(|| "closed".into());
                    tracing::info!("disconnected: {peer_id} ({cause})");
                }
                SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                    tracing::warn!("incoming connection from {send_back_addr} failed: {error}");
                }
                SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => {
                    if let Some(line) = event_log.line(&event) {
                        tracing::info!("{line}");
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Rendezvous(event)) => match event {
                    rendezvous::server::Event::PeerRegistered { peer, registration } => tracing::info!(
                        "room {}: {peer} registered ({} addresses)",
                        registration.namespace,
                        registration.record.addresses().len()
                    ),
                    rendezvous::server::Event::DiscoverServed { enquirer, registrations } => {
                        tracing::info!("{enquirer} looked for peers: {} found", registrations.len())
                    }
                    rendezvous::server::Event::PeerNotRegistered { peer, namespace, error } => {
                        tracing::warn!("room {namespace}: {peer} could not register: {error:?}")
                    }
                    other => tracing::info!("rendezvous: {other:?}"),
                },
                SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                    tracing::info!("identified {peer_id}: {}", info.agent_version);
                }
                _ => {}
            },
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("Ctrl-C: shutting down");
                return Ok(());
            }
        }
    }
}
