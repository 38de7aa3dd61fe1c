//! Starts the real relay binary and talks to it as a peer would: over WebSocket, with noise,
//! yamux, identify and ping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::Multiaddr;
use testbed::dht;
use testbed::peer;
use testbed::room::peer::RoomPeer;
use testbed::room::RoomStep;
use testbed::trace::mark::MessageKind;
use testbed::{EventKind, EventSink};

/// A hang guard, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(60);

struct Relay {
    child: Child,
    info_url_port: u16,
    /// Every line the relay has logged.
    log: Arc<Mutex<Vec<String>>>,
}

impl Relay {
    /// The first line the relay logged containing `text`, once it has (within PATIENCE).
    async fn logged(&self, text: &str) -> String {
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                let line = self
                    .log
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|l| l.contains(text))
                    .cloned();
                if let Some(line) = line {
                    return line;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("the relay never logged \"{text}\""))
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_relay(key_file: &std::path::Path) -> Relay {
    start_relay_with(key_file, &[])
}

/// The relay with extra flags (limits).
fn start_relay_with(key_file: &std::path::Path, flags: &[&str]) -> Relay {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(flags)
        .args([
            "--ws-port",
            "0",
            "--tcp-port",
            "0",
            "--info-port",
            "0",
            "--webrtc-port",
            "0",
            "--key-file",
        ])
        .arg(key_file)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("relay starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut info_port = None;
    let mut listening = 0;
    let log = Arc::new(Mutex::new(Vec::new()));
    for line in stdout.by_ref() {
        let line = line.unwrap();
        log.lock().unwrap().push(line.clone());
        if let Some(rest) = line.split("info endpoint on http://").nth(1) {
            let port = rest.trim_end_matches('/').rsplit(':').next().unwrap();
            info_port = Some(port.parse().unwrap());
        }
        if line.contains("listening on") {
            listening += 1;
        }
        // WebSocket, TCP and WebRTC-direct.
        if info_port.is_some() && listening == 3 {
            break;
        }
    }
    // Keep reading: the tests look for later lines, and the relay's must not hit a closed pipe.
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in stdout.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    Relay {
        child,
        info_url_port: info_port.expect("relay printed its info endpoint"),
        log,
    }
}

fn fetch_info(port: u16) -> serde_json::Value {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: relay\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access-control-allow-origin: *"));
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(body).unwrap()
}

/// Whether the relay has closed `socket` (end of stream, or reset), waiting at most `patience`.
fn closed_within(socket: &mut TcpStream, patience: Duration) -> bool {
    socket.set_read_timeout(Some(patience)).unwrap();
    let mut byte = [0u8; 1];
    match socket.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => !matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn the_info_endpoint_closes_silent_connections_and_refuses_past_its_cap() {
    let key = std::env::temp_dir().join(format!("relay-info-{}.key", std::process::id()));
    let relay = start_relay_with(
        &key,
        &["--info-timeout-seconds", "1", "--max-info-connections", "3"],
    );
    let connect = || TcpStream::connect(("127.0.0.1", relay.info_url_port)).unwrap();
    let mut silent: Vec<TcpStream> = (0..3).map(|_| connect()).collect();
    // Let the relay accept the three before the fourth comes.
    std::thread::sleep(Duration::from_millis(200));
    let mut over_cap = connect();
    assert!(
        closed_within(&mut over_cap, Duration::from_millis(500)),
        "a fourth connection past --max-info-connections 3 is closed at once"
    );
    for (n, socket) in silent.iter_mut().enumerate() {
        assert!(
            closed_within(socket, Duration::from_secs(5)),
            "silent connection {n} is closed after --info-timeout-seconds 1"
        );
    }
    // Their places are free again: the page still gets its answer.
    assert!(fetch_info(relay.info_url_port)["peer_id"].is_string());
}

/// The relay's address of one kind, from its info endpoint: `/ws/` for WebSocket, `/tcp/` for
/// plain TCP (the first address that is not WebSocket).
fn relay_address(info: &serde_json::Value, kind: &str) -> Multiaddr {
    info["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .find(|a| {
            if kind == "/ws/" {
                a.contains("/ws/")
            } else {
                !a.contains("/ws")
            }
        })
        .unwrap_or_else(|| panic!("the relay lists a {kind} address: {info}"))
        .parse()
        .unwrap()
}

/// The same peer the page runs, natively: WebSocket, noise, yamux, identify, ping.
fn websocket_peer() -> (peer::Handle, testbed::EventStream) {
    websocket_peer_with(None)
}

/// A tab's peer that also runs Kademlia with `dht`.
fn websocket_peer_with(dht: Option<testbed::dht::Config>) -> (peer::Handle, testbed::EventStream) {
    let (sink, events) = EventSink::new();
    let peer = peer::Handle::start::<RoomPeer>(
        peer::Config {
            keypair: Keypair::generate_ed25519(),
            measure_round_trips: true,
            pace: testbed::pace::Pace::default(),
            wire: None,
            dht,
            ice: Default::default(),
        },
        sink,
    )
    .unwrap();
    (peer, events)
}

#[tokio::test]
async fn a_websocket_peer_identifies_and_pings_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let ws_address = relay_address(&info, "/ws/");

    let (peer, mut events) = websocket_peer();
    let relay_id = tokio::time::timeout(PATIENCE, peer.dial(None, ws_address))
        .await
        .expect("dial answered")
        .expect("dial works");
    assert_eq!(relay_id.to_string(), info["peer_id"].as_str().unwrap());

    let (mut identified, mut rtt) = (None, None);
    tokio::time::timeout(PATIENCE, async {
        while identified.is_none() || rtt.is_none() {
            match events.next().await.expect("events flow").kind {
                EventKind::Identified {
                    remote,
                    agent,
                    protocols,
                } if remote == relay_id => identified = Some((agent, protocols)),
                EventKind::RoundTrip { remote, rtt_ms } if remote == relay_id => rtt = Some(rtt_ms),
                _ => {}
            }
        }
    })
    .await
    .expect("identify and ping answered");

    let (agent, protocols) = identified.unwrap();
    assert!(agent.starts_with("p2p-testbed-relay/"), "{agent}");
    assert!(
        protocols
            .iter()
            .any(|p| p == "/libp2p/circuit/relay/0.2.0/hop"),
        "{protocols:?}"
    );
}

#[test]
fn the_relay_keeps_its_peer_id_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("relay.key");
    let first = fetch_info(start_relay(&key).info_url_port)["peer_id"].clone();
    let second = fetch_info(start_relay(&key).info_url_port)["peer_id"].clone();
    assert_eq!(first, second);
}

