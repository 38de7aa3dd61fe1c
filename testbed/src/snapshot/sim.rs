//! The snapshot algorithm over a simulated network: seeded, no libp2p, no clock. Each directed
//! channel is a FIFO queue; a message is delivered after a random delay, never before the
//! message ahead of it. Everything that happens gets the next number of one global step
//! counter, which is the ground truth the checks compare snapshots with.

use std::collections::{BTreeMap, VecDeque};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::check::{self, Sent, Violation};
use super::machine::{LocalPart, Machine, Output, SnapshotError, SnapshotId};
use super::{GlobalSnapshot, Tokens};
use crate::topology::Topology;
use crate::PeerIndex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packet {
    Tokens(Tokens),
    Marker(SnapshotId),
}

/// A snapshot every peer finished, with the steps at which each peer recorded its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub snapshot: GlobalSnapshot,
    pub cut: Vec<u64>,
    /// Ticks from its start to its last part.
    pub took_ticks: u64,
    /// Tokens its peers held between them when it started (fewer once a peer has left).
    pub total: u64,
}

/// A snapshot that cannot complete, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Incomplete {
    pub id: SnapshotId,
    /// Peers that left before sending their part.
    pub peers_gone: Vec<PeerIndex>,
    /// (peer, the channels into it whose marker never came).
    pub channels_waiting: Vec<(PeerIndex, Vec<PeerIndex>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("there is no channel from peer {from} to peer {to}")]
    NoChannel { from: PeerIndex, to: PeerIndex },
    #[error("peer {from} has {balance} tokens and cannot send {amount}")]
    NotEnough {
        from: PeerIndex,
        balance: u64,
        amount: u64,
    },
    #[error("there is no peer {0}")]
    NoPeer(PeerIndex),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

#[derive(Debug, Clone)]
struct Progress {
    started_at: u64,
    total: u64,
    cut: Vec<Option<u64>>,
    parts: Vec<Option<LocalPart<u64, Tokens>>>,
}

pub struct Simulation {
    step: u64,
    now: u64,
    balances: Vec<u64>,
    total: u64,
    machines: Vec<Machine<u64, Tokens>>,
    channels: BTreeMap<(PeerIndex, PeerIndex), VecDeque<(u64, Packet)>>,
    /// Fewest and most ticks a packet spends on a channel.
    delay: (u64, u64),
    rng: ChaCha8Rng,
    numbers: Vec<u32>,
    sent: Vec<Sent>,
    running: BTreeMap<SnapshotId, Progress>,
    completed: Vec<Completed>,
    incomplete: Vec<Incomplete>,
    /// Peers that left: their tokens, and those in flight to or from them, are gone too.
    gone: Vec<PeerIndex>,
    lost: u64,
}

impl Simulation {
    /// `peers` peers with `tokens` each, channels both ways along `edges`, delays between
    /// `delay.0` and `delay.1` ticks drawn from `seed`.
    pub fn new(
        peers: usize,
        edges: &[(PeerIndex, PeerIndex)],
        tokens: u64,
        delay: (u64, u64),
        seed: u64,
    ) -> Simulation {
        let both_ways: Vec<_> = edges.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
        Simulation::with_channels(vec![tokens; peers], &both_ways, delay, seed)
    }

    /// One peer per starting balance in `balances`, and one FIFO channel per (from, to) in
    /// `channels`: one-way links, as textbook exercises draw them.
    pub fn with_channels(
        balances: Vec<u64>,
        channels: &[(PeerIndex, PeerIndex)],
        delay: (u64, u64),
        seed: u64,
    ) -> Simulation {
        let channels: BTreeMap<_, _> = channels.iter().map(|&c| (c, VecDeque::new())).collect();
        let machines = (0..balances.len())
            .map(|me| {
                let incoming = channels
                    .keys()
                    .filter(|(_, to)| *to == me)
                    .map(|(from, _)| *from);
                let outgoing = channels
                    .keys()
                    .filter(|(from, _)| *from == me)
                    .map(|(_, to)| *to);
                Machine::new(me, incoming, outgoing)
            })
            .collect();
        Simulation {
            step: 0,
            now: 0,
            total: balances.iter().sum(),
            numbers: vec![0; balances.len()],
            balances,
            machines,
            channels,
            delay: (delay.0, delay.1.max(delay.0)),
            rng: ChaCha8Rng::seed_from_u64(seed),
            sent: Vec::new(),
            running: BTreeMap::new(),
            completed: Vec::new(),
            incomplete: Vec::new(),
            gone: Vec::new(),
            lost: 0,
        }
    }

    /// A network shaped by `topology` (as the testbed connects peers).
    pub fn with_topology(
        topology: Topology,
        peers: usize,
        tokens: u64,
        delay: (u64, u64),
        seed: u64,
    ) -> Simulation {
        Simulation::new(peers, &topology.dials(peers, seed), tokens, delay, seed)
    }

