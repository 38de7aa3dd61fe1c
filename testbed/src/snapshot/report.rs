//! A recording as the page's table shows it: each peer's balance, the tokens recorded on each
//! channel, their sum against the tokens in the system, and what the check found.

use super::check::Violation;
use super::sim::{Completed, Incomplete};
use super::{Recording, SnapshotId};
use crate::PeerIndex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub recording: Recording,
    /// (peer, its recorded balance), for the peers that took part.
    pub balances: Vec<(PeerIndex, u64)>,
    /// (from, to, the amounts recorded in flight), for channels that recorded any.
    pub channels: Vec<(PeerIndex, PeerIndex, Vec<u64>)>,
    /// Tokens in the system.
    pub total: u64,
    /// A Chandy-Lamport snapshot checked against what really happened; None for a naive one,
    /// which records no channels to check.
    pub verdict: Option<Result<(), String>>,
    /// Why a snapshot could not finish; it recorded nothing usable then.
    pub incomplete: Option<String>,
}

impl Report {
    pub fn of_snapshot(completed: &Completed, check: Result<(), Violation>) -> Report {
        let snapshot = &completed.snapshot;
        Report {
            recording: Recording::Snapshot(snapshot.id),
            balances: snapshot.parts.iter().map(|p| (p.peer, p.state)).collect(),
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
            incomplete: None,
        }
    }

    pub fn of_incomplete(incomplete: &Incomplete, total: u64) -> Report {
        let mut reasons: Vec<String> = incomplete
            .peers_gone
            .iter()
            .map(|peer| format!("peer {peer} left before its part was done"))
            .collect();
        reasons.extend(incomplete.channels_waiting.iter().map(|(peer, from)| {
            let from: Vec<String> = from.iter().map(|p| format!("peer {p}")).collect();
            format!(
                "peer {peer} gave up, still waiting for markers from {}",
                from.join(" and ")
            )
        }));
        Report {
            recording: Recording::Snapshot(incomplete.id),
            balances: Vec::new(),
            channels: Vec::new(),
            total,
            verdict: None,
            incomplete: Some(format!("Incomplete: {}.", reasons.join("; "))),
        }
    }

    pub fn naive(number: u32, balances: Vec<(PeerIndex, u64)>, total: u64) -> Report {
        Report {
            recording: Recording::Naive(number),
            balances,
            channels: Vec::new(),
            total,
            verdict: None,
            incomplete: None,
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
        self.balances.iter().map(|(_, b)| b).sum::<u64>() + self.in_channels()
    }

    pub fn adds_up(&self) -> bool {
        self.recorded() == self.total
    }
}

/// What the page's table says about a report, sentence by sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// One line, shown when the report is folded.
    pub summary: String,
    /// (sentence, whether it is good news or bad; None for neither), in order.
    pub sentences: Vec<(String, Option<bool>)>,
}

impl Report {
    /// The table's words for this report; `took_ms` is how long a snapshot took (from its
    /// first recording to its last marker's arrival).
    pub fn wording(&self, took_ms: Option<f64>) -> Wording {
        if let Some(reason) = &self.incomplete {
            return Wording {
                summary: format!("Snapshot {} · incomplete", self.recording),
                sentences: vec![
                    (reason.clone(), Some(false)),
                    ("It recorded nothing usable: without those markers, some channels have no end. The peers still here go on; a later snapshot leaves the gone peer out.".into(), None),
                ],
            };
        }
        let title = match self.recording {
            Recording::Snapshot(id) => {
                format!(
                    "Snapshot {id}: Chandy-Lamport, started by peer {}",
                    id.initiator
                )
            }
            Recording::Naive(_) => format!(
                "{}: every peer recorded at once, no markers",
                self.recording
            ),
        };
        let took = match (self.recording, took_ms) {
            (Recording::Snapshot(_), Some(ms)) if ms < 1000.0 => {
                format!(" · finished in {ms:.0} ms")
            }
            (Recording::Snapshot(_), Some(ms)) => format!(" · finished in {:.2} s", ms / 1000.0),
            _ => String::new(),
        };
        let mark = if self.adds_up() { "✓" } else { "✗" };
        let summary = format!(
            "{title} · {mark} {} of {}{took}",
            self.recorded(),
            self.total
        );
        let balances: u64 = self.balances.iter().map(|(_, b)| b).sum();
        let sum = if self.channels.is_empty() {
            format!("{balances} in balances")
        } else {
            format!(
                "{balances} in balances + {} on channels",
                self.in_channels()
            )
        };
        let (recorded, total) = (self.recorded(), self.total);
        let conservation = if self.adds_up() {
            format!("✓ {sum} = {total}: every token is counted once.")
        } else if recorded < total {
            format!(
                "✗ {sum} = {recorded}, but there are {total}: {} tokens were in flight across the line, and nobody recorded them.",
                total - recorded
            )
        } else {
            format!(
                "✗ {sum} = {recorded}, but there are {total}: {} tokens were counted twice.",
                recorded - total
            )
        };
        let channels = match self.recording {
            Recording::Naive(_) => "Channels: not recorded.".to_owned(),
            Recording::Snapshot(_) if self.channels.is_empty() => {
                "Channels: every channel recorded empty (no tokens in flight at the cut)."
                    .to_owned()
            }
            Recording::Snapshot(_) => {
                let each: Vec<String> = self
                    .channels
                    .iter()
                    .map(|(from, to, amounts)| {
                        let amounts: Vec<String> = amounts.iter().map(u64::to_string).collect();
                        format!("peer {from} → peer {to}: {}", amounts.join(" + "))
                    })
                    .collect();
                format!("In flight, recorded on channels: {}.", each.join("; "))
            }
        };
        let mut sentences = vec![(channels, None), (conservation, Some(self.adds_up()))];
        match &self.verdict {
            Some(Ok(())) => sentences.push((
                "✓ Consistent cut: no token was received before the cut and sent after it, and each channel recorded exactly the tokens in flight.".into(),
                Some(true),
            )),
            Some(Err(problem)) => sentences.push((format!("✗ {problem}"), Some(false))),
            None => {}
        }
        Wording { summary, sentences }
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
        let naive = Report::naive(0, vec![(0, 90), (1, 103)], 200);
        assert!(!naive.adds_up());
        let words = report.wording(Some(12.4)).summary;
        assert_eq!(
            words,
            "Snapshot S0.1: Chandy-Lamport, started by peer 0 · ✓ 200 of 200 · finished in 12 ms"
        );
        assert_eq!(
            naive.wording(None).sentences[1].0,
            "✗ 193 in balances = 193, but there are 200: 7 tokens were in flight across the line, and nobody recorded them."
        );
        assert_eq!(
            why_unfinished(id, &[(id, 2, vec![3])]),
            "Snapshot S0.1 did not finish in time: peer 2 still waits for the marker from peer 3."
        );
    }
}
