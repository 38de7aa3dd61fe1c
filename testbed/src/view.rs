//! What the page shows of a network, rebuilt from the peers' events: which connections are up,
//! which streams are open on them, and a readable sentence for each event worth a line in the
//! log.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use libp2p::PeerId;

use crate::labels::{key_label, short_peer_id};

use crate::event::{
    DhtStep, Event, EventKind, PeerIndex, PingStep, RoomStep, TokenStep, TransferStep,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ping,
    Problem,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at_ms: f64,
    pub tone: Tone,
    pub text: String,
}

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

    /// A DHT key as the learner knows it: a peer's name, or the text it was made from.
    fn key_name(&self, key: &[u8]) -> String {
        match PeerId::from_bytes(key) {
            Ok(peer) => self.name(&peer),
            Err(_) => key_label(key, &[]),
        }
    }

    fn names(&self, peers: &[PeerId]) -> String {
        if peers.is_empty() {
            return "none".into();
        }
        peers
            .iter()
            .map(|p| self.name(p))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn describe(&self, event: &Event) -> Option<LogLine> {
        let me = self.name(&event.peer);
        let line = |tone, text: String| {
            Some(LogLine {
                at_ms: event.at_ms,
                tone,
                text,
            })
        };
        match &event.kind {
            // One line per connection, from the side that dialed; the listening side's report
            // of the same connection would only repeat it.
            EventKind::ConnectionEstablished {
                remote,
                dialer: true,
            } => line(
                Tone::Info,
                format!(
                    "{me} dialed {} and is connected: noise proved who each side is, yamux is ready for streams",
                    self.name(remote)
                ),
            ),
            EventKind::ConnectionClosed { remote, cause } => line(
                Tone::Info,
                format!(
                    "{me} lost its connection to {}{}",
                    self.name(remote),
                    cause
                        .as_ref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                ),
            ),
            EventKind::Left => line(
                Tone::Problem,
                format!("{me} left the network: all its connections dropped at once"),
            ),
            EventKind::DialFailed { remote, error } => line(
                Tone::Problem,
                format!(
                    "{me} could not connect to {}: {error}",
                    remote.map_or("an address".to_owned(), |r| self.name(&r))
                ),
            ),
            EventKind::RoundTrip { remote, rtt_ms } => line(
                Tone::Info,
                format!("{me} ↔ {}: libp2p ping round trip {rtt_ms:.1} ms", self.name(remote)),
            ),
            EventKind::Ping(step) => self.describe_ping(&me, step).map(|(tone, text)| LogLine {
                at_ms: event.at_ms,
                tone,
                text,
            }),
            EventKind::Transfer(step) => {
                let (tone, text) = self.describe_transfer(&me, step);
                line(tone, text)
            }
            EventKind::Tokens(TokenStep::Recorded { recording, balance }) => line(
                Tone::Info,
                format!("{me} recorded its balance for {recording}: {balance} tokens"),
            ),
            EventKind::Tokens(TokenStep::Received {
                remote,
                tokens,
                recorded_by,
            }) if !recorded_by.is_empty() => line(
                Tone::Ping,
                format!(
                    "{me} received {} from {} after recording its balance and before that channel's marker: in flight, recorded on the channel",
                    crate::snapshot::amount(tokens.amount),
                    self.name(remote)
                ),
            ),
            EventKind::Tokens(TokenStep::Abandoned { id, closed, .. }) => line(
                Tone::Problem,
                format!(
                    "{me} gave up snapshot {id}: its channel from {} closed before that channel's marker came",
                    self.name(closed)
                ),
            ),
            EventKind::Tokens(_) => None,
            EventKind::Dht(DhtStep::LookupStarted { kind, key, .. }) => line(
                Tone::Ping,
                format!("{me} starts a lookup ({kind}) for {}", self.key_name(key)),
            ),
            EventKind::Dht(DhtStep::LookupFinished { outcome, .. }) => {
                let what = format!(
                    "{me}'s lookup ({}) for {}",
                    outcome.kind,
                    self.key_name(&outcome.key)
                );
                match &outcome.error {
                    Some(error) => line(Tone::Problem, format!("{what} failed: {error}")),
                    None => line(
                        Tone::Ping,
                        format!(
                            "{what} finished after {} requests in {:.0} ms; closest found: {}",
                            outcome.requests,
                            outcome.took_ms,
                            self.names(&outcome.closest)
                        ),
                    ),
                }
            }
            EventKind::Dht(DhtStep::Settled { entries }) => line(
                Tone::Info,
                format!(
                    "The DHT has settled: libp2p-kad's start-up lookups are over; the routing tables hold {entries} entries in all"
                ),
            ),
            EventKind::Room(step) => Some(self.describe_room(event.at_ms, step)),
            EventKind::Listening { .. }
            | EventKind::Dialing { .. }
            | EventKind::ConnectionEstablished { dialer: false, .. }
            | EventKind::Identified { .. } => None,
        }
    }

    fn describe_room(&self, at_ms: f64, step: &RoomStep) -> LogLine {
        let (tone, text) = match step {
            RoomStep::Reserved { relay, address } => (
                Tone::Info,
                format!(
                    "{} holds a slot for this tab: others reach it at {address}",
                    self.name(relay)
                ),
            ),
            RoomStep::Registered { room } => (
                Tone::Info,
                format!("Listed in room {room} on the relay's rendezvous point"),
            ),
            RoomStep::Discovered { room, peers } => (
                Tone::Info,
                match peers.len() {
                    0 => format!("Room {room}: no other tab yet"),
                    n => format!("Room {room}: {n} other peers: {}", self.names(peers)),
                },
            ),
            RoomStep::CircuitOpened {
                relay,
                remote,
                dialer,
            } => (
                Tone::Info,
                format!(
                    "Circuit {} {} through {}: noise and yamux run end to end inside it",
                    if *dialer { "to" } else { "from" },
                    self.name(remote),
                    self.name(relay)
                ),
            ),
            RoomStep::Refused { what, reason } => (
                Tone::Problem,
                format!("The relay refused the {what}: {reason}"),
            ),
        };
        LogLine { at_ms, tone, text }
    }

    fn describe_transfer(&self, me: &str, step: &TransferStep) -> (Tone, String) {
        let kib = |bytes: &u64| bytes / 1024;
        match step {
            TransferStep::Started {
                remote,
                bytes,
                slow_reader,
            } => (
                Tone::Ping,
                format!(
                    "{me} opened a stream to {} to send {} KiB{}",
                    self.name(remote),
                    kib(bytes),
                    if *slow_reader {
                        ", which will read slowly"
                    } else {
                        ""
                    }
                ),
            ),
            TransferStep::Finished {
                remote,
                bytes,
                took_ms,
            } => (
                Tone::Ping,
                format!(
                    "{me} sent {} KiB to {} in {took_ms:.0} ms, and {} confirmed it read them all",
                    kib(bytes),
                    self.name(remote),
                    self.name(remote)
                ),
            ),
            TransferStep::GaveUp { remote, sent } => (
                Tone::Ping,
                format!(
                    "{me} gave up after {} KiB and dropped its stream to {}: yamux resets it (RST)",
                    kib(sent),
                    self.name(remote)
                ),
            ),
            TransferStep::Received { remote, bytes } => (
                Tone::Ping,
                format!(
                    "{me} read all {} KiB from {}",
                    kib(bytes),
                    self.name(remote)
                ),
            ),
            TransferStep::Failed { remote, error } => (
                Tone::Ping,
                format!(
                    "{me}: the transfer with {} ended: {error}",
                    self.name(remote)
                ),
            ),
        }
    }

    fn describe_ping(&self, me: &str, step: &PingStep) -> Option<(Tone, String)> {
        Some(match step {
            PingStep::StreamOpened { remote, protocol } => (
                Tone::Ping,
                format!(
                    "{me} opened a new stream to {} and agreed on the protocol {protocol}",
                    self.name(remote)
                ),
            ),
            PingStep::StreamAccepted { remote, protocol } => (
                Tone::Ping,
                format!(
                    "{me} accepted the stream from {} for {protocol}",
                    self.name(remote)
                ),
            ),
            PingStep::Sent { remote, envelope } => (
                Tone::Ping,
                format!(
                    "{me} sent {} (id {}) to {}",
                    envelope.kind,
                    envelope.id,
                    self.name(remote)
                ),
            ),
            PingStep::Received {
                remote, envelope, ..
            } => (
                Tone::Ping,
                format!(
                    "{me} received {} (id {}) from {}",
                    envelope.kind,
                    envelope.id,
                    self.name(remote)
                ),
            ),
            PingStep::ClosedOwnSide { remote } => (
                Tone::Ping,
                format!(
                    "{me} closed its side of the stream to {}: it will send nothing more",
                    self.name(remote)
                ),
            ),
            PingStep::RemoteClosed { remote } => (
                Tone::Ping,
                format!(
                    "{me} saw {} close its side too: the stream is closed from both sides",
                    self.name(remote)
                ),
            ),
            PingStep::Retrying {
                remote,
                error,
                attempt,
            } => (
                Tone::Ping,
                format!(
                    "{me}'s stream to {} ended before any answer ({error}); trying again on a new stream (attempt {})",
                    self.name(remote),
                    attempt + 1
                ),
            ),
            PingStep::Failed { remote, error } => (
                Tone::Problem,
                format!("{me}: ping with {} failed: {error}", self.name(remote)),
            ),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(peer: PeerId, kind: EventKind) -> Event {
        Event {
            at_ms: 0.0,
            peer,
            kind,
        }
    }

    /// Both ends of a connection between `a` and `b` report it up.
    fn connect(view: &mut NetworkView, a: PeerId, b: PeerId) {
        for (local, remote, dialer) in [(a, b, true), (b, a, false)] {
            view.apply(&event(
                local,
                EventKind::ConnectionEstablished { remote, dialer },
            ));
        }
    }

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