/// A native peer of a room: TCP, noise, yamux and a rendezvous client, its own listen address
/// confirmed as external (a registration carries the addresses others can dial).
async fn room_peer() -> libp2p::Swarm<libp2p::rendezvous::client::Behaviour> {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| libp2p::rendezvous::client::Behaviour::new(key.clone()))
        .unwrap()
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let address = tokio::time::timeout(PATIENCE, async {
        loop {
            if let libp2p::swarm::SwarmEvent::NewListenAddr { address, .. } =
                swarm.select_next_some().await
            {
                break address;
            }
        }
    })
    .await
    .expect("the room peer listens on TCP");
    swarm.add_external_address(address);
    swarm
}

/// Drives `swarm` until `pick` takes one of its rendezvous events.
async fn until<T>(
    swarm: &mut libp2p::Swarm<libp2p::rendezvous::client::Behaviour>,
    mut pick: impl FnMut(libp2p::rendezvous::client::Event) -> Option<T>,
) -> T {
    until_event(swarm, |event| match event {
        libp2p::swarm::SwarmEvent::Behaviour(event) => pick(event),
        libp2p::swarm::SwarmEvent::OutgoingConnectionError { error, .. } => {
            panic!("could not reach the relay: {error}")
        }
        _ => None,
    })
    .await
}

#[tokio::test]
async fn peers_of_a_room_find_each_other_at_the_relays_rendezvous_point() {
    use libp2p::rendezvous::{client::Event, Namespace};
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let relay_id: libp2p::PeerId = info["peer_id"].as_str().unwrap().parse().unwrap();
    let tcp_address = relay_address(&info, "/tcp/");
    let room = Namespace::from_static("room-blue");

    let mut alice = room_peer().await;
    alice.dial(tcp_address.clone()).unwrap();
    // Registering needs the connection: wait for it, then register in the room.
    until_event(&mut alice, |event| match event {
        libp2p::swarm::SwarmEvent::ConnectionEstablished { peer_id, .. } => {
            (peer_id == relay_id).then_some(())
        }
        _ => None,
    })
    .await;
    alice
        .behaviour_mut()
        .register(room.clone(), relay_id, None)
        .unwrap();
    let registered = until(&mut alice, |event| match event {
        Event::Registered { namespace, .. } => Some(Ok(namespace)),
        Event::RegisterFailed { error, .. } => Some(Err(format!("{error:?}"))),
        _ => None,
    })
    .await;
    assert_eq!(registered, Ok(room.clone()));

    let mut bob = room_peer().await;
    bob.dial(tcp_address).unwrap();
    bob.behaviour_mut()
        .discover(Some(room.clone()), None, None, relay_id);
    let found = until(&mut bob, |event| match event {
        Event::Discovered { registrations, .. } => Some(registrations),
        Event::DiscoverFailed { error, .. } => panic!("discover failed: {error:?}"),
        _ => None,
    })
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].record.peer_id(), *alice.local_peer_id());
    assert!(!found[0].record.addresses().is_empty());

    // Another room is empty.
    bob.behaviour_mut().discover(
        Some(Namespace::from_static("room-red")),
        None,
        None,
        relay_id,
    );
    let other = until(&mut bob, |event| match event {
        Event::Discovered { registrations, .. } => Some(registrations),
        _ => None,
    })
    .await;
    assert!(other.is_empty(), "{other:?}");
}

#[derive(libp2p::swarm::NetworkBehaviour)]
struct CircuitPeer {
    relay: libp2p::relay::client::Behaviour,
    ping: libp2p::ping::Behaviour,
}

/// A native peer that can reserve a slot at a relay and dial through one, and pings whoever it
/// is connected to.
fn circuit_peer() -> libp2p::Swarm<CircuitPeer> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_relay_client(libp2p::noise::Config::new, libp2p::yamux::Config::default)
        .unwrap()
        .with_behaviour(|_, relay| CircuitPeer {
            relay,
            ping: libp2p::ping::Behaviour::new(
                libp2p::ping::Config::new().with_interval(Duration::from_millis(100)),
            ),
        })
        .unwrap()
        .build()
}

