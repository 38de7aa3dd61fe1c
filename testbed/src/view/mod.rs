//! What the page shows of a network, rebuilt from the peers' events: which connections are up
//! and which streams are open on them. The log's sentences are in [`log`].

mod log;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use libp2p::PeerId;

use crate::labels::short_peer_id;

use crate::event::{Event, EventKind, PeerIndex, PingStep, TransferStep};

pub use crate::labels::Tone;
pub use log::LogLine;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkView {
    peers: Vec<PeerId>,
    index: HashMap<PeerId, PeerIndex>,
    expected_connections: usize,
    /// (local, remote) for each side that has reported a connection up.
    ends_up: BTreeSet<(PeerIndex, PeerIndex)>,
    /// Pairs (lower, higher) whose two ends both report the connection up.
    connections: BTreeSet<(PeerIndex, PeerIndex)>,
    /// Streams open, per (opener, other side): from the opener's report that it opened one
    /// until the opener sees the stream end.
    streams: BTreeMap<(PeerIndex, PeerIndex), u32>,
    /// Names for peers outside the network (this tab's own peer, the relay).
    named: HashMap<PeerId, String>,
    /// Peers that left the network.
    left: BTreeSet<PeerIndex>,
}

impl NetworkView {
    pub fn new(peers: Vec<PeerId>, expected_connections: usize) -> NetworkView {
        let index = peers.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        NetworkView {
            peers,
            index,
            expected_connections,
            ..NetworkView::default()
        }
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    pub fn peer_id(&self, peer: PeerIndex) -> Option<PeerId> {
        self.peers.get(peer).copied()
    }

    /// Every peer's id, by index.
    pub fn peer_ids(&self) -> &[PeerId] {
        &self.peers
    }

    pub fn index_of(&self, peer: &PeerId) -> Option<PeerIndex> {
        self.index.get(peer).copied()
    }

    pub fn connections(&self) -> impl Iterator<Item = (PeerIndex, PeerIndex)> + '_ {
        self.connections.iter().copied()
    }

    /// The peers `peer` has a connection up with, in order.
    pub fn neighbours(&self, peer: PeerIndex) -> Vec<PeerIndex> {
        crate::topology::neighbours(self.connections(), peer)
    }

