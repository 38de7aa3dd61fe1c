//! The FIFO channels of the token application, `/testbed/tokens/1.0.0`: one long-lived libp2p
//! stream per directed channel, so messages arrive in the order they were sent (separate
//! requests would not). The opener waits for a one-byte acknowledgement before using the
//! stream: libp2p-stream resets an inbound stream that arrives while another is waiting to be
//! accepted, and the opener then tries again.
//!
//! Each packet is one line of text: `TOKENS 3 5` (tokens number 3, an amount of 5) or
//! `MARKER 2 0` (the marker of peer 2's snapshot number 0). Across tabs, peers are named by
//! PeerId (`MARKER 12D3KooW… 0`) and each packet ends with its [`Stamp`]:
//! `TOKENS 3 5 00-…-01 12 1764571234567`.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use super::{SnapshotId, Tokens};
use crate::trace::{SendStamp, TraceContext};

pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/testbed/tokens/1.0.0");

/// Longest packet line read; real ones are under 60 bytes, 170 with a [`Stamp`].
pub const MAX_PACKET: usize = 256;

/// The acknowledgement that makes a channel usable.
pub const ACK: u8 = 0x06;

/// Packets queued on one channel, waiting for their latency and the stream: a channel this
/// far behind is closed as broken rather than let grow, since dropping a packet would break
/// the FIFO channel the algorithm relies on.
pub const BACKLOG: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<P = crate::PeerIndex> {
    Tokens(TokensWire),
    Marker(SnapshotId<P>),
}

/// [`Tokens`] as it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokensWire {
    pub id: u64,
    pub amount: u64,
}

/// What a packet carries across tabs besides itself: its send's trace context and Lamport
/// time, and the sender's wall clock, so that the receiving tab can draw the send it never
/// saw. In one page the trace links packets in channel order and needs none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub send: SendStamp,
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

impl<P> From<Tokens> for Packet<P> {
    fn from(tokens: Tokens) -> Packet<P> {
        Packet::Tokens(TokensWire {
            id: tokens.id,
            amount: tokens.amount,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("channel stream error: {0}")]
    Io(#[from] std::io::Error),
    #[error("a packet longer than {MAX_PACKET} bytes")]
    TooLong,
    #[error("not a packet: {0}")]
    Malformed(String),
    #[error("the channel was not acknowledged")]
    NotAcknowledged,
}

impl<P: std::fmt::Display + std::str::FromStr> Packet<P> {
    pub fn encode(&self) -> Vec<u8> {
        self.encode_stamped(None)
    }

    pub fn encode_stamped(&self, stamp: Option<&Stamp>) -> Vec<u8> {
        let mut line = match self {
            Packet::Tokens(tokens) => format!("TOKENS {} {}", tokens.id, tokens.amount),
            Packet::Marker(id) => format!("MARKER {} {}", id.initiator, id.number),
        };
        if let Some(stamp) = stamp {
            line += &format!(
                " {} {} {}",
                stamp.send.context, stamp.send.lamport, stamp.unix_ms
            );
        }
        line.push('\n');
        line.into_bytes()
    }

    /// One line, without its newline.
    pub fn decode(line: &[u8]) -> Result<Packet<P>, ChannelError> {
        Self::decode_stamped(line).map(|(packet, _)| packet)
    }

    /// One line, without its newline: the packet, and its stamp if it has one.
    pub fn decode_stamped(line: &[u8]) -> Result<(Packet<P>, Option<Stamp>), ChannelError> {
        let malformed = || {
            let start = &line[..line.len().min(40)];
            ChannelError::Malformed(format!("{:?}", String::from_utf8_lossy(start)))
        };
        let text = std::str::from_utf8(line).map_err(|_| malformed())?;
        let words: Vec<&str> = text.split(' ').collect();
        let number = |word: &str| word.parse::<u64>().map_err(|_| malformed());
        let (words, stamp) = match words[..] {
            [a, b, c, context, lamport, unix_ms] => (
                vec![a, b, c],
                Some(Stamp {
                    send: SendStamp {
                        context: context.parse::<TraceContext>().map_err(|_| malformed())?,
                        lamport: number(lamport)?,
                    },
                    unix_ms: number(unix_ms)?,
                }),
            ),
            _ => (words, None),
        };
        let packet = match words[..] {
            ["TOKENS", id, amount] => Packet::Tokens(TokensWire {
                id: number(id)?,
                amount: number(amount)?,
            }),
            ["MARKER", initiator, number_of] => Packet::Marker(SnapshotId {
                initiator: initiator.parse().map_err(|_| malformed())?,
                number: u32::try_from(number(number_of)?).map_err(|_| malformed())?,
            }),
            _ => return Err(malformed()),
        };
        Ok((packet, stamp))
    }
}

/// Reads the next packet; None at the end of the stream.
pub async fn read_packet<P: std::fmt::Display + std::str::FromStr, S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<Packet<P>>, ChannelError> {
    Ok(read_stamped(stream).await?.map(|(packet, _)| packet))
}

/// Reads the next packet and its stamp, if it has one; None at the end of the stream.
pub async fn read_stamped<P: std::fmt::Display + std::str::FromStr, S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<(Packet<P>, Option<Stamp>)>, ChannelError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte).await? == 0 {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(ChannelError::Malformed("a packet cut short".into()))
            };
        }
        if byte[0] == b'\n' {
            return Packet::decode_stamped(&line).map(Some);
        }
        if line.len() == MAX_PACKET {
            return Err(ChannelError::TooLong);
        }
        line.push(byte[0]);
    }
}

