//! How a room's steps are shown in the log.

use super::RoomStep;
use crate::labels::{Names, Tone};

impl RoomStep {
    /// The log's sentence.
    pub fn sentence(&self, names: &impl Names) -> (Tone, String) {
        match self {
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
        }
    }
}
