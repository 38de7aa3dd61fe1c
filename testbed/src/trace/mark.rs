//! What a protocol's step means to the trace. The trace links sends to receives and knows no
//! protocol: each protocol says, for its own steps, which message was sent or received
//! (`PingStep::mark`, `TokenStep::mark`, `WireItem::as_message`), in these words.

use libp2p::PeerId;

use super::context::{SpanId, TraceId};
use super::SendStamp;

/// What kind of step a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A dial: the transport connection, its noise handshake and yamux set-up.
    Connect,
    /// A new stream and the protocol agreed on it.
    OpenStream,
    /// An envelope of the testbed's protocols (PING, PONG).
    Envelope,
    /// One side closing its half of a stream.
    Close,
    /// Setting up a connection, from the wire tap: a multistream-select message or a Noise XX
    /// handshake message.
    Handshake,
    /// A yamux frame, from the wire tap.
    Frame,
    /// Tokens of the snapshot lessons' application, on a FIFO channel.
    Tokens,
    /// A Chandy-Lamport marker.
    Marker,
    /// A Kademlia request or its answer, from the wire, in a lookup the page asked for.
    Kad,
    /// Kademlia traffic libp2p-kad makes on its own: its bootstrap and table refreshes.
    KadBackground,
    /// WebRTC signaling between two tabs, over the circuit: an SDP offer or answer, an ICE
    /// candidate.
    Signal,
}

impl MessageKind {
    /// Wire-level detail: many per step of a protocol (a 30-peer DHT's handshakes, frames and
    /// libp2p-kad's own requests come at thousands a second), drawn only on request.
    pub fn is_detail(self) -> bool {
        matches!(
            self,
            MessageKind::Handshake | MessageKind::Frame | MessageKind::KadBackground
        )
    }
}

/// A message as its protocol describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    pub kind: MessageKind,
    pub protocol: String,
    /// What the diagram writes on the arrow, e.g. `PING`.
    pub label: String,
    /// The message itself (an envelope's JSON, a Kademlia message's fields).
    pub payload: Option<String>,
    /// Trace context and Lamport time, for messages that carry them: their receive is then
    /// linked by span id, not by order.
    pub stamp: Option<SendStamp>,
}

impl Said {
    /// A message without trace context or payload.
    pub fn plain(kind: MessageKind, protocol: &str, label: impl Into<String>) -> Said {
        Said {
            kind,
            protocol: protocol.to_owned(),
            label: label.into(),
            payload: None,
            stamp: None,
        }
    }
}

/// One step of a protocol, as the trace sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// This peer sent `said` to `to`.
    Sent { to: PeerId, said: Said },
    /// This peer received the oldest message of `kind` that `from` sent it and that has no
    /// receive yet: messages without trace context arrive in order on their route.
    /// `in_flight` notes that a snapshot recorded the message as in flight on its channel.
    ReceivedInOrder {
        from: PeerId,
        kind: MessageKind,
        in_flight: Option<String>,
    },
    /// This peer received `said` from `from` in another tab, whose send it never sees: a
    /// message of a format without trace context (WebRTC signaling, as the spec has it).
    Arrived { from: PeerId, said: Said },
    /// This peer received the message of span `span`; `lamport` is its clock after.
    Received {
        span: SpanId,
        lamport: u64,
        /// The same message as a trace of one tab tells it when the sender is in another tab,
        /// whose events this tab never sees.
        from_another_tab: FromAnotherTab,
    },
}

/// A message from another tab, told from what it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct FromAnotherTab {
    pub from: PeerId,
    pub said: Said,
    /// When it was sent, by the sender's wall clock, in ms since the Unix epoch.
    pub sent_unix_ms: u64,
    /// An answer says when the message it answers arrived: trace, Unix ms and Lamport time.
    pub answers: Option<(TraceId, u64, u64)>,
}
