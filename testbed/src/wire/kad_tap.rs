//! Kademlia messages read off a connection's streams, for connections the wire tap does not
//! see (between tabs: circuits and WebRTC) and for in-page ones tapped for Kademlia only
//! ([`super::Depth::KadOnly`]). A wrapper around the connection's muxer hands
//! every chunk each stream reads or writes to that direction's reader: multistream-select
//! first, then, on a stream that agreed on `/ipfs/kad/1.0.0`, libp2p-kad's messages. Any other
//! protocol's bytes pass untouched and unread.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerBox, StreamMuxerEvent, SubstreamBox};
use libp2p::PeerId;

use super::kad::{KadMessage, KadReader, PROTOCOL};
use super::multistream::Negotiation;
use super::Direction;

/// A Kademlia message seen on a stream to or from `remote`.
#[derive(Debug, Clone, PartialEq)]
pub struct KadSeen {
    pub remote: PeerId,
    /// Numbers the stream among this connection's, at this end, in the order they opened
    /// (the muxer does not tell its own stream ids): a request and its answer share it.
    pub stream: u32,
    pub direction: Direction,
    /// A request (the stream's opener speaks first) or its answer.
    pub request: bool,
    /// The message, or why it could not be read (nothing more of that stream is read).
    pub message: Result<KadMessage, String>,
}

/// Hears each Kademlia message the tapped connections carry.
pub type Report = Arc<dyn Fn(KadSeen) + Send + Sync>;

/// A connection whose streams are read for Kademlia messages.
pub struct KadTap {
    inner: StreamMuxerBox,
    remote: PeerId,
    report: Report,
    streams: u32,
}

impl KadTap {
    pub fn new(inner: StreamMuxerBox, remote: PeerId, report: Report) -> KadTap {
        KadTap {
            inner,
            remote,
            report,
            streams: 0,
        }
    }

    fn watch(&mut self, inner: SubstreamBox, opened_here: bool) -> Watched {
        self.streams += 1;
        Watched {
            inner,
            remote: self.remote,
            stream: self.streams,
            report: self.report.clone(),
            opened_here,
            sent: Reader::default(),
            received: Reader::default(),
        }
    }
}

impl StreamMuxer for KadTap {
    type Substream = Watched;
    type Error = io::Error;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Watched, io::Error>> {
        let stream = futures::ready!(Pin::new(&mut self.inner).poll_inbound(cx))?;
        Poll::Ready(Ok(self.watch(stream, false)))
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Watched, io::Error>> {
        let stream = futures::ready!(Pin::new(&mut self.inner).poll_outbound(cx))?;
        Poll::Ready(Ok(self.watch(stream, true)))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, io::Error>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// One direction of one stream: its negotiation, then its Kademlia messages, or nothing
/// once another protocol shows up (or after a message that does not decode).
#[derive(Default)]
struct Reader {
    negotiation: Negotiation,
    kad: Option<KadReader>,
    done: bool,
}

impl Reader {
    fn push(&mut self, bytes: &[u8]) -> Vec<Result<KadMessage, String>> {
        if self.done || bytes.is_empty() {
            return Vec::new();
        }
        let rest = match &self.kad {
            Some(_) => bytes.to_vec(),
            None => {
                let read = self.negotiation.push(bytes);
                match self.negotiation.agreed() {
                    Some(PROTOCOL) => read.rest,
                    Some(_) => {
                        self.done = true;
                        return Vec::new();
                    }
                    None if read.error.is_some() => {
                        self.done = true;
                        return Vec::new();
                    }
                    None => return Vec::new(),
                }
            }
        };
        let messages = self.kad.get_or_insert_with(KadReader::default).push(&rest);
        self.done = messages.iter().any(Result::is_err);
        messages
    }
}

pub struct Watched {
    inner: SubstreamBox,
    remote: PeerId,
    stream: u32,
    report: Report,
    /// This side opened the stream: what it writes are requests.
    opened_here: bool,
    sent: Reader,
    received: Reader,
}

impl Watched {
    fn seen(&mut self, direction: Direction, bytes: &[u8]) {
        let (reader, request) = match direction {
            Direction::Sent => (&mut self.sent, self.opened_here),
            Direction::Received => (&mut self.received, !self.opened_here),
        };
        for message in reader.push(bytes) {
            (self.report)(KadSeen {
                remote: self.remote,
                stream: self.stream,
                direction,
                request,
                message,
            });
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let read = futures::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        self.seen(Direction::Received, &buf[..read]);
        Poll::Ready(Ok(read))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = futures::ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        self.seen(Direction::Sent, &buf[..written]);
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::multistream::{encode, HEADER};

    /// A FIND_NODE request as libp2p-kad writes it: a varint length, then the protobuf
    /// (field 1, type, = FIND_NODE (4); field 2, key).
    fn find_node(key: &[u8]) -> Vec<u8> {
        let mut message = vec![0x08, 4, 0x12, key.len() as u8];
        message.extend_from_slice(key);
        let mut bytes = vec![message.len() as u8];
        bytes.extend(message);
        bytes
    }

    #[test]
    fn kad_messages_are_read_after_the_negotiation_in_any_chunks() {
        let mut bytes = encode(HEADER);
        bytes.extend(encode(PROTOCOL));
        bytes.extend(find_node(b"cat"));
        bytes.extend(find_node(b"dog"));
        for chunk in 1..bytes.len() {
            let mut reader = Reader::default();
            let keys: Vec<Vec<u8>> = bytes
                .chunks(chunk)
                .flat_map(|piece| reader.push(piece))
                .map(|m| m.expect("reads").key)
                .collect();
            assert_eq!(
                keys,
                [b"cat".to_vec(), b"dog".to_vec()],
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn other_protocols_and_garbage_are_passed_over() {
        let mut ping = encode(HEADER);
        ping.extend(encode("/testbed/ping/1.0.0"));
        ping.extend(find_node(b"cat"));
        let mut reader = Reader::default();
        assert!(reader.push(&ping).is_empty());
        assert!(reader.push(&find_node(b"dog")).is_empty());

        let mut reader = Reader::default();
        assert!(reader.push(&[0xff; 64]).is_empty());
        assert!(reader.done);
    }

    #[test]
    fn a_malformed_message_is_told_and_ends_the_reading() {
        let mut bytes = encode(HEADER);
        bytes.extend(encode(PROTOCOL));
        bytes.extend(find_node(b"cat"));
        bytes.extend([3, 0x08, 0xff, 0xff]); // a message type that never ends
        let mut reader = Reader::default();
        let read = reader.push(&bytes);
        assert_eq!(read[0].as_ref().map(|m| m.key.clone()), Ok(b"cat".to_vec()));
        assert!(read[1].is_err(), "{read:?}");
        assert!(reader.push(&find_node(b"eel")).is_empty());
    }
}
