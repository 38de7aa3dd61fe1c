//! Reading libp2p-kad's messages (`/ipfs/kad/1.0.0`) off a stream: each is an unsigned-varint
//! length, then a protobuf `Message` (type, key, record, closer peers, provider peers). The
//! requester writes the request on a stream it opened; the answer comes back on the same
//! stream with the same type. Anything malformed is an error, never a panic.

use libp2p::{Multiaddr, PeerId};

use super::protobuf::{fields, varint, Field};
use crate::dht::KeyPoint;
use crate::labels::key_label;

pub const PROTOCOL: &str = "/ipfs/kad/1.0.0";

/// libp2p-kad's own limit on a message (its default `max_packet_size`).
pub const MAX_MESSAGE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KadKind {
    PutValue,
    GetValue,
    AddProvider,
    GetProviders,
    FindNode,
    Ping,
}

impl KadKind {
    pub fn name(self) -> &'static str {
        match self {
            KadKind::PutValue => "PUT_VALUE",
            KadKind::GetValue => "GET_VALUE",
            KadKind::AddProvider => "ADD_PROVIDER",
            KadKind::GetProviders => "GET_PROVIDERS",
            KadKind::FindNode => "FIND_NODE",
            KadKind::Ping => "PING",
        }
    }

    fn from_number(number: u64) -> Result<KadKind, String> {
        Ok(match number {
            0 => KadKind::PutValue,
            1 => KadKind::GetValue,
            2 => KadKind::AddProvider,
            3 => KadKind::GetProviders,
            4 => KadKind::FindNode,
            5 => KadKind::Ping,
            other => return Err(format!("unknown message type {other}")),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KadPeer {
    pub id: PeerId,
    pub addresses: Vec<Multiaddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KadMessage {
    pub kind: KadKind,
    pub key: Vec<u8>,
    /// A record's key and value (PUT_VALUE, a GET_VALUE answer that has it).
    pub record: Option<(Vec<u8>, Vec<u8>)>,
    pub closer: Vec<KadPeer>,
    pub providers: Vec<KadPeer>,
    /// Peers left out for an invalid entry (a bad PeerId, none at all), as libp2p-kad leaves
    /// them out: the rest of the answer stands.
    pub dropped_peers: usize,
}

impl KadMessage {
    /// `FIND_NODE` for a request; for an answer what it brought: `↩ 3 peers`,
    /// `↩ record, 2 peers`. Short enough for an arrow.
    pub fn label(&self, request: bool) -> String {
        if request {
            return self.kind.name().to_owned();
        }
        let mut parts = Vec::new();
        if self.record.is_some() {
            parts.push("record".to_owned());
        }
        let count = |n: usize, what: &str| match n {
            1 => format!("1 {what}"),
            n => format!("{n} {what}s"),
        };
        if !self.providers.is_empty() {
            parts.push(count(self.providers.len(), "provider"));
        }
        if !self.closer.is_empty() || parts.is_empty() {
            parts.push(count(self.closer.len(), "peer"));
        }
        format!("↩ {}", parts.join(", "))
    }

    /// The key, and each peer named with how many leading bits it shares with the key.
    pub fn details(&self) -> String {
        // An answer that brings a record may leave its own key empty: the record names it.
        let key = match (&self.record, self.key.is_empty()) {
            (Some((key, _)), true) => key,
            _ => &self.key,
        };
        let target = KeyPoint::of_bytes(key);
        let mut text = format!("{}\nkey: {}", self.kind.name(), key_label(key, &[]));
        if let Some((_, value)) = &self.record {
            text.push_str(&format!("\nrecord value: {} bytes", value.len()));
        }
        for (what, peers) in [("closer peer", &self.closer), ("provider", &self.providers)] {
            for peer in peers {
                let shared = KeyPoint::of_peer(&peer.id)
                    .distance(&target)
                    .common_prefix();
                text.push_str(&format!(
                    "\n{what} {}: shares {shared} leading bits with the key",
                    crate::labels::short_peer_id(&peer.id)
                ));
            }
        }
        if self.dropped_peers > 0 {
            text.push_str(&format!(
                "\n{} peers left out: not a valid entry (as libp2p-kad leaves them out)",
                self.dropped_peers
            ));
        }
        text
    }
}

/// Reads one direction of one kad stream, message by message.
#[derive(Debug, Default)]
pub struct KadReader {
    buffer: Vec<u8>,
    failed: bool,
}

impl KadReader {
    /// Every message completed by `bytes`; after the first error, nothing more is read.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<KadMessage, String>> {
        if self.failed {
            return Vec::new();
        }
        self.buffer.extend_from_slice(bytes);
        let mut messages = Vec::new();
        loop {
            let (length, used) = match varint(&self.buffer) {
                Ok(Some(read)) => read,
                Ok(None) => break,
                Err(error) => {
                    messages.push(Err(error));
                    break;
                }
            };
            let length = match usize::try_from(length) {
                Ok(length) if length <= MAX_MESSAGE => length,
                _ => {
                    messages.push(Err(format!(
                        "a message of {length} bytes is over the {MAX_MESSAGE}-byte limit"
                    )));
                    break;
                }
            };
            if self.buffer.len() < used + length {
                break;
            }
            messages.push(decode_message(&self.buffer[used..used + length]));
            self.buffer.drain(..used + length);
        }
        if messages.iter().any(Result::is_err) {
            self.failed = true;
            self.buffer = Vec::new();
        }
        messages
    }
}

fn decode_message(bytes: &[u8]) -> Result<KadMessage, String> {
    let mut kind = KadKind::PutValue; // protobuf's default for a missing enum: 0
    let mut message = KadMessage {
        kind,
        key: Vec::new(),
        record: None,
        closer: Vec::new(),
        providers: Vec::new(),
        dropped_peers: 0,
    };
    for field in fields(bytes) {
        match field? {
            (1, Field::Varint(number)) => kind = KadKind::from_number(number)?,
            (2, Field::Bytes(key)) => message.key = key.to_vec(),
            (3, Field::Bytes(record)) => message.record = Some(decode_record(record)?),
            // As many as the message holds (its size is bounded); an invalid entry is left
            // out and the rest stands, as in libp2p-kad.
            (number @ (8 | 9), Field::Bytes(peer)) => match decode_peer(peer) {
                Ok(peer) if number == 8 => message.closer.push(peer),
                Ok(peer) => message.providers.push(peer),
                Err(_) => message.dropped_peers += 1,
            },
            (1 | 2 | 3 | 8 | 9, _) => return Err("a field has the wrong wire type".into()),
            _ => {}
        }
    }
    message.kind = kind;
    Ok(message)
}

fn decode_record(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (mut key, mut value) = (Vec::new(), Vec::new());
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(bytes)) => key = bytes.to_vec(),
            (2, Field::Bytes(bytes)) => value = bytes.to_vec(),
            _ => {}
        }
    }
    Ok((key, value))
}

