//! A real in-memory network: libp2p swarms with noise and yamux, connected by each topology,
//! pinging each other with the testbed's protocol.

#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use futures::{AsyncWriteExt, StreamExt};
use testbed::protocols::ping::{MessageType, PROTOCOL};
use testbed::trace::mark::MessageKind;
use testbed::trace::Trace;
use testbed::{
    EventKind, EventSink, EventStream, Network, NetworkConfig, NetworkView, PingStep, Topology,
};

/// A hang guard, not a timing assertion: a healthy run takes well under a second.
const PATIENCE: Duration = Duration::from_secs(60);

async fn start(peers: usize, topology: Topology) -> (Network, NetworkView, EventStream) {
    start_with(NetworkConfig {
        peers,
        topology,
        seed: 7,
        latency_ms: 0,
        dht: None,
    })
    .await
}

async fn start_with(config: NetworkConfig) -> (Network, NetworkView, EventStream) {
    let (sink, events) = EventSink::new();
    let network = Network::start(config, sink).await.expect("network starts");
    let view = NetworkView::new(network.peer_ids(), network.expected_connections());
    (network, view, events)
}

/// Feeds events to the view until `done` holds, returning the events seen.
async fn run_until(
    view: &mut NetworkView,
    events: &mut EventStream,
    mut done: impl FnMut(&NetworkView, &[testbed::Event]) -> bool,
) -> Vec<testbed::Event> {
    let mut seen = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while !done(view, &seen) {
            let event = events.next().await.expect("event stream open");
            view.apply(&event);
            seen.push(event);
        }
    })
    .await
    .expect("the network got there in time");
    seen
}

#[tokio::test]
async fn every_topology_connects_all_its_peers() {
    for topology in Topology::ALL {
        let (network, mut view, mut events) = start(12, topology).await;
        let failed = network.connect().await;
        assert!(failed.is_empty(), "{topology}: {failed:?}");
        run_until(&mut view, &mut events, |v, _| v.all_connected()).await;
        let expected = topology.dials(12, 7).len();
        assert_eq!(view.connection_count(), expected, "{topology}");
    }
}

#[tokio::test]
async fn the_original_testbed_connects_20_peers_by_190_connections_and_pings() {
    let (network, mut view, mut events) = start(20, Topology::Original).await;
    assert!(network.connect().await.is_empty());
    run_until(&mut view, &mut events, |v, _| v.all_connected()).await;
    assert_eq!(view.connection_count(), 190);

    let target = network.random_target(0, 0).expect("peer 0 has neighbours");
    assert_ne!(target, 0);
    let pong = network
        .ping(0, target, "1".into())
        .await
        .expect("ping works");
    assert_eq!(pong.kind, MessageType::Pong);
    assert_eq!(pong.id, "1");
    assert_eq!(pong.initiator, network.peer_ids()[0]);

    // Both sides report every step, ending with the stream closed from both sides.
    let (initiator, responder) = (network.peer_ids()[0], network.peer_ids()[target]);
    let steps_of = |events: &[testbed::Event], who| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.peer == who)
            .filter_map(|e| match &e.kind {
                EventKind::Ping(step) => Some(step_name(step)),
                _ => None,
            })
            .collect()
    };
    let seen = run_until(&mut view, &mut events, |_, seen| {
        steps_of(seen, responder).last().map(String::as_str) == Some("remote closed")
            && steps_of(seen, initiator).len() == 5
    })
    .await;
    assert_eq!(
        steps_of(&seen, initiator),
        [
            "opened",
            "sent PING",
            "received PONG",
            "closed own side",
            "remote closed"
        ]
    );
    assert_eq!(
        steps_of(&seen, responder),
        [
            "accepted",
            "received PING",
            "sent PONG",
            "closed own side",
            "remote closed"
        ]
    );
}