/// Drives `swarm` until `pick` takes one of its events.
async fn until_event<B: libp2p::swarm::NetworkBehaviour, T>(
    swarm: &mut libp2p::Swarm<B>,
    mut pick: impl FnMut(libp2p::swarm::SwarmEvent<B::ToSwarm>) -> Option<T>,
) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(found) = pick(swarm.select_next_some().await) {
                return found;
            }
        }
    })
    .await
    .expect("it happened in time")
}

#[tokio::test]
async fn a_reservation_a_circuit_through_it_and_the_reservation_limit() {
    use libp2p::multiaddr::Protocol;
    use libp2p::swarm::SwarmEvent;
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay_with(&dir.path().join("relay.key"), &["--max-reservations", "1"]);
    let info = fetch_info(relay.info_url_port);
    let circuit = relay_address(&info, "/tcp/").with(Protocol::P2pCircuit);

    // Alice reserves a slot: she can be reached through the relay.
    let mut alice = circuit_peer();
    alice.listen_on(circuit.clone()).unwrap();
    until_event(&mut alice, |event| match event {
        SwarmEvent::Behaviour(CircuitPeerEvent::Relay(
            libp2p::relay::client::Event::ReservationReqAccepted { .. },
        )) => Some(()),
        SwarmEvent::ListenerClosed { reason, .. } => panic!("reservation refused: {reason:?}"),
        _ => None,
    })
    .await;

    // Bob dials her through it (/…/p2p/RELAY/p2p-circuit/p2p/ALICE) and they ping.
    let alice_id = *alice.local_peer_id();
    let mut bob = circuit_peer();
    bob.dial(circuit.clone().with(Protocol::P2p(alice_id)))
        .unwrap();
    let bob_sees = tokio::spawn(async move {
        until_event(&mut bob, |event| match event {
            SwarmEvent::Behaviour(CircuitPeerEvent::Ping(libp2p::ping::Event {
                peer,
                result: Ok(rtt),
                ..
            })) if peer == alice_id => Some(rtt),
            SwarmEvent::OutgoingConnectionError { error, .. } => panic!("circuit failed: {error}"),
            _ => None,
        })
        .await
    });
    let inbound = until_event(&mut alice, |event| match event {
        SwarmEvent::Behaviour(CircuitPeerEvent::Relay(
            libp2p::relay::client::Event::InboundCircuitEstablished { src_peer_id, .. },
        )) => Some(src_peer_id),
        _ => None,
    })
    .await;
    // Keep Alice answering while Bob waits for his ping.
    let alice_runs = tokio::spawn(async move {
        loop {
            alice.select_next_some().await;
        }
    });
    let rtt = bob_sees.await.unwrap();
    assert!(rtt > Duration::ZERO);

    // With --max-reservations 1, a second peer is refused a slot, and told so.
    let mut carol = circuit_peer();
    carol.listen_on(circuit).unwrap();
    let refused = until_event(&mut carol, |event| match event {
        SwarmEvent::ListenerClosed {
            reason: Err(error), ..
        } => Some(error.to_string()),
        SwarmEvent::ListenerError { error, .. } => Some(error.to_string()),
        SwarmEvent::Behaviour(CircuitPeerEvent::Relay(
            libp2p::relay::client::Event::ReservationReqAccepted { .. },
        )) => panic!("a second reservation was accepted past the limit"),
        _ => None,
    })
    .await;
    assert!(!refused.is_empty());
    let why = relay.logged("reservation refused").await;
    assert!(
        why.ends_with("1 held, --max-reservations 1 reached"),
        "{why}"
    );
    println!(
        "circuit from {inbound}; ping {rtt:?}; second reservation refused: {refused}; relay: {why}"
    );
    alice_runs.abort();
}

/// What the relay process holds in memory now, from /proc (Linux), in KiB.
fn resident_kib(relay: &Relay) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", relay.child.id())).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn garbage_and_oversized_frames_on_the_websocket_leave_the_relay_up() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let ws = relay_address(&info, "/ws/");
    let port = ws
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    let before = resident_kib(&relay);

    // 200 connections at once: raw junk; a WebSocket upgrade followed by junk frames; one
    // frame that claims to be 2^62 bytes long.
    let upgrade = "GET / HTTP/1.1\r\nhost: relay\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n";
    let mut junk: Vec<Vec<u8>> = Vec::new();
    for i in 0..200u32 {
        let mut bytes = Vec::new();
        match i % 3 {
            0 => bytes.extend((0..4096).map(|b| (b * 31 + i) as u8)),
            1 => {
                bytes.extend(upgrade.as_bytes());
                // Masked binary frames of garbage: a valid WebSocket, not valid multistream.
                for _ in 0..8 {
                    bytes.extend([0x82, 0x80 | 125, 1, 2, 3, 4]);
                    bytes.extend((0..125).map(|b| (b ^ i) as u8));
                }
            }
            _ => {
                bytes.extend(upgrade.as_bytes());
                bytes.extend([0x82, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
                bytes.extend([0u8; 1024]);
            }
        }
        junk.push(bytes);
    }
    let senders: Vec<_> = junk
        .into_iter()
        .map(|bytes| {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(mut socket) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                else {
                    return (false, false);
                };
                let _ = socket.write_all(&bytes).await;
                // Read until the relay closes it (an end of stream or a reset).
                let mut sink = [0u8; 1024];
                let closed = tokio::time::timeout(PATIENCE, async {
                    while let Ok(n) = socket.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                })
                .await
                .is_ok();
                (true, closed)
            })
        })
        .collect();
    let (mut connected, mut closed) = (0, 0);
    for sender in senders {
        let (made, ended) = sender.await.unwrap();
        connected += usize::from(made);
        closed += usize::from(ended);
    }
    assert_eq!(connected, 200, "every junk connection was accepted");
    assert_eq!(closed, connected, "the relay closed every junk connection");

    // Still up: its info endpoint answers and a real peer is identified and pinged.
    assert_eq!(fetch_info(relay.info_url_port)["peer_id"], info["peer_id"]);
    let (peer, mut events) = websocket_peer();
    let relay_id = tokio::time::timeout(PATIENCE, peer.dial(None, ws))
        .await
        .expect("dial answered")
        .expect("the relay still takes connections");
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let EventKind::RoundTrip { remote, .. } = events.next().await.unwrap().kind {
                if remote == relay_id {
                    break;
                }
            }
        }
    })
    .await
    .expect("the relay still answers pings");
    let after = resident_kib(&relay);
    println!("relay resident memory before and after the junk: {before:?} KiB, {after:?} KiB");
}

