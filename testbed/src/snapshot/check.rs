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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::snapshot::{LocalPart, SnapshotId};

    /// Two peers of 100 tokens each; peer 0 sends message 7 (10 tokens) to peer 1.
    fn message(sent_at: u64, received_at: Option<u64>) -> Sent {
        Sent {
            from: 0,
            to: 1,
            tokens: Tokens { id: 7, amount: 10 },
            sent_at,
            received_at,
        }
    }

    /// A snapshot where peer 0 recorded `balances.0`, peer 1 `balances.1` and, on its channel
    /// from peer 0, `on_channel`.
    fn snapshot(balances: (u64, u64), on_channel: &[Tokens]) -> GlobalSnapshot {
        GlobalSnapshot {
            id: SnapshotId {
                initiator: 0,
                number: 1,
            },
            parts: vec![
                LocalPart {
                    peer: 0,
                    state: balances.0,
                    channels: BTreeMap::from([(1, Vec::new())]),
                },
                LocalPart {
                    peer: 1,
                    state: balances.1,
                    channels: BTreeMap::from([(0, on_channel.to_vec())]),
                },
            ],
        }
    }

    #[test]
    fn a_message_in_flight_across_the_cut_recorded_on_its_channel_passes() {
        let sent = [message(1, Some(5))];
        let tokens = Tokens { id: 7, amount: 10 };
        assert_eq!(
            check(&snapshot((90, 100), &[tokens]), &[3, 4], &sent, 200),
            Ok(())
        );
    }

    #[test]
    fn a_message_received_before_the_cut_but_sent_after_it_is_inconsistent() {
        // Sent at 6, after peer 0 recorded (3); received at 7, before peer 1 did (8). The
        // balances are made to add up, so only the cut is wrong.
        let sent = [message(6, Some(7))];
        assert_eq!(
            check(&snapshot((100, 100), &[]), &[3, 8], &sent, 200),
            Err(Violation::Inconsistent {
                id: 7,
                from: 0,
                to: 1
            })
        );
    }

    #[test]
    fn a_channel_missing_a_message_in_flight_is_named() {
        // In flight across the cut, but the channel recorded nothing (and peer 1's balance
        // hides the 10 tokens, so the total is right).
        let sent = [message(1, Some(5))];
        assert_eq!(
            check(&snapshot((90, 110), &[]), &[3, 4], &sent, 200),
            Err(Violation::WrongChannel {
                from: 0,
                to: 1,
                recorded: vec![],
                in_flight: vec![7],
            })
        );
    }

    #[test]
    fn tokens_missing_from_the_snapshot_are_not_conserved() {
        let sent = [message(1, Some(5))];
        assert_eq!(
            check(&snapshot((90, 100), &[]), &[3, 4], &sent, 200),
            Err(Violation::NotConserved {
                recorded: 190,
                total: 200
            })
        );
    }
}