fn step_name(step: &PingStep) -> String {
    match step {
        PingStep::StreamOpened { .. } => "opened".into(),
        PingStep::StreamAccepted { .. } => "accepted".into(),
        PingStep::Sent { envelope, .. } => format!("sent {}", envelope.kind),
        PingStep::Received { envelope, .. } => format!("received {}", envelope.kind),
        PingStep::ClosedOwnSide { .. } => "closed own side".into(),
        PingStep::RemoteClosed { .. } => "remote closed".into(),
        PingStep::Retrying { .. } => "retrying".into(),
        PingStep::Failed { error, .. } => format!("failed: {error}"),
    }
}

#[tokio::test]
async fn same_seed_gives_same_peer_ids() {
    let (a, _, _) = start(3, Topology::Line).await;
    let (b, _, _) = start(3, Topology::Line).await;
    assert_eq!(a.peer_ids(), b.peer_ids());
}

#[tokio::test]
async fn a_bad_envelope_is_rejected_with_an_error() {
    let (network, mut view, mut events) = start(2, Topology::Line).await;
    assert!(network.connect().await.is_empty());
    let responder = network.peer_ids()[1];
    let mut stream = network
        .peer(0)
        .unwrap()
        .open_stream(responder, PROTOCOL)
        .await
        .expect("stream opens");
    stream
        .write_all(b"{\"id\": 1, \"type\": \"HELLO\"}\n")
        .await
        .unwrap();
    stream.flush().await.unwrap();
    let seen = run_until(&mut view, &mut events, |_, seen| {
        seen.iter()
            .any(|e| matches!(e.kind, EventKind::Ping(PingStep::Failed { .. })))
    })
    .await;
    let failure = seen
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Ping(PingStep::Failed { error, .. }) if e.peer == responder => Some(error),
            _ => None,
        })
        .expect("the responder reports the failure");
    assert!(failure.contains("not a valid envelope"), "{failure}");
    // The responder is unharmed: a proper ping still works.
    network
        .ping(0, 1, "2".into())
        .await
        .expect("ping after bad envelope");
}

#[tokio::test]
async fn pinging_a_peer_that_is_not_there_fails_cleanly() {
    let (network, _, _) = start(2, Topology::Line).await;
    assert!(network.ping(0, 5, "x".into()).await.is_err());
    assert!(network.ping(1, 1, "x".into()).await.is_err());
}

#[tokio::test]
async fn only_neighbours_can_be_pinged_and_the_error_names_them() {
    let (network, _, _) = start(8, Topology::Ring).await;
    assert!(network.connect().await.is_empty());
    let error = network
        .ping(3, 6, "x".into())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("peer 3 can ping peer 2, peer 4"), "{error}");
    network
        .ping(3, 4, "y".into())
        .await
        .expect("a neighbour answers");
}

#[tokio::test]
async fn random_targets_are_neighbours_and_follow_the_seed() {
    let (network, _, _) = start(5, Topology::Original).await;
    let targets: Vec<_> = (0..50)
        .map(|n| network.random_target(0, n).unwrap())
        .collect();
    assert!((1..5).all(|peer| targets.contains(&peer)), "{targets:?}");
    assert!(!targets.contains(&0));
    let again: Vec<_> = (0..50)
        .map(|n| network.random_target(0, n).unwrap())
        .collect();
    assert_eq!(targets, again);

    let (star, _, _) = start(6, Topology::Star).await;
    assert!((0..20).all(|n| star.random_target(3, n) == Some(0)));
}