/// A snapshot across tabs as it really happened, from the tabs' reports in one order.
struct CrossTabTruth {
    /// The balance each tab recorded.
    balances: std::collections::HashMap<libp2p::PeerId, u64>,
    /// Per channel (from, to): the amounts sent before the sender recorded and received after
    /// the receiver did, in order.
    in_flight: std::collections::HashMap<(libp2p::PeerId, libp2p::PeerId), Vec<u64>>,
}

fn truth_of(
    log: &[(libp2p::PeerId, testbed::room::tokens::Happened)],
    id: testbed::snapshot::machine::SnapshotId<libp2p::PeerId>,
    tabs: &[libp2p::PeerId],
) -> CrossTabTruth {
    use testbed::room::tokens::Happened;
    let mut cut = std::collections::HashMap::new();
    let mut balances = std::collections::HashMap::new();
    for (at, (tab, happened)) in log.iter().enumerate() {
        if let Happened::Recorded {
            id: recorded,
            balance,
        } = happened
        {
            if *recorded == id {
                cut.insert(*tab, at);
                balances.insert(*tab, *balance);
            }
        }
    }
    let mut in_flight = std::collections::HashMap::new();
    for &from in tabs {
        for &to in tabs.iter().filter(|&&to| to != from) {
            // Where in the log, and how many tokens: each send on the channel, each receipt.
            let on_channel = |pick: &dyn Fn(&libp2p::PeerId, &Happened) -> Option<u64>| {
                log.iter()
                    .enumerate()
                    .filter_map(|(at, (tab, h))| pick(tab, h).map(|amount| (at, amount)))
                    .collect::<Vec<(usize, u64)>>()
            };
            let sent = on_channel(&|tab, h| match h {
                Happened::Sent { to: t, amount } if *tab == from && *t == to => Some(*amount),
                _ => None,
            });
            let received = on_channel(&|tab, h| match h {
                Happened::Received { from: f, amount } if *tab == to && *f == from => Some(*amount),
                _ => None,
            });
            let (sender_cut, receiver_cut) = (cut[&from], cut[&to]);
            let mut crossing = Vec::new();
            for (k, &(sent_at, amount)) in sent.iter().enumerate() {
                let arrival = received.get(k);
                if let Some(&(_, got)) = arrival {
                    assert_eq!(got, amount, "channel {from} → {to} delivers in order");
                }
                let received_at = arrival.map(|&(at, _)| at);
                assert!(
                    !(received_at.is_some_and(|at| at < receiver_cut) && sent_at > sender_cut),
                    "tokens received before the receiver's cut were sent after the sender's"
                );
                if sent_at < sender_cut && received_at.is_none_or(|at| at > receiver_cut) {
                    crossing.push(amount);
                }
            }
            in_flight.insert((from, to), crossing);
        }
    }
    CrossTabTruth {
        balances,
        in_flight,
    }
}

/// The relay's WebSocket address with its PeerId: where a tab reserves.
fn relay_websocket_address(info: &serde_json::Value) -> (Multiaddr, libp2p::PeerId) {
    let relay: libp2p::PeerId = info["peer_id"].as_str().unwrap().parse().unwrap();
    let address = relay_address(info, "/ws/");
    match testbed::room::relay_of(&address) {
        Some(_) => (address, relay),
        None => (address.with(libp2p::multiaddr::Protocol::P2p(relay)), relay),
    }
}

