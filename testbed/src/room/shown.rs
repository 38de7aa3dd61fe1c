//! How a room's steps are shown in the trace and the log.

use super::{RoomStep, TOKEN_CHANNEL};
use crate::labels::{Names, Tone};
use crate::trace::mark::{FromAnotherTab, Mark, MessageKind, Said};
use crate::wire::kad::PROTOCOL as KAD_PROTOCOL;
use crate::wire::webrtc::SIGNALING_PROTOCOL;

impl RoomStep {
    /// The signaling messages and Kademlia's: sent ones wait for a receive that happens in
    /// the other tab; received ones arrive with no send this tab saw. Tokens and markers carry their send's
    /// stamp: a received one is drawn from its send in the other tab.
    pub fn mark(&self) -> Option<Mark> {
        if let RoomStep::Channel {
            remote,
            kind,
            label,
            line,
            stamp,
            sent_unix_ms,
            received,
        } = self
        {
            let said = Said {
                payload: Some(line.clone()),
                stamp: Some(*stamp),
                ..Said::plain(*kind, TOKEN_CHANNEL, label.clone())
            };
            return Some(match received {
                None => Mark::Sent { to: *remote, said },
                Some(lamport) => Mark::Received {
                    span: stamp.context.span_id,
                    lamport: *lamport,
                    from_another_tab: FromAnotherTab {
                        from: *remote,
                        said,
                        sent_unix_ms: *sent_unix_ms,
                        answers: None,
                    },
                },
            });
        }
        let (remote, sent, said) = match self {
            RoomStep::Signal {
                remote,
                sent,
                summary,
            } => (
                remote,
                sent,
                Said {
                    kind: MessageKind::Signal,
                    protocol: SIGNALING_PROTOCOL.to_owned(),
                    label: signal_label(summary),
                    payload: Some(summary.clone()),
                    stamp: None,
                },
            ),
            RoomStep::Kad {
                remote,
                sent,
                label,
                details,
                background,
            } => (
                remote,
                sent,
                Said {
                    payload: Some(details.clone()),
                    ..Said::plain(
                        if *background {
                            MessageKind::KadBackground
                        } else {
                            MessageKind::Kad
                        },
                        KAD_PROTOCOL,
                        label.clone(),
                    )
                },
            ),
            _ => return None,
        };
        Some(if *sent {
            Mark::Sent { to: *remote, said }
        } else {
            Mark::Arrived {
                from: *remote,
                said,
            }
        })
    }

    /// The log's sentence, for the steps worth one: Kademlia's upkeep is left to the diagram.
    pub fn sentence(&self, names: &impl Names) -> Option<(Tone, String)> {
        Some(match self {
            RoomStep::Reserved { relay, address } => (
                Tone::Info,
                format!(
                    "{} holds a slot for this tab: others reach it at {address}",
                    names.peer(relay)
                ),
            ),
            RoomStep::Registered { room } => (
                Tone::Info,
                format!("Listed in room {room} on the relay's rendezvous point"),
            ),
            RoomStep::Discovered { room, peers } => (
                Tone::Info,
                match peers.len() {
                    0 => format!("Room {room}: no other tab yet"),
                    n => format!("Room {room}: {n} other peers: {}", names.peers(peers)),
                },
            ),
            RoomStep::DirectOpened { remote, dialer } => (
                Tone::Info,
                format!(
                    "Direct WebRTC connection {} {}: the relay is no longer in between",
                    if *dialer { "to" } else { "from" },
                    names.peer(remote),
                ),
            ),
            RoomStep::Signal {
                remote,
                sent: true,
                summary,
            } => (
                Tone::Info,
                format!(
                    "Sent {} to {} over the circuit",
                    summary,
                    names.peer(remote)
                ),
            ),
            RoomStep::Signal {
                remote,
                sent: false,
                summary,
            } => (
                Tone::Info,
                format!(
                    "Received {} from {} over the circuit",
                    summary,
                    names.peer(remote)
                ),
            ),
            RoomStep::DirectFailed { remote, reason } => (
                Tone::Problem,
                format!(
                    "No direct connection to {}: {reason}. Its traffic stays on the relay",
                    names.peer(remote)
                ),
            ),
            RoomStep::DirectClosed { remote, reason } => (
                Tone::Info,
                format!(
                    "The direct connection to {} closed{}",
                    names.peer(remote),
                    reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            ),
            RoomStep::CircuitOpened {
                relay,
                remote,
                dialer,
            } => (
                Tone::Info,
                format!(
                    "Circuit {} {} through {}: noise and yamux run end to end inside it",
                    if *dialer { "to" } else { "from" },
                    names.peer(remote),
                    names.peer(relay)
                ),
            ),
            RoomStep::Refused { what, reason } => (
                Tone::Problem,
                format!("The relay refused the {what}: {reason}"),
            ),
            RoomStep::Kad {
                background: true, ..
            } => return None,
            RoomStep::Kad {
                remote,
                sent,
                label,
                ..
            } => (
                Tone::Info,
                format!(
                    "Kademlia: {} {label} {} {}",
                    if *sent { "sent" } else { "received" },
                    if *sent { "to" } else { "from" },
                    names.peer(remote)
                ),
            ),
            RoomStep::Channel {
                remote,
                label,
                received,
                ..
            } => (
                Tone::Ping,
                match received {
                    None => format!(
                        "Sent {label} to {} on its token channel",
                        names.peer(remote)
                    ),
                    Some(_) => format!(
                        "Received {label} from {} on its token channel",
                        names.peer(remote)
                    ),
                },
            ),
        })
    }
}

/// A signal's label on its arrow: a fingerprint's first bytes are enough to tell two apart
/// (the whole one is in the arrow's details).
fn signal_label(summary: &str) -> String {
    const SHOWN: usize = "sha-256 4F:2A:91".len();
    match summary.split_once(" · fingerprint ") {
        Some((what, fingerprint)) if fingerprint.len() > SHOWN => {
            format!("{what} · fingerprint {}…", &fingerprint[..SHOWN])
        }
        _ => summary.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::PeerId;

    #[test]
    fn a_signal_sent_waits_for_the_other_tab_and_one_received_arrives_from_it() {
        let remote = PeerId::random();
        let summary = "SDP offer · fingerprint sha-256 4F:2A:91:0C:DD:EE".to_owned();
        let sent = RoomStep::Signal {
            remote,
            sent: true,
            summary: summary.clone(),
        };
        match sent.mark() {
            Some(Mark::Sent { to, said }) => {
                assert_eq!(to, remote);
                assert_eq!(said.kind, MessageKind::Signal);
                assert_eq!(said.label, "SDP offer · fingerprint sha-256 4F:2A:91…");
                assert_eq!(said.payload.as_deref(), Some(summary.as_str()));
            }
            other => panic!("{other:?}"),
        }
        let received = RoomStep::Signal {
            remote,
            sent: false,
            summary: "ICE candidate · host udp 10.0.0.2:5000".into(),
        };
        match received.mark() {
            Some(Mark::Arrived { from, said }) => {
                assert_eq!(from, remote);
                assert_eq!(said.label, "ICE candidate · host udp 10.0.0.2:5000");
            }
            other => panic!("{other:?}"),
        }
    }
}