#[tokio::test]
async fn a_peer_that_left_is_never_a_ping_target_and_pinging_it_says_it_left() {
    let (network, mut view, mut events) = start(5, Topology::Original).await;
    assert!(network.connect().await.is_empty());
    run_until(&mut view, &mut events, |view, _| view.all_connected()).await;
    network.stop_peer(2).await.expect("peer 2 stops");
    network
        .stop_peer(2)
        .await
        .expect("a peer that left stays gone");
    assert!(network.has_left(2) && !network.has_left(1));
    assert_eq!(network.peers_with_a_neighbour(), [0, 1, 3, 4]);
    run_until(&mut view, &mut events, |view, _| view.has_left(2)).await;

    let targets: Vec<_> = (0..50)
        .filter_map(|n| network.random_target(0, n))
        .collect();
    assert_eq!(targets.len(), 50);
    assert!(!targets.contains(&2), "{targets:?}");
    for (from, to) in [(0, 2), (2, 0)] {
        let error = network
            .ping(from, to, "x".into())
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(error, "peer 2 has left the network: it answers nothing now");
    }
    network
        .ping(0, 3, "y".into())
        .await
        .expect("the others still answer");
}

#[tokio::test]
async fn a_ping_whose_responder_leaves_midway_says_so_without_dialing_it_again() {
    let (network, _, mut events) = start_with(NetworkConfig {
        peers: 3,
        topology: Topology::Original,
        seed: 7,
        latency_ms: 300,
        dht: None,
    })
    .await;
    assert!(network.connect().await.is_empty());
    let ping = network.ping(0, 2, "x".into());
    let leave = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        network.stop_peer(2).await.expect("peer 2 stops");
    };
    let (pinged, ()) = tokio::join!(ping, leave);
    assert_eq!(
        pinged.unwrap_err().to_string(),
        "the ping from peer 0 to peer 2 broke off: peer 2 left the network"
    );
    // A new stream would need a new connection: the ping gives up instead of retrying.
    let mut steps = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(100), events.next()).await
    {
        match event.kind {
            EventKind::Ping(step) if event.peer == network.peer_ids()[0] => {
                steps.push(step_name(&step))
            }
            _ => {}
        }
    }
    assert!(steps.iter().any(|s| s.starts_with("failed")), "{steps:?}");
    assert!(!steps.iter().any(|s| s == "retrying"), "{steps:?}");
}

#[tokio::test]
async fn every_send_is_linked_to_its_receive_in_happened_before_order() {
    let (network, mut view, mut events) = start(6, Topology::Original).await;
    assert!(network.connect().await.is_empty());
    // Many exchanges at once, so sends and receives of different pings interleave.
    let pings = (0..6).flat_map(|from| {
        (0..6)
            .filter(move |&to| to != from)
            .map(move |to| (from, to))
    });
    let results = futures::future::join_all(
        pings.map(|(from, to)| network.ping(from, to, format!("{from}->{to}"))),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let exchanges = results.len();

    let mut trace = Trace::default();
    let seen = run_until(&mut view, &mut events, |_, seen| {
        trace = Trace::default();
        seen.iter().for_each(|event| trace.apply(event));
        let received = |kind| {
            trace
                .messages()
                .filter(|m| m.kind == kind && m.received.is_some())
                .count()
        };
        // Each exchange: PING and PONG, and a close from each side.
        received(MessageKind::Envelope) == 2 * exchanges
            && received(MessageKind::Close) == 2 * exchanges
    })
    .await;

    let envelopes = || trace.messages().filter(|m| m.kind == MessageKind::Envelope);
    for message in envelopes().filter(|m| m.received.is_some()) {
        assert!(
            message.received.unwrap().lamport > message.sent.lamport,
            "{message:?}"
        );
    }
    // Every stream opened was accepted, but for those dropped and retried.
    // A PING on a stream the responder dropped is kept as sent and never received.
    let retries = seen
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Ping(PingStep::Retrying { .. })))
        .count();
    let lost: Vec<_> = envelopes().filter(|m| m.received.is_none()).collect();
    assert_eq!(lost.len(), retries);
    let unaccepted = trace
        .messages()
        .filter(|m| m.kind == MessageKind::OpenStream && m.received.is_none())
        .count();
    assert_eq!(unaccepted, retries);
    assert!(lost.iter().all(|m| m.label == "PING"));
    // Within an exchange: PING sent → PING received → PONG sent → PONG received.
    for ping in envelopes().filter(|m| m.label == "PING" && m.received.is_some()) {
        let pong = envelopes()
            .find(|m| m.context.unwrap().0 == ping.context.unwrap().0 && m.label == "PONG")
            .expect("each PING has its PONG in the same trace");
        assert_eq!((pong.from, pong.to), (ping.to, ping.from));
        assert!(ping.received.unwrap().lamport < pong.sent.lamport);
    }
}