#[tokio::test]
async fn tabs_in_a_room_find_each_other_and_ping_through_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let (relay_at, relay_id) = relay_websocket_address(&info);

    // Two tabs' peers, as the page runs them: each reserves a slot and joins room "blue".
    let (alice, _alice_events) = websocket_peer();
    let (bob, mut bob_events) = websocket_peer();
    for tab in [&alice, &bob] {
        let circuit = tokio::time::timeout(PATIENCE, tab.reserve(relay_at.clone()))
            .await
            .expect("reservation answered")
            .expect("reservation accepted");
        assert_eq!(
            testbed::room::relay_in_circuit(&circuit),
            Some(relay_id),
            "{circuit}"
        );
        tokio::time::timeout(PATIENCE, tab.register("blue".into(), relay_id))
            .await
            .expect("registration answered")
            .expect("registered");
    }
    let found = tokio::time::timeout(PATIENCE, bob.discover("blue".into(), relay_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.len(), 1, "bob finds alice and not himself: {found:?}");
    assert_eq!(found[0].0, alice.peer_id());
    let nobody = bob.discover("red".into(), relay_id).await.unwrap();
    assert!(nobody.is_empty(), "{nobody:?}");

    // Bob dials alice through the relay; the testbed's ping runs both ways on the circuit.
    let circuit = testbed::room::circuit_address(&relay_at, alice.peer_id());
    let reached = tokio::time::timeout(PATIENCE, bob.dial(Some(alice.peer_id()), circuit))
        .await
        .unwrap()
        .expect("circuit dial works");
    assert_eq!(reached, alice.peer_id());
    let pong = tokio::time::timeout(PATIENCE, bob.ping(alice.peer_id(), "1".into()))
        .await
        .unwrap()
        .expect("bob's ping answered");
    assert!(
        pong.ping_received.is_some(),
        "the PONG says when its PING arrived"
    );
    tokio::time::timeout(PATIENCE, alice.ping(bob.peer_id(), "2".into()))
        .await
        .unwrap()
        .expect("alice's ping answered over the same circuit");

    // Bob's own events name the circuit and the room.
    let mut seen = (false, false);
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), bob_events.next()).await
    {
        match event.kind {
            EventKind::Room(RoomStep::CircuitOpened {
                relay,
                remote,
                dialer: true,
            }) => {
                assert_eq!((relay, remote), (relay_id, alice.peer_id()));
                seen.0 = true;
            }
            EventKind::Room(RoomStep::Discovered { peers, .. }) if peers == [alice.peer_id()] => {
                seen.1 = true
            }
            _ => {}
        }
    }
    assert_eq!(
        seen,
        (true, true),
        "circuit opened and room discovered, in bob's events"
    );
}

#[tokio::test]
async fn a_bad_room_name_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let (relay_at, relay_id) = relay_websocket_address(&info);
    let (tab, _events) = websocket_peer();
    tab.reserve(relay_at).await.unwrap();
    let error = tab
        .register("x".repeat(300), relay_id)
        .await
        .expect_err("a namespace longer than 255 bytes is refused");
    assert!(error.to_string().contains("registration"), "{error}");
}

