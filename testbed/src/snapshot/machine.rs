//! One peer's part of the Chandy-Lamport snapshot algorithm, sans-IO: it is told what
//! happened (a snapshot starts here, a message or a marker arrived on an incoming channel) and
//! answers with what to do (send markers, what was recorded, that its part is done). It never
//! sends, sleeps or reads a clock, so the same code runs over libp2p streams and over the
//! simulator.
//!
//! The rules, per snapshot:
//! - The initiator records its state, sends a marker on every outgoing channel and starts
//!   recording every incoming channel.
//! - A peer that sees its first marker of a snapshot (on channel c) records its state, records
//!   c as empty, sends a marker on every outgoing channel and records its other incoming
//!   channels.
//! - A later marker on channel c stops recording c.
//! - The peer's part is done when a marker has arrived on every incoming channel.
//!
//! Channels must be FIFO. Several snapshots may run at once; each is told apart by its id.

use std::collections::{BTreeMap, BTreeSet};

use crate::PeerIndex;

/// A snapshot: who started it and its number among that peer's snapshots. Peers are named
/// by `P`: their index in an in-page network, or their PeerId across tabs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct SnapshotId<P = PeerIndex> {
    pub initiator: P,
    pub number: u32,
}

/// `S0.1` is peer 0's first snapshot.
impl<P: std::fmt::Display> std::fmt::Display for SnapshotId<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S{}.{}", self.initiator, self.number + 1)
    }
}

/// What the machine asks its peer to do, or reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<S, M, P = PeerIndex> {
    /// Send a marker of `id` on the channel to `to`.
    SendMarker { to: P, id: SnapshotId<P> },
    /// This peer's part of `id` is complete.
    Done {
        id: SnapshotId<P>,
        part: LocalPart<S, M, P>,
    },
    /// This peer's part of `id` can never complete: the markers it waits for on these
    /// channels will not come.
    Incomplete {
        id: SnapshotId<P>,
        waiting_for: Vec<P>,
    },
}

/// What one peer recorded for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    deserialize = "S: serde::Deserialize<'de>, M: serde::Deserialize<'de>, P: serde::Deserialize<'de> + Ord"
))]
pub struct LocalPart<S, M, P = PeerIndex> {
    pub peer: P,
    /// The peer's state when it recorded it.
    pub state: S,
    /// For each incoming channel (by sender), the messages that arrived on it after this peer
    /// recorded its state and before that channel's marker: the messages in flight.
    pub channels: BTreeMap<P, Vec<M>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError<P: std::fmt::Display = PeerIndex> {
    #[error("peer {from} is not on an incoming channel of peer {me}")]
    NotAChannel { me: P, from: P },
    #[error("a second marker of snapshot {initiator}/{number} on the channel from peer {from}")]
    DuplicateMarker { initiator: P, number: u32, from: P },
    #[error("snapshot {initiator}/{number} was already started here")]
    AlreadyStarted { initiator: P, number: u32 },
}

#[derive(Debug, Clone)]
struct Running<S, M, P> {
    state: S,
    /// Incoming channels whose marker has not arrived yet: still recording.
    recording: BTreeSet<P>,
    channels: BTreeMap<P, Vec<M>>,
}

/// One peer's snapshot machine.
#[derive(Debug, Clone)]
pub struct Machine<S, M, P = PeerIndex> {
    me: P,
    incoming: BTreeSet<P>,
    outgoing: Vec<P>,
    running: BTreeMap<SnapshotId<P>, Running<S, M, P>>,
    /// Snapshots whose part here is done: a late marker of one is an error, not a new start.
    finished: BTreeSet<SnapshotId<P>>,
    /// Snapshots given up here (a peer left): their markers still on the way are ignored.
    abandoned: BTreeSet<SnapshotId<P>>,
}

impl<S, M: Clone, P: Copy + Ord + std::fmt::Display> Machine<S, M, P> {
    pub fn new(
        me: P,
        incoming: impl IntoIterator<Item = P>,
        outgoing: impl IntoIterator<Item = P>,
    ) -> Machine<S, M, P> {
        Machine {
            me,
            incoming: incoming.into_iter().collect(),
            outgoing: outgoing.into_iter().collect(),
            running: BTreeMap::new(),
            finished: BTreeSet::new(),
            abandoned: BTreeSet::new(),
        }
    }

    /// This peer starts snapshot `id`, its state being `state` now.
    pub fn start(
        &mut self,
        id: SnapshotId<P>,
        state: S,
    ) -> Result<Vec<Output<S, M, P>>, SnapshotError<P>> {
        if self.running.contains_key(&id)
            || self.finished.contains(&id)
            || self.abandoned.contains(&id)
        {
            return Err(SnapshotError::AlreadyStarted {
                initiator: id.initiator,
                number: id.number,
            });
        }
        Ok(self.record(id, state, None))
    }