pub async fn write_packet<P: std::fmt::Display + std::str::FromStr, S: AsyncWrite + Unpin>(
    stream: &mut S,
    packet: &Packet<P>,
    stamp: Option<&Stamp>,
) -> Result<(), ChannelError> {
    stream.write_all(&packet.encode_stamped(stamp)).await?;
    stream.flush().await?;
    Ok(())
}

/// The acceptor's side of opening: acknowledge.
pub async fn acknowledge<S: AsyncWrite + Unpin>(stream: &mut S) -> Result<(), ChannelError> {
    stream.write_all(&[ACK]).await?;
    stream.flush().await?;
    Ok(())
}

/// The opener's side: wait for the acknowledgement.
pub async fn await_acknowledgement<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(), ChannelError> {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte).await? {
        1 if byte[0] == ACK => Ok(()),
        _ => Err(ChannelError::NotAcknowledged),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    #[test]
    fn packets_are_lines_of_text_and_bad_ones_are_errors() {
        let marker = Packet::Marker(SnapshotId {
            initiator: 2,
            number: 0,
        });
        assert_eq!(marker.encode(), b"MARKER 2 0\n");
        let tokens = Packet::<crate::PeerIndex>::from(Tokens { id: 3, amount: 5 });
        let mut bytes = tokens.encode();
        bytes.extend(marker.encode());
        bytes.extend(b"TOKENS -1 5\n");
        let mut stream = Cursor::new(bytes);
        assert_eq!(block_on(read_packet(&mut stream)).unwrap(), Some(tokens));
        assert_eq!(block_on(read_packet(&mut stream)).unwrap(), Some(marker));
        assert!(matches!(
            block_on(read_packet::<crate::PeerIndex, _>(&mut stream)),
            Err(ChannelError::Malformed(_))
        ));
        assert!(block_on(read_packet::<crate::PeerIndex, _>(&mut stream))
            .unwrap()
            .is_none());
        // Across tabs, a marker names its initiator by PeerId.
        let initiator = libp2p::PeerId::random();
        let across = Packet::Marker(SnapshotId {
            initiator,
            number: 4,
        });
        assert_eq!(
            across.encode(),
            format!("MARKER {initiator} 4\n").into_bytes()
        );
        let line = across.encode();
        assert_eq!(Packet::decode(&line[..line.len() - 1]).unwrap(), across);
        assert!(Packet::<libp2p::PeerId>::decode(b"MARKER 7 0").is_err());
        // Across tabs, each packet ends with its send's trace context, Lamport time and clock.
        let stamp = Stamp {
            send: SendStamp {
                context: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                    .parse()
                    .unwrap(),
                lamport: 12,
            },
            unix_ms: 1_764_571_234_567,
        };
        let line = across.encode_stamped(Some(&stamp));
        assert_eq!(
            line,
            format!("MARKER {initiator} 4 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 12 1764571234567\n").into_bytes()
        );
        assert!(line.len() < 170);
        assert_eq!(
            Packet::decode_stamped(&line[..line.len() - 1]).unwrap(),
            (across, Some(stamp))
        );
        assert!(
            Packet::<libp2p::PeerId>::decode(format!("MARKER {initiator} 4 00-zz 12 1").as_bytes())
                .is_err(),
            "a stamp that is not trace context"
        );
        for bad in [
            "TOKENS 1",
            "MARKER 1 2 3",
            "tokens 1 2",
            "MARKER 1 99999999999",
            "",
        ] {
            assert!(
                Packet::<crate::PeerIndex>::decode(bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
        let mut long = Cursor::new(vec![b'x'; 1000]);
        assert!(matches!(
            block_on(read_packet::<crate::PeerIndex, _>(&mut long)),
            Err(ChannelError::TooLong)
        ));
    }
}
