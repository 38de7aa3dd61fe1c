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

/// Two peer connections in this page, joined by trading their offer, answer and candidates
/// directly: a data channel opened by the first, open at both ends.
async fn channel_pair() -> (web_sys::RtcDataChannel, web_sys::RtcDataChannel) {
    use wasm_bindgen::{closure::Closure, JsCast};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        RtcDataChannelEvent, RtcPeerConnection, RtcPeerConnectionIceEvent, RtcSdpType,
        RtcSessionDescriptionInit,
    };
    let (a, b) = (
        RtcPeerConnection::new().unwrap(),
        RtcPeerConnection::new().unwrap(),
    );
    // Each side's candidates, the last one None: added once both descriptions are set.
    let gathered = |peer: &RtcPeerConnection| {
        let (found, candidates) = futures::channel::mpsc::unbounded();
        let on_candidate = Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(
            move |event: RtcPeerConnectionIceEvent| {
                let _ = found.unbounded_send(event.candidate());
            },
        );
        peer.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        on_candidate.forget();
        candidates.take_while(|c| futures::future::ready(c.is_some()))
    };
    let (from_a, from_b) = (gathered(&a), gathered(&b));
    let (opened, mut arrived) = futures::channel::mpsc::unbounded();
    let on_channel =
        Closure::<dyn FnMut(RtcDataChannelEvent)>::new(move |event: RtcDataChannelEvent| {
            let _ = opened.unbounded_send(event.channel());
        });
    b.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
    on_channel.forget();
    let channel = a.create_data_channel("stream");
    let sdp = |description: wasm_bindgen::JsValue| {
        js_sys::Reflect::get(&description, &"sdp".into())
            .unwrap()
            .as_string()
            .unwrap()
    };
    let describe = |kind, sdp: &str| {
        let description = RtcSessionDescriptionInit::new(kind);
        description.set_sdp(sdp);
        description
    };
    let offer = sdp(JsFuture::from(a.create_offer()).await.unwrap());
    JsFuture::from(a.set_local_description(&describe(RtcSdpType::Offer, &offer)))
        .await
        .unwrap();
    JsFuture::from(b.set_remote_description(&describe(RtcSdpType::Offer, &offer)))
        .await
        .unwrap();
    let answer = sdp(JsFuture::from(b.create_answer()).await.unwrap());
    JsFuture::from(b.set_local_description(&describe(RtcSdpType::Answer, &answer)))
        .await
        .unwrap();
    JsFuture::from(a.set_remote_description(&describe(RtcSdpType::Answer, &answer)))
        .await
        .unwrap();
    for (candidates, to) in [(from_a, &b), (from_b, &a)] {
        for candidate in candidates.collect::<Vec<_>>().await.into_iter().flatten() {
            let _ =
                JsFuture::from(to.add_ice_candidate_with_opt_rtc_ice_candidate(Some(&candidate)))
                    .await;
        }
    }
    (
        channel,
        arrived
            .next()
            .await
            .expect("the other side sees the channel"),
    )
}

#[wasm_bindgen_test]
async fn a_request_whose_answer_came_before_the_remote_closed_flushes_and_reads_the_answer() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    use testbed::webrtc::channel::DataChannel;
    use wasm_bindgen::{closure::Closure, JsCast};
    let (requester, responder) = channel_pair().await;
    let (tell_closed, closed) = futures::channel::oneshot::channel();
    let on_close = Closure::once(move || {
        let _ = tell_closed.send(());
    });
    requester
        .add_event_listener_with_callback("close", on_close.as_ref().unchecked_ref())
        .unwrap();
    let (mut requester, mut responder) = (DataChannel::new(requester), DataChannel::new(responder));
    requester.write_all(b"FIND_NODE").await.unwrap();
    let mut request = [0; 9];
    responder.read_exact(&mut request).await.unwrap();
    assert_eq!(&request, b"FIND_NODE");
    // As libp2p-kad's responder does: answer, then drop the stream, which closes the channel.
    responder.write_all(b"closer peers").await.unwrap();
    responder.flush().await.unwrap();
    drop(responder);
    closed.await.unwrap();
    requester
        .flush()
        .await
        .expect("the request had left before the channel closed: nothing is left to flush");
    let mut answer = Vec::new();
    requester.read_to_end(&mut answer).await.unwrap();
    assert_eq!(
        answer, b"closer peers",
        "what arrived before the close is read"
    );
}