    /// (opener, other side, streams open) for every pair with a stream open.
    pub fn streams(&self) -> impl Iterator<Item = (PeerIndex, PeerIndex, u32)> + '_ {
        self.streams.iter().map(|(&(a, b), &n)| (a, b, n))
    }

    pub fn stream_count(&self) -> u32 {
        self.streams.values().sum()
    }

    /// How many entries the view holds: what a copy of it costs.
    pub(crate) fn entries(&self) -> usize {
        self.ends_up.len() + self.connections.len() + self.streams.len()
    }

    /// Peers with at least one connection up: those still in the network.
    pub fn connected_peer_count(&self) -> usize {
        let peers: std::collections::HashSet<PeerIndex> =
            self.connections.iter().flat_map(|&(a, b)| [a, b]).collect();
        peers.len()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    pub fn expected_connections(&self) -> usize {
        self.expected_connections
    }

    /// The status line once the topology's dials are done, true whatever happened since:
    /// peers that left, and connections beyond the topology's (Kademlia dials the peers it
    /// learns of).
    pub fn summary(&self) -> String {
        let peers = self.peer_count();
        let up = self.connection_count();
        let dialed = self.expected_connections;
        let connections = |n: usize| counted(n, "connection", "connections");
        if !self.left.is_empty() {
            let live = peers - self.left.len();
            return format!(
                "{live} of {peers} peers still in the network ({} left); {} up",
                self.left.len(),
                connections(up)
            );
        }
        if up > dialed {
            return format!(
                "All {} up. The topology dialed {}; {up} are up now: more peers dialed each other since",
                counted(peers, "peer", "peers"),
                connections(dialed)
            );
        }
        if up < dialed {
            return format!(
                "{up} of the topology's {} up: {} of {peers} peers connected",
                connections(dialed),
                self.connected_peer_count()
            );
        }
        format!(
            "All {} connected by {}",
            counted(peers, "peer", "peers"),
            connections(up)
        )
    }

    /// Whether peer `index` has left the network.
    pub fn has_left(&self, index: PeerIndex) -> bool {
        self.left.contains(&index)
    }

    /// The peers still in the network, in order.
    pub fn present(&self) -> Vec<PeerIndex> {
        (0..self.peer_count())
            .filter(|peer| !self.left.contains(peer))
            .collect()
    }

    /// How many peers have left the network.
    pub fn left_count(&self) -> usize {
        self.left.len()
    }

    pub fn all_connected(&self) -> bool {
        self.expected_connections > 0 && self.connections.len() >= self.expected_connections
    }

    /// Updates the view with one event; returns the log line it deserves, if any.
    pub fn apply(&mut self, event: &Event) -> Option<LogLine> {
        self.update(event);
        self.describe(event)
    }

    /// Updates the view with one event.
    pub fn update(&mut self, event: &Event) {
        let local = self.index_of(&event.peer);
        if let (Some(gone), EventKind::Left) = (local, &event.kind) {
            self.left.insert(gone);
            self.ends_up.retain(|&(a, b)| a != gone && b != gone);
            self.connections.retain(|&(a, b)| a != gone && b != gone);
            self.streams.retain(|&(a, b), _| a != gone && b != gone);
        }
        if let (Some(local), Some(remote)) = (local, connection_remote(&event.kind)) {
            if let Some(remote) = self.index_of(&remote) {
                let pair = (local.min(remote), local.max(remote));
                if matches!(event.kind, EventKind::ConnectionEstablished { .. }) {
                    self.ends_up.insert((local, remote));
                    if self.ends_up.contains(&(remote, local)) {
                        self.connections.insert(pair);
                    }
                } else {
                    self.ends_up.remove(&(local, remote));
                    self.connections.remove(&pair);
                    // Its streams went with it.
                    self.streams.remove(&(local, remote));
                    self.streams.remove(&(remote, local));
                }
            }
        }
        let stream_step = match &event.kind {
            EventKind::Ping(PingStep::StreamOpened { remote, .. })
            | EventKind::Transfer(TransferStep::Started { remote, .. }) => Some((remote, true)),
            // The ends of an exchange, seen by its opener (a responder has no stream of its
            // own to this remote in the map, unless it opened one too).
            EventKind::Ping(
                PingStep::RemoteClosed { remote }
                | PingStep::Retrying { remote, .. }
                | PingStep::Failed { remote, .. },
            )
            | EventKind::Transfer(
                TransferStep::Finished { remote, .. }
                | TransferStep::GaveUp { remote, .. }
                | TransferStep::Failed { remote, .. },
            ) => Some((remote, false)),
            _ => None,
        };
        if let (Some(local), Some((remote, opened))) = (local, stream_step) {
            self.apply_stream_step(local, remote, opened);
        }
    }

    fn apply_stream_step(&mut self, local: PeerIndex, remote: &PeerId, opened: bool) {
        let Some(remote) = self.index_of(remote) else {
            return;
        };
        if opened {
            *self.streams.entry((local, remote)).or_default() += 1;
        } else if let Some(open) = self.streams.get_mut(&(local, remote)) {
            *open -= 1;
            if *open == 0 {
                self.streams.remove(&(local, remote));
            }
        }
    }

    /// "peer 3", or a shortened PeerId for a peer outside this network (such as the relay).
    pub fn name(&self, peer: &PeerId) -> String {
        match (self.index_of(peer), self.named.get(peer)) {
            (Some(index), _) => format!("peer {index}"),
            (None, Some(name)) => name.clone(),
            (None, None) => short_peer_id(peer),
        }
    }

    /// Calls `peer`, who is not one of the network's, `name` in the log.
    pub fn set_name(&mut self, peer: PeerId, name: &str) {
        self.named.insert(peer, name.to_owned());
    }
}

fn connection_remote(kind: &EventKind) -> Option<PeerId> {
    match kind {
        EventKind::ConnectionEstablished { remote, .. }
        | EventKind::ConnectionClosed { remote, .. } => Some(*remote),
        _ => None,
    }
}

/// `1 connection`, `2 connections`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Events for tests that build a view by hand.
#[cfg(test)]
pub(crate) mod test_events {
    use super::*;

    pub fn event(peer: PeerId, kind: EventKind) -> Event {
        Event {
            at_ms: 0.0,
            peer,
            kind,
        }
    }

