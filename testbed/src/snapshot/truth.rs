//! The ground truth of a live token network, in one order of everything that happened: every
//! send, receive and recorded state takes the next number of one shared step counter. Each
//! snapshot is checked against it ([`super::check`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use super::check::{self, Sent, Violation};
use super::sim::Completed;
use super::SnapshotId;
use crate::PeerIndex;

#[derive(Debug, Default)]
pub struct Truth {
    step: u64,
    pub sent: Vec<Sent>,
    /// For each snapshot, the step at which each peer recorded its state.
    pub cuts: BTreeMap<SnapshotId, Vec<Option<u64>>>,
    /// Peers that left: (the step, the balance they took with them).
    pub left: BTreeMap<PeerIndex, (u64, u64)>,
    /// Directed channels closed: what is on them never arrives.
    pub closed: BTreeSet<(PeerIndex, PeerIndex)>,
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Truth {
    pub fn next_step(&mut self) -> u64 {
        self.step += 1;
        self.step
    }

    /// `peer` recorded its state for `id` now.
    pub fn record_cut(&mut self, id: SnapshotId, peer: PeerIndex, peers: usize) {
        let step = self.next_step();
        self.cuts.entry(id).or_insert_with(|| vec![None; peers])[peer] = Some(step);
    }

    /// `peer` left with `balance`; its channels both ways are closed.
    pub fn leave(&mut self, peer: PeerIndex, balance: u64, peers: usize) {
        let step = self.next_step();
        self.left.insert(peer, (step, balance));
        for other in 0..peers {
            self.closed.insert((peer, other));
            self.closed.insert((other, peer));
        }
    }

    /// The step at which `id`'s first peer recorded.
    pub fn started(&self, id: SnapshotId) -> Option<u64> {
        self.cuts.get(&id)?.iter().flatten().min().copied()
    }

    /// Whether `peer` must take part in `id`: it had not left when `id` started.
    pub fn expects(&self, id: SnapshotId, peer: PeerIndex) -> bool {
        match (self.left.get(&peer), self.started(id)) {
            (Some(&(left, _)), Some(started)) => left > started,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// The steps at which each peer recorded its state for `id` (0 for peers without one).
    pub fn cut(&self, id: SnapshotId) -> Vec<u64> {
        self.cuts
            .get(&id)
            .map(|c| c.iter().map(|s| s.unwrap_or_default()).collect())
            .unwrap_or_default()
    }

    /// Tokens a snapshot with this cut must find, of the `total` the peers began with: less
    /// the balances of peers that left before it, and tokens lost on closed channels before
    /// their sender recorded (after, they are still in the sender's recorded balance).
    pub fn expected_total(&self, id: SnapshotId, cut: &[u64], total: u64) -> u64 {
        let gone: BTreeSet<PeerIndex> = self
            .left
            .keys()
            .copied()
            .filter(|&peer| !self.expects(id, peer))
            .collect();
        let left_with: u64 = gone.iter().map(|peer| self.left[peer].1).sum();
        let lost: u64 = self
            .sent
            .iter()
            .filter(|m| m.received_at.is_none() && self.closed.contains(&(m.from, m.to)))
            .filter(|m| gone.contains(&m.from) || cut.get(m.from).is_some_and(|&c| m.sent_at < c))
            .map(|m| m.tokens.amount)
            .sum();
        total.saturating_sub(left_with + lost)
    }

    /// `completed` checked against what really happened.
    pub fn check(&self, completed: &Completed) -> Result<(), Violation> {
        check::check(
            &completed.snapshot,
            &completed.cut,
            &self.sent,
            completed.total,
        )
    }
}
