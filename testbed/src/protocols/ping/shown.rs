//! How the ping's steps are shown: the mark each leaves in the trace, and its sentence in the
//! log.

use super::{Envelope, PingStep, PROTOCOL};
use crate::labels::{Names, Tone};
use crate::trace::mark::{FromAnotherTab, Mark, MessageKind, Said};
use crate::trace::SendStamp;

impl PingStep {
    /// What this step means to the trace: a stream opened or closed (linked in order) or an
    /// envelope (linked by its trace context). Failures draw nothing.
    pub fn mark(&self) -> Option<Mark> {
        let plain = |kind, label: &str| Said::plain(kind, PROTOCOL.as_ref(), label);
        Some(match self {
            PingStep::StreamOpened { remote, protocol } => Mark::Sent {
                to: *remote,
                said: Said::plain(MessageKind::OpenStream, protocol, "open stream"),
            },
            PingStep::StreamAccepted { remote, .. } => Mark::ReceivedInOrder {
                from: *remote,
                kind: MessageKind::OpenStream,
                in_flight: None,
            },
            PingStep::ClosedOwnSide { remote } => Mark::Sent {
                to: *remote,
                said: plain(MessageKind::Close, "close (FIN)"),
            },
            PingStep::RemoteClosed { remote } => Mark::ReceivedInOrder {
                from: *remote,
                kind: MessageKind::Close,
                in_flight: None,
            },
            PingStep::Sent { remote, envelope } => Mark::Sent {
                to: *remote,
                said: envelope.said()?,
            },
            PingStep::Received {
                remote,
                envelope,
                lamport,
            } => Mark::Received {
                span: envelope.traceparent?.span_id,
                lamport: *lamport,
                from_another_tab: FromAnotherTab {
                    from: *remote,
                    said: envelope.said()?,
                    sent_unix_ms: envelope.created,
                    answers: envelope
                        .ping_received
                        .zip(envelope.traceparent)
                        .map(|(receipt, context)| (context.trace_id, receipt.at, receipt.lamport)),
                },
            },
            PingStep::Retrying { .. } | PingStep::Failed { .. } => return None,
        })
    }

    /// The log's sentence; `me` names the peer that saw the step.
    pub fn sentence(&self, me: &str, names: &impl Names) -> (Tone, String) {
        match self {
            PingStep::StreamOpened { remote, protocol } => (
                Tone::Ping,
                format!(
                    "{me} opened a new stream to {} and agreed on the protocol {protocol}",
                    names.peer(remote)
                ),
            ),
            PingStep::StreamAccepted { remote, protocol } => (
                Tone::Ping,
                format!(
                    "{me} accepted the stream from {} for {protocol}",
                    names.peer(remote)
                ),
            ),
            PingStep::Sent { remote, envelope } => (
                Tone::Ping,
                format!(
                    "{me} sent {} (id {}) to {}",
                    envelope.kind,
                    envelope.id,
                    names.peer(remote)
                ),
            ),
            PingStep::Received {
                remote, envelope, ..
            } => (
                Tone::Ping,
                format!(
                    "{me} received {} (id {}) from {}",
                    envelope.kind,
                    envelope.id,
                    names.peer(remote)
                ),
            ),
            PingStep::ClosedOwnSide { remote } => (
                Tone::Ping,
                format!(
                    "{me} closed its side of the stream to {}: it will send nothing more",
                    names.peer(remote)
                ),
            ),
            PingStep::RemoteClosed { remote } => (
                Tone::Ping,
                format!(
                    "{me} saw {} close its side too: the stream is closed from both sides",
                    names.peer(remote)
                ),
            ),
            PingStep::Retrying {
                remote,
                error,
                attempt,
            } => (
                Tone::Ping,
                format!(
                    "{me}'s stream to {} ended before any answer ({error}); trying again on a new stream (attempt {})",
                    names.peer(remote),
                    attempt + 1
                ),
            ),
            PingStep::Failed { remote, error } => (
                Tone::Problem,
                format!("{me}: ping with {} failed: {error}", names.peer(remote)),
            ),
        }
    }
}

impl Envelope {
    /// The envelope as the trace shows it; only one with trace context can be linked.
    fn said(&self) -> Option<Said> {
        let context = self.traceparent?;
        Some(Said {
            payload: serde_json::to_string(self).ok(),
            stamp: Some(SendStamp {
                context,
                lamport: self.lamport,
            }),
            ..Said::plain(
                MessageKind::Envelope,
                PROTOCOL.as_ref(),
                self.kind.to_string(),
            )
        })
    }
}
