//! What the wire tap costs: the testbed's ping round trip and a bulk transfer's throughput
//! between two in-memory peers, with and without the tap, in one run. Prints JSON;
//! `cargo xtask bench` runs it.

use std::time::Instant;

use testbed::protocols::transfer::Request;
use testbed::{EventSink, Network, NetworkConfig, Topology};

const PINGS: usize = 300;
const TRANSFER_BYTES: u64 = 32 * 1024 * 1024;
const TRANSFERS: usize = 3;

struct Figures {
    median_rtt_ms: f64,
    mib_per_s: f64,
}

async fn measure(tapped: bool) -> Figures {
    let (sink, mut events) = EventSink::new();
    let config = NetworkConfig {
        peers: 2,
        topology: Topology::Line,
        seed: 1,
        latency_ms: 0,
        dht: None,
    };
    let network = if tapped {
        Network::start(config, sink).await
    } else {
        Network::start_untapped(config, sink).await
    }
    .expect("starts");
    assert!(network.connect().await.is_empty());
    // The page drains events and wire records as they come; so does this.
    let drain = |network: &Network, events: &mut testbed::EventStream| {
        while events.try_recv().is_ok() {}
        if let Some(wire) = network.wire() {
            drop(wire.drain());
        }
    };
    let mut rtts = Vec::with_capacity(PINGS);
    for n in 0..PINGS {
        let started = Instant::now();
        network.ping(0, 1, n.to_string()).await.expect("ping works");
        rtts.push(started.elapsed().as_secs_f64() * 1000.0);
        drain(&network, &mut events);
    }
    rtts.sort_by(f64::total_cmp);
    let mut best = 0.0f64;
    for _ in 0..TRANSFERS {
        let started = Instant::now();
        let request = Request {
            bytes: TRANSFER_BYTES,
            read_delay_ms: 0,
        };
        network
            .transfer(0, 1, request, None)
            .await
            .expect("transfer works");
        let seconds = started.elapsed().as_secs_f64();
        best = best.max(TRANSFER_BYTES as f64 / (1024.0 * 1024.0) / seconds);
        drain(&network, &mut events);
    }
    Figures {
        median_rtt_ms: rtts[PINGS / 2],
        mib_per_s: best,
    }
}

#[tokio::main]
async fn main() {
    let plain = measure(false).await;
    let tapped = measure(true).await;
    println!(
        "{}",
        serde_json::json!({
            "untapped": {"median_ping_rtt_ms": plain.median_rtt_ms, "transfer_mib_per_s": plain.mib_per_s},
            "tapped": {"median_ping_rtt_ms": tapped.median_rtt_ms, "transfer_mib_per_s": tapped.mib_per_s},
            "rtt_ratio": tapped.median_rtt_ms / plain.median_rtt_ms,
            "throughput_ratio": tapped.mib_per_s / plain.mib_per_s,
            "pings": PINGS,
            "transfer_mib": TRANSFER_BYTES / (1024 * 1024),
        })
    );
}