fn decode_peer(bytes: &[u8]) -> Result<KadPeer, String> {
    let mut id = None;
    let mut addresses = Vec::new();
    for field in fields(bytes) {
        match field? {
            (1, Field::Bytes(bytes)) => {
                id = Some(
                    PeerId::from_bytes(bytes)
                        .map_err(|e| format!("a peer's id is invalid: {e}"))?,
                )
            }
            (2, Field::Bytes(bytes)) => {
                if let Ok(address) = Multiaddr::try_from(bytes.to_vec()) {
                    addresses.push(address);
                }
            }
            _ => {}
        }
    }
    Ok(KadPeer {
        id: id.ok_or("a peer without an id")?,
        addresses,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::protobuf::{put_bytes, put_varint};

    #[test]
    fn an_answer_is_labelled_by_what_it_brings_and_named_by_its_records_key() {
        let answer = KadMessage {
            kind: KadKind::GetValue,
            key: Vec::new(),
            record: Some((b"lesson".to_vec(), b"hello".to_vec())),
            closer: vec![KadPeer {
                id: PeerId::random(),
                addresses: Vec::new(),
            }],
            providers: Vec::new(),
            dropped_peers: 0,
        };
        assert_eq!(answer.label(false), "↩ record, 1 peer");
        assert!(answer
            .details()
            .starts_with("GET_VALUE\nkey: lesson\nrecord value: 5 bytes"));
    }

    /// A kad message as libp2p-kad writes it: its length, then the protobuf.
    pub(crate) fn framed(kind: u64, key: &[u8], closer: &[PeerId]) -> Vec<u8> {
        let mut body = Vec::new();
        put_varint(&mut body, 1 << 3);
        put_varint(&mut body, kind);
        put_bytes(&mut body, 2, key);
        for peer in closer {
            let mut entry = Vec::new();
            put_bytes(&mut entry, 1, &peer.to_bytes());
            put_bytes(
                &mut entry,
                2,
                &"/memory/7".parse::<Multiaddr>().unwrap().to_vec(),
            );
            put_bytes(&mut body, 8, &entry);
        }
        put_varint(&mut body, 10 << 3);
        put_varint(&mut body, 0);
        let mut out = Vec::new();
        put_varint(&mut out, body.len() as u64);
        out.extend(body);
        out
    }

    #[test]
    fn a_find_node_answer_read_in_pieces() {
        let peers: Vec<PeerId> = (0..3)
            .map(|i| crate::identity::keypair(9, i).public().to_peer_id())
            .collect();
        let mut bytes = framed(4, b"target", &peers);
        bytes.extend(framed(5, b"", &[]));
        let mut reader = KadReader::default();
        let mut read = Vec::new();
        for chunk in bytes.chunks(7) {
            read.extend(reader.push(chunk));
        }
        let read: Vec<KadMessage> = read.into_iter().map(Result::unwrap).collect();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].kind, KadKind::FindNode);
        assert_eq!(read[0].key, b"target");
        assert_eq!(
            read[0].closer.iter().map(|p| p.id).collect::<Vec<_>>(),
            peers
        );
        assert_eq!(read[0].closer[0].addresses[0].to_string(), "/memory/7");
        assert_eq!(read[1].kind, KadKind::Ping);
    }

    #[test]
    fn malformed_messages_are_errors_and_end_the_reading() {
        let mut oversized = Vec::new();
        put_varint(&mut oversized, MAX_MESSAGE as u64 + 1);
        assert!(KadReader::default().push(&oversized)[0].is_err());
        // A field claims 50 bytes inside a 3-byte message.
        let mut reader = KadReader::default();
        assert!(reader.push(&[3, 0x12, 50, 1])[0].is_err());
        assert!(reader.push(&framed(4, b"k", &[])).is_empty());
        // An unknown message type, a peer id that is not one.
        assert!(KadReader::default().push(&framed(9, b"k", &[]))[0].is_err());
        let mut bad_peer = Vec::new();
        put_bytes(&mut bad_peer, 1, b"nope");
        let mut body = Vec::new();
        put_bytes(&mut body, 8, &bad_peer);
        let mut framed_bad = vec![body.len() as u8];
        framed_bad.extend(body);
        let read = KadReader::default().push(&framed_bad);
        assert_eq!(read[0].as_ref().unwrap().dropped_peers, 1);
    }

    /// `count` closer peers, the first `bad` of them with an id that is not a PeerId.
    fn answer_with_peers(count: usize, bad: usize) -> (Vec<u8>, Vec<PeerId>) {
        let peers: Vec<PeerId> = (0..count)
            .map(|i| crate::identity::keypair(3, i).public().to_peer_id())
            .collect();
        let mut body = Vec::new();
        put_varint(&mut body, 1 << 3);
        put_varint(&mut body, 4);
        for (i, peer) in peers.iter().enumerate() {
            let mut entry = Vec::new();
            let id = if i < bad {
                b"nope".to_vec()
            } else {
                peer.to_bytes()
            };
            put_bytes(&mut entry, 1, &id);
            put_bytes(&mut body, 8, &entry);
        }
        let mut out = Vec::new();
        put_varint(&mut out, body.len() as u64);
        out.extend(body);
        (out, peers[bad..].to_vec())
    }

    #[test]
    fn an_answer_naming_many_peers_is_read_whole_and_the_stream_goes_on() {
        // 65 closer peers: more than kad's 20, still well inside the 16 KiB limit.
        let (mut bytes, peers) = answer_with_peers(65, 0);
        bytes.extend(framed(5, b"", &[]));
        let read = KadReader::default().push(&bytes);
        let ids: Vec<PeerId> = read[0]
            .as_ref()
            .unwrap()
            .closer
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, peers);
        assert_eq!(read[1].as_ref().unwrap().kind, KadKind::Ping);
    }

    #[test]
    fn one_bad_peer_id_drops_that_peer_only() {
        let (bytes, good) = answer_with_peers(4, 1);
        let read = KadReader::default().push(&bytes);
        let message = read[0].as_ref().unwrap();
        assert_eq!(
            message.closer.iter().map(|p| p.id).collect::<Vec<_>>(),
            good
        );
        assert_eq!(message.dropped_peers, 1);
    }

    #[test]
    fn unknown_groups_are_skipped_as_prost_skips_them() {
        // Field 20 as a proto2 group (start 3, end 4) holding a number and a nested group.
        let mut group = Vec::new();
        put_varint(&mut group, 20 << 3 | 3);
        put_varint(&mut group, 1 << 3);
        put_varint(&mut group, 300);
        put_varint(&mut group, 21 << 3 | 3);
        put_varint(&mut group, 21 << 3 | 4);
        put_varint(&mut group, 20 << 3 | 4);
        let mut body = Vec::new();
        put_varint(&mut body, 1 << 3);
        put_varint(&mut body, 4);
        body.extend(&group);
        put_bytes(&mut body, 2, b"after the group");
        let mut bytes = Vec::new();
        put_varint(&mut bytes, body.len() as u64);
        bytes.extend(body);
        let read = KadReader::default().push(&bytes);
        let message = read[0].as_ref().unwrap();
        assert_eq!(message.kind, KadKind::FindNode);
        assert_eq!(message.key, b"after the group");
        // An end without a start, and a group that never ends, are errors.
        for tag in [20 << 3 | 4, 20 << 3 | 3] {
            let mut body = Vec::new();
            put_varint(&mut body, tag);
            let mut broken = Vec::new();
            put_varint(&mut broken, body.len() as u64);
            broken.extend(body);
            assert!(KadReader::default().push(&broken)[0].is_err(), "{broken:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(
            proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), 0..16)) {
            let mut reader = KadReader::default();
            for chunk in &chunks {
                let _ = reader.push(chunk);
            }
        }
    }
}
