//! The original testbed's ping, `/testbed/ping/1.0.0`.
//!
//! The initiator opens a stream and sends a PING envelope; the responder answers with a PONG
//! carrying the same id; then each side closes its half of the stream, so the stream ends
//! closed from both sides. On the wire an envelope is one line of JSON ending in `\n`.

use std::fmt;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{PeerId, StreamProtocol};
use serde::{Deserialize, Serialize};

use crate::pace::Pace;
use crate::trace::clock::unix_ms;
use crate::trace::{SendStamp, TraceContext, Tracer};

mod shown;

pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/testbed/ping/1.0.0");

/// Longest envelope accepted from a peer: a ping is a few hundred bytes, and a peer must not be
/// able to make us buffer without limit.
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageType {
    #[serde(rename = "PING")]
    Ping,
    #[serde(rename = "PONG")]
    Pong,
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageType::Ping => "PING",
            MessageType::Pong => "PONG",
        })
    }
}

/// The message both sides exchange, as in the original testbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Names the exchange: a PONG repeats the id of the PING it answers.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// When the sender made it, in milliseconds since the Unix epoch.
    pub created: u64,
    /// The peer that started the exchange.
    pub initiator: PeerId,
    pub payload: String,
    /// W3C trace context of the send: lets the receive be linked to it. Optional, so the
    /// original testbed's envelopes are still understood; when present it must be valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<TraceContext>,
    /// The sender's Lamport time of the send.
    #[serde(default)]
    pub lamport: u64,
    /// On a PONG: when its PING arrived. A tab that sent the PING to another tab sees that
    /// receive only through this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_received: Option<Receipt>,
}

/// When a peer received a message: by its wall clock and its Lamport clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    pub lamport: u64,
}

impl Envelope {
    pub fn ping(id: String, initiator: PeerId, payload: String, stamp: SendStamp) -> Envelope {
        Envelope {
            id,
            kind: MessageType::Ping,
            created: unix_ms(),
            initiator,
            payload,
            traceparent: Some(stamp.context),
            lamport: stamp.lamport,
            ping_received: None,
        }
    }

    /// The answer to this PING, received at `receipt`: same id, initiator and payload,
    /// stamped as a new send.
    pub fn pong(&self, stamp: SendStamp, receipt: Receipt) -> Envelope {
        Envelope {
            kind: MessageType::Pong,
            created: unix_ms(),
            traceparent: Some(stamp.context),
            lamport: stamp.lamport,
            ping_received: Some(receipt),
            ..self.clone()
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("an envelope always serializes");
        line.push(b'\n');
        line
    }

    /// Parses one line (without its `\n`), checking everything a peer could get wrong.
    pub fn decode(line: &[u8]) -> Result<Envelope, EnvelopeError> {
        if line.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLong { len: line.len() });
        }
        serde_json::from_slice(line).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope longer than {MAX_ENVELOPE_BYTES} bytes ({len} bytes so far)")]
    TooLong { len: usize },
    #[error("the stream ended before a complete envelope (after {len} bytes)")]
    Truncated { len: usize },
    #[error("not a valid envelope: {0}")]
    Malformed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("could not open a stream: {0}")]
    OpenStream(String),
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("expected {expected}, got {got}")]
    UnexpectedType {
        expected: MessageType,
        got: MessageType,
    },
    #[error("the PONG answers id {got:?}, not our PING {expected:?}")]
    WrongId { expected: String, got: String },
    #[error("the remote sent more after its last message")]
    TrailingData,
    #[error("no answer within {0} s")]
    Timeout(u64),
}

impl PingError {
    /// True when the responder never answered: the stream was refused, reset or closed before
    /// any byte of a PONG came back. Trying again on a new stream is safe.
    pub fn is_unanswered(&self) -> bool {
        matches!(
            self,
            PingError::OpenStream(_)
                | PingError::Io(_)
                | PingError::Envelope(EnvelopeError::Truncated { len: 0 })
        )
    }
}

/// Reads one envelope, byte by byte so nothing after its `\n` is consumed.
pub async fn read_envelope<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Envelope, PingError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte).await? == 0 {
            return Err(EnvelopeError::Truncated { len: line.len() }.into());
        }
        if byte[0] == b'\n' {
            return Ok(Envelope::decode(&line)?);
        }
        if line.len() == MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLong {
                len: line.len() + 1,
            }
            .into());
        }
        line.push(byte[0]);
    }
}

