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

/// A signaling stream whose other end takes everything and never says a word.
struct Silent;

impl futures::AsyncRead for Silent {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Pending
    }
}

impl futures::AsyncWrite for Silent {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        bytes: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[wasm_bindgen_test]
async fn an_offer_nobody_answers_fails_with_its_reason() {
    use testbed::webrtc::handshake::{offer, HandshakeError};
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = sent.clone();
    let report = std::sync::Arc::new(
        move |outgoing: bool, signal: &testbed::wire::webrtc::Signal| {
            heard.lock().unwrap().push((outgoing, signal.kind));
        },
    );
    let outcome = offer(Silent, &web_sys::RtcConfiguration::new(), report).await;
    let error = outcome.err().expect("no answer, no connection");
    assert_eq!(error, HandshakeError::TimedOut("SDP answer"));
    assert_eq!(error.to_string(), "no SDP answer within 10 s");
    assert_eq!(
        *sent.lock().unwrap(),
        [(true, testbed::wire::webrtc::SignalKind::SdpOffer)],
        "the offer went out, and nothing came back"
    );
}