    /// Both ends of a connection between `a` and `b` report it up.
    pub fn connect(view: &mut NetworkView, a: PeerId, b: PeerId) {
        for (local, remote, dialer) in [(a, b, true), (b, a, false)] {
            view.apply(&event(
                local,
                EventKind::ConnectionEstablished { remote, dialer },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_events::{connect, event};
    use super::*;

    #[test]
    fn the_status_says_what_is_true_now() {
        let peers: Vec<PeerId> = (0..4).map(|_| PeerId::random()).collect();
        // A star: 3 dials.
        let mut view = NetworkView::new(peers.clone(), 3);
        connect(&mut view, peers[1], peers[0]);
        assert_eq!(
            view.summary(),
            "1 of the topology's 3 connections up: 2 of 4 peers connected"
        );
        connect(&mut view, peers[2], peers[0]);
        connect(&mut view, peers[3], peers[0]);
        assert_eq!(view.summary(), "All 4 peers connected by 3 connections");
        // Kademlia dials the peers it learns of: more than the topology dialed.
        connect(&mut view, peers[1], peers[2]);
        assert_eq!(
            view.summary(),
            "All 4 peers up. The topology dialed 3 connections; 4 are up now: more peers dialed each other since"
        );
        view.apply(&event(peers[2], EventKind::Left));
        assert_eq!(
            view.summary(),
            "3 of 4 peers still in the network (1 left); 2 connections up"
        );
        let closed = |remote| EventKind::ConnectionClosed {
            remote,
            cause: Some("Connection error: I/O error: connection is closed".into()),
        };
        let line = view.apply(&event(peers[0], closed(peers[2]))).unwrap();
        assert_eq!(
            line.text,
            "peer 0's connection to peer 2 closed: peer 2 left the network"
        );
        // A connection closed for another reason keeps libp2p's cause.
        let line = view.apply(&event(peers[0], closed(peers[1]))).unwrap();
        assert!(line
            .text
            .ends_with("(Connection error: I/O error: connection is closed)"));
        let line = view
            .apply(&event(
                peers[1],
                EventKind::DialFailed {
                    remote: Some(peers[2]),
                    error: "No listener on the given port.".into(),
                },
            ))
            .unwrap();
        assert_eq!(
            (line.tone, line.text.as_str()),
            (
                Tone::Info,
                "peer 1 could not connect to peer 2: peer 2 left the network, nothing listens at its address"
            )
        );
        // A ping cut by the leave fails on both sides; each line names the leave.
        let failed = |remote, error: &str| {
            EventKind::Ping(PingStep::Failed {
                remote,
                error: error.into(),
            })
        };
        let line = view
            .apply(&event(peers[2], failed(peers[3], "the stream ended")))
            .unwrap();
        assert_eq!(
            line.text,
            "peer 2: the ping with peer 3 broke off: peer 2 left the network"
        );
        let line = view
            .apply(&event(peers[3], failed(peers[2], "connection is closed")))
            .unwrap();
        assert_eq!(
            line.text,
            "peer 3: the ping with peer 2 broke off: peer 2 left the network"
        );
        // A ping failing between peers still there keeps its own reason.
        let line = view
            .apply(&event(peers[0], failed(peers[1], "timed out")))
            .unwrap();
        assert_eq!(line.text, "peer 0: ping with peer 1 failed: timed out");
        let mut pair = NetworkView::new(peers[..2].to_vec(), 1);
        connect(&mut pair, peers[0], peers[1]);
        assert_eq!(pair.summary(), "All 2 peers connected by 1 connection");
    }

    #[test]
    fn a_connection_counts_once_both_ends_report_it() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut view = NetworkView::new(vec![a, b], 1);
        let dialer_side = view.apply(&event(
            a,
            EventKind::ConnectionEstablished {
                remote: b,
                dialer: true,
            },
        ));
        assert!(dialer_side
            .unwrap()
            .text
            .starts_with("peer 0 dialed peer 1"));
        assert_eq!(view.connection_count(), 0);
        let listener_side = view.apply(&event(
            b,
            EventKind::ConnectionEstablished {
                remote: a,
                dialer: false,
            },
        ));
        assert!(listener_side.is_none());
        assert!(view.all_connected());
        assert_eq!(view.neighbours(1), vec![0]);
        view.apply(&event(
            b,
            EventKind::ConnectionClosed {
                remote: a,
                cause: None,
            },
        ));
        assert_eq!(view.connection_count(), 0);
    }

    #[test]
    fn unknown_peers_get_a_short_id() {
        let view = NetworkView::new(vec![], 0);
        let stranger = crate::identity::keypair(42, 0).public().to_peer_id();
        assert_eq!(view.name(&stranger), "12D3KooWHxRF…");
    }
}
