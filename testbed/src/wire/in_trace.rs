//! What each thing seen on the wire means to the trace: a handshake message, a yamux frame or
//! a Kademlia message, each said the way its spec names it. Ciphertext and bytes that stopped
//! making sense draw no arrow.

use super::decode::WireItem;
use super::kad::PROTOCOL as KAD;
use super::yamux::{frame_details, frame_label};
use super::{Layer, WireRecord};
use crate::trace::mark::{MessageKind, Said};

impl WireRecord {
    /// `asked`: a Kademlia message belongs to a lookup the page asked for, not to libp2p-kad's
    /// own upkeep.
    pub fn said(&self, asked: bool) -> Option<Said> {
        Some(match &self.item {
            WireItem::Negotiation {
                stream: None,
                message,
            } => Said::plain(
                MessageKind::Handshake,
                match self.layer {
                    Layer::Raw => "multistream-select",
                    Layer::Plain => "multistream-select, inside noise",
                },
                message.clone(),
            ),
            WireItem::NoiseHandshake { message, len } => Said {
                payload: Some(format!("Noise XX message {message} of 3, {len} bytes")),
                ..Said::plain(
                    MessageKind::Handshake,
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
                ..Said::plain(
                    if asked {
                        MessageKind::Kad
                    } else {
                        MessageKind::KadBackground
                    },
                    KAD,
                    message.label(*request),
                )
            },
            WireItem::Frame {
                header,
                protocol,
                data,
            } => Said {
                payload: Some(frame_details(header, data)),
                ..Said::plain(
                    MessageKind::Frame,
                    protocol.as_deref().unwrap_or("yamux"),
                    frame_label(header),
                )
            },
            _ => return None,
        })
    }
}