    fn next_step(&mut self) -> u64 {
        self.step += 1;
        self.step
    }

    fn enqueue(&mut self, from: PeerIndex, to: PeerIndex, packet: Packet) {
        let delay = self.rng.random_range(self.delay.0..=self.delay.1);
        let queue = self.channels.get_mut(&(from, to)).expect("a known channel");
        // FIFO: never delivered before the packet ahead of it.
        let at = queue.back().map_or(0, |(at, _)| *at).max(self.now + delay);
        queue.push_back((at, packet));
    }

    pub fn balances(&self) -> &[u64] {
        &self.balances
    }

    pub fn neighbours(&self, peer: PeerIndex) -> Vec<PeerIndex> {
        self.channels
            .keys()
            .filter(|(from, _)| *from == peer)
            .map(|(_, to)| *to)
            .collect()
    }

    /// `from` sends `amount` of its tokens to `to`.
    pub fn send(&mut self, from: PeerIndex, to: PeerIndex, amount: u64) -> Result<(), SimError> {
        if !self.channels.contains_key(&(from, to)) {
            return Err(SimError::NoChannel { from, to });
        }
        let balance = self.balances[from];
        if amount > balance {
            return Err(SimError::NotEnough {
                from,
                balance,
                amount,
            });
        }
        self.balances[from] -= amount;
        let tokens = Tokens {
            id: self.sent.len() as u64,
            amount,
        };
        let sent_at = self.next_step();
        self.sent.push(Sent {
            from,
            to,
            tokens,
            sent_at,
            received_at: None,
        });
        self.enqueue(from, to, Packet::Tokens(tokens));
        Ok(())
    }

    /// `peer` starts a new snapshot.
    pub fn start_snapshot(&mut self, peer: PeerIndex) -> Result<SnapshotId, SimError> {
        let machine = self.machines.get_mut(peer).ok_or(SimError::NoPeer(peer))?;
        let id = SnapshotId {
            initiator: peer,
            number: self.numbers[peer],
        };
        self.numbers[peer] += 1;
        let peers = self.balances.len();
        let outputs = machine.start(id, self.balances[peer])?;
        let total = self.total - self.lost;
        self.running.insert(
            id,
            Progress {
                started_at: self.now,
                total,
                cut: vec![None; peers],
                parts: vec![None; peers],
            },
        );
        let step = self.next_step();
        self.running.get_mut(&id).expect("just added").cut[peer] = Some(step);
        self.apply(peer, outputs);
        Ok(id)
    }

    fn apply(&mut self, peer: PeerIndex, outputs: Vec<Output<u64, Tokens>>) {
        for output in outputs {
            match output {
                Output::SendMarker { to, id } => self.enqueue(peer, to, Packet::Marker(id)),
                Output::Done { id, part } => {
                    let Some(progress) = self.running.get_mut(&id) else {
                        continue;
                    };
                    progress.parts[peer] = Some(part);
                    let gone = &self.gone;
                    let complete = progress
                        .parts
                        .iter()
                        .enumerate()
                        .all(|(p, part)| part.is_some() || gone.contains(&p));
                    if complete {
                        let progress = self.running.remove(&id).expect("present");
                        self.completed.push(Completed {
                            snapshot: GlobalSnapshot {
                                id,
                                parts: progress.parts.into_iter().flatten().collect(),
                            },
                            cut: progress
                                .cut
                                .into_iter()
                                .map(Option::unwrap_or_default)
                                .collect(),
                            took_ticks: self.now - progress.started_at,
                            total: progress.total,
                        });
                    }
                }
                Output::Incomplete { id, waiting_for } => {
                    self.give_up(id, Some((peer, waiting_for)))
                }
            }
        }
    }

    /// Ends a running snapshot as incomplete, saying what it waits for.
    fn give_up(&mut self, id: SnapshotId, waiting: Option<(PeerIndex, Vec<PeerIndex>)>) {
        let Some(progress) = self.running.remove(&id) else {
            if let (Some(entry), Some(waiting)) =
                (self.incomplete.iter_mut().find(|i| i.id == id), waiting)
            {
                entry.channels_waiting.push(waiting);
            }
            return;
        };
        let peers_gone = self
            .gone
            .iter()
            .copied()
            .filter(|&p| progress.parts[p].is_none())
            .collect();
        self.incomplete.push(Incomplete {
            id,
            peers_gone,
            channels_waiting: waiting.into_iter().collect(),
        });
    }

