//! Chandy-Lamport on a real in-memory libp2p network: 20 peers, tokens moving over FIFO
//! channels (one stream per direction), concurrent snapshots checked against what happened.

#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use testbed::snapshot::collect::{Outcome, Snapshots};
use testbed::snapshot::live::TokenNetwork;
use testbed::snapshot::sim::Completed;
use testbed::{EventSink, EventStream, Network, NetworkConfig, Topology};

const PATIENCE: Duration = Duration::from_secs(60);

/// A connected network of real peers, each given `tokens`, with its events.
async fn token_network(
    config: NetworkConfig,
    tokens: u64,
) -> (Network, TokenNetwork, Snapshots, EventStream) {
    let (sink, events) = EventSink::new();
    let network = Network::start(config, sink).await.expect("starts");
    assert!(network.connect().await.is_empty());
    let (application, snapshots) = TokenNetwork::start(&network, tokens)
        .await
        .expect("channels open");
    (network, application, snapshots, events)
}

/// The next snapshot to finish, which must complete.
async fn next_completed(snapshots: &mut Snapshots) -> Option<Completed> {
    match snapshots.next().await? {
        Outcome::Completed(completed) => Some(completed),
        Outcome::Incomplete(incomplete) => panic!("incomplete: {incomplete:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_snapshots_of_20_real_peers_are_consistent_and_conserve_tokens() {
    // A little latency keeps tokens in flight when the snapshots cut.
    let config = NetworkConfig {
        peers: 20,
        topology: Topology::Original,
        seed: 11,
        latency_ms: 3,
        dht: None,
    };
    let (network, tokens, mut snapshots, _events) = token_network(config, 100).await;
    assert_eq!(tokens.total(), 2_000);

    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
    let mut started = Vec::new();
    for round in 0..300 {
        let from = rng.random_range(0..20);
        let neighbours = network.neighbours(from);
        let to = neighbours[rng.random_range(0..neighbours.len())];
        tokens.send(from, to, rng.random_range(1..=20)).unwrap();
        if round % 90 == 45 {
            started.push(
                tokens
                    .start_snapshot(rng.random_range(0..20))
                    .await
                    .unwrap(),
            );
        }
        if round % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    assert_eq!(started.len(), 3);
    let mut in_flight = 0;
    for _ in &started {
        let completed = tokio::time::timeout(PATIENCE, next_completed(&mut snapshots))
            .await
            .expect("in time")
            .expect("a snapshot completes");
        assert!(started.contains(&completed.snapshot.id));
        tokens
            .check(&completed)
            .unwrap_or_else(|violation| panic!("{violation}"));
        assert_eq!(completed.snapshot.total(), 2_000);
        in_flight += completed
            .snapshot
            .parts
            .iter()
            .flat_map(|p| p.channels.values())
            .map(Vec::len)
            .sum::<usize>();
    }
    assert!(in_flight > 0, "some tokens were recorded in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_packet_is_rejected_and_snapshots_go_on() {
    use futures::AsyncWriteExt;
    use testbed::snapshot::channel;
    let config = NetworkConfig {
        peers: 4,
        topology: Topology::Ring,
        seed: 2,
        latency_ms: 0,
        dht: None,
    };
    let (network, tokens, mut snapshots, _events) = token_network(config, 50).await;
    // Peer 0 opens another channel to peer 1 and writes something that is not a packet.
    let remote = network.peer_ids()[1];
    let mut rogue = network
        .peer(0)
        .unwrap()
        .open_stream(remote, channel::PROTOCOL)
        .await
        .expect("opens");
    channel::await_acknowledgement(&mut rogue)
        .await
        .expect("acknowledged");
    rogue
        .write_all(b"{\"tokens\":{\"id\":-5}}\n")
        .await
        .unwrap();
    rogue.flush().await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        while tokens.problems().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the problem is reported");
    assert!(
        tokens.problems()[0].contains("peer 1 rejected what peer 0 sent"),
        "{:?}",
        tokens.problems()
    );
    tokens.send(0, 1, 10).unwrap();
    tokens.start_snapshot(2).await.unwrap();
    let completed = tokio::time::timeout(PATIENCE, next_completed(&mut snapshots))
        .await
        .expect("in time")
        .expect("completes");
    tokens.check(&completed).expect("consistent and conserved");
}

/// Every queue is bounded: a channel whose packets pile up past its backlog is closed, the
/// page is told, and a flood of commands is refused as busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_too_far_behind_is_closed_and_the_page_is_told() {
    use testbed::snapshot::channel::BACKLOG;
    use testbed::snapshot::live::LiveError;
    let config = NetworkConfig {
        peers: 2,
        topology: Topology::Original,
        seed: 4,
        // Each packet is held a second: the queue fills long before the first one goes.
        latency_ms: 1000,
        dht: None,
    };
    let (_network, tokens, _snapshots, _events) = token_network(config, 10 * BACKLOG as u64).await;
    let mut busy = 0;
    let mut sent = 0;
    tokio::time::timeout(PATIENCE, async {
        while tokens.problems().is_empty() {
            match tokens.send(0, 1, 1) {
                Ok(()) => sent += 1,
                Err(LiveError::Busy(0)) => {
                    busy += 1;
                    tokio::task::yield_now().await;
                }
                Err(other) => panic!("{other}"),
            }
        }
    })
    .await
    .expect("the backlog is reached");
    assert!(sent > BACKLOG, "{sent} sends queued");
    assert!(busy > 0, "a flood of commands meets a full queue");
    assert_eq!(
        tokens.problems(),
        [format!(
            "peer 0's channel to peer 1 fell {BACKLOG} packets behind and was closed"
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_shows_markers_recorded_tokens_and_each_cut() {
    use testbed::snapshot::Recording;
    use testbed::trace::mark::MessageKind;
    use testbed::trace::Trace;
    // Latency keeps the tokens sent just before the snapshot in flight when it cuts.
    let config = NetworkConfig {
        peers: 4,
        topology: Topology::Ring,
        seed: 3,
        latency_ms: 60,
        dht: None,
    };
    let (network, tokens, mut snapshots, mut events) = token_network(config, 100).await;

    // A naive snapshot right after a send misses exactly the tokens in flight.
    tokens.send(0, 1, 30).unwrap();
    let naive = tokens.record_naive().await.unwrap();
    assert_eq!(naive.recorded(), 400 - 30);
    assert!(!naive.adds_up());

    tokens.send(1, 2, 7).unwrap();
    tokens.send(3, 2, 5).unwrap();
    let id = tokens.start_snapshot(2).await.unwrap();
    let completed = tokio::time::timeout(PATIENCE, next_completed(&mut snapshots))
        .await
        .expect("in time")
        .expect("completes");
    assert_eq!(completed.snapshot.id, id);
    tokens.check(&completed).expect("consistent and conserved");

    let mut trace = Trace::default();
    let mut view = testbed::NetworkView::new(network.peer_ids(), network.expected_connections());
    while let Ok(event) = events.try_recv() {
        trace.apply(&event);
        view.apply(&event);
    }
    // What the lesson's steps check, read from the same trace the diagram draws.
    use testbed::lesson::{Expectation, Measure, Since};
    assert!(Expectation::Snapshot.is_met(&view, &trace, None, Since::START));
    assert!(!Expectation::Concurrent.is_met(&view, &trace, None, Since::START));
    assert_eq!(
        Measure::NaiveAddsUp.observe(&view, &trace, None).as_deref(),
        Some("no")
    );
    assert_eq!(
        Measure::Markers.observe(&view, &trace, None).as_deref(),
        Some("8")
    );
    let markers: Vec<_> = trace
        .messages()
        .filter(|m| m.kind == MessageKind::Marker)
        .collect();
    // One marker on every directed channel of the ring: 4 peers × 2 neighbours.
    assert_eq!(markers.len(), 8);
    assert!(markers
        .iter()
        .all(|m| m.label == "marker S2.1" && m.received.is_some()));
    let recorded: Vec<u64> = trace
        .messages()
        .filter(|m| m.recorded)
        .map(|m| m.label.split(' ').next().unwrap().parse().unwrap())
        .collect();
    let mut in_flight: Vec<u64> = completed
        .snapshot
        .parts
        .iter()
        .flat_map(|p| p.channels.values().flatten())
        .map(|t| t.amount)
        .collect();
    in_flight.sort();
    let mut recorded_sorted = recorded.clone();
    recorded_sorted.sort();
    assert_eq!(
        recorded_sorted, in_flight,
        "the arrows highlighted are the tokens recorded"
    );
    assert!(!in_flight.is_empty(), "tokens were in flight at the cut");
    let cuts: Vec<_> = trace.cuts().collect();
    assert_eq!(cuts.len(), 2);
    assert_eq!(cuts[0].recording, Recording::Naive(0));
    assert_eq!(cuts[1].recording, Recording::Snapshot(id));
    assert!(cuts.iter().all(|c| c.points.len() == 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_leaving_mid_snapshot_ends_it_incomplete_and_later_snapshots_go_on() {
    let config = NetworkConfig {
        peers: 6,
        topology: Topology::Original,
        seed: 9,
        latency_ms: 40,
        dht: None,
    };
    let (network, tokens, mut snapshots, _events) = token_network(config, 100).await;
    for nth in 0..30 {
        tokens.send_random(4, nth).unwrap();
    }
    // Peer 5 goes away while peer 0's markers are still on their way to it.
    let first = tokens.start_snapshot(0).await.unwrap();
    tokens.leave(5).await.unwrap();
    network.stop_peer(5).await.unwrap();
    let outcome = tokio::time::timeout(PATIENCE, snapshots.next())
        .await
        .expect("given up in time")
        .expect("an outcome");
    let Outcome::Incomplete(incomplete) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(incomplete.id, first);
    assert!(
        incomplete.peers_gone == [5]
            || incomplete
                .channels_waiting
                .iter()
                .any(|(_, from)| from.contains(&5)),
        "{incomplete:?}"
    );

    // The others go on: tokens move between them only, and a later snapshot completes
    // without peer 5.
    for nth in 30..60 {
        let (from, to, _) = tokens
            .send_random(4, nth)
            .expect("a send between peers left");
        assert!(from != 5 && to != 5, "send {nth}: {from} → {to}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let later = tokens.start_snapshot(1).await.unwrap();
    for nth in 60..80 {
        let _ = tokens.send_random(4, nth);
    }
    let completed = tokio::time::timeout(PATIENCE, next_completed(&mut snapshots))
        .await
        .expect("in time")
        .expect("completes");
    assert_eq!(completed.snapshot.id, later);
    assert_eq!(completed.snapshot.parts.len(), 5);
    assert!(completed.total < 600, "peer 5 took its tokens along");
    assert_eq!(completed.snapshot.total(), completed.total);
    tokens
        .check(&completed)
        .unwrap_or_else(|violation| panic!("{violation}"));
}
