//! Load on one relay: many native clients each reserve a slot, then pairs of them dial each
//! other through the relay (circuits) and ping each other every 100 ms for a while. Prints JSON: clients held, the
//! relay's memory per client, its CPU time per 1,000 pings relayed, and the ping round trip
//! through it. `cargo xtask bench` runs it; `RELAY_BIN` names the relay binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{noise, ping, relay, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::mpsc;

const CLIENTS: usize = 200;
/// `cargo xtask bench --smoke`: that it runs, not what it measures.
const SMOKE_CLIENTS: usize = 4;
/// How long the pairs ping each other through their circuits.
const PINGING: Duration = Duration::from_secs(10);
const PING_INTERVAL: Duration = Duration::from_millis(100);

#[derive(NetworkBehaviour)]
struct Client {
    relay: relay::client::Behaviour,
    ping: ping::Behaviour,
}

fn client() -> Swarm<Client> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .expect("relay client")
        .with_behaviour(|_, relay| Client {
            relay,
            ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_INTERVAL)),
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build()
}

/// What a client reports to the measurement.
enum Report {
    Reserved(PeerId),
    Refused,
    Pinged(Duration),
}

/// The relay's resident memory (KiB) and CPU time so far (clock ticks), from /proc.
fn relay_usage(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (rss, ticks(11) + ticks(12))
}

#[tokio::main]
async fn main() {
    let relay_bin = std::env::var("RELAY_BIN").expect("RELAY_BIN names the relay binary");
    let key = std::env::temp_dir().join(format!("p2p-testbed-load-{}.key", std::process::id()));
    let mut relay = Command::new(relay_bin)
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
        .arg(&key)
        .env("RUST_LOG", "warn,relay=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the relay starts");
    let mut lines = BufReader::new(relay.stdout.take().expect("stdout")).lines();
    let address: Multiaddr = loop {
        let line = lines
            .next()
            .expect("the relay prints its addresses")
            .expect("text");
        if let Some(address) = line.split("listening on ").nth(1) {
            if !address.contains("/ws") {
                break address.trim().parse().expect("a multiaddr");
            }
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let relay_id = address
        .iter()
        .find_map(|p| match p {
            Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .expect("the address names the relay");
    let pid = relay.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (idle_kib, _) = relay_usage(pid);
    let circuit = address.with(Protocol::P2pCircuit);

    // Every client reserves a slot; odd ones then dial the even one before them.
    let (reports, mut inbox) = mpsc::unbounded_channel();
    let (mut targets, mut reserved_ids) = (Vec::new(), Vec::new());
    let smoke = std::env::var_os("BENCH_SMOKE").is_some();
    let (clients, pinging) = if smoke {
        (SMOKE_CLIENTS, Duration::from_secs(1))
    } else {
        (CLIENTS, PINGING)
    };
    let mut swarms: Vec<Swarm<Client>> = (0..clients).map(|_| client()).collect();
    for swarm in &mut swarms {
        swarm
            .listen_on(circuit.clone())
            .expect("listen on the circuit");
    }
    let mut dial_requests = Vec::new();
    for (index, swarm) in swarms.into_iter().enumerate() {
        let reports = reports.clone();
        let (dial, mut dials) = mpsc::unbounded_channel::<Multiaddr>();
        dial_requests.push(dial);
        tokio::spawn(async move {
            let mut swarm = swarm;
            loop {
                tokio::select! {
                    Some(address) = dials.recv() => { let _ = swarm.dial(address); }
                    event = swarm.select_next_some() => match event {
                        SwarmEvent::Behaviour(ClientEvent::Relay(
                            relay::client::Event::ReservationReqAccepted { renewal: false, .. },
                        )) => { let _ = reports.send((index, Report::Reserved(*swarm.local_peer_id()))); }
                        SwarmEvent::ListenerClosed { reason: Err(_), .. } => { let _ = reports.send((index, Report::Refused)); }
                        // Pings of the circuit's other end, not of the relay itself.
                        SwarmEvent::Behaviour(ClientEvent::Ping(ping::Event { peer, result: Ok(rtt), .. }))
                            if peer != relay_id =>
                        {
                            let _ = reports.send((index, Report::Pinged(rtt)));
                        }
                        _ => {}
                    },
                }
            }
        });
    }
    drop(reports);
    let started = Instant::now();
    let mut refused = 0;
    while reserved_ids.len() + refused < clients && started.elapsed() < Duration::from_secs(120) {
        match tokio::time::timeout(Duration::from_secs(5), inbox.recv()).await {
            Ok(Some((index, Report::Reserved(id)))) => reserved_ids.push((index, id)),
            Ok(Some((_, Report::Refused))) => refused += 1,
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let reserve_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (reserved_kib, _) = relay_usage(pid);
    reserved_ids.sort();
    let mut held = vec![None; clients];
    for (index, id) in &reserved_ids {
        held[*index] = Some(*id);
    }
    for pair in 0..clients / 2 {
        if let (Some(target), Some(_)) = (held[2 * pair], held[2 * pair + 1]) {
            let _ = dial_requests[2 * pair + 1].send(circuit.clone().with(Protocol::P2p(target)));
            targets.push(pair);
        }
    }
    // Let the circuits come up, then count pings over the measured window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while inbox.try_recv().is_ok() {}
    let (_, cpu_before) = relay_usage(pid);
    let window = Instant::now();
    let mut rtts = Vec::new();
    while window.elapsed() < pinging {
        if let Ok(Some((_, Report::Pinged(rtt)))) =
            tokio::time::timeout(Duration::from_millis(200), inbox.recv()).await
        {
            rtts.push(rtt.as_secs_f64() * 1000.0);
        }
    }
    let (pinging_kib, cpu_after) = relay_usage(pid);
    let ticks_per_second = 100.0; // Linux's USER_HZ
    let cpu_ms = (cpu_after - cpu_before) as f64 / ticks_per_second * 1000.0;
    // Both ends of a circuit ping each other; every round trip crossed the relay twice. (The
    // clients' pings of the relay itself are not counted, but its CPU time includes them.)
    let pings = rtts.len() as f64;
    rtts.sort_by(f64::total_cmp);
    let median = rtts.get(rtts.len() / 2).copied().unwrap_or(f64::NAN);
    let _ = relay.kill();
    let _ = relay.wait();
    let _ = std::fs::remove_file(key);
    println!(
        "{}",
        serde_json::json!({
            "clients": clients,
            "reserved": reserved_ids.len(),
            "refused": refused,
            "reserve_all_ms": reserve_ms,
            "circuits": targets.len(),
            "relay_idle_kib": idle_kib,
            "relay_reserved_kib": reserved_kib,
            "relay_pinging_kib": pinging_kib,
            "relay_kib_per_client": (pinging_kib.saturating_sub(idle_kib)) as f64 / clients as f64,
            "pings": pings,
            "relay_cpu_ms": cpu_ms,
            "relay_cpu_ms_per_1000_pings": cpu_ms / pings * 1000.0,
            "ping_rtt_median_ms": median,
        })
    );
}