#[tokio::test]
async fn injected_latency_holds_every_message_in_flight() {
    let (network, mut view, mut events) = start_with(NetworkConfig {
        peers: 2,
        topology: Topology::Line,
        seed: 7,
        latency_ms: 120,
        dht: None,
    })
    .await;
    assert!(network.connect().await.is_empty());
    network.ping(0, 1, "slow".into()).await.expect("ping works");
    let mut trace = Trace::default();
    run_until(&mut view, &mut events, |_, seen| {
        trace = Trace::default();
        seen.iter().for_each(|event| trace.apply(event));
        trace
            .messages()
            .filter(|m| m.kind == MessageKind::Envelope && m.received.is_some())
            .count()
            == 2
    })
    .await;
    // A lower bound, not a timing benchmark: each envelope waited at least the latency.
    for message in trace.messages().filter(|m| m.kind == MessageKind::Envelope) {
        let in_flight = message.received.unwrap().at_ms - message.sent.at_ms;
        assert!(
            in_flight >= 120.0,
            "{} in flight {in_flight} ms",
            message.label
        );
    }
}

#[tokio::test]
async fn a_paused_network_holds_each_message_until_a_step_lets_it_go() {
    let (network, mut view, mut events) = start(2, Topology::Line).await;
    assert!(network.connect().await.is_empty());
    run_until(&mut view, &mut events, |v, _| v.all_connected()).await;
    let pace = network.pace().clone();
    pace.pause();
    let ping = tokio::spawn({
        let pace = pace.clone();
        async move {
            // Stepping is the learner's hand: one message each time one is waiting.
            let mut steps = 0;
            tokio::time::timeout(PATIENCE, async {
                while steps < 2 {
                    if pace.held() > 0 {
                        assert!(pace.step());
                        steps += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("only {steps} of 2 messages were ever held to step"));
        }
    });
    let mut trace = Trace::default();
    let envelopes_received = |trace: &Trace| {
        trace
            .messages()
            .filter(|m| m.kind == MessageKind::Envelope && m.received.is_some())
            .map(|m| m.label.clone())
            .collect::<Vec<_>>()
    };
    let exchange = network.ping(0, 1, "stepped".into());
    let watch = run_until(&mut view, &mut events, |_, seen| {
        trace = Trace::default();
        seen.iter().for_each(|event| trace.apply(event));
        envelopes_received(&trace).len() == 2
    });
    let (pong, _) = tokio::join!(exchange, watch);
    pong.expect("a stepped ping completes");
    ping.await.unwrap();
    assert_eq!(envelopes_received(&trace), ["PING", "PONG"]);
    assert!(pace.is_paused());
}

#[tokio::test]
async fn the_timeline_rebuilds_the_state_seen_live_at_every_moment() {
    let (network, mut view, mut events) = start_with(NetworkConfig {
        peers: 8,
        topology: Topology::Original,
        seed: 7,
        latency_ms: 30,
        dht: None,
    })
    .await;
    assert!(network.connect().await.is_empty());
    run_until(&mut view, &mut events, |v, _| v.all_connected()).await;
    for to in 1..5 {
        network
            .ping(0, to, to.to_string())
            .await
            .expect("ping works");
    }
    let closes = |seen: &[testbed::Event]| {
        seen.iter()
            .filter(|e| matches!(e.kind, EventKind::Ping(PingStep::RemoteClosed { .. })))
            .count()
    };
    let mut seen = run_until(&mut view, &mut events, |v, seen| {
        v.all_connected() && closes(seen) == 0
    })
    .await;
    seen.extend(run_until(&mut view, &mut events, |_, more| closes(more) == 8).await);

    // Live: each event applied as it arrived. A moment t is a clean cut when every event
    // before it in arrival order is at or before t and every later one after t.
    let mut live = NetworkView::new(network.peer_ids(), network.expected_connections());
    let mut timeline = testbed::timeline::Timeline::new(live.clone());
    let mut latest_after: Vec<f64> = seen.iter().map(|e| e.at_ms).collect();
    for i in (0..latest_after.len().saturating_sub(1)).rev() {
        latest_after[i] = latest_after[i].min(latest_after[i + 1]);
    }
    let mut cuts = Vec::new();
    let mut latest = f64::MIN;
    for (i, event) in seen.iter().enumerate() {
        live.update(event);
        timeline.record(event.clone());
        latest = latest.max(event.at_ms);
        if latest_after.get(i + 1).is_none_or(|&next| next > latest) {
            cuts.push((latest, live.clone()));
        }
    }
    assert!(
        cuts.len() > seen.len() / 2,
        "{} cuts of {}",
        cuts.len(),
        seen.len()
    );
    assert!(
        cuts.iter().any(|(_, state)| state.stream_count() > 0),
        "a stream was open at some moment"
    );
    for (at, state) in &cuts {
        assert_eq!(&timeline.state_at(*at), state, "at {at} ms");
    }
    assert_eq!(view.stream_count(), 0, "every stream closed");
}

#[tokio::test]
async fn predictions_are_checked_against_what_the_real_peers_did() {
    use testbed::lesson::{Measure, PingPair};
    let (network, mut view, mut events) = start(8, Topology::Original).await;
    assert!(network.connect().await.is_empty());
    let mut trace = Trace::default();
    let seen = run_until(&mut view, &mut events, |v, _| v.all_connected()).await;
    seen.iter().for_each(|e| trace.apply(e));
    assert_eq!(
        Measure::Connections.observe(&view, &trace, None).as_deref(),
        Some("28")
    );
    let pair = PingPair {
        from: network.peer_ids()[3],
        to: network.peer_ids()[6],
    };
    assert_eq!(
        Measure::FirstClose.observe(&view, &trace, Some(pair)),
        None,
        "not run yet"
    );
    network.ping(3, 6, "1".into()).await.expect("ping works");
    let seen = run_until(&mut view, &mut events, |_, seen| {
        seen.iter()
            .filter(|e| matches!(e.kind, EventKind::Ping(PingStep::RemoteClosed { .. })))
            .count()
            == 2
    })
    .await;
    seen.iter().for_each(|e| trace.apply(e));
    assert_eq!(
        Measure::PongReceiver
            .observe(&view, &trace, Some(pair))
            .as_deref(),
        Some("3")
    );
    // The responder closes right after writing its PONG; the initiator only once it has read it.
    assert_eq!(
        Measure::FirstClose
            .observe(&view, &trace, Some(pair))
            .as_deref(),
        Some("responder")
    );
}

#[test]
fn a_learner_waiting_for_many_connections_is_told_why_and_what_is_quicker() {
    use testbed::network::slow_to_connect;
    let every_pair_of_200 = Topology::Original.dials(200, 0).len();
    let note = slow_to_connect(200, every_pair_of_200).expect("19,900 connections are slow");
    assert!(note.contains("19900 connections"), "{note}");
    assert!(note.contains("ring, star, line or random"), "{note}");
    for topology in [
        Topology::Ring,
        Topology::Star,
        Topology::Line,
        Topology::Random,
    ] {
        let connections = topology.dials(200, 0).len();
        assert_eq!(slow_to_connect(200, connections), None, "{topology:?}");
    }
    assert_eq!(
        slow_to_connect(100, Topology::Original.dials(100, 0).len()),
        None
    );
}