    /// An application message arrived from `from`: every snapshot recording that channel
    /// keeps a copy. Call before the application applies it.
    pub fn on_message(&mut self, from: P, message: &M) -> Result<(), SnapshotError<P>> {
        self.check_channel(from)?;
        for running in self.running.values_mut() {
            if running.recording.contains(&from) {
                running
                    .channels
                    .entry(from)
                    .or_default()
                    .push(message.clone());
            }
        }
        Ok(())
    }

    /// A marker of `id` arrived from `from`; `state` is this peer's state now (recorded if this
    /// is the first marker of `id` here).
    pub fn on_marker(
        &mut self,
        from: P,
        id: SnapshotId<P>,
        state: impl FnOnce() -> S,
    ) -> Result<Vec<Output<S, M, P>>, SnapshotError<P>> {
        self.check_channel(from)?;
        let duplicate = SnapshotError::DuplicateMarker {
            initiator: id.initiator,
            number: id.number,
            from,
        };
        if self.abandoned.contains(&id) {
            return Ok(Vec::new());
        }
        if self.finished.contains(&id) {
            return Err(duplicate);
        }
        let Some(running) = self.running.get_mut(&id) else {
            return Ok(self.record(id, state(), Some(from)));
        };
        if !running.recording.remove(&from) {
            return Err(duplicate);
        }
        Ok(self.finish_if_done(id).into_iter().collect())
    }

    fn check_channel(&self, from: P) -> Result<(), SnapshotError<P>> {
        if self.incoming.contains(&from) {
            Ok(())
        } else {
            Err(SnapshotError::NotAChannel { me: self.me, from })
        }
    }

    /// Records the state, marks every outgoing channel, and records every incoming channel but
    /// the one the first marker came on (that one is empty).
    fn record(
        &mut self,
        id: SnapshotId<P>,
        state: S,
        first_marker_from: Option<P>,
    ) -> Vec<Output<S, M, P>> {
        let mut recording = self.incoming.clone();
        let mut channels = BTreeMap::new();
        if let Some(from) = first_marker_from {
            recording.remove(&from);
            channels.insert(from, Vec::new());
        }
        self.running.insert(
            id,
            Running {
                state,
                recording,
                channels,
            },
        );
        let mut outputs: Vec<Output<S, M, P>> = self
            .outgoing
            .iter()
            .map(|&to| Output::SendMarker { to, id })
            .collect();
        outputs.extend(self.finish_if_done(id));
        outputs
    }

    fn finish_if_done(&mut self, id: SnapshotId<P>) -> Option<Output<S, M, P>> {
        if !self.running.get(&id)?.recording.is_empty() {
            return None;
        }
        let done = self.running.remove(&id)?;
        self.finished.insert(id);
        let mut channels = done.channels;
        for &from in &self.incoming {
            channels.entry(from).or_default();
        }
        Some(Output::Done {
            id,
            part: LocalPart {
                peer: self.me,
                state: done.state,
                channels,
            },
        })
    }

    /// Snapshots that would record a message arriving now from `from` as in flight.
    pub fn recording(&self, from: P) -> Vec<SnapshotId<P>> {
        self.running
            .iter()
            .filter(|(_, r)| r.recording.contains(&from))
            .map(|(id, _)| *id)
            .collect()
    }

    /// A channel each way with `peer`, which was not there when the machine was made (a tab
    /// that joined the room): snapshots started from now on include it.
    pub fn peer_joined(&mut self, peer: P) {
        self.incoming.insert(peer);
        if !self.outgoing.contains(&peer) {
            self.outgoing.push(peer);
        }
    }

    /// Snapshots whose part here is still waiting for markers, and on which channels.
    pub fn waiting(&self) -> impl Iterator<Item = (SnapshotId<P>, Vec<P>)> + '_ {
        self.running
            .iter()
            .map(|(id, r)| (*id, r.recording.iter().copied().collect()))
    }

