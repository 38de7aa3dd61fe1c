//! The run as recorded: every event in time order, so the page can show the network as it was
//! at any moment (the time scrubber) without running anything again. The state at time t is
//! the start state with every event up to t applied. Checkpoints (copies of the state) keep
//! that short: one every few hundred events, or rarer when the state is big, so that their
//! memory stays about that of the events themselves.

use crate::event::Event;
use crate::view::NetworkView;

/// Fewest events between checkpoints. More when a state holds more entries than this (a
/// 100-peer full mesh: ~15,000), so rebuilding a moment applies at most that many events.
const CHECKPOINT_EVERY: usize = 256;

/// Events kept. A 200-peer full mesh starts with ~80,000; beyond this the oldest are folded
/// into the start state, so the scrubber reaches back only so far.
pub const MAX_EVENTS: usize = 200_000;

#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The state before the first event kept.
    base: NetworkView,
    /// In time order; events with equal times keep the order they arrived in.
    events: Vec<Event>,
    /// (n, the state after the first n events), n increasing.
    checkpoints: Vec<(usize, NetworkView)>,
    /// Time of the last event folded into `base`: moments before it are gone.
    folded_until_ms: Option<f64>,
}

impl Timeline {
    /// A timeline starting from `start`: the network's peers, before anything happened.
    pub fn new(start: NetworkView) -> Timeline {
        Timeline {
            base: start,
            ..Timeline::default()
        }
    }

    /// Records one event. Peers report through one queue, so events arrive nearly in time
    /// order; one that arrives late is put in its place.
    pub fn record(&mut self, event: Event) {
        let at = self.events.partition_point(|e| e.at_ms <= event.at_ms);
        if at < self.events.len() {
            self.checkpoints.retain(|(n, _)| *n <= at);
        }
        self.events.insert(at, event);
        if self.events.len() > MAX_EVENTS {
            self.fold_oldest();
        }
        self.fill_checkpoints();
    }

    fn fold_oldest(&mut self) {
        let folded: Vec<Event> = self.events.drain(..CHECKPOINT_EVERY).collect();
        for event in &folded {
            self.base.update(event);
        }
        self.folded_until_ms = folded.last().map(|e| e.at_ms);
        self.checkpoints.retain(|(n, _)| *n > CHECKPOINT_EVERY);
        for (n, _) in &mut self.checkpoints {
            *n -= CHECKPOINT_EVERY;
        }
    }

    fn fill_checkpoints(&mut self) {
        loop {
            let (done, state) = self
                .checkpoints
                .last()
                .map_or((0, &self.base), |(n, s)| (*n, s));
            let every = CHECKPOINT_EVERY.max(state.entries());
            if self.events.len() - done < every {
                return;
            }
            let mut state = state.clone();
            for event in &self.events[done..done + every] {
                state.update(event);
            }
            self.checkpoints.push((done + every, state));
        }
    }

    /// The network as it was at `at_ms` (milliseconds since it started): every event up to
    /// and including that moment applied.
    pub fn state_at(&self, at_ms: f64) -> NetworkView {
        let applied = self.events.partition_point(|e| e.at_ms <= at_ms);
        let before = self.checkpoints.partition_point(|(n, _)| *n <= applied);
        let (done, mut state) = match before {
            0 => (0, self.base.clone()),
            i => (self.checkpoints[i - 1].0, self.checkpoints[i - 1].1.clone()),
        };
        for event in &self.events[done..applied] {
            state.update(event);
        }
        state
    }

    /// The earliest moment that can still be shown.
    pub fn start_ms(&self) -> f64 {
        self.folded_until_ms.unwrap_or(0.0)
    }

    /// The time of the last event, or 0 before any.
    pub fn end_ms(&self) -> f64 {
        self.events.last().map_or(self.start_ms(), |e| e.at_ms)
    }

    /// The time of the last event before `at_ms`, for stepping back one event at a time.
    pub fn previous_moment(&self, at_ms: f64) -> Option<f64> {
        let before = self.events.partition_point(|e| e.at_ms < at_ms);
        before.checked_sub(1).map(|i| self.events[i].at_ms)
    }

    /// The time of the first event after `at_ms`.
    pub fn next_moment(&self, at_ms: f64) -> Option<f64> {
        let after = self.events.partition_point(|e| e.at_ms <= at_ms);
        self.events.get(after).map(|e| e.at_ms)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use libp2p::PeerId;

    fn peers(n: usize) -> Vec<PeerId> {
        (0..n)
            .map(|i| crate::identity::keypair(5, i).public().to_peer_id())
            .collect()
    }

    fn up(at_ms: f64, peer: PeerId, remote: PeerId) -> Event {
        Event {
            at_ms,
            peer,
            kind: EventKind::ConnectionEstablished {
                remote,
                dialer: false,
            },
        }
    }

    #[test]
    fn any_moment_is_rebuilt_across_checkpoints() {
        let ids = peers(40);
        let mut timeline = Timeline::new(NetworkView::new(ids.clone(), 780));
        let mut live = NetworkView::new(ids.clone(), 780);
        let mut seen = Vec::new();
        let mut at = 0.0;
        for a in 0..40 {
            for b in a + 1..40 {
                for (x, y) in [(a, b), (b, a)] {
                    at += 1.0;
                    let event = up(at, ids[x], ids[y]);
                    live.update(&event);
                    timeline.record(event);
                    seen.push((at, live.clone()));
                }
            }
        }
        assert!(timeline.len() > 3 * CHECKPOINT_EVERY);
        for (at, state) in seen.iter().step_by(37) {
            assert_eq!(&timeline.state_at(*at), state, "at {at}");
        }
        assert_eq!(timeline.state_at(-1.0).connection_count(), 0);
        assert!(timeline.state_at(f64::MAX).all_connected());
        assert_eq!(timeline.previous_moment(10.0), Some(9.0));
        assert_eq!(timeline.next_moment(10.0), Some(11.0));
    }

    #[test]
    fn a_late_event_takes_its_place_in_time() {
        let ids = peers(3);
        let mut timeline = Timeline::new(NetworkView::new(ids.clone(), 1));
        for i in 0..2 * CHECKPOINT_EVERY {
            timeline.record(Event {
                at_ms: 10.0 + i as f64,
                peer: ids[2],
                kind: EventKind::Dialing { remote: ids[0] },
            });
        }
        // The listener's report, stamped early, arrives after many others.
        timeline.record(up(1.0, ids[1], ids[0]));
        timeline.record(up(2.0, ids[0], ids[1]));
        assert_eq!(timeline.state_at(1.5).connection_count(), 0);
        assert_eq!(timeline.state_at(2.0).connection_count(), 1);
        assert_eq!(timeline.state_at(5_000.0).connection_count(), 1);
    }
}
