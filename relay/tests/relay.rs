//! Starts the real relay binary and talks to it as a peer would: over WebSocket, with noise,
//! yamux, identify and ping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::Multiaddr;
use testbed::peer::{PeerConfig, PeerHandle, TransportKind};
use testbed::{EventKind, EventSink};

/// A hang guard, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(60);

struct Relay {
    child: Child,
    info_url_port: u16,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_relay(key_file: &std::path::Path) -> Relay {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args([
            "--ws-port",
            "0",
            "--tcp-port",
            "0",
            "--info-port",
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
    for line in stdout.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("info endpoint on http://").nth(1) {
            let port = rest.trim_end_matches('/').rsplit(':').next().unwrap();
            info_port = Some(port.parse().unwrap());
        }
        if line.contains("listening on") {
            listening += 1;
        }
        if info_port.is_some() && listening == 2 {
            break;
        }
    }
    // Keep reading so the relay's later log lines do not hit a closed pipe.
    std::thread::spawn(move || stdout.for_each(drop));
    Relay {
        child,
        info_url_port: info_port.expect("relay printed its info endpoint"),
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

#[tokio::test]
async fn a_websocket_peer_identifies_and_pings_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay(&dir.path().join("relay.key"));
    let info = fetch_info(relay.info_url_port);
    let ws_address: Multiaddr = info["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .find(|a| a.contains("/ws/"))
        .expect("a WebSocket address")
        .parse()
        .unwrap();

    // The same peer the page runs, natively: WebSocket, noise, yamux, identify, ping.
    let (sink, mut events) = EventSink::new();
    let peer = PeerHandle::start(
        PeerConfig {
            keypair: Keypair::generate_ed25519(),
            transport: TransportKind::WebSocket,
            measure_round_trips: true,
            pace: testbed::pace::Pace::default(),
            wire: None,
            dht: None,
        },
        sink,
    )
    .unwrap();
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
