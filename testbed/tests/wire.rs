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
    // Noise XX with 25519 and ChaChaPoly: message 2 is e (32) + s encrypted (32 + 16-byte tag)
    // + the payload encrypted (+16); message 3 is s encrypted (48) + the payload encrypted.
    // libp2p's payload here is an ed25519 identity key and its signature: 104 bytes.
    assert_eq!(
        received[2],
        &WireItem::NoiseHandshake {
            message: 2,
            len: 32 + 48 + 104 + 16
        }
    );
    assert_eq!(
        sent[3],
        &WireItem::NoiseHandshake {
            message: 3,
            len: 48 + 104 + 16
        }
    );
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
    // The length field is the payload's length: the decoder took exactly that many bytes as
    // the frame's data (and keeps the first PREVIEW of them), then found the next header.
    for (header, _, data) in sent.iter().chain(&answered) {
        if header.kind == FrameType::Data {
            let length = header.length as usize;
            assert_eq!(
                data.len(),
                length.min(testbed::wire::decode::PREVIEW),
                "{header:?}"
            );
        }
    }
    // What one side wrote, the other read, frame for frame.
    let read = frames_on(&responder, Direction::Received, stream);
    assert_eq!(
        sent.iter().map(|(h, ..)| *h).collect::<Vec<_>>(),
        read.iter().map(|(h, ..)| *h).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_frame_and_handshake_written_is_linked_to_its_read_in_the_trace() {
    use testbed::trace::mark::MessageKind;
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

/// The yamux frames `local` wrote (`Sent`) or read, in order, from the decrypted layer:
/// (header, the stream's protocol once agreed).
fn yamux_frames(
    records: &[WireRecord],
    network: &Network,
    local: usize,
    direction: Direction,
) -> Vec<(Header, Option<String>)> {
    of(records, local, network, Layer::Plain)
        .into_iter()
        .filter(|r| r.direction == direction)
        .filter_map(|r| match r.item {
            WireItem::Frame {
                header, protocol, ..
            } => Some((header, protocol)),
            _ => None,
        })
        .collect()
}

/// The stream that carried `protocol`.
fn stream_of(frames: &[(Header, Option<String>)], protocol: &str) -> u32 {
    frames
        .iter()
        .find(|(_, p)| p.as_deref() == Some(protocol))
        .map(|(h, _)| h.stream)
        .unwrap_or_else(|| panic!("a stream carried {protocol}"))
}

/// DATA frames of the testbed's pings written between the first and the last DATA frame of
/// `stream`: the streams took turns on the connection.
fn pings_between(frames: &[(Header, Option<String>)], stream: u32) -> usize {
    let data = |h: &Header| h.kind == FrameType::Data && h.length > 0;
    let first = frames
        .iter()
        .position(|(h, _)| data(h) && h.stream == stream);
    let last = frames
        .iter()
        .rposition(|(h, _)| data(h) && h.stream == stream);
    let (Some(first), Some(last)) = (first, last) else {
        return 0;
    };
    frames[first..last]
        .iter()
        .filter(|(h, p)| {
            data(h) && p.as_deref() == Some(testbed::protocols::ping::PROTOCOL.as_ref())
        })
        .count()
}

/// WINDOW_UPDATEs that give credit on `stream` (not the ones that open or accept it).
fn credit_given(frames: &[(Header, Option<String>)], stream: u32) -> usize {
    frames
        .iter()
        .filter(|(h, _)| h.kind == FrameType::WindowUpdate && h.stream == stream)
        .filter(|(h, _)| !h.flags.contains(Flags::SYN) && !h.flags.contains(Flags::ACK))
        .filter(|(h, _)| h.length > 0)
        .count()
}

/// Runs a transfer of `kib` KiB from peer 0 to peer 1 (read `read_delay_ms` apart, with
/// three pings alongside when asked); returns every wire record.
async fn transfer_frames(
    kib: u64,
    read_delay_ms: u64,
    pings: bool,
    give_up: Option<u64>,
) -> (Network, Vec<WireRecord>) {
    use testbed::protocols::transfer::Request;
    let (network, _events) = two_peers().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = network.wire().expect("tapped").drain();
    let request = Request {
        bytes: kib * 1024,
        read_delay_ms,
    };
    let transfer = network.transfer(0, 1, request, give_up);
    let alongside = async {
        for id in 0..if pings { 3 } else { 0 } {
            tokio::time::sleep(Duration::from_millis(15)).await;
            network
                .ping(0, 1, id.to_string())
                .await
                .expect("ping works");
        }
    };
    let (sent, ()) = tokio::time::timeout(PATIENCE, async { tokio::join!(transfer, alongside) })
        .await
        .expect("in time");
    sent.expect("transfer works");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (records, dropped) = network.wire().expect("tapped").drain();
    assert_eq!(dropped, 0, "the tap kept every record");
    (network, records)
}

#[tokio::test]
async fn headers_show_streams_taking_turns_the_reader_giving_credit_and_no_reset() {
    let (network, records) = transfer_frames(1024, 2, true, None).await;
    let written = yamux_frames(&records, &network, 0, Direction::Sent);
    let read_back = yamux_frames(&records, &network, 0, Direction::Received);
    let stream = stream_of(&written, testbed::protocols::transfer::PROTOCOL.as_ref());
    assert!(
        pings_between(&written, stream) > 0,
        "PING frames went out between the transfer's DATA frames"
    );
    assert!(
        credit_given(&read_back, stream) > 0,
        "the slow reader sent WINDOW_UPDATEs with credit on the transfer's stream"
    );
    assert!(
        written
            .iter()
            .chain(&read_back)
            .all(|(h, _)| !h.flags.contains(Flags::RST)),
        "nothing was reset"
    );
}

#[tokio::test]
async fn headers_show_no_turns_without_pings_and_no_credit_while_the_window_lasts() {
    // 64 KiB, well inside yamux's 256 KiB initial window, read at once, nothing alongside.
    let (network, records) = transfer_frames(64, 0, false, None).await;
    let written = yamux_frames(&records, &network, 0, Direction::Sent);
    let read_back = yamux_frames(&records, &network, 0, Direction::Received);
    let stream = stream_of(&written, testbed::protocols::transfer::PROTOCOL.as_ref());
    assert_eq!(pings_between(&written, stream), 0);
    assert_eq!(credit_given(&read_back, stream), 0);
}

#[tokio::test]
async fn a_sender_giving_up_resets_its_stream_in_the_header() {
    let (network, records) = transfer_frames(256, 0, false, Some(64 * 1024)).await;
    let written = yamux_frames(&records, &network, 0, Direction::Sent);
    let stream = stream_of(&written, testbed::protocols::transfer::PROTOCOL.as_ref());
    let resets: Vec<&Header> = written
        .iter()
        .map(|(h, _)| h)
        .filter(|h| h.flags.contains(Flags::RST))
        .collect();
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(
        resets[0].stream, stream,
        "the transfer's stream, and only it"
    );
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
    use testbed::lesson::{Expectation, Measure, Since};
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
        Expectation::Interleaved.is_met(&view, &trace, None, Since::START),
        "DATA of two streams took turns"
    );
    assert!(
        Expectation::WindowUpdate.is_met(&view, &trace, None, Since::START),
        "the reader sent WINDOW_UPDATEs"
    );
    assert_eq!(
        Measure::PingsWaited.observe(&view, &trace, None).as_deref(),
        Some("no"),
        "a PONG came back while the transfer was still running"
    );
    assert!(!Expectation::Reset.is_met(&view, &trace, None, Since::START));
}

#[tokio::test]
async fn giving_up_on_a_stream_resets_it() {
    use testbed::lesson::{Expectation, Since};
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
        Expectation::Reset.is_met(&view, &trace, None, Since::START),
        "a frame carried RST"
    );
    assert!(
        !Expectation::Reset.is_met(&view, &trace, None, Since::now(&trace)),
        "a later step's action has not reset anything yet"
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
