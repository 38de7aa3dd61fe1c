//! Kademlia lookups on real in-memory libp2p peers (a star: every peer first dials peer 0,
//! then libp2p-kad's bootstrap finds the rest): for 10, 50, 100 and 200 peers, the time to
//! start, connect and settle (no kad traffic for half a second), then closest-peer lookups
//! from several peers for random keys: their depth in hops (see `Hop::depth`), requests,
//! and time. Prints JSON; `cargo xtask bench` runs it.

use std::time::{Duration, Instant};

use testbed::dht;
use testbed::dht::lookup::depth;
use testbed::dht::settle::settle;
use testbed::dht::{LookupRequest, Lookups};
use testbed::{EventSink, Network, NetworkConfig, Topology};

const LOOKUPS: usize = 20;
/// `cargo xtask bench --smoke`: that it runs, not what it measures.
const SMOKE_LOOKUPS: usize = 2;

async fn measure(peers: usize, lookups_run: usize, dht: dht::Config) -> serde_json::Value {
    let started = Instant::now();
    let (sink, mut events) = EventSink::new();
    let config = NetworkConfig {
        peers,
        topology: Topology::Star,
        seed: 3,
        latency_ms: 0,
        dht: Some(dht),
    };
    let network = Network::start(config, sink).await.expect("starts");
    assert!(network.connect().await.is_empty());
    settle(&network, Duration::from_millis(500), |_| {})
        .await
        .expect("settles");
    let settled_ms = started.elapsed().as_secs_f64() * 1000.0;
    // What start-up wrote (more events than the queue holds for 100 peers) is not needed.
    let wire = network.wire().expect("DHT networks are tapped");
    wire.drain();
    while events.try_recv().is_ok() {}
    let mut lookups = Lookups::default();
    let (mut depths, mut requests, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..lookups_run {
        let origin = (round * 7 + 1) % peers;
        let key = format!("bench key {round}").into_bytes();
        let outcome = network
            .peer(origin)
            .unwrap()
            .lookup(LookupRequest::ClosestPeers { key })
            .await
            .expect("runs");
        assert_eq!(outcome.error, None);
        requests.push(f64::from(outcome.requests));
        times.push(outcome.took_ms);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = events.try_recv() {
        lookups.apply_event(&event);
    }
    for record in wire.drain().0 {
        lookups.apply_wire(&record);
    }
    for lookup in lookups.lookups() {
        depths.push(depth(&lookups.hops(lookup)) as f64);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    serde_json::json!({
        "peers": peers,
        "k": dht.k,
        "alpha": dht.alpha,
        "log2_n": (peers as f64).log2(),
        "boot_and_settle_ms": settled_ms,
        "hops_mean": mean(&depths),
        "hops_max": max(&depths),
        "requests_mean": mean(&requests),
        "lookup_ms_mean": mean(&times),
        "lookup_ms_max": max(&times),
    })
}

#[tokio::main]
async fn main() {
    let dht = dht::Config {
        k: 4,
        alpha: 3,
        replication: 4,
        ..dht::Config::default()
    };
    let smoke = std::env::var_os("BENCH_SMOKE").is_some();
    let (sizes, lookups_run): (&[usize], usize) = if smoke {
        (&[10], SMOKE_LOOKUPS)
    } else {
        (&[10, 50, 100, 200], LOOKUPS)
    };
    let mut figures = Vec::new();
    for &peers in sizes {
        let figure = measure(peers, lookups_run, dht).await;
        eprintln!("{figure}");
        figures.push(figure);
    }
    println!(
        "{}",
        serde_json::to_string(&serde_json::json!({ "lookups": figures })).unwrap()
    );
}
