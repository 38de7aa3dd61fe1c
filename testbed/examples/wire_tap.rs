//! What the wire tap costs: the testbed's ping round trip and a bulk transfer's throughput
//! between two in-memory peers, with and without the tap, in one run. Prints JSON;
//! `cargo xtask bench` runs it.

use std::time::Instant;

use testbed::protocols::transfer::Request;
use testbed::{EventSink, Network, NetworkConfig, Topology};

/// How much one run measures.
#[derive(Clone, Copy)]
struct Size {
    pings: usize,
    transfer_bytes: u64,
    transfers: usize,
}

const FULL: Size = Size {
    pings: 300,
    transfer_bytes: 32 * 1024 * 1024,
    transfers: 3,
};

/// `cargo xtask bench --smoke`: that it runs, not what it measures.
const SMOKE: Size = Size {
    pings: 10,
    transfer_bytes: 1024 * 1024,
    transfers: 1,
};

struct Figures {
    median_rtt_ms: f64,
    mib_per_s: f64,
}

async fn measure(tapped: bool, size: Size) -> Figures {
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
    let mut rtts = Vec::with_capacity(size.pings);
    for n in 0..size.pings {
        let started = Instant::now();
        network.ping(0, 1, n.to_string()).await.expect("ping works");
        rtts.push(started.elapsed().as_secs_f64() * 1000.0);
        drain(&network, &mut events);
    }
    rtts.sort_by(f64::total_cmp);
    let mut best = 0.0f64;
    for _ in 0..size.transfers {
        let started = Instant::now();
        let request = Request {
            bytes: size.transfer_bytes,
            read_delay_ms: 0,
        };
        network
            .transfer(0, 1, request, None)
            .await
            .expect("transfer works");
        let seconds = started.elapsed().as_secs_f64();
        best = best.max(size.transfer_bytes as f64 / (1024.0 * 1024.0) / seconds);
        drain(&network, &mut events);
    }
    Figures {
        median_rtt_ms: rtts[size.pings / 2],
        mib_per_s: best,
    }
}

#[tokio::main]
async fn main() {
    let size = if std::env::var_os("BENCH_SMOKE").is_some() {
        SMOKE
    } else {
        FULL
    };
    let plain = measure(false, size).await;
    let tapped = measure(true, size).await;
    println!(
        "{}",
        serde_json::json!({
            "untapped": {"median_ping_rtt_ms": plain.median_rtt_ms, "transfer_mib_per_s": plain.mib_per_s},
            "tapped": {"median_ping_rtt_ms": tapped.median_rtt_ms, "transfer_mib_per_s": tapped.mib_per_s},
            "rtt_ratio": tapped.median_rtt_ms / plain.median_rtt_ms,
            "throughput_ratio": tapped.mib_per_s / plain.mib_per_s,
            "pings": size.pings,
            "transfers": size.transfers,
            "transfer_mib": size.transfer_bytes / (1024 * 1024),
        })
    );
}
