//! A recording as the page's table shows it: each peer's balance, the tokens recorded on each
//! channel, their sum against the tokens in the system, and what the check found.

use super::check::Violation;
use super::sim::Completed;
use super::{Recording, SnapshotId};
use crate::PeerIndex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub recording: Recording,
    /// Recorded balances, by peer.
    pub balances: Vec<u64>,
    /// (from, to, the amounts recorded in flight), for channels that recorded any.
    pub channels: Vec<(PeerIndex, PeerIndex, Vec<u64>)>,
    /// Tokens in the system.
    pub total: u64,
    /// A Chandy-Lamport snapshot checked against what really happened; None for a naive one,
    /// which records no channels to check.
    pub verdict: Option<Result<(), String>>,
}

impl Report {
    pub fn of_snapshot(completed: &Completed, check: Result<(), Violation>) -> Report {
        let snapshot = &completed.snapshot;
        Report {
            recording: Recording::Snapshot(snapshot.id),
            balances: snapshot.parts.iter().map(|p| p.state).collect(),
            channels: snapshot
                .parts
                .iter()
                .flat_map(|part| {
                    part.channels
                        .iter()
                        .filter(|(_, tokens)| !tokens.is_empty())
                        .map(|(&from, tokens)| {
                            (from, part.peer, tokens.iter().map(|t| t.amount).collect())
                        })
                })
                .collect(),
            total: completed.total,
            verdict: Some(check.map_err(|violation| violation.to_string())),
        }
    }

    pub fn naive(number: u32, balances: Vec<u64>, total: u64) -> Report {
        Report {
            recording: Recording::Naive(number),
            balances,
            channels: Vec::new(),
            total,
            verdict: None,
        }
    }

    /// Tokens recorded on channels.
    pub fn in_channels(&self) -> u64 {
        self.channels
            .iter()
            .flat_map(|(_, _, amounts)| amounts)
            .sum()
    }

    /// Tokens in the recorded balances and channels.
    pub fn recorded(&self) -> u64 {
        self.balances.iter().sum::<u64>() + self.in_channels()
    }

    pub fn adds_up(&self) -> bool {
        self.recorded() == self.total
    }
}

/// Why snapshot `id` has not finished, from what peers still wait for: (snapshot, peer, the
/// channels into it whose marker has not come).
pub fn why_unfinished(
    id: SnapshotId,
    waiting: &[(SnapshotId, PeerIndex, Vec<PeerIndex>)],
) -> String {
    let stuck: Vec<String> = waiting
        .iter()
        .filter(|(of, _, from)| *of == id && !from.is_empty())
        .map(|(_, peer, from)| {
            let from: Vec<String> = from.iter().map(|p| format!("peer {p}")).collect();
            format!(
                "peer {peer} still waits for the marker from {}",
                from.join(" and ")
            )
        })
        .collect();
    if stuck.is_empty() {
        format!("Snapshot {id} did not finish in time: some peers never recorded their balance.")
    } else {
        format!(
            "Snapshot {id} did not finish in time: {}.",
            stuck.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{GlobalSnapshot, LocalPart, Tokens};
    use std::collections::BTreeMap;

    #[test]
    fn a_report_adds_balances_and_channels() {
        let id = SnapshotId {
            initiator: 0,
            number: 0,
        };
        let part = |peer, state, channels: BTreeMap<PeerIndex, Vec<Tokens>>| LocalPart {
            peer,
            state,
            channels,
        };
        let tokens = Tokens { id: 4, amount: 7 };
        let completed = Completed {
            snapshot: GlobalSnapshot {
                id,
                parts: vec![
                    part(0, 90, BTreeMap::from([(1, vec![])])),
                    part(1, 103, BTreeMap::from([(0, vec![tokens])])),
                ],
            },
            cut: vec![1, 2],
            took_ticks: 0,
            total: 200,
        };
        let report = Report::of_snapshot(&completed, Ok(()));
        assert_eq!(report.channels, vec![(0, 1, vec![7])]);
        assert_eq!(report.recorded(), 200);
        assert!(report.adds_up());
        let naive = Report::naive(0, vec![90, 103], 200);
        assert!(!naive.adds_up());
        assert_eq!(
            why_unfinished(id, &[(id, 2, vec![3])]),
            "Snapshot S0.1 did not finish in time: peer 2 still waits for the marker from peer 3."
        );
    }
}
