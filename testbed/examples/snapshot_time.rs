//! How long a Chandy-Lamport snapshot takes to complete, for 5, 20 and 50 peers in a full
//! mesh (the original topology) and a ring: in the simulator (ticks of 1 ms, each message
//! delayed 1 to 3 ticks) and on real in-memory libp2p peers (wall-clock time from the start
//! to the last part, with tokens moving meanwhile). Prints JSON; `cargo xtask bench` runs it.

use std::time::{Duration, Instant};

use testbed::snapshot::collect::Outcome;
use testbed::snapshot::live::TokenNetwork;
use testbed::snapshot::sim::Simulation;
use testbed::{EventSink, Network, NetworkConfig, Topology};

const RUNS: usize = 5;

fn simulated(topology: Topology, peers: usize) -> f64 {
    let mut ticks: Vec<u64> = (0..RUNS as u64)
        .map(|seed| {
            let mut sim = Simulation::with_topology(topology, peers, 100, (1, 3), seed);
            for from in 0..peers {
                sim.send_random(from).expect("a valid send");
            }
            sim.start_snapshot(0).expect("starts");
            sim.run_until_quiet().expect("runs");
            sim.completed()[0].took_ticks
        })
        .collect();
    ticks.sort_unstable();
    ticks[RUNS / 2] as f64
}

async fn live(topology: Topology, peers: usize) -> f64 {
    let (sink, _events) = EventSink::new();
    let config = NetworkConfig {
        peers,
        topology,
        seed: 1,
        latency_ms: 0,
        dht: None,
    };
    let network = Network::start_untapped(config, sink).await.expect("starts");
    assert!(network.connect().await.is_empty());
    let (tokens, mut snapshots) = TokenNetwork::start(&network, 100)
        .await
        .expect("channels open");
    let mut times = Vec::new();
    for run in 0..RUNS {
        for from in 0..peers {
            let to = network.neighbours(from)[0];
            tokens.send(from, to, 1).expect("sends");
        }
        let started = Instant::now();
        tokens.start_snapshot(run % peers).await.expect("starts");
        let outcome = tokio::time::timeout(Duration::from_secs(60), snapshots.next())
            .await
            .expect("in time");
        assert!(
            matches!(outcome, Some(Outcome::Completed(_))),
            "{outcome:?}"
        );
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

#[tokio::main]
async fn main() {
    // `cargo xtask bench --smoke`: that it runs, not what it measures.
    let sizes: &[usize] = if std::env::var_os("BENCH_SMOKE").is_some() {
        &[5]
    } else {
        &[5, 20, 50]
    };
    let mut figures = Vec::new();
    for topology in [Topology::Original, Topology::Ring] {
        for &peers in sizes {
            figures.push(serde_json::json!({
                "topology": topology.to_string(),
                "peers": peers,
                "simulated_median_ticks": simulated(topology, peers),
                "real_peers_median_ms": live(topology, peers).await,
            }));
        }
    }
    println!(
        "{}",
        serde_json::json!({ "runs": RUNS, "snapshots": figures })
    );
}
