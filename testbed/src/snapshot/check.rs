//! Checks a snapshot against what really happened: the ground truth a simulator (or a test
//! watching real peers) kept of every message.

use std::collections::BTreeSet;

use super::{GlobalSnapshot, Tokens};
use crate::PeerIndex;

/// One application message as it really went. Moments are positions in one global order of
/// everything that happened (a step counter), so "before" is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub from: PeerIndex,
    pub to: PeerIndex,
    pub tokens: Tokens,
    pub sent_at: u64,
    /// None while still in flight.
    pub received_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("the snapshot holds {recorded} tokens, but there are {total}")]
    NotConserved { recorded: u64, total: u64 },
    #[error("message {id} from peer {from} was received before peer {to}'s cut but sent after peer {from}'s: not a consistent cut")]
    Inconsistent {
        id: u64,
        from: PeerIndex,
        to: PeerIndex,
    },
    #[error("the channel from peer {from} to peer {to} recorded {recorded:?}, but {in_flight:?} were in flight across the cut")]
    WrongChannel {
        from: PeerIndex,
        to: PeerIndex,
        recorded: Vec<u64>,
        in_flight: Vec<u64>,
    },
}

/// Checks `snapshot`, whose peers recorded their state at the moments `cut` (by peer index),
/// against every message `sent`, when its peers hold `total` tokens between them. Messages to
/// or from a peer outside the snapshot (one that left) are not its business.
pub fn check(
    snapshot: &GlobalSnapshot,
    cut: &[u64],
    sent: &[Sent],
    total: u64,
) -> Result<(), Violation> {
    let peers: BTreeSet<PeerIndex> = snapshot.parts.iter().map(|p| p.peer).collect();
    let sent: Vec<&Sent> = sent
        .iter()
        .filter(|m| peers.contains(&m.from) && peers.contains(&m.to))
        .collect();
    let recorded = snapshot.total();
    if recorded != total {
        return Err(Violation::NotConserved { recorded, total });
    }
    for message in &sent {
        let received_before_cut = message.received_at.is_some_and(|at| at < cut[message.to]);
        let sent_before_cut = message.sent_at < cut[message.from];
        if received_before_cut && !sent_before_cut {
            return Err(Violation::Inconsistent {
                id: message.tokens.id,
                from: message.from,
                to: message.to,
            });
        }
    }
    for part in &snapshot.parts {
        for (&from, recorded) in &part.channels {
            let recorded: BTreeSet<u64> = recorded.iter().map(|t| t.id).collect();
            let in_flight: BTreeSet<u64> = sent
                .iter()
                .filter(|m| m.from == from && m.to == part.peer)
                .filter(|m| {
                    m.sent_at < cut[from] && m.received_at.is_none_or(|at| at > cut[part.peer])
                })
                .map(|m| m.tokens.id)
                .collect();
            if recorded != in_flight {
                return Err(Violation::WrongChannel {
                    from,
                    to: part.peer,
                    recorded: recorded.into_iter().collect(),
                    in_flight: in_flight.into_iter().collect(),
                });
            }
        }
    }
    Ok(())
}
