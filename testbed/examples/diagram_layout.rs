//! How long the sequence diagram's layout takes for a trace of 1,000 and 10,000 messages
//! (20 peers, the window a screen shows). Prints JSON; `cargo xtask bench` runs it.

use std::time::Instant;

use testbed::diagram::{self, Options, TimeMode};
use testbed::identity;
use testbed::trace::model::MessageKind;
use testbed::trace::synthetic::ping_exchange;
use testbed::trace::{Trace, Tracer};

const PEERS: usize = 20;
const RUNS: usize = 30;

/// `messages` PING and PONG envelopes between random pairs of 20 peers, 1 ms apart.
fn trace_of(messages: usize) -> (Trace, Vec<libp2p::PeerId>) {
    let peers: Vec<_> = (0..PEERS)
        .map(|i| identity::keypair(1, i).public().to_peer_id())
        .collect();
    let tracers: Vec<_> = peers.iter().map(Tracer::new).collect();
    let mut trace = Trace::default();
    for n in 0..messages / 2 {
        let (a, b) = (n % PEERS, (n * 7 + 3) % PEERS);
        let b = if a == b { (b + 1) % PEERS } else { b };
        let t = n as f64 * 4.0;
        let times = [t + 1.0, t + 2.0, t + 3.0, t + 4.0];
        let exchange = ping_exchange((peers[a], &tracers[a]), (peers[b], &tracers[b]), "1", times);
        exchange.iter().for_each(|event| trace.apply(event));
    }
    (trace, peers)
}

fn main() {
    let mut figures = serde_json::Map::new();
    for messages in [1_000, 10_000] {
        let (trace, peers) = trace_of(messages);
        let options = Options {
            mode: TimeMode::RealTime,
            zoom: 1.0,
            lifelines: peers,
            kinds: [MessageKind::Envelope].into(),
            width: 900.0,
            until_ms: None,
        };
        let mut times: Vec<f64> = (0..RUNS)
            .map(|run| {
                let top = run as f64 * 1_000.0;
                let started = Instant::now();
                let layout = diagram::layout(&trace, &[], &options, top, top + 600.0);
                std::hint::black_box(layout);
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        figures.insert(
            format!("layout_{messages}_messages_ms"),
            serde_json::json!({"median": times[RUNS / 2], "worst": times[RUNS - 1]}),
        );
    }
    println!("{}", serde_json::Value::Object(figures));
}