#[tokio::test]
async fn a_record_put_in_one_tab_is_found_from_another_through_the_relay() {
    use testbed::dht::LookupRequest;
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let (relay_at, relay_id) = relay_websocket_address(&info);

    // Three tabs in one room, each dialing the ones already there through the relay.
    let mut tabs: Vec<(peer::Handle, testbed::EventStream)> = Vec::new();
    for _ in 0..3 {
        let (tab, events) = websocket_peer_with(Some(dht::Config::default()));
        tab.reserve(relay_at.clone()).await.unwrap();
        tab.register("dht".into(), relay_id).await.unwrap();
        for (other, _) in tab.discover("dht".into(), relay_id).await.unwrap() {
            let circuit = testbed::room::circuit_address(&relay_at, other);
            tokio::time::timeout(PATIENCE, tab.dial(Some(other), circuit))
                .await
                .unwrap()
                .expect("circuit dial works");
        }
        tabs.push((tab, events));
    }
    // Identify tells each peer that the others speak Kademlia, and where: their circuit
    // addresses. Wait until every routing table holds the two other tabs.
    tokio::time::timeout(PATIENCE, async {
        for (tab, _) in &tabs {
            while tab.routing_table().await.unwrap().peers().count() < 2 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    })
    .await
    .expect("every tab knows the two others");

    let (key, value) = (b"greeting".to_vec(), b"hello from tab 0".to_vec());
    let put = tabs[0]
        .0
        .lookup(LookupRequest::PutRecord {
            key: key.clone(),
            value: value.clone(),
        })
        .await
        .unwrap();
    assert_eq!(put.error, None, "{put:?}");
    let got = tabs[2]
        .0
        .lookup(LookupRequest::GetRecord { key, quorum: 1 })
        .await
        .unwrap();
    assert_eq!(got.value, Some(value), "{got:?}");
    assert!(
        got.holders.iter().any(|h| *h != tabs[2].0.peer_id()),
        "found at another tab: {got:?}"
    );
    assert!(got.requests >= 1, "{got:?}");

    // Tab 2 read its GET_VALUE requests and their answers off the circuits' streams: the
    // room's diagram draws them; libp2p-kad's own upkeep is told apart as background.
    let mut kad = Vec::new();
    while let Ok(event) = tabs[2].1.try_recv() {
        if let EventKind::Room(RoomStep::Kad {
            sent,
            label,
            background: false,
            ..
        }) = event.kind
        {
            kad.push((sent, label));
        }
    }
    assert!(kad.contains(&(true, "GET_VALUE".to_owned())), "{kad:?}");
    assert!(
        kad.iter()
            .any(|(sent, label)| !sent && label.starts_with("↩ record")),
        "an answer with the record: {kad:?}"
    );
}

#[tokio::test]
async fn a_peer_reaches_the_relay_over_webrtc_direct() {
    use libp2p::swarm::SwarmEvent;
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let address: Multiaddr = info["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .find(|a| a.contains("/webrtc-direct/certhash/"))
        .unwrap_or_else(|| panic!("the relay lists a WebRTC-direct address: {info}"))
        .parse()
        .unwrap();
    let mut peer = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(|key| {
            use libp2p::Transport;
            let certificate =
                libp2p_webrtc::tokio::Certificate::generate(&mut rand::rng()).unwrap();
            libp2p_webrtc::tokio::Transport::new(key.clone(), certificate).map(
                |(peer, connection), _| {
                    (peer, libp2p::core::muxing::StreamMuxerBox::new(connection))
                },
            )
        })
        .unwrap()
        .with_behaviour(|_| libp2p::ping::Behaviour::default())
        .unwrap()
        .build();
    // A native WebRTC peer dials from the UDP socket it listens on.
    peer.listen_on("/ip4/127.0.0.1/udp/0/webrtc-direct".parse().unwrap())
        .unwrap();
    until_event(&mut peer, |event| {
        matches!(event, SwarmEvent::NewListenAddr { .. }).then_some(())
    })
    .await;
    peer.dial(address).unwrap();
    let relay_id: libp2p::PeerId = info["peer_id"].as_str().unwrap().parse().unwrap();
    let (pinged, rtt) = until_event(&mut peer, |event| match event {
        SwarmEvent::Behaviour(libp2p::ping::Event {
            peer,
            result: Ok(rtt),
            ..
        }) => Some((peer, rtt)),
        SwarmEvent::OutgoingConnectionError { error, .. } => {
            panic!("WebRTC dial failed: {error}")
        }
        _ => None,
    })
    .await;
    assert_eq!(pinged, relay_id);
    assert!(rtt < PATIENCE);

    // The certificate is kept with the key: a restarted relay has the same WebRTC address.
    drop(relay);
    let again = start_relay(&dir.path().join("relay.key"));
    let info_again = fetch_info(again.info_url_port);
    let hash = |info: &serde_json::Value| {
        info["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str()?.split("/certhash/").nth(1).map(str::to_owned))
            .next()
    };
    assert_eq!(hash(&info), hash(&info_again));
}

/// `n` tabs' peers, each holding a reservation on the relay at `relay_at`.
async fn reserved_tabs(
    relay_at: &Multiaddr,
    n: usize,
) -> Vec<(peer::Handle, testbed::EventStream)> {
    let mut tabs = Vec::new();
    for _ in 0..n {
        let (tab, events) = websocket_peer();
        tokio::time::timeout(PATIENCE, tab.reserve(relay_at.clone()))
            .await
            .expect("reservation answered")
            .expect("reservation accepted");
        tabs.push((tab, events));
    }
    tabs
}

/// Dials `to` from `from` through the relay; the error's text when refused.
async fn dial_circuit(
    from: &peer::Handle,
    to: &peer::Handle,
    relay_at: &Multiaddr,
) -> Result<(), String> {
    let circuit = testbed::room::circuit_address(relay_at, to.peer_id());
    tokio::time::timeout(PATIENCE, from.dial(Some(to.peer_id()), circuit))
        .await
        .expect("the dial is answered, not left hanging")
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Dials `to` from `from` through the relay and expects the relay to refuse the circuit, and
/// to log which of its limits (`limit`, the end of the log line) refused it.
async fn expect_refused(
    relay: &Relay,
    (from, to): (&peer::Handle, &peer::Handle),
    relay_at: &Multiaddr,
    limit: &str,
) {
    let refused = dial_circuit(from, to, relay_at).await.expect_err(limit);
    assert!(
        refused.contains("resource limit exceeded"),
        "{limit}: {refused}"
    );
    let line = relay
        .logged(&format!(
            "circuit refused: {} → {}",
            from.peer_id(),
            to.peer_id()
        ))
        .await;
    assert!(line.ends_with(limit), "{line}");
}

/// A relay with `flags`, and its WebSocket address.
fn relay_with(dir: &tempfile::TempDir, flags: &[&str]) -> (Relay, Multiaddr) {
    let relay = start_relay_with(&dir.path().join("relay.key"), flags);
    let (relay_at, _) = relay_websocket_address(&fetch_info(relay.info_url_port));
    (relay, relay_at)
}

#[tokio::test]
async fn the_relay_refuses_circuits_past_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, relay_at) = relay_with(&dir, &["--max-circuits", "1"]);
    let tabs = reserved_tabs(&relay_at, 3).await;
    dial_circuit(&tabs[1].0, &tabs[0].0, &relay_at)
        .await
        .unwrap();
    expect_refused(
        &relay,
        (&tabs[2].0, &tabs[0].0),
        &relay_at,
        "1 circuits open, --max-circuits 1 reached",
    )
    .await;
}

#[tokio::test]
async fn the_relay_refuses_circuits_past_the_limit_per_peer() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, relay_at) = relay_with(&dir, &["--max-circuits-per-peer", "1"]);
    let tabs = reserved_tabs(&relay_at, 4).await;
    // libp2p refuses a peer's request once it already has more than the limit (so the
    // limit's own count, plus one, go through).
    dial_circuit(&tabs[0].0, &tabs[1].0, &relay_at)
        .await
        .unwrap();
    dial_circuit(&tabs[0].0, &tabs[2].0, &relay_at)
        .await
        .unwrap();
    expect_refused(
        &relay,
        (&tabs[0].0, &tabs[3].0),
        &relay_at,
        "it has 2 circuits, over --max-circuits-per-peer 1",
    )
    .await;
    // Others still get theirs.
    dial_circuit(&tabs[3].0, &tabs[1].0, &relay_at)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_relay_ends_a_circuit_after_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, relay_at) = relay_with(&dir, &["--max-circuit-seconds", "1"]);
    let mut tabs = reserved_tabs(&relay_at, 2).await;
    let alice = tabs[0].0.peer_id();
    dial_circuit(&tabs[1].0, &tabs[0].0, &relay_at)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let events = &mut tabs[1].1;
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let EventKind::ConnectionClosed { remote, .. } = events.next().await.unwrap().kind {
                if remote == alice {
                    return;
                }
            }
        }
    })
    .await
    .expect("the relay closed the circuit");
    let lasted = started.elapsed();
    // Bounds far from the second asked for, so a busy machine passes: below is the flag not
    // honoured at all, above libp2p's own default of two minutes.
    assert!(
        lasted >= Duration::from_millis(900) && lasted < Duration::from_secs(60),
        "closed after {lasted:?}"
    );
    let line = relay.logged("circuit closed").await;
    assert!(
        line.ends_with("(--max-circuit-seconds 1 ran out)"),
        "{line}"
    );
}

