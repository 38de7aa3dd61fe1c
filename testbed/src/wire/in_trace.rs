//! What each thing seen on the wire means to the trace: a handshake message, a yamux frame or
//! a Kademlia message, each said the way its spec names it. Ciphertext and bytes that stopped
//! making sense draw no arrow.

use super::decode::WireItem;
use super::kad::PROTOCOL as KAD;
use super::yamux::{frame_details, frame_label};
use super::{Layer, WireRecord};
use crate::trace::mark::{MessageKind, Said};

impl WireRecord {
    /// The kind of message this record is in the trace, None when it draws no arrow: all a
    /// receive needs, without writing out what was said.
    /// `asked`: a Kademlia message belongs to a lookup the page asked for, not to libp2p-kad's
    /// own upkeep.
    pub fn kind(&self, asked: bool) -> Option<MessageKind> {
        Some(match &self.item {
            WireItem::Negotiation { stream: None, .. } | WireItem::NoiseHandshake { .. } => {
                MessageKind::Handshake
            }
            WireItem::Kad { message: Ok(_), .. } if asked => MessageKind::Kad,
            WireItem::Kad { message: Ok(_), .. } => MessageKind::KadBackground,
            WireItem::Frame { .. } => MessageKind::Frame,
            _ => return None,
        })
    }

    /// What a sent record said, as the diagram labels its arrow (see [`WireRecord::kind`]).
    pub fn said(&self, asked: bool) -> Option<Said> {
        let kind = self.kind(asked)?;
        Some(match &self.item {
            WireItem::Negotiation { message, .. } => Said::plain(
                kind,
                match self.layer {
                    Layer::Raw => "multistream-select",
                    Layer::Plain => "multistream-select, inside noise",
                },
                message.clone(),
            ),
            WireItem::NoiseHandshake { message, len } => Said {
                payload: Some(format!("Noise XX message {message} of 3, {len} bytes")),
                ..Said::plain(
                    kind,
                    "/noise (Noise XX)",
                    format!("noise {}", WireItem::noise_tokens(*message)),
                )
            },
            WireItem::Kad {
                request,
                message: Ok(message),
                ..
            } => Said {
                payload: Some(message.details()),
                ..Said::plain(kind, KAD, message.label(*request))
            },
            WireItem::Frame {
                header,
                protocol,
                data,
            } => Said {
                payload: Some(frame_details(header, data)),
                ..Said::plain(
                    kind,
                    protocol.as_deref().unwrap_or("yamux"),
                    frame_label(header),
                )
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use libp2p::PeerId;

    use super::*;
    use crate::wire::kad::{KadKind, KadMessage};
    use crate::wire::yamux::{Flags, FrameType, Header};
    use crate::wire::Direction;

    fn record(item: WireItem) -> WireRecord {
        WireRecord {
            at_ms: 0.0,
            connection: 0,
            local: PeerId::random(),
            remote: Some(PeerId::random()),
            dialer: true,
            direction: Direction::Received,
            layer: Layer::Raw,
            item,
        }
    }

    #[test]
    fn a_receive_has_the_kind_its_send_is_said_with() {
        let items = [
            WireItem::Negotiation {
                stream: None,
                message: "/noise".into(),
            },
            WireItem::Negotiation {
                stream: Some(1),
                message: "/ipfs/id/1.0.0".into(),
            },
            WireItem::NoiseHandshake {
                message: 2,
                len: 200,
            },
            WireItem::Ciphertext { len: 40 },
            WireItem::Frame {
                header: Header {
                    version: 0,
                    kind: FrameType::Data,
                    flags: Flags::SYN,
                    stream: 1,
                    length: 5,
                },
                protocol: Some("/testbed/ping/1.0.0".into()),
                data: b"PING\n".to_vec(),
            },
            WireItem::Kad {
                stream: 3,
                request: false,
                message: Ok(KadMessage {
                    kind: KadKind::GetValue,
                    key: b"hello".to_vec(),
                    record: Some((b"hello".to_vec(), b"world".to_vec())),
                    closer: Vec::new(),
                    providers: Vec::new(),
                    dropped_peers: 0,
                }),
            },
            WireItem::Kad {
                stream: 3,
                request: true,
                message: Err("not protobuf".into()),
            },
            WireItem::Undecodable {
                error: "garbage".into(),
            },
        ];
        for item in items {
            let record = record(item);
            let draws = !matches!(
                record.item,
                WireItem::Ciphertext { .. }
                    | WireItem::Undecodable { .. }
                    | WireItem::Negotiation {
                        stream: Some(_),
                        ..
                    }
                    | WireItem::Kad {
                        message: Err(_),
                        ..
                    }
            );
            assert_eq!(record.kind(false).is_some(), draws, "{:?}", record.item);
            for asked in [false, true] {
                assert_eq!(
                    record.kind(asked),
                    record.said(asked).map(|said| said.kind),
                    "{:?}",
                    record.item
                );
            }
        }
    }
}
