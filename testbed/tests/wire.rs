//! The wire tap on a real in-memory connection: what two peers actually wrote and read, at
//! both depths, decoded and checked against the multistream-select, Noise XX and yamux specs.

#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use futures::StreamExt;
use testbed::wire::yamux::{Flags, FrameType, Header};
use testbed::wire::{Direction, Layer, WireItem, WireRecord};
use testbed::{EventKind, EventSink, Network, NetworkConfig, PingStep, Topology};

const PATIENCE: Duration = Duration::from_secs(60);

async fn two_peers() -> (Network, testbed::EventStream) {
    let (sink, events) = EventSink::new();
    let config = NetworkConfig {
        peers: 2,
        topology: Topology::Line,
        seed: 3,
        latency_ms: 0,
        dht: None,
    };
    let network = Network::start(config, sink).await.expect("starts");
    assert!(network.connect().await.is_empty());
    (network, events)
}

/// Waits until both sides have seen the ping's stream closed, so every frame is recorded.
async fn wait_for_closes(events: &mut testbed::EventStream) {
    let mut closes = 0;
    tokio::time::timeout(PATIENCE, async {
        while closes < 2 {
            let event = events.next().await.expect("events");
            if matches!(event.kind, EventKind::Ping(PingStep::RemoteClosed { .. })) {
                closes += 1;
            }
        }
    })
    .await
    .expect("the ping finished");
}