/// Writes an envelope once the pace lets it go (injected latency, pause and step).
async fn write_envelope<S: AsyncWrite + Unpin>(
    stream: &mut S,
    envelope: &Envelope,
    pace: &Pace,
) -> Result<(), PingError> {
    pace.hold().await;
    stream.write_all(&envelope.encode()).await?;
    stream.flush().await?;
    Ok(())
}

/// Waits for the remote to close its half; anything else it sends is a protocol error.
async fn expect_remote_close<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(), PingError> {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte).await? {
        0 => Ok(()),
        _ => Err(PingError::TrailingData),
    }
}

fn expect_type(envelope: &Envelope, expected: MessageType) -> Result<(), PingError> {
    if envelope.kind == expected {
        Ok(())
    } else {
        Err(PingError::UnexpectedType {
            expected,
            got: envelope.kind,
        })
    }
}

/// The initiator's side, on a freshly opened stream: PING, wait for PONG, close, wait for the
/// remote's close. `report` hears every step as it happens.
pub async fn initiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    remote: PeerId,
    ping: Envelope,
    tracer: &Tracer,
    pace: &Pace,
    mut report: impl FnMut(PingStep),
) -> Result<Envelope, PingError> {
    // Reported before writing: the send happens when the message is handed to the stream, and
    // the receiver's report must not be the first to mention it.
    report(PingStep::Sent {
        remote,
        envelope: ping.clone(),
    });
    write_envelope(stream, &ping, pace).await?;
    let pong = read_envelope(stream).await?;
    report(PingStep::Received {
        remote,
        lamport: tracer.receive(pong.lamport),
        envelope: pong.clone(),
    });
    expect_type(&pong, MessageType::Pong)?;
    if pong.id != ping.id {
        return Err(PingError::WrongId {
            expected: ping.id,
            got: pong.id,
        });
    }
    stream.close().await?;
    report(PingStep::ClosedOwnSide { remote });
    expect_remote_close(stream).await?;
    report(PingStep::RemoteClosed { remote });
    Ok(pong)
}

/// The responder's side: read PING, answer PONG, close, wait for the initiator's close.
pub async fn respond<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    remote: PeerId,
    tracer: &Tracer,
    pace: &Pace,
    mut report: impl FnMut(PingStep),
) -> Result<(), PingError> {
    let ping = read_envelope(stream).await?;
    let receipt = Receipt {
        at: unix_ms(),
        lamport: tracer.receive(ping.lamport),
    };
    report(PingStep::Received {
        remote,
        lamport: receipt.lamport,
        envelope: ping.clone(),
    });
    expect_type(&ping, MessageType::Ping)?;
    let stamp = match &ping.traceparent {
        Some(cause) => tracer.continue_trace(cause),
        None => tracer.start_trace(),
    };
    let pong = ping.pong(stamp, receipt);
    report(PingStep::Sent {
        remote,
        envelope: pong.clone(),
    });
    write_envelope(stream, &pong, pace).await?;
    stream.close().await?;
    report(PingStep::ClosedOwnSide { remote });
    expect_remote_close(stream).await?;
    report(PingStep::RemoteClosed { remote });
    Ok(())
}

