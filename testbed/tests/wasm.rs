//! The engine in the browser: the same in-memory network, compiled to wasm, run in Chromium.

#![cfg(target_arch = "wasm32")]

use futures::StreamExt;
use testbed::protocols::ping::MessageType;
use testbed::{EventSink, Network, NetworkConfig, NetworkView, Topology};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn peers_connect_and_ping_in_the_browser() {
    let (sink, mut events) = EventSink::new();
    let config = NetworkConfig {
        peers: 6,
        topology: Topology::Original,
        seed: 42,
        latency_ms: 0,
        dht: None,
    };
    let network = Network::start(config, sink).await.expect("network starts");
    assert!(network.peer_ids()[0]
        .to_base58()
        .starts_with("12D3KooWHxRF"));
    let mut view = NetworkView::new(network.peer_ids(), network.expected_connections());
    assert!(network.connect().await.is_empty());
    // Bounded: a connection that never comes fails the test instead of hanging it.
    {
        let connecting = async {
            while !view.all_connected() {
                view.apply(&events.next().await.expect("events flow"));
            }
        };
        let patience = futures_timer::Delay::new(std::time::Duration::from_secs(60));
        futures::pin_mut!(connecting);
        let outcome = futures::future::select(connecting, patience).await;
        assert!(
            matches!(outcome, futures::future::Either::Left(_)),
            "not all 15 connections came up within 60 s"
        );
    }
    assert_eq!(view.connection_count(), 15);
    let pong = network.ping(0, 3, "1".into()).await.expect("ping works");
    assert_eq!(pong.kind, MessageType::Pong);
}
