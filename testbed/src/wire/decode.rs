//! Reading one direction of a connection at each depth. Under noise (`Raw`): the
//! multistream-select negotiation of `/noise`, the Noise XX handshake messages, then
//! ciphertext. Between noise and yamux (`Plain`): the negotiation of `/yamux/1.0.0`, then yamux
//! frames, and inside each stream its own negotiation (which protocol the stream speaks).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::kad::{KadMessage, KadReader, PROTOCOL as KAD};
use super::multistream::Negotiation;
use super::yamux::{Flags, FrameDecoder, FrameType, Header, Piece};

/// Bytes of a frame's data kept for the page (shown as hex).
pub const PREVIEW: usize = 64;

/// Streams whose protocol is remembered per direction; the oldest (lowest id) go first.
const MAX_STREAMS: usize = 1024;

/// One thing seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireItem {
    /// A multistream-select message, on the connection (`stream: None`) or inside a stream.
    Negotiation {
        stream: Option<u32>,
        message: String,
    },
    /// Noise XX handshake message 1 (`e`), 2 (`e, ee, s, es`) or 3 (`s, se`), and its size.
    NoiseHandshake { message: u8, len: usize },
    /// An encrypted noise transport message: only its size can be seen.
    Ciphertext { len: usize },
    /// A yamux frame; for DATA, the start of its data and the stream's protocol once known.
    Frame {
        header: Header,
        protocol: Option<String>,
        data: Vec<u8>,
    },
    /// A Kademlia message (`/ipfs/kad/1.0.0`), whole, or why it could not be read. `request`:
    /// written by the side that opened the stream (the answer comes back on the same stream).
    Kad {
        stream: u32,
        request: bool,
        message: Result<KadMessage, String>,
    },
    /// The bytes stopped making sense here; nothing after this is read.
    Undecodable { error: String },
}

impl WireItem {
    /// The tokens of each Noise XX message, as the Noise spec writes the pattern.
    pub fn noise_tokens(message: u8) -> &'static str {
        match message {
            1 => "→ e",
            2 => "← e, ee, s, es",
            _ => "→ s, se",
        }
    }
}

/// Reads the connection's negotiation from `bytes`: its messages, and the bytes after it for
/// the next layer (once agreed, all of them, uncopied). A broken negotiation is one
/// Undecodable item, and then nothing at all.
fn negotiate<'a>(
    negotiation: &mut Negotiation,
    failed: &mut bool,
    bytes: &'a [u8],
) -> (Vec<WireItem>, Cow<'a, [u8]>) {
    if *failed {
        return (Vec::new(), Cow::Borrowed(&[]));
    }
    if negotiation.agreed().is_some() {
        return (Vec::new(), Cow::Borrowed(bytes));
    }
    let read = negotiation.push(bytes);
    let mut items: Vec<WireItem> = read
        .messages
        .into_iter()
        .map(|message| WireItem::Negotiation {
            stream: None,
            message,
        })
        .collect();
    if let Some(error) = read.error {
        *failed = true;
        items.push(WireItem::Undecodable {
            error: error.to_string(),
        });
    }
    (items, Cow::Owned(read.rest))
}

/// Under noise.
#[derive(Debug)]
pub struct RawDecoder {
    negotiation: Negotiation,
    /// These bytes were written by the side that dialed.
    from_dialer: bool,
    /// The bytes of a noise message's 2-byte length read so far.
    length: Vec<u8>,
    /// The current noise message: its length and the bytes of it still to come. Its bytes
    /// are counted, not kept.
    message: Option<(usize, usize)>,
    noise_frames: usize,
    failed: bool,
}

