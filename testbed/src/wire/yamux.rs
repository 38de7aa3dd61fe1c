//! Yamux frames, per the yamux spec (hashicorp/yamux `spec.md`): a 12-byte header (version,
//! type, flags, stream id, length, big-endian), followed by `length` bytes of data for DATA
//! frames only. For WINDOW_UPDATE the length is the window increase, for PING an opaque value
//! echoed back, for GO_AWAY an error code.

use std::fmt;

use crate::labels::hex;

pub const HEADER_LEN: usize = 12;

/// Largest DATA frame body accepted. rust-yamux sends at most 16 KiB per frame; anything
/// near this bound is a broken or hostile stream, not data to buffer.
pub const MAX_DATA_LEN: u32 = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    Data,
    WindowUpdate,
    Ping,
    GoAway,
}

impl FrameType {
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Data => "DATA",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Ping => "PING",
            FrameType::GoAway => "GO_AWAY",
        }
    }

    fn code(self) -> u8 {
        match self {
            FrameType::Data => 0,
            FrameType::WindowUpdate => 1,
            FrameType::Ping => 2,
            FrameType::GoAway => 3,
        }
    }
}

/// SYN opens a stream, ACK accepts it, FIN half-closes it, RST resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    pub const SYN: Flags = Flags(0x1);
    pub const ACK: Flags = Flags(0x2);
    pub const FIN: Flags = Flags(0x4);
    pub const RST: Flags = Flags(0x8);
    const KNOWN: u16 = 0xF;

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// "SYN|ACK", or "" when no flag is set.
    pub fn names(self) -> String {
        [
            (Flags::SYN, "SYN"),
            (Flags::ACK, "ACK"),
            (Flags::FIN, "FIN"),
            (Flags::RST, "RST"),
        ]
        .into_iter()
        .filter(|(flag, _)| self.contains(*flag))
        .map(|(_, name)| name)
        .collect::<Vec<_>>()
        .join("|")
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub version: u8,
    pub kind: FrameType,
    pub flags: Flags,
    pub stream: u32,
    pub length: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamuxError {
    #[error("yamux version {0}, but only version 0 exists")]
    Version(u8),
    #[error("unknown yamux frame type {0}")]
    Type(u8),
    #[error("unknown yamux flags {0:#06x}")]
    Flags(u16),
    #[error("a {kind} frame belongs to the session (stream 0), not to stream {stream}")]
    SessionFrameOnStream { kind: &'static str, stream: u32 },
    #[error("a DATA frame of {0} bytes is beyond any real frame")]
    TooLong(u32),
}

impl Header {
    /// A version-0 header, the only version there is.
    pub fn new(kind: FrameType, flags: Flags, stream: u32, length: u32) -> Header {
        Header {
            version: 0,
            kind,
            flags,
            stream,
            length,
        }
    }

    /// Reads and checks a header.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Header, YamuxError> {
        let version = bytes[0];
        if version != 0 {
            return Err(YamuxError::Version(version));
        }
        let kind = match bytes[1] {
            0 => FrameType::Data,
            1 => FrameType::WindowUpdate,
            2 => FrameType::Ping,
            3 => FrameType::GoAway,
            other => return Err(YamuxError::Type(other)),
        };
        let flags = u16::from_be_bytes([bytes[2], bytes[3]]);
        if flags & !Flags::KNOWN != 0 {
            return Err(YamuxError::Flags(flags));
        }
        let stream = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let length = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if matches!(kind, FrameType::Ping | FrameType::GoAway) && stream != 0 {
            return Err(YamuxError::SessionFrameOnStream {
                kind: kind.name(),
                stream,
            });
        }
        if kind == FrameType::Data && length > MAX_DATA_LEN {
            return Err(YamuxError::TooLong(length));
        }
        Ok(Header {
            version,
            kind,
            flags: Flags(flags),
            stream,
            length,
        })
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[0] = self.version;
        bytes[1] = self.kind.code();
        bytes[2..4].copy_from_slice(&self.flags.0.to_be_bytes());
        bytes[4..8].copy_from_slice(&self.stream.to_be_bytes());
        bytes[8..12].copy_from_slice(&self.length.to_be_bytes());
        bytes
    }

    /// Bytes of data that follow the header.
    pub fn body_len(&self) -> u32 {
        match self.kind {
            FrameType::Data => self.length,
            _ => 0,
        }
    }
}

impl fmt::Display for Header {
    /// `DATA stream 3 SYN, 38 bytes`, `WINDOW_UPDATE stream 3 ACK, +262144`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = self.flags.names();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" {flags}")
        };
        let what = match self.kind {
            FrameType::Data => format!("{} bytes", self.length),
            FrameType::WindowUpdate => format!("+{}", self.length),
            FrameType::Ping => format!("opaque {}", self.length),
            FrameType::GoAway => match self.length {
                0 => "normal".into(),
                1 => "protocol error".into(),
                2 => "internal error".into(),
                code => format!("code {code}"),
            },
        };
        write!(
            f,
            "{} stream {}{flags}, {what}",
            self.kind.name(),
            self.stream
        )
    }
}