fn of(records: &[WireRecord], local: usize, network: &Network, layer: Layer) -> Vec<WireRecord> {
    let peer = network.peer_ids()[local];
    records
        .iter()
        .filter(|r| r.local == peer && r.layer == layer)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_connection_opens_with_multistream_select_then_noise_xx_then_yamux() {
    let (network, _events) = two_peers().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (records, dropped) = network.wire().expect("tapped").drain();
    assert_eq!(dropped, 0);
    let dialer = of(&records, 0, &network, Layer::Raw);
    let sent: Vec<&WireItem> = dialer
        .iter()
        .filter(|r| r.direction == Direction::Sent)
        .map(|r| &r.item)
        .collect();
    let negotiation = |m: &str| WireItem::Negotiation {
        stream: None,
        message: m.into(),
    };
    assert_eq!(sent[0], &negotiation("/multistream/1.0.0"));
    assert_eq!(sent[1], &negotiation("/noise"));
    // Noise XX: → e is the bare 32-byte ephemeral key.
    assert_eq!(
        sent[2],
        &WireItem::NoiseHandshake {
            message: 1,
            len: 32
        }
    );
    assert!(matches!(
        sent[3],
        WireItem::NoiseHandshake { message: 3, .. }
    ));
    assert!(matches!(sent[4], WireItem::Ciphertext { .. }));
    let received: Vec<&WireItem> = dialer
        .iter()
        .filter(|r| r.direction == Direction::Received)
        .map(|r| &r.item)
        .collect();
    assert_eq!(
        received[1],
        &negotiation("/noise"),
        "the listener echoes to accept"
    );
    assert!(matches!(received[2], WireItem::NoiseHandshake { message: 2, len } if *len > 32));
    // Every record knows the remote once noise has proved it, even those from before.
    assert!(dialer
        .iter()
        .all(|r| r.remote == Some(network.peer_ids()[1])));

    let plain = of(&records, 0, &network, Layer::Plain);
    let plain_sent: Vec<&WireItem> = plain
        .iter()
        .filter(|r| r.direction == Direction::Sent)
        .map(|r| &r.item)
        .collect();
    assert_eq!(plain_sent[1], &negotiation("/yamux/1.0.0"));
    assert!(plain
        .iter()
        .all(|r| !matches!(r.item, WireItem::Undecodable { .. })));
}

/// (header, protocol) of the frames `local` sent or received on `stream`.
fn frames_on(
    records: &[WireRecord],
    direction: Direction,
    stream: u32,
) -> Vec<(Header, Option<String>, Vec<u8>)> {
    records
        .iter()
        .filter(|r| r.direction == direction)
        .filter_map(|r| match &r.item {
            WireItem::Frame {
                header,
                protocol,
                data,
            } if header.stream == stream => Some((*header, protocol.clone(), data.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_frames_of_a_ping_follow_the_yamux_spec_field_by_field() {
    let (network, mut events) = two_peers().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let wire = network.wire().expect("tapped").clone();
    drop(wire.drain());
    network.ping(0, 1, "7".into()).await.expect("ping works");
    wait_for_closes(&mut events).await;
    let (records, _) = wire.drain();
    let initiator = of(&records, 0, &network, Layer::Plain);
    let responder = of(&records, 1, &network, Layer::Plain);

    // The stream is the one whose first frame carries SYN and negotiates the ping protocol.
    let opening = initiator
        .iter()
        .find_map(|r| match &r.item {
            WireItem::Frame {
                header, protocol, ..
            } if r.direction == Direction::Sent
                && header.flags.contains(Flags::SYN)
                && protocol.as_deref() == Some("/testbed/ping/1.0.0") =>
            {
                Some(*header)
            }
            _ => None,
        })
        .expect("a SYN frame opening the ping stream");
    let stream = opening.stream;
    // The peer that dialed is yamux's client: the streams it opens have odd ids.
    assert_eq!(stream % 2, 1, "stream {stream}");

    let sent = frames_on(&initiator, Direction::Sent, stream);
    let answered = frames_on(&responder, Direction::Sent, stream);
    for (header, ..) in sent.iter().chain(&answered) {
        assert_eq!(header.version, 0);
        assert_eq!(Header::decode(&header.encode()).as_ref(), Ok(header));
    }
    // Opened with SYN, accepted with ACK, each side half-closes with FIN; no RST.
    assert!(sent[0].0.flags.contains(Flags::SYN));
    assert!(answered[0].0.flags.contains(Flags::ACK), "{answered:?}");
    assert_eq!(
        sent.iter()
            .filter(|(h, ..)| h.flags.contains(Flags::FIN))
            .count(),
        1
    );
    assert_eq!(
        answered
            .iter()
            .filter(|(h, ..)| h.flags.contains(Flags::FIN))
            .count(),
        1
    );
    assert!(sent
        .iter()
        .chain(&answered)
        .all(|(h, ..)| !h.flags.contains(Flags::RST)));
    // The envelopes travel as DATA, the length field counting the bytes that follow.
    let carries = |frames: &[(Header, Option<String>, Vec<u8>)], text: &str| {
        frames.iter().any(|(h, _, data)| {
            h.kind == FrameType::Data && String::from_utf8_lossy(data).contains(text)
        })
    };
    assert!(carries(&sent, "\"type\":\"PING\""), "{sent:?}");
    assert!(carries(&answered, "\"type\":\"PONG\""), "{answered:?}");
    // What one side wrote, the other read, frame for frame.
    let read = frames_on(&responder, Direction::Received, stream);
    assert_eq!(
        sent.iter().map(|(h, ..)| *h).collect::<Vec<_>>(),
        read.iter().map(|(h, ..)| *h).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_frame_and_handshake_written_is_linked_to_its_read_in_the_trace() {
    use testbed::trace::model::MessageKind;
    let (network, mut events) = two_peers().await;
    network.ping(0, 1, "1".into()).await.expect("ping works");
    wait_for_closes(&mut events).await;
    let (records, _) = network.wire().expect("tapped").drain();
    let mut trace = testbed::trace::Trace::default();
    for record in &records {
        trace.apply_wire(record);
    }
    let handshakes: Vec<String> = trace
        .messages()
        .filter(|m| m.kind == MessageKind::Handshake && m.from == network.peer_ids()[0])
        .map(|m| m.label.clone())
        .collect();
    assert_eq!(
        handshakes,
        [
            "/multistream/1.0.0",
            "/noise",
            "noise → e",
            "noise → s, se",
            "/multistream/1.0.0",
            "/yamux/1.0.0"
        ]
    );
    let frames = trace
        .messages()
        .filter(|m| m.kind == MessageKind::Frame)
        .count();
    assert!(frames >= 8, "{frames} frames");
    let unread: Vec<_> = trace.unreceived().map(|m| m.label.clone()).collect();
    assert!(unread.is_empty(), "{unread:?}");
}

/// Every event and wire record so far, in one trace.
async fn trace_of(
    network: &Network,
    events: &mut testbed::EventStream,
    trace: &mut testbed::trace::Trace,
) {
    while let Ok(event) = events.try_recv() {
        trace.apply(&event);
    }
    for record in network.wire().expect("tapped").drain().0 {
        trace.apply_wire(&record);
    }
}

#[tokio::test]
async fn a_transfer_and_pings_share_one_connection_and_the_reader_opens_the_window() {
    use testbed::lesson::{Expectation, Measure};
    use testbed::protocols::transfer::Request;
    let (network, mut events) = two_peers().await;
    let mut trace = testbed::trace::Trace::default();
    // A slow reader: 1 MiB, read 16 KiB at a time with a pause after each.
    let request = Request {
        bytes: 1 << 20,
        read_delay_ms: 2,
    };
    let transfer = network.transfer(0, 1, request, None);
    let pings = async {
        for id in 0..3 {
            tokio::time::sleep(Duration::from_millis(15)).await;
            network
                .ping(0, 1, id.to_string())
                .await
                .expect("ping works");
        }
    };
    let (sent, ()) = tokio::time::timeout(PATIENCE, async { tokio::join!(transfer, pings) })
        .await
        .expect("in time");
    assert_eq!(sent.expect("transfer works"), 1 << 20);
    tokio::time::sleep(Duration::from_millis(50)).await;
    trace_of(&network, &mut events, &mut trace).await;
    let view = testbed::NetworkView::default();
    assert!(
        Expectation::Interleaved.is_met(&view, &trace, None),
        "DATA of two streams took turns"
    );
    assert!(
        Expectation::WindowUpdate.is_met(&view, &trace, None),
        "the reader sent WINDOW_UPDATEs"
    );
    assert_eq!(
        Measure::PingsWaited.observe(&view, &trace, None).as_deref(),
        Some("no"),
        "a PONG came back while the transfer was still running"
    );
    assert!(!Expectation::Reset.is_met(&view, &trace, None));
}

#[tokio::test]
async fn giving_up_on_a_stream_resets_it() {
    use testbed::lesson::Expectation;
    use testbed::protocols::transfer::Request;
    let (network, mut events) = two_peers().await;
    let request = Request {
        bytes: 256 * 1024,
        read_delay_ms: 0,
    };
    let sent = network
        .transfer(0, 1, request, Some(64 * 1024))
        .await
        .expect("gave up");
    assert_eq!(sent, 64 * 1024);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut trace = testbed::trace::Trace::default();
    trace_of(&network, &mut events, &mut trace).await;
    let view = testbed::NetworkView::default();
    assert!(
        Expectation::Reset.is_met(&view, &trace, None),
        "a frame carried RST"
    );
}

#[tokio::test]
async fn the_dialer_speaks_first_on_a_new_connection() {
    use testbed::lesson::Measure;
    let (network, mut events) = two_peers().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut trace = testbed::trace::Trace::default();
    trace_of(&network, &mut events, &mut trace).await;
    let view = testbed::NetworkView::default();
    assert_eq!(
        Measure::FirstSpeaker
            .observe(&view, &trace, None)
            .as_deref(),
        Some("dialer")
    );
}
