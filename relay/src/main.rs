//! The p2p-testbed relay: a small native libp2p node that browser peers reach over WebSocket.
//! It answers identify and ping, serves circuit relay v2 and a rendezvous point (one namespace
//! per room, so tabs find each other), and tells the page its addresses through a tiny HTTP
//! info endpoint.

mod event_log;
mod info;
mod key;
mod server;

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Options {
    /// The interface to listen on. The default keeps the relay private to this machine.
    #[arg(long, default_value = "127.0.0.1")]
    listen_ip: IpAddr,
    /// TCP port of the WebSocket listener browsers connect to (0 picks a free port).
    #[arg(long, default_value_t = 4001)]
    ws_port: u16,
    /// TCP port for native libp2p peers (0 picks a free port).
    #[arg(long, default_value_t = 4003)]
    tcp_port: u16,
    /// UDP port of the WebRTC-direct listener, the other way browsers reach the relay
    /// (0 picks a free port).
    #[arg(long, default_value_t = 4004)]
    webrtc_port: u16,
    /// Port of the HTTP info endpoint that gives the page the relay's addresses (0 picks one).
    #[arg(long, default_value_t = 4002)]
    info_port: u16,
    /// Where the relay keeps its private key, so its PeerId stays the same across restarts.
    /// Created on first start. Its WebRTC certificate is kept beside it (`….webrtc.pem`), so
    /// its WebRTC address stays the same too.
    #[arg(long, default_value = "target/relay/identity.key")]
    key_file: PathBuf,
    /// An address other machines reach the relay at (e.g. /ip4/192.168.1.20/tcp/4001/ws), when
    /// it listens behind a NAT or on 0.0.0.0. Confirmed as external, so reservations carry it.
    /// Repeat for several.
    #[arg(long)]
    announce: Vec<libp2p::Multiaddr>,
    /// Most reservations held at once (each tab's peer holds one). libp2p's default is 128.
    #[arg(long, default_value_t = 1024)]
    max_reservations: usize,
    /// Most circuits relayed at once. libp2p's default is 16.
    #[arg(long, default_value_t = 1024)]
    max_circuits: usize,
    /// Circuits to or from one peer at once: a peer's request for another is refused once it
    /// has more than this many (libp2p counts so: one more than the number goes through).
    /// libp2p's default is 4.
    #[arg(long, default_value_t = 64)]
    max_circuits_per_peer: usize,
    /// Seconds a circuit may last before the relay closes it. libp2p's default is 120.
    #[arg(long, default_value_t = 3600)]
    max_circuit_seconds: u64,
    /// Bytes a circuit may carry (each way) before the relay closes it. libp2p's default is
    /// 128 KiB.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_circuit_bytes: u64,
    /// Reservations, and circuits opened, per IP address per minute: a classroom's tabs may all
    /// come from one address. libp2p's default is 60.
    #[arg(long, default_value_t = 2000)]
    max_per_ip_per_minute: u32,
    /// Seconds the info endpoint waits for a request before it closes a silent connection.
    #[arg(long, default_value_t = 5)]
    info_timeout_seconds: u64,
    /// Connections the info endpoint holds at once; one more is closed at once, unanswered.
    #[arg(long, default_value_t = 256)]
    max_info_connections: usize,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let options = Options::parse();
    if let Err(error) = server::run(options).await {
        tracing::error!("relay stopped: {error}");
        std::process::exit(1);
    }
}