    /// The peer `gone` left, and the channels both ways with it closed: later snapshots do
    /// without it, and those still waiting for its marker end incomplete.
    pub fn peer_gone(&mut self, gone: P) -> Vec<Output<S, M, P>> {
        self.incoming.remove(&gone);
        self.outgoing.retain(|&p| p != gone);
        let stuck: Vec<SnapshotId<P>> = self
            .running
            .iter()
            .filter(|(_, r)| r.recording.contains(&gone))
            .map(|(id, _)| *id)
            .collect();
        stuck
            .into_iter()
            .filter_map(|id| {
                let running = self.running.remove(&id)?;
                self.abandoned.insert(id);
                Some(Output::Incomplete {
                    id,
                    waiting_for: running.recording.into_iter().collect(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(initiator: PeerIndex) -> SnapshotId {
        SnapshotId {
            initiator,
            number: 0,
        }
    }

    #[test]
    fn the_initiator_records_marks_every_channel_and_records_until_each_marker() {
        // Peer 0 with channels both ways to peers 1 and 2; its state is a balance.
        let mut machine = Machine::<u64, u64>::new(0, [1, 2], [1, 2]);
        let outputs = machine.start(id(0), 100u64).unwrap();
        assert_eq!(
            outputs,
            [
                Output::SendMarker { to: 1, id: id(0) },
                Output::SendMarker { to: 2, id: id(0) }
            ]
        );
        machine.on_message(1, &7).unwrap();
        assert!(machine.on_marker(1, id(0), || 0).unwrap().is_empty());
        // After channel 1's marker, its messages are no longer in flight for this snapshot.
        machine.on_message(1, &8).unwrap();
        machine.on_message(2, &9).unwrap();
        let outputs = machine.on_marker(2, id(0), || 0).unwrap();
        let [Output::Done { part, .. }] = &outputs[..] else {
            panic!("{outputs:?}")
        };
        assert_eq!(part.state, 100);
        assert_eq!(part.channels, BTreeMap::from([(1, vec![7]), (2, vec![9])]));
    }

    #[test]
    fn a_first_marker_records_the_state_and_that_channel_as_empty() {
        let mut machine = Machine::<u64, u64>::new(1, [0, 2], [0, 2]);
        let outputs = machine.on_marker(0, id(0), || 40u64).unwrap();
        assert_eq!(outputs.len(), 2, "markers to 0 and 2");
        machine.on_message(0, &5).unwrap();
        machine.on_message(2, &6).unwrap();
        let outputs = machine.on_marker(2, id(0), || unreachable!()).unwrap();
        let [Output::Done { part, .. }] = &outputs[..] else {
            panic!("{outputs:?}")
        };
        assert_eq!(part.state, 40);
        assert_eq!(part.channels, BTreeMap::from([(0, vec![]), (2, vec![6])]));
    }

    #[test]
    fn concurrent_snapshots_are_kept_apart() {
        let mut machine = Machine::<u64, u64>::new(1, [0, 2], [0, 2]);
        machine.on_marker(0, id(0), || 1u64).unwrap();
        machine.on_marker(2, id(2), || 2u64).unwrap();
        machine.on_message(0, &10).unwrap();
        machine.on_message(2, &20).unwrap();
        let a = machine.on_marker(2, id(0), || 0).unwrap();
        let b = machine.on_marker(0, id(2), || 0).unwrap();
        let part = |outputs: &[Output<u64, u64>]| match outputs {
            [Output::Done { part, .. }] => part.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            part(&a).channels,
            BTreeMap::from([(0, vec![]), (2, vec![20])])
        );
        assert_eq!(
            part(&b).channels,
            BTreeMap::from([(0, vec![10]), (2, vec![])])
        );
    }

    #[test]
    fn a_peer_that_leaves_ends_the_snapshots_waiting_for_it_and_no_others() {
        let mut machine = Machine::<u64, u64>::new(1, [0, 2], [0, 2]);
        machine.on_marker(0, id(0), || 1).unwrap();
        let outputs = machine.peer_gone(2);
        assert_eq!(
            outputs,
            [Output::Incomplete {
                id: id(0),
                waiting_for: vec![2]
            }]
        );
        // A later snapshot does without peer 2: one marker out, done at the first marker in.
        let outputs = machine.on_marker(0, id(3), || 5).unwrap();
        assert!(matches!(
            &outputs[..],
            [Output::SendMarker { to: 0, .. }, Output::Done { .. }]
        ));
    }

    #[test]
    fn malformed_markers_and_messages_are_errors() {
        let mut machine = Machine::<u64, u64>::new(1, [0], [0]);
        assert!(matches!(
            machine.on_message(5, &1u64),
            Err(SnapshotError::NotAChannel { from: 5, .. })
        ));
        assert!(machine.on_marker(5, id(0), || 0).is_err());
        machine.on_marker(0, id(0), || 3).unwrap();
        assert!(matches!(
            machine.on_marker(0, id(0), || 3),
            Err(SnapshotError::DuplicateMarker { .. })
        ));
        assert!(machine.start(id(0), 3).is_err());
    }
}