    /// `peer` leaves: its connections close, with whatever was in flight on them. Snapshots it
    /// had not finished end incomplete; later ones go on without it.
    pub fn disconnect(&mut self, peer: PeerIndex) -> Result<(), SimError> {
        if peer >= self.balances.len() {
            return Err(SimError::NoPeer(peer));
        }
        if self.gone.contains(&peer) {
            return Ok(());
        }
        self.gone.push(peer);
        self.lost += std::mem::take(&mut self.balances[peer]);
        let closed: Vec<(PeerIndex, PeerIndex)> = self
            .channels
            .keys()
            .copied()
            .filter(|&(a, b)| a == peer || b == peer)
            .collect();
        for channel in &closed {
            for (_, packet) in self.channels.remove(channel).unwrap_or_default() {
                if let Packet::Tokens(tokens) = packet {
                    self.lost += tokens.amount;
                }
            }
        }
        let waiting_for_it: Vec<SnapshotId> = self
            .running
            .iter()
            .filter(|(_, progress)| progress.parts[peer].is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting_for_it {
            self.give_up(id, None);
        }
        for other in (0..self.balances.len()).filter(|&p| p != peer) {
            let outputs = self.machines[other].peer_gone(peer);
            self.apply(other, outputs);
        }
        Ok(())
    }

    pub fn incomplete(&self) -> &[Incomplete] {
        &self.incomplete
    }

    /// Lets `ticks` of time pass, delivering every packet that is due, oldest first.
    pub fn tick(&mut self, ticks: u64) -> Result<(), SimError> {
        let until = self.now + ticks;
        loop {
            let due = self
                .channels
                .iter()
                .filter_map(|(&channel, queue)| queue.front().map(|(at, _)| (*at, channel)))
                .filter(|(at, _)| *at <= until)
                .min();
            let Some((at, (from, to))) = due else {
                break;
            };
            self.now = self.now.max(at);
            let (_, packet) = self
                .channels
                .get_mut(&(from, to))
                .and_then(VecDeque::pop_front)
                .expect("a due packet");
            self.deliver(from, to, packet)?;
        }
        self.now = until;
        Ok(())
    }

    fn deliver(&mut self, from: PeerIndex, to: PeerIndex, packet: Packet) -> Result<(), SimError> {
        let step = self.next_step();
        match packet {
            Packet::Tokens(tokens) => {
                self.machines[to].on_message(from, &tokens)?;
                self.balances[to] += tokens.amount;
                self.sent[tokens.id as usize].received_at = Some(step);
            }
            Packet::Marker(id) => {
                let balance = self.balances[to];
                let mut recorded = false;
                let outputs = self.machines[to].on_marker(from, id, || {
                    recorded = true;
                    balance
                })?;
                if recorded {
                    if let Some(progress) = self.running.get_mut(&id) {
                        progress.cut[to] = Some(step);
                    }
                }
                self.apply(to, outputs);
            }
        }
        Ok(())
    }

    /// Delivers everything still in flight.
    pub fn run_until_quiet(&mut self) -> Result<(), SimError> {
        while let Some(last) = self
            .channels
            .values()
            .filter_map(|q| q.back().map(|(at, _)| *at))
            .max()
        {
            self.tick(last.saturating_sub(self.now).max(1))?;
        }
        Ok(())
    }

    pub fn completed(&self) -> &[Completed] {
        &self.completed
    }

    /// Snapshots started and not complete.
    pub fn unfinished(&self) -> usize {
        self.running.len()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Every application message so far, as it really went.
    pub fn sent(&self) -> &[Sent] {
        &self.sent
    }

    /// Every completed snapshot checked against what really happened.
    pub fn check(&self) -> Result<(), Violation> {
        self.completed
            .iter()
            .try_for_each(|c| check::check(&c.snapshot, &c.cut, &self.sent, c.total))
    }

    /// Random traffic: `from` sends a random part of its balance to a random neighbour.
    pub fn send_random(&mut self, from: PeerIndex) -> Result<(), SimError> {
        let neighbours = self.neighbours(from);
        if neighbours.is_empty() || self.balances[from] == 0 || self.gone.contains(&from) {
            return Ok(());
        }
        let to = neighbours[self.rng.random_range(0..neighbours.len())];
        let amount = self.rng.random_range(1..=self.balances[from].min(25));
        self.send(from, to, amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded run: random sends and ticks, several snapshots started by random peers
    /// while messages are in flight.
    fn random_run(seed: u64) -> Simulation {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let topology = Topology::ALL[rng.random_range(0..Topology::ALL.len())];
        let peers = rng.random_range(2..=9);
        let delay = (rng.random_range(0..3), rng.random_range(1..12));
        let mut sim = Simulation::with_topology(topology, peers, 100, delay, seed);
        let snapshots = rng.random_range(1..=4);
        let mut started = 0;
        for _ in 0..rng.random_range(20..150) {
            match rng.random_range(0..10) {
                0..=5 => sim.send_random(rng.random_range(0..peers)).unwrap(),
                6..=8 => sim.tick(rng.random_range(0..4)).unwrap(),
                _ if started < snapshots => {
                    sim.start_snapshot(rng.random_range(0..peers)).unwrap();
                    started += 1;
                }
                _ => {}
            }
        }
        if started == 0 {
            sim.start_snapshot(0).unwrap();
        }
        // Traffic goes on while the snapshots finish.
        for _ in 0..50 {
            sim.send_random(rng.random_range(0..peers)).unwrap();
            sim.tick(1).unwrap();
        }
        sim.run_until_quiet().unwrap();
        sim
    }

    #[test]
    fn thousands_of_random_runs_give_consistent_conserving_snapshots() {
        let mut snapshots = 0;
        let mut with_tokens_in_flight = 0;
        for seed in 0..3_000 {
            let sim = random_run(seed);
            assert_eq!(sim.unfinished(), 0, "seed {seed}: every snapshot completes");
            if let Err(violation) = sim.check() {
                panic!("seed {seed}: {violation}");
            }
            snapshots += sim.completed().len();
            with_tokens_in_flight += sim
                .completed()
                .iter()
                .filter(|c| {
                    c.snapshot
                        .parts
                        .iter()
                        .any(|p| p.channels.values().any(|m| !m.is_empty()))
                })
                .count();
        }
        assert!(snapshots > 6_000, "{snapshots} snapshots");
        // The property is only tested if snapshots often catch tokens on the way.
        assert!(
            with_tokens_in_flight > snapshots / 4,
            "{with_tokens_in_flight} of {snapshots}"
        );
    }

    #[test]
    fn a_check_catches_a_snapshot_that_lost_a_message() {
        let sim = (0..100)
            .map(random_run)
            .find(|sim| {
                sim.completed().iter().any(|c| {
                    c.snapshot
                        .parts
                        .iter()
                        .any(|p| p.channels.values().any(|m| !m.is_empty()))
                })
            })
            .expect("a run with tokens in flight");
        let mut broken = sim
            .completed()
            .iter()
            .find(|c| {
                c.snapshot
                    .parts
                    .iter()
                    .any(|p| p.channels.values().any(|m| !m.is_empty()))
            })
            .unwrap()
            .clone();
        for part in &mut broken.snapshot.parts {
            for messages in part.channels.values_mut() {
                messages.clear();
            }
        }
        let result = check::check(&broken.snapshot, &broken.cut, &sim.sent, sim.total());
        assert!(
            matches!(result, Err(Violation::NotConserved { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_peer_leaving_mid_snapshot_ends_it_incomplete_and_later_snapshots_still_work() {
        for seed in 0..500 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let topology = [Topology::Original, Topology::Ring][rng.random_range(0..2)];
            let peers = rng.random_range(3..=8);
            let mut sim = Simulation::with_topology(topology, peers, 100, (1, 6), seed);
            for _ in 0..30 {
                sim.send_random(rng.random_range(0..peers)).unwrap();
            }
            let before = sim.start_snapshot(rng.random_range(0..peers)).unwrap();
            sim.tick(rng.random_range(0..3)).unwrap();
            let leaving = rng.random_range(0..peers);
            sim.disconnect(leaving).unwrap();
            let staying = (leaving + 1) % peers;
            for _ in 0..30 {
                sim.send_random(rng.random_range(0..peers)).unwrap();
                sim.tick(1).unwrap();
            }
            let after = sim.start_snapshot(staying).unwrap();
            sim.run_until_quiet().unwrap();

            let completed = |id| sim.completed().iter().any(|c| c.snapshot.id == id);
            match sim.incomplete().iter().find(|i| i.id == before) {
                Some(incomplete) => {
                    assert!(!completed(before), "seed {seed}");
                    let names_it = incomplete.peers_gone.contains(&leaving)
                        || incomplete
                            .channels_waiting
                            .iter()
                            .any(|(_, w)| w.contains(&leaving));
                    assert!(names_it, "seed {seed}: {incomplete:?}");
                }
                // It had finished on the leaving peer before it left.
                None => assert!(
                    completed(before),
                    "seed {seed}: neither complete nor incomplete"
                ),
            }
            assert!(completed(after), "seed {seed}: a later snapshot completes");
            assert_eq!(sim.unfinished(), 0, "seed {seed}");
            if let Err(violation) = sim.check() {
                panic!("seed {seed}: {violation}");
            }
        }
    }

    #[test]
    fn bad_sends_are_errors() {
        let mut sim = Simulation::new(3, &[(0, 1)], 10, (1, 1), 0);
        assert_eq!(
            sim.send(0, 2, 1),
            Err(SimError::NoChannel { from: 0, to: 2 })
        );
        assert!(matches!(
            sim.send(0, 1, 11),
            Err(SimError::NotEnough { .. })
        ));
        assert_eq!(sim.start_snapshot(7), Err(SimError::NoPeer(7)));
    }
}