impl RawDecoder {
    pub fn new(from_dialer: bool) -> RawDecoder {
        RawDecoder {
            negotiation: Negotiation::default(),
            from_dialer,
            length: Vec::with_capacity(2),
            message: None,
            noise_frames: 0,
            failed: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> Vec<WireItem> {
        let (mut items, rest) = negotiate(&mut self.negotiation, &mut self.failed, bytes);
        // Noise messages: a 2-byte big-endian length, then the message.
        let mut rest: &[u8] = &rest;
        loop {
            match self.message {
                Some((len, left)) => {
                    let take = left.min(rest.len());
                    rest = &rest[take..];
                    if take < left {
                        self.message = Some((len, left - take));
                        break;
                    }
                    self.message = None;
                    items.push(self.noise_item(len));
                }
                None => {
                    let Some((&byte, after)) = rest.split_first() else {
                        break;
                    };
                    rest = after;
                    self.length.push(byte);
                    if self.length.len() == 2 {
                        let len = usize::from(u16::from_be_bytes([self.length[0], self.length[1]]));
                        self.length.clear();
                        self.message = Some((len, len));
                    }
                }
            }
        }
        items
    }

    fn noise_item(&mut self, len: usize) -> WireItem {
        let handshake = match (self.from_dialer, self.noise_frames) {
            (true, 0) => Some(1),
            (false, 0) => Some(2),
            (true, 1) => Some(3),
            _ => None,
        };
        self.noise_frames += 1;
        match handshake {
            Some(message) => WireItem::NoiseHandshake { message, len },
            None => WireItem::Ciphertext { len },
        }
    }
}

/// Between noise and yamux.
#[derive(Debug, Default)]
pub struct PlainDecoder {
    negotiation: Negotiation,
    frames: FrameDecoder,
    /// The DATA frame whose data is still arriving, and how much is left.
    open_frame: Option<(Header, Vec<u8>, u32)>,
    streams: BTreeMap<u32, StreamReading>,
    failed: bool,
}

/// What is known of one stream in one direction.
#[derive(Debug, Default)]
struct StreamReading {
    negotiation: Negotiation,
    /// This direction's writer opened the stream (its first frame had SYN).
    opened: bool,
    /// For kad streams, the messages being read.
    kad: Option<KadReader>,
}

impl PlainDecoder {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<WireItem> {
        let (mut items, rest) = negotiate(&mut self.negotiation, &mut self.failed, bytes);
        for piece in self.frames.push(&rest) {
            match piece {
                Err(error) => {
                    self.failed = true;
                    items.push(WireItem::Undecodable {
                        error: error.to_string(),
                    });
                }
                Ok(Piece::Header(header)) => {
                    if header.flags.contains(Flags::SYN) {
                        self.stream(header.stream).opened = true;
                    }
                    if header.kind == FrameType::Data && header.length > 0 {
                        self.open_frame = Some((header, Vec::new(), header.length));
                    } else {
                        items.push(self.frame(header, Vec::new()));
                    }
                }
                Ok(Piece::Body { stream, bytes }) => {
                    // Once a stream's protocol is agreed its data is that protocol's: only
                    // the preview is kept, and kad's messages are read whole.
                    let reading = self.stream(stream);
                    let (in_stream, after_negotiation) = if reading.negotiation.agreed().is_some() {
                        (Default::default(), Cow::Borrowed(bytes))
                    } else {
                        let mut read = reading.negotiation.push(bytes);
                        let rest = std::mem::take(&mut read.rest);
                        (read, Cow::Owned(rest))
                    };
                    if reading.kad.is_none() && reading.negotiation.agreed() == Some(KAD) {
                        reading.kad = Some(KadReader::default());
                    }
                    let request = reading.opened;
                    let kad_messages = match reading.kad.as_mut() {
                        Some(reader) => reader.push(&after_negotiation),
                        None => Vec::new(),
                    };
                    let Some((header, data, left)) = self.open_frame.as_mut() else {
                        continue;
                    };
                    let room = PREVIEW.saturating_sub(data.len());
                    data.extend_from_slice(&bytes[..room.min(bytes.len())]);
                    *left -= bytes.len() as u32;
                    let (header, data, done) = (*header, data.clone(), *left == 0);
                    if done {
                        self.open_frame = None;
                        items.push(self.frame(header, data));
                    }
                    items.extend(in_stream.messages.into_iter().map(|message| {
                        WireItem::Negotiation {
                            stream: Some(stream),
                            message,
                        }
                    }));
                    items.extend(kad_messages.into_iter().map(|message| WireItem::Kad {
                        stream,
                        request,
                        message,
                    }));
                }
            }
        }
        items
    }

    fn stream(&mut self, id: u32) -> &mut StreamReading {
        if !self.streams.contains_key(&id) && self.streams.len() >= MAX_STREAMS {
            self.streams.pop_first();
        }
        self.streams.entry(id).or_default()
    }

    fn frame(&self, header: Header, data: Vec<u8>) -> WireItem {
        WireItem::Frame {
            header,
            protocol: self
                .streams
                .get(&header.stream)
                .and_then(|s| s.negotiation.agreed().map(str::to_owned)),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::multistream::{encode, HEADER};
    use crate::wire::yamux::Flags;

    #[test]
    fn under_noise_the_dialer_sends_messages_one_and_three_then_ciphertext() {
        let mut bytes = encode(HEADER);
        bytes.extend(encode("/noise"));
        for len in [32u16, 168, 40] {
            bytes.extend(len.to_be_bytes());
            bytes.extend(vec![7; usize::from(len)]);
        }
        let items = RawDecoder::new(true).push(&bytes);
        assert_eq!(
            items,
            [
                WireItem::Negotiation {
                    stream: None,
                    message: HEADER.into()
                },
                WireItem::Negotiation {
                    stream: None,
                    message: "/noise".into()
                },
                WireItem::NoiseHandshake {
                    message: 1,
                    len: 32
                },
                WireItem::NoiseHandshake {
                    message: 3,
                    len: 168
                },
                WireItem::Ciphertext { len: 40 },
            ]
        );
        let mut listener = RawDecoder::new(false);
        let mut echo = encode(HEADER);
        echo.extend(encode("/noise"));
        echo.extend([0, 2, 9, 9]);
        assert_eq!(
            listener.push(&echo)[2],
            WireItem::NoiseHandshake { message: 2, len: 2 }
        );
    }

    #[test]
    fn a_stream_names_its_protocol_inside_its_first_data() {
        let mut bytes = encode(HEADER);
        bytes.extend(encode("/yamux/1.0.0"));
        let mut negotiation = encode(HEADER);
        negotiation.extend(encode("/testbed/ping/1.0.0"));
        negotiation.extend(b"{\"type\":\"PING\"}\n");
        bytes
            .extend(Header::new(FrameType::Data, Flags::SYN, 1, negotiation.len() as u32).encode());
        bytes.extend(&negotiation);
        bytes.extend(Header::new(FrameType::Data, Flags::FIN, 1, 0).encode());
        let items = PlainDecoder::default().push(&bytes);
        let frames: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                WireItem::Frame {
                    header,
                    protocol,
                    data,
                } => Some((header.to_string(), protocol.clone(), data.len())),
                _ => None,
            })
            .collect();
        assert_eq!(
            frames,
            [
                // The frame that carries the negotiation already names what it agreed.
                (
                    "DATA stream 1 SYN, 57 bytes".to_string(),
                    Some("/testbed/ping/1.0.0".to_string()),
                    57
                ),
                (
                    "DATA stream 1 FIN, 0 bytes".to_string(),
                    Some("/testbed/ping/1.0.0".to_string()),
                    0
                ),
            ]
        );
        assert!(items.contains(&WireItem::Negotiation {
            stream: Some(1),
            message: "/testbed/ping/1.0.0".into()
        }));
    }

    #[test]
    fn garbage_ends_in_one_undecodable_item() {
        let mut plain = PlainDecoder::default();
        let items = plain.push(&[0x13, b'x', b'y']);
        assert!(items.is_empty(), "waits for the rest");
        let items = plain.push(&[0u8; 20]);
        assert!(
            matches!(items[..], [WireItem::Undecodable { .. }]),
            "{items:?}"
        );
        assert!(plain.push(&[1, 2, 3]).is_empty());
    }
}