/// A frame, or part of one, as the decoder reads it from a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A whole header was read; for DATA its body follows in `Body` pieces.
    Header(Header),
    /// Some of the current DATA frame's body, in the order it came.
    Body { stream: u32, bytes: &'a [u8] },
}

/// Reads yamux frames from the bytes of one direction of a connection, in whatever chunks
/// they arrive. After an error it reads nothing more: the stream is no longer in step.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    header: Vec<u8>,
    /// Body bytes still to come, and the stream they belong to.
    body_left: Option<(u32, u32)>,
    failed: bool,
}

impl FrameDecoder {
    pub fn push<'a>(&mut self, mut bytes: &'a [u8]) -> Vec<Result<Piece<'a>, YamuxError>> {
        let mut out = Vec::new();
        while !bytes.is_empty() && !self.failed {
            if let Some((stream, left)) = self.body_left {
                let take = bytes.len().min(left as usize);
                out.push(Ok(Piece::Body {
                    stream,
                    bytes: &bytes[..take],
                }));
                bytes = &bytes[take..];
                let left = left - take as u32;
                self.body_left = (left > 0).then_some((stream, left));
                continue;
            }
            let take = (HEADER_LEN - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < HEADER_LEN {
                break;
            }
            let mut raw = [0u8; HEADER_LEN];
            raw.copy_from_slice(&self.header);
            self.header.clear();
            match Header::decode(&raw) {
                Ok(header) => {
                    let body = header.body_len();
                    if body > 0 {
                        self.body_left = Some((header.stream, body));
                    }
                    out.push(Ok(Piece::Header(header)));
                }
                Err(error) => {
                    self.failed = true;
                    out.push(Err(error));
                }
            }
        }
        out
    }
}

// How a frame reads on an arrow and in the frame details.

/// `DATA #3 SYN · 41 B`, `WINDOW_UPDATE #3 · +256 KiB`, `PING SYN`: short enough for an arrow.
pub fn frame_label(header: &Header) -> String {
    let flags = header.flags.names();
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" {flags}")
    };
    match header.kind {
        FrameType::Data => format!("DATA #{}{flags} · {} B", header.stream, header.length),
        FrameType::WindowUpdate => format!(
            "WINDOW_UPDATE #{}{flags} · +{}",
            header.stream,
            byte_size(header.length)
        ),
        FrameType::Ping => format!("PING{flags}"),
        FrameType::GoAway => "GO_AWAY".to_owned(),
    }
}

fn byte_size(bytes: u32) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} B"),
    }
}

/// A frame's header, field by field, and the start of its data in hex: (name, value) rows.
pub fn frame_fields(header: &Header, data: &[u8]) -> Vec<(&'static str, String)> {
    let flags = match header.flags.names() {
        names if names.is_empty() => "none".to_owned(),
        names => names,
    };
    let mut rows = vec![
        ("header bytes", hex(&header.encode())),
        (
            "fields",
            format!(
                "version {} · type {} · flags {:#06x} ({flags}) · stream {} · length {}",
                header.version,
                header.kind.name(),
                header.flags.0,
                header.stream,
                header.length
            ),
        ),
    ];
    if !data.is_empty() {
        let more = if (data.len() as u32) < header.length {
            " …"
        } else {
            ""
        };
        rows.push(("data bytes", format!("{}{more}", hex(data))));
    }
    rows
}

