//! The initiator's collection, for a live token network: every peer's part of each snapshot,
//! gathered into a [`Completed`] snapshot, or an [`Incomplete`] one when a peer left or a
//! channel closed before it could finish.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::StreamExt;

use super::machine::{LocalPart, SnapshotId};
use super::sim::{Completed, Incomplete};
use super::truth::{lock, Truth};
use super::{GlobalSnapshot, Tokens};
use crate::PeerIndex;

/// What peers tell the collection.
#[derive(Debug)]
pub enum PartReport {
    Done {
        id: SnapshotId,
        part: LocalPart<u64, Tokens>,
    },
    /// `peer`'s part of `id` can never complete: these channels into it closed before their
    /// marker came.
    Stuck {
        id: SnapshotId,
        peer: PeerIndex,
        waiting_for: Vec<PeerIndex>,
    },
    /// The peer left the network.
    Left(PeerIndex),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed(Completed),
    Incomplete(Incomplete),
}

/// Every peer's part of the snapshots, gathered.
pub struct Snapshots {
    reports: mpsc::Receiver<PartReport>,
    gathered: BTreeMap<SnapshotId, Vec<Option<LocalPart<u64, Tokens>>>>,
    /// Snapshots completed or given up: later reports of them are ignored.
    ended: BTreeSet<SnapshotId>,
    ready: VecDeque<Outcome>,
    truth: Arc<Mutex<Truth>>,
    peers: usize,
    total: u64,
}

impl Snapshots {
    pub(super) fn new(
        reports: mpsc::Receiver<PartReport>,
        truth: Arc<Mutex<Truth>>,
        peers: usize,
        total: u64,
    ) -> Snapshots {
        Snapshots {
            reports,
            gathered: BTreeMap::new(),
            ended: BTreeSet::new(),
            ready: VecDeque::new(),
            truth,
            peers,
            total,
        }
    }

    /// Waits for the next snapshot to complete or to be given up.
    pub async fn next(&mut self) -> Option<Outcome> {
        loop {
            if let Some(outcome) = self.ready.pop_front() {
                return Some(outcome);
            }
            match self.reports.next().await? {
                PartReport::Done { id, part } if !self.ended.contains(&id) => {
                    let peers = self.peers;
                    let parts = self.gathered.entry(id).or_insert_with(|| vec![None; peers]);
                    let peer = part.peer;
                    parts[peer] = Some(part);
                    self.complete_if_ready(id);
                }
                PartReport::Stuck {
                    id,
                    peer,
                    waiting_for,
                } if !self.ended.contains(&id) => {
                    let peers_gone = {
                        let truth = lock(&self.truth);
                        let left = truth.left.keys().copied();
                        left.filter(|&p| truth.expects(id, p)).collect()
                    };
                    self.give_up(id, peers_gone, vec![(peer, waiting_for)]);
                }
                PartReport::Left(gone) => {
                    let waiting: Vec<SnapshotId> = self
                        .gathered
                        .iter()
                        .filter(|(_, parts)| parts[gone].is_none())
                        .map(|(id, _)| *id)
                        .collect();
                    for id in waiting {
                        if lock(&self.truth).expects(id, gone) {
                            self.give_up(id, vec![gone], Vec::new());
                        } else {
                            self.complete_if_ready(id);
                        }
                    }
                }
                PartReport::Done { .. } | PartReport::Stuck { .. } => {}
            }
        }
    }

    fn complete_if_ready(&mut self, id: SnapshotId) {
        let truth = lock(&self.truth);
        let Some(parts) = self.gathered.get(&id) else {
            return;
        };
        let all_in = parts
            .iter()
            .enumerate()
            .all(|(peer, part)| part.is_some() || !truth.expects(id, peer));
        if !all_in {
            return;
        }
        let cut = truth.cut(id);
        let total = truth.expected_total(id, &cut, self.total);
        drop(truth);
        let parts = self.gathered.remove(&id).unwrap_or_default();
        self.ended.insert(id);
        self.ready.push_back(Outcome::Completed(Completed {
            snapshot: GlobalSnapshot {
                id,
                parts: parts.into_iter().flatten().collect(),
            },
            cut,
            took_ticks: 0,
            total,
        }));
    }

    fn give_up(
        &mut self,
        id: SnapshotId,
        peers_gone: Vec<PeerIndex>,
        channels_waiting: Vec<(PeerIndex, Vec<PeerIndex>)>,
    ) {
        self.gathered.remove(&id);
        self.ended.insert(id);
        self.ready.push_back(Outcome::Incomplete(Incomplete {
            id,
            peers_gone,
            channels_waiting,
        }));
    }
}
