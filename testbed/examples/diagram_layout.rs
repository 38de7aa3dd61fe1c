//! How long the sequence diagram's layout takes for a trace of 1,000 and 10,000 messages
//! (20 peers, the window a screen shows), and how long the time scrubber takes to show a random
//! moment of the 10,000-message run (the network's state then, and the diagram as it was).
//! Prints JSON; `cargo xtask bench` runs it.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use testbed::timeline::Timeline;
use testbed::{Event, EventKind, NetworkView};

use testbed::diagram::{self, Options, TimeMode};
use testbed::identity;
use testbed::trace::mark::MessageKind;
use testbed::trace::synthetic::ping_exchange;
use testbed::trace::{Trace, Tracer};

const PEERS: usize = 20;
const RUNS: usize = 30;

/// `messages` PING and PONG envelopes between random pairs of 20 peers, 1 ms apart, after
/// the 190 connections of the original topology; and the events they came from.
fn trace_of(messages: usize) -> (Trace, Vec<libp2p::PeerId>, Vec<Event>) {
    let peers: Vec<_> = (0..PEERS)
        .map(|i| identity::keypair(1, i).public().to_peer_id())
        .collect();
    let tracers: Vec<_> = peers.iter().map(Tracer::new).collect();
    let mut trace = Trace::default();
    let mut events = Vec::new();
    for a in 0..PEERS {
        for b in a + 1..PEERS {
            for (local, remote, dialer) in [(a, b, true), (b, a, false)] {
                events.push(Event {
                    at_ms: 0.5,
                    peer: peers[local],
                    kind: EventKind::ConnectionEstablished {
                        remote: peers[remote],
                        dialer,
                    },
                });
            }
        }
    }
    for n in 0..messages / 2 {
        let (a, b) = (n % PEERS, (n * 7 + 3) % PEERS);
        let b = if a == b { (b + 1) % PEERS } else { b };
        let t = n as f64 * 4.0;
        let times = [t + 1.0, t + 2.0, t + 3.0, t + 4.0];
        let exchange = ping_exchange((peers[a], &tracers[a]), (peers[b], &tracers[b]), "1", times);
        exchange.iter().for_each(|event| trace.apply(event));
        events.extend(exchange);
    }
    (trace, peers, events)
}

fn main() {
    let mut figures = serde_json::Map::new();
    for messages in [1_000, 10_000] {
        let (trace, peers, events) = trace_of(messages);
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
        if messages == 10_000 {
            figures.insert(
                "scrub_10000_messages_ms".into(),
                scrub(&trace, &events, &options),
            );
        }
    }
    println!("{}", serde_json::Value::Object(figures));
}

/// Random moments of the run: the network's state then and a screen of the diagram as it was.
fn scrub(trace: &Trace, events: &[Event], options: &Options) -> serde_json::Value {
    const MOVES: usize = 200;
    let mut timeline = Timeline::new(NetworkView::new(options.lifelines.clone(), 190));
    events.iter().for_each(|e| timeline.record(e.clone()));
    let mut random = rand::rngs::ChaCha8Rng::seed_from_u64(1);
    let mut times: Vec<f64> = (0..MOVES)
        .map(|_| {
            let at = random.random_range(0.0..timeline.end_ms());
            let started = Instant::now();
            let state = timeline.state_at(at);
            let options = Options {
                until_ms: Some(at),
                ..options.clone()
            };
            let layout = diagram::layout(trace, &[], &options, 0.0, 600.0);
            std::hint::black_box((state, layout));
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    serde_json::json!({"median": times[MOVES / 2], "worst": times[MOVES - 1], "moves": MOVES})
}
