//! How the token application's steps are shown. In the trace: tokens and markers sent on a
//! FIFO channel, each received in order; tokens a snapshot recorded as in flight say so. In the
//! log: the steps of a snapshot worth a line.

use super::channel::PROTOCOL;
use super::{amount, TokenStep};
use crate::labels::{Names, Tone};
use crate::trace::mark::{Mark, MessageKind, Said};

impl TokenStep {
    /// Cut points and abandoned snapshots draw no arrow ([`super::cuts`] keeps them).
    pub fn mark(&self) -> Option<Mark> {
        let sent = |to, kind, label| Mark::Sent {
            to,
            said: Said::plain(kind, PROTOCOL.as_ref(), label),
        };
        Some(match self {
            TokenStep::Sent { remote, tokens } => {
                sent(*remote, MessageKind::Tokens, amount(tokens.amount))
            }
            TokenStep::MarkerSent { remote, id } => {
                sent(*remote, MessageKind::Marker, format!("marker {id}"))
            }
            TokenStep::Received {
                remote,
                recorded_by,
                ..
            } => Mark::ReceivedInOrder {
                from: *remote,
                kind: MessageKind::Tokens,
                in_flight: (!recorded_by.is_empty()).then(|| {
                    let names: Vec<String> = recorded_by.iter().map(|id| id.to_string()).collect();
                    format!(
                        "in flight across the cut: recorded by snapshot {}",
                        names.join(", ")
                    )
                }),
            },
            TokenStep::MarkerReceived { remote, .. } => Mark::ReceivedInOrder {
                from: *remote,
                kind: MessageKind::Marker,
                in_flight: None,
            },
            TokenStep::Abandoned { .. } | TokenStep::Recorded { .. } => return None,
        })
    }
    /// The log's sentence, for the steps worth one; `me` names the peer that saw the step.
    pub fn sentence(&self, me: &str, names: &impl Names) -> Option<(Tone, String)> {
        Some(match self {
            TokenStep::Recorded { recording, balance } => (
                Tone::Info,
                format!("{me} recorded its balance for {recording}: {balance} tokens"),
            ),
            TokenStep::Received {
                remote,
                tokens,
                recorded_by,
            } if !recorded_by.is_empty() => (
                Tone::Ping,
                format!(
                    "{me} received {} from {} after recording its balance and before that channel's marker: in flight, recorded on the channel",
                    amount(tokens.amount),
                    names.peer(remote)
                ),
            ),
            TokenStep::Abandoned { id, closed, .. } => (
                Tone::Problem,
                format!(
                    "{me} gave up snapshot {id}: its channel from {} closed before that channel's marker came",
                    names.peer(closed)
                ),
            ),
            _ => return None,
        })
    }
}