/// One step of the testbed's ping exchange, as seen by one side.
#[derive(Debug, Clone)]
pub enum PingStep {
    StreamOpened {
        remote: PeerId,
        protocol: String,
    },
    StreamAccepted {
        remote: PeerId,
        protocol: String,
    },
    Sent {
        remote: PeerId,
        envelope: Envelope,
    },
    Received {
        remote: PeerId,
        envelope: Envelope,
        /// This peer's Lamport time of the receive.
        lamport: u64,
    },
    /// This side closed its half of the stream: it will write no more.
    ClosedOwnSide {
        remote: PeerId,
    },
    /// The remote closed its half too: the stream is closed from both sides.
    RemoteClosed {
        remote: PeerId,
    },
    /// The stream was dropped before an answer came; a new one is tried.
    Retrying {
        remote: PeerId,
        error: String,
        attempt: usize,
    },
    Failed {
        remote: PeerId,
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    fn sample() -> Envelope {
        let peer = PeerId::random();
        Envelope::ping(
            "7".into(),
            peer,
            "hello".into(),
            Tracer::new(&peer).start_trace(),
        )
    }

    #[test]
    fn envelope_round_trips_through_one_json_line() {
        let ping = sample();
        let bytes = ping.encode();
        assert_eq!(bytes.last(), Some(&b'\n'));
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 1);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"type\":\"PING\""), "{text}");
        assert!(text.contains("\"traceparent\":\"00-"), "{text}");
        assert_eq!(
            block_on(read_envelope(&mut Cursor::new(bytes))).unwrap(),
            ping
        );
    }

    #[test]
    fn pong_answers_its_ping() {
        let ping = sample();
        let responder = Tracer::new(&PeerId::random());
        let receipt = Receipt {
            at: ping.created + 3,
            lamport: responder.receive(ping.lamport),
        };
        let pong = ping.pong(
            responder.continue_trace(&ping.traceparent.unwrap()),
            receipt,
        );
        assert_eq!(pong.kind, MessageType::Pong);
        assert_eq!(pong.ping_received, Some(receipt));
        assert!(pong.lamport > receipt.lamport);
        assert_eq!((&pong.id, pong.initiator), (&ping.id, ping.initiator));
        let (ping_trace, pong_trace) = (ping.traceparent.unwrap(), pong.traceparent.unwrap());
        assert_eq!(pong_trace.trace_id, ping_trace.trace_id);
        assert_ne!(pong_trace.span_id, ping_trace.span_id);
    }

    #[test]
    fn bad_envelopes_are_rejected_with_a_reason() {
        let peer = PeerId::random().to_base58();
        let cases: [(&[u8], &str); 5] = [
            (b"not json\n", "not a valid envelope"),
            (b"{\"id\":\"1\"}\n", "missing field"),
            (
                format!("{{\"id\":\"1\",\"type\":\"HELLO\",\"created\":1,\"initiator\":\"{peer}\",\"payload\":\"\"}}\n").leak().as_bytes(),
                "unknown variant",
            ),
            (
                b"{\"id\":\"1\",\"type\":\"PING\",\"created\":1,\"initiator\":\"nobody\",\"payload\":\"\"}\n",
                "not a valid envelope",
            ),
            (b"{\"id\":\"1\"", "stream ended"),
        ];
        for (bytes, reason) in cases {
            let err = block_on(read_envelope(&mut Cursor::new(bytes))).unwrap_err();
            assert!(err.to_string().contains(reason), "{err} lacks {reason:?}");
        }
    }

    #[test]
    fn the_original_envelope_without_trace_context_is_understood() {
        let peer = PeerId::random().to_base58();
        let line = format!(
            "{{\"id\":\"1\",\"type\":\"PING\",\"created\":1,\"initiator\":\"{peer}\",\"payload\":\"\"}}"
        );
        let envelope = Envelope::decode(line.as_bytes()).unwrap();
        assert_eq!((envelope.traceparent, envelope.lamport), (None, 0));
    }

    #[test]
    fn a_malformed_traceparent_is_rejected() {
        let mut envelope = serde_json::to_value(sample()).unwrap();
        envelope["traceparent"] = "00-zz-00f067aa0ba902b7-01".into();
        let error = Envelope::decode(&serde_json::to_vec(&envelope).unwrap()).unwrap_err();
        assert!(error.to_string().contains("trace id"), "{error}");
    }

    #[test]
    fn an_endless_line_is_cut_off_at_the_limit() {
        let endless = vec![b'x'; MAX_ENVELOPE_BYTES * 2];
        let err = block_on(read_envelope(&mut Cursor::new(endless))).unwrap_err();
        assert!(matches!(
            err,
            PingError::Envelope(EnvelopeError::TooLong { .. })
        ));
    }

    #[test]
    fn reading_stops_at_the_end_of_the_line() {
        let mut bytes = sample().encode();
        bytes.extend_from_slice(b"rest");
        let mut cursor = Cursor::new(bytes);
        block_on(read_envelope(&mut cursor)).unwrap();
        let mut rest = String::new();
        block_on(cursor.read_to_string(&mut rest)).unwrap();
        assert_eq!(rest, "rest");
    }
}