#[tokio::test]
async fn the_relay_ends_a_circuit_past_its_bytes() {
    use testbed::protocols::transfer::Request;
    let dir = tempfile::tempdir().unwrap();
    let (relay, relay_at) = relay_with(&dir, &["--max-circuit-bytes", "65536"]);
    let tabs = reserved_tabs(&relay_at, 2).await;
    let (alice, bob) = (&tabs[0].0, &tabs[1].0);
    dial_circuit(bob, alice, &relay_at).await.unwrap();
    let small = Request {
        bytes: 8 * 1024,
        read_delay_ms: 0,
    };
    bob.transfer(alice.peer_id(), small, None)
        .await
        .expect("8 KiB fit in the circuit's 64 KiB");
    let large = Request {
        bytes: 1024 * 1024,
        read_delay_ms: 0,
    };
    let cut = tokio::time::timeout(PATIENCE, bob.transfer(alice.peer_id(), large, None))
        .await
        .expect("the transfer ends, not hangs");
    assert!(
        cut.is_err(),
        "1 MiB went through a circuit limited to 64 KiB"
    );
    let line = relay.logged("circuit closed").await;
    assert!(
        line.ends_with("(--max-circuit-bytes 65536 carried)"),
        "{line}"
    );
}

#[tokio::test]
async fn a_chandy_lamport_snapshot_across_tabs_adds_up() {
    use testbed::room::tokens::{Happened, Outcome, RoomTokens, INITIAL_TOKENS};
    // Everything every tab did, in one order: the ground truth, kept apart from the snapshot.
    let log: Arc<Mutex<Vec<(libp2p::PeerId, Happened)>>> = Arc::default();
    let observer: testbed::room::tokens::Observer = {
        let log = log.clone();
        Arc::new(move |tab, happened| log.lock().unwrap().push((tab, happened.clone())))
    };
    let dir = tempfile::tempdir().unwrap();
    let (_relay, relay_at) = relay_with(&dir, &[]);
    let mut tabs = reserved_tabs(&relay_at, 3).await;
    for (i, (a, _)) in tabs.iter().enumerate() {
        for (b, _) in &tabs[i + 1..] {
            dial_circuit(a, b, &relay_at).await.unwrap();
        }
    }
    // Every tab holds tokens and has a FIFO channel to each other tab, both ways.
    let mut apps = Vec::new();
    for (tab, _) in &tabs {
        apps.push(RoomTokens::start_observed(
            tab.clone(),
            Some(observer.clone()),
        ));
    }
    for (i, (app, _)) in apps.iter().enumerate() {
        for (j, (tab, _)) in tabs.iter().enumerate() {
            if i != j {
                tokio::time::timeout(PATIENCE, app.connect(tab.peer_id()))
                    .await
                    .unwrap()
                    .expect("channel opened");
            }
        }
    }
    // Tokens keep moving while the snapshot runs, so some are in flight when tabs record.
    let movers: Vec<_> = apps
        .iter()
        .enumerate()
        .map(|(i, (app, _))| {
            let app = app.clone();
            let others: Vec<libp2p::PeerId> = app.channels();
            tokio::spawn(async move {
                for n in 0..200u64 {
                    let to = others[(n as usize + i) % others.len()];
                    let _ = app.send(to, 1 + n % 7);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Tokens sent to the initiator just before it records (no await between: they cannot have
    // arrived) are on their way across the cut: the snapshot must find them in flight.
    apps[1].0.send(tabs[0].0.peer_id(), 9).unwrap();
    let id = apps[0].0.snapshot();
    let outcome = tokio::time::timeout(PATIENCE, apps[0].1.next())
        .await
        .expect("the snapshot ends")
        .expect("an outcome");
    for mover in movers {
        mover.await.unwrap();
    }
    let Outcome::Complete { id: done, parts } = outcome else {
        panic!("incomplete: {outcome:?}");
    };
    assert_eq!(done, id);
    assert_eq!(parts.len(), 3, "every tab's part came to the initiator");
    let ids: Vec<libp2p::PeerId> = tabs.iter().map(|(tab, _)| tab.peer_id()).collect();
    let truth = truth_of(&log.lock().unwrap(), id, &ids);
    for part in &parts {
        assert_eq!(
            part.state, truth.balances[&part.peer],
            "the balance recorded"
        );
        for &from in ids.iter().filter(|&&from| from != part.peer) {
            let recorded = part.channels.get(&from).cloned().unwrap_or_default();
            assert_eq!(
                recorded,
                truth.in_flight[&(from, part.peer)],
                "the tokens recorded on the channel {from} → {}: those sent before the sender's cut and received after the receiver's",
                part.peer
            );
        }
    }
    let in_flight: u64 = truth.in_flight.values().flatten().sum();
    assert!(
        in_flight >= 9,
        "the tokens sent across the cut were in flight"
    );
    println!("snapshot {done}: {in_flight} tokens recorded in flight, as the ground truth says");
    assert_eq!(
        Outcome::total(&parts),
        3 * INITIAL_TOKENS,
        "balances plus tokens in flight add up: {parts:?}"
    );
    // After the movers stop and their tokens land, the balances alone add up too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let balances: u64 = apps.iter().map(|(app, _)| app.balance()).sum();
    assert_eq!(balances, 3 * INITIAL_TOKENS);

    // Each tab sees only its own events, yet draws both ends of what came over its channels:
    // each packet carries its send's trace context, Lamport time and clock.
    let me = tabs[0].0.peer_id();
    let mut trace = testbed::trace::Trace::across_tabs(0.0);
    while let Ok(event) = tabs[0].1.try_recv() {
        trace.apply(&event);
    }
    let from_others: Vec<_> = trace
        .messages()
        .filter(|m| m.to == me && m.from != me)
        .collect();
    let kinds = |kind| from_others.iter().filter(|m| m.kind == kind).count();
    let received = log
        .lock()
        .unwrap()
        .iter()
        .filter(|(tab, happened)| *tab == me && matches!(happened, Happened::Received { .. }))
        .count();
    assert_eq!(
        kinds(MessageKind::Tokens),
        received,
        "every transfer this tab received is drawn, from its send in the other tab"
    );
    assert_eq!(
        kinds(MessageKind::Marker),
        2,
        "a marker from each other tab"
    );
    assert!(from_others.iter().all(|m| m.received.is_some()
        && m.sent.lamport.is_some_and(|sent| m
            .received
            .unwrap()
            .lamport
            .is_some_and(|got| got > sent))));
    assert!(trace.messages().any(|m| m.from == me
        && m.kind == MessageKind::Marker
        && m.label.starts_with("marker S…")));
}

/// The relay's info endpoint read over a socket, as the page's fetch reads it.
async fn fetch_over_socket(url: String) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let absent = || format!("no relay answered at {url}");
    let host_port = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut socket = tokio::net::TcpStream::connect(&host_port)
        .await
        .map_err(|_| absent())?;
    socket
        .write_all(b"GET / HTTP/1.1\r\nhost: relay\r\n\r\n")
        .await
        .map_err(|_| absent())?;
    let mut response = String::new();
    socket
        .read_to_string(&mut response)
        .await
        .map_err(|_| absent())?;
    Ok(response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned())
}

/// A tab's link, as the page runs it: its own peer, the loop on the runtime, the page's
/// queues drained.
fn tab_link(info_url: &str, room: &str) -> testbed::room::link::Link {
    use testbed::room::link::{Link, Transport};
    let (peer, events) = websocket_peer_with(Some(dht::Config::default()));
    let (link, updates, runner) = Link::start(
        peer,
        events,
        Some(room.into()),
        info_url.into(),
        Transport::WebSocket,
    );
    tokio::spawn(runner.run(fetch_over_socket));
    let testbed::room::link::Updates {
        mut events,
        mut changed,
        mut outcomes,
    } = updates;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(_) = events.next() => {}
                Some(_) = changed.next() => {}
                Some(_) = outcomes.next() => {}
                else => break,
            }
        }
    });
    link
}

/// Polls `check` on the link's state until it holds (a hang guard, not a timing assertion).
async fn until_state(
    link: &testbed::room::link::Link,
    what: &str,
    check: impl Fn(&testbed::room::link::State) -> bool,
) {
    let held = tokio::time::timeout(PATIENCE, async {
        while !check(&link.state()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(held.is_ok(), "{what}: {:?}", link.state());
}

#[tokio::test]
async fn the_engines_room_link_meets_the_room_and_says_when_the_relay_goes() {
    use testbed::room::link::Status;
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info_url = format!("http://127.0.0.1:{}/", relay.info_url_port);
    let alice = tab_link(&info_url, "green");
    let bob = tab_link(&info_url, "green");

    // Each finds the relay, reserves, registers and discovers the other; one dials the
    // other through the relay (whichever discovers first), and each can ping the other.
    for (tab, other) in [(&alice, bob.me()), (&bob, alice.me())] {
        until_state(tab, "connected to the other tab", |state| {
            matches!(state.status, Status::Connected { .. })
                && state.members.connected().any(|p| p == other)
        })
        .await;
        tab.ping(other);
        until_state(tab, "a round trip to the other tab", |state| {
            state
                .round_trips
                .get(&(other, testbed::room::Path::Relayed))
                .is_some_and(|r| !r.is_empty())
        })
        .await;
        let state = tab.state();
        assert_eq!(state.problem, None);
        assert!(state.members.reservation.is_some(), "a slot is reserved");
        assert!(state
            .address
            .as_ref()
            .is_some_and(|a| testbed::room::relay_of(a) == state.relay));
    }

    // The relay goes: both say so, with a reason and a time to the next try.
    drop(relay);
    for tab in [&alice, &bob] {
        until_state(tab, "the relay's loss is shown", |state| {
            matches!(
                &state.status,
                Status::Lost { reason, retry_in } | Status::Absent { reason, retry_in }
                    if !reason.is_empty() && *retry_in >= 1
            )
        })
        .await;
    }

    // No relay at all: the link says where it looked.
    let lonely = tab_link("http://127.0.0.1:1/", "green");
    until_state(&lonely, "no relay is reported", |state| {
        state.status
            == Status::Absent {
                reason: "no relay answered at http://127.0.0.1:1/".into(),
                retry_in: 1,
            }
    })
    .await;
}