/// [`frame_fields`] as text, a row per line.
pub fn frame_details(header: &Header, data: &[u8]) -> String {
    frame_fields(header, data)
        .into_iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_read_field_by_field_as_the_spec_lays_it_out() {
        // version 0, type 0 (DATA), flags 0x0001 (SYN), stream 3, length 38.
        let bytes = [0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 38];
        let header = Header::decode(&bytes).unwrap();
        assert_eq!(header, Header::new(FrameType::Data, Flags::SYN, 3, 38));
        assert_eq!(header.encode(), bytes);
        assert_eq!(header.to_string(), "DATA stream 3 SYN, 38 bytes");
        let update = Header::new(FrameType::WindowUpdate, Flags::ACK, 2, 262_144);
        assert_eq!(
            update.encode(),
            [0, 1, 0, 2, 0, 0, 0, 2, 0, 4, 0, 0],
            "WINDOW_UPDATE, ACK, stream 2, +256 KiB"
        );
        assert_eq!(
            Header::new(FrameType::Data, Flags::FIN | Flags::ACK, 1, 0).to_string(),
            "DATA stream 1 ACK|FIN, 0 bytes"
        );
        assert_eq!(
            Header::new(FrameType::GoAway, Flags::default(), 0, 1).to_string(),
            "GO_AWAY stream 0, protocol error"
        );
    }

    #[test]
    fn malformed_headers_are_errors() {
        let good = Header::new(FrameType::Ping, Flags::SYN, 0, 7).encode();
        let mut bad = good;
        bad[0] = 1;
        assert_eq!(Header::decode(&bad), Err(YamuxError::Version(1)));
        let mut bad = good;
        bad[1] = 4;
        assert_eq!(Header::decode(&bad), Err(YamuxError::Type(4)));
        let mut bad = good;
        bad[2] = 0x80;
        assert!(matches!(Header::decode(&bad), Err(YamuxError::Flags(_))));
        let mut bad = good;
        bad[7] = 5;
        assert!(matches!(
            Header::decode(&bad),
            Err(YamuxError::SessionFrameOnStream { stream: 5, .. })
        ));
        let huge = Header::new(FrameType::Data, Flags::default(), 1, u32::MAX).encode();
        assert_eq!(Header::decode(&huge), Err(YamuxError::TooLong(u32::MAX)));
    }

    #[test]
    fn frames_split_anywhere_decode_the_same() {
        let mut bytes = Vec::new();
        bytes.extend(Header::new(FrameType::Data, Flags::SYN, 1, 5).encode());
        bytes.extend(b"hello");
        bytes.extend(Header::new(FrameType::WindowUpdate, Flags::ACK, 1, 1000).encode());
        bytes.extend(Header::new(FrameType::Data, Flags::FIN, 1, 0).encode());
        let whole = reassemble(FrameDecoder::default().push(&bytes));
        for chunk in 1..bytes.len() {
            let mut decoder = FrameDecoder::default();
            let pieces = bytes.chunks(chunk).flat_map(|c| decoder.push(c)).collect();
            assert_eq!(reassemble(pieces), whole, "chunks of {chunk}");
        }
        assert_eq!(whole.len(), 3);
        assert_eq!(
            whole[0],
            (
                Header::new(FrameType::Data, Flags::SYN, 1, 5),
                b"hello".to_vec()
            )
        );
    }

    /// Headers with their whole body.
    fn reassemble(pieces: Vec<Result<Piece, YamuxError>>) -> Vec<(Header, Vec<u8>)> {
        let mut frames: Vec<(Header, Vec<u8>)> = Vec::new();
        for piece in pieces {
            match piece.unwrap() {
                Piece::Header(h) => frames.push((h, Vec::new())),
                Piece::Body { bytes, .. } => frames.last_mut().unwrap().1.extend(bytes),
            }
        }
        frames
    }

    #[test]
    fn after_an_error_nothing_more_is_read() {
        let mut decoder = FrameDecoder::default();
        let pieces = decoder.push(&[9; 30]);
        assert_eq!(pieces, vec![Err(YamuxError::Version(9))]);
        assert!(decoder
            .push(&Header::new(FrameType::Ping, Flags::SYN, 0, 1).encode())
            .is_empty());
    }
}
