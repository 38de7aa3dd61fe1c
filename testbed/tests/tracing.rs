//! The recording layer sees every peer's spans and events, each tagged with its peer, even
//! though libp2p runs connection work detached from the caller's span.

#![cfg(not(target_arch = "wasm32"))]

use testbed::trace::layer::Recorder;
use testbed::{EventSink, Network, NetworkConfig, Topology};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test(flavor = "current_thread")]
async fn a_ping_exchange_is_a_span_on_each_peer() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.layer());
    let _guard = tracing::subscriber::set_default(subscriber);

    let (sink, _events) = EventSink::new();
    let config = NetworkConfig {
        peers: 3,
        topology: Topology::Original,
        seed: 4,
        latency_ms: 0,
        dht: None,
    };
    let network = Network::start(config, sink).await.unwrap();
    assert!(network.connect().await.is_empty());
    network.ping(0, 2, "1".into()).await.unwrap();
    // Let the responder finish closing its side.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let (spans, events) = recorder.drain();
    let ids = network.peer_ids();
    let exchange = |role: &str| {
        spans
            .iter()
            .find(|s| {
                s.name == "ping exchange" && s.fields.iter().any(|(k, v)| *k == "role" && v == role)
            })
            .unwrap_or_else(|| panic!("a {role} span in {spans:?}"))
    };
    let (initiator, responder) = (exchange("initiator"), exchange("responder"));
    assert_eq!(initiator.peer.as_deref(), Some(ids[0].to_base58().as_str()));
    assert_eq!(responder.peer.as_deref(), Some(ids[2].to_base58().as_str()));
    assert!(initiator.start <= responder.start);
    assert!(responder.end >= responder.start);
    assert!(initiator.end >= initiator.start);
    let answered = events
        .iter()
        .find(|e| e.message.starts_with("PONG received"))
        .expect("the initiator's event");
    assert_eq!(answered.peer, initiator.peer);
    assert_eq!(recorder.dropped(), 0);
}
