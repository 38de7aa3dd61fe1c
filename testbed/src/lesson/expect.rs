//! What a step waits to see: expectations, checked against the network's state or what the
//! trace shows since the latest action.

use super::*;

/// Whether a churn is over: peers have left (`left`, filled once the last of them has
/// stopped), and none of them has a connection up any more.
pub fn churn_is_over(view: &NetworkView, left: &[PeerIndex]) -> bool {
    !left.is_empty() && left.iter().all(|&peer| view.neighbours(peer).is_empty())
}

/// What the trace must show before the step is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Every connection of the topology is up.
    Connected,
    /// The last ping's initiator received the PONG.
    Pong,
    /// The last ping's stream is closed from both sides.
    StreamClosed,
    /// A connection's handshakes are done: noise, then yamux agreed inside it.
    Handshaken,
    /// DATA frames of two streams took turns on one connection.
    Interleaved,
    /// A reader's WINDOW_UPDATE let more of a stream's data come.
    WindowUpdate,
    /// A stream was reset (RST).
    Reset,
    /// Tokens arrived over a channel.
    Tokens,
    /// A Chandy-Lamport snapshot finished: every peer recorded, every marker arrived.
    Snapshot,
    /// Every peer recorded a naive snapshot.
    Naive,
    /// Two snapshots that ran at the same time both finished.
    Concurrent,
    /// A snapshot was given up: a channel closed before its marker came.
    Incomplete,
    /// The DHT's start-up bootstrap is over.
    Settled,
    /// A closest-peers lookup finished, its hops read off the wire.
    Lookup,
    /// A record was put on the closest peers.
    Stored,
    /// A record lookup finished (found or not).
    Got,
    /// A peer announced it provides a key, to the closest peers.
    Provided,
    /// A providers lookup finished.
    Providers,
    /// The peers chosen to leave have left, and their connections are gone (see
    /// [`churn_is_over`]; the page knows who left).
    Churned,
    /// Every record a live peer still holds is back on the r closest live peers (see
    /// [`crate::dht::healed`]; the page reads the stores).
    Healed,
    /// The relay holds a slot for this tab's peer (see [`Expectation::is_met_in_room`]).
    Reserved,
    /// A circuit to another tab of the room is open.
    RoomPeer,
    /// A PING or PONG from another tab arrived: one of the two tabs pinged the other.
    RoomPong,
    /// A direct WebRTC connection to another tab is open.
    RoomDirect,
    /// A PONG came back from another tab over a direct connection.
    RoomPongDirect,
    /// A PONG came back from another tab after the relay went away.
    RoomPongWithoutRelay,
}

/// Where the trace stood when the learner's latest action ran: expectations about messages
/// and lookups count only what came after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Since {
    /// The position the next message gets.
    pub message: u64,
    /// How many lookups had started.
    pub lookup: u64,
}

impl Since {
    /// The whole trace.
    pub const START: Since = Since {
        message: 0,
        lookup: 0,
    };

    pub fn now(trace: &Trace) -> Since {
        Since {
            message: trace.messages().next_back().map_or(0, |m| m.position + 1),
            lookup: trace.lookups().started,
        }
    }
}

/// The last ping, as the page knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingPair {
    pub from: PeerId,
    pub to: PeerId,
}

impl Expectation {
    /// What the learner is told to look for.
    pub fn describe(self) -> &'static str {
        match self {
            Expectation::Connected => "every connection of the topology up",
            Expectation::Pong => "a PONG arriving back at the peer that pinged",
            Expectation::StreamClosed => "a close (FIN) from each side of the stream",
            Expectation::Handshaken => "the Noise handshake done and /yamux/1.0.0 agreed inside it",
            Expectation::Interleaved => "DATA frames of two streams taking turns on one connection",
            Expectation::WindowUpdate => "a WINDOW_UPDATE sent back by the reader",
            Expectation::Reset => "a frame with the RST flag",
            Expectation::Tokens => "tokens arriving over a channel",
            Expectation::Snapshot => {
                "every peer's balance recorded and a marker received on every channel"
            }
            Expectation::Naive => "every peer's balance written down",
            Expectation::Concurrent => "two snapshots, recorded at the same time, both finished",
            Expectation::Incomplete => "the snapshot given up, with the marker it waited for",
            Expectation::Settled => "the DHT settled: libp2p-kad's start-up lookups over",
            Expectation::Lookup => "the lookup finished, each hop drawn",
            Expectation::Stored => "the record stored on the closest peers",
            Expectation::Got => "the record lookup finished",
            Expectation::Provided => "the provider record stored on the closest peers",
            Expectation::Providers => "the providers lookup finished",
            Expectation::Churned => "the peers gone, and their connections closed",
            Expectation::Healed => "every record still held back on the closest live peers",
            Expectation::Reserved => "the relay's reservation, and this tab's circuit address",
            Expectation::RoomPeer => "another tab connected through the relay",
            Expectation::RoomPong => "a ping between this tab and another",
            Expectation::RoomDirect => "a direct WebRTC connection to another tab",
            Expectation::RoomPongDirect => {
                "a PONG from another tab, straight, not through the relay"
            }
            Expectation::RoomPongWithoutRelay => {
                "a PONG from another tab after the relay went away"
            }
        }
    }

    /// The kind of arrow that shows this expectation met, where one kind does: "Show me" picks
    /// the first of them rather than whatever the step drew first (a snapshot's tokens go on
    /// moving before its first marker).
    pub fn shown_by(self) -> Option<MessageKind> {
        match self {
            Expectation::Snapshot | Expectation::Concurrent | Expectation::Incomplete => {
                Some(MessageKind::Marker)
            }
            _ => None,
        }
    }

    /// Met by what this tab's own peer saw in its room, not by the in-page network.
    pub fn in_room(self) -> bool {
        matches!(
            self,
            Expectation::Reserved
                | Expectation::RoomPeer
                | Expectation::RoomPong
                | Expectation::RoomDirect
                | Expectation::RoomPongDirect
                | Expectation::RoomPongWithoutRelay
        )
    }

    /// Whether a room expectation is met, by the room's members and this tab's room trace.
    pub fn is_met_in_room(self, members: &Members, trace: &Trace) -> bool {
        match self {
            Expectation::Reserved => members.reservation.is_some(),
            Expectation::RoomPeer => members.connected().next().is_some(),
            Expectation::RoomPong => trace.messages().any(|m| {
                (m.label == "PING" || m.label == "PONG")
                    && m.received.is_some()
                    && members.get(&m.from).is_some()
            }),
            Expectation::RoomDirect => members
                .iter()
                .any(|(_, m)| m.state == MemberState::Connected && m.path() == Path::Direct),
            Expectation::RoomPongDirect => trace.messages().any(|m| {
                m.label == "PONG"
                    && m.received.is_some()
                    && members
                        .get(&m.from)
                        .is_some_and(|member| member.path_at(m.sent.at_ms) == Path::Direct)
            }),
            Expectation::RoomPongWithoutRelay => pinged_without_relay(members, trace) == Some(true),
            _ => false,
        }
    }

    /// Whether what the step expects has happened: the network's state, or what the trace
    /// shows `since` the learner's latest action (an earlier step's PONG does not count).
    pub fn is_met(
        self,
        view: &NetworkView,
        trace: &Trace,
        last_ping: Option<PingPair>,
        since: Since,
    ) -> bool {
        let messages = || {
            trace
                .messages()
                .filter(move |m| m.position >= since.message)
        };
        let received = |from: PeerId, to: PeerId, kind: MessageKind, label: Option<&str>| {
            messages().rev().any(|m| {
                m.kind == kind
                    && (m.from, m.to) == (from, to)
                    && label.is_none_or(|l| m.label == l)
                    && m.received.is_some()
            })
        };
        // Snapshots are over the peers still in the network.
        let peers = view.connected_peer_count();
        let channels = 2 * view.connection_count();
        let lookups = trace.lookups();
        let finished = |kind| {
            lookups
                .last_finished_since(kind, since.lookup)
                .is_some_and(|l| l.outcome.as_ref().is_some_and(|o| o.error.is_none()))
        };
        match (self, last_ping) {
            (Expectation::Settled, _) => lookups.settled.is_some(),
            (Expectation::Lookup, _) => finished(LookupKind::ClosestPeers),
            (Expectation::Stored, _) => finished(LookupKind::PutRecord),
            (Expectation::Got, _) => lookups
                .last_finished_since(LookupKind::GetRecord, since.lookup)
                .is_some(),
            (Expectation::Provided, _) => finished(LookupKind::Provide),
            (Expectation::Providers, _) => finished(LookupKind::FindProviders),
            (
                Expectation::Reserved
                | Expectation::RoomPeer
                | Expectation::RoomPong
                | Expectation::RoomDirect
                | Expectation::RoomPongDirect
                | Expectation::RoomPongWithoutRelay
                | Expectation::Churned
                | Expectation::Healed,
                _,
            ) => false,
            (Expectation::Tokens, _) => {
                messages().any(|m| m.kind == MessageKind::Tokens && m.received.is_some())
            }
            (Expectation::Snapshot, _) => {
                !in_trace::finished_snapshots(trace, peers, channels).is_empty()
            }
            (Expectation::Naive, _) => in_trace::last_naive(trace, peers).is_some(),
            (Expectation::Incomplete, _) => trace.cuts().any(|cut| cut.abandoned),
            (Expectation::Concurrent, _) => {
                let finished = in_trace::finished_snapshots(trace, peers, channels);
                finished
                    .iter()
                    .enumerate()
                    .any(|(i, a)| finished[i + 1..].iter().any(|b| in_trace::overlap(a, b)))
            }
            (Expectation::Connected, _) => view.all_connected(),
            (Expectation::Pong, Some(ping)) => {
                received(ping.to, ping.from, MessageKind::Envelope, Some("PONG"))
            }
            (Expectation::StreamClosed, Some(ping)) => {
                received(ping.from, ping.to, MessageKind::Close, None)
                    && received(ping.to, ping.from, MessageKind::Close, None)
            }
            (Expectation::Handshaken, _) => messages().any(|m| {
                m.kind == MessageKind::Handshake
                    && m.label == "/yamux/1.0.0"
                    && m.received.is_some()
            }),
            (Expectation::Interleaved, _) => interleaved(trace, since),
            (Expectation::WindowUpdate, _) => window_update_after_data(trace, since),
            (Expectation::Reset, _) => {
                frames(trace, since).any(|(_, header)| header.flags.contains(Flags::RST))
            }
            (_, None) => false,
        }
    }
}

/// Frames sent `since` that arrived, with their headers, in the order they were sent.
pub(super) fn frames(trace: &Trace, since: Since) -> impl Iterator<Item = (&Message, Header)> {
    trace
        .messages()
        .filter(move |m| m.position >= since.message && m.received.is_some())
        .filter_map(|m| Some((m, m.frame?)))
}

pub(super) fn carries_data(header: &Header) -> bool {
    header.kind == FrameType::Data && header.length > 0
}

/// Some sender's DATA frames went stream a, then b, then a again.
fn interleaved(trace: &Trace, since: Since) -> bool {
    let mut streams_by_sender: std::collections::HashMap<_, Vec<u32>> = Default::default();
    for (message, header) in frames(trace, since).filter(|(_, h)| carries_data(h)) {
        let streams = streams_by_sender
            .entry((message.from, message.to))
            .or_default();
        if streams.last() != Some(&header.stream) {
            streams.push(header.stream);
        }
    }
    streams_by_sender.values().any(|streams| {
        streams.iter().enumerate().any(|(i, a)| {
            streams[i + 1..]
                .iter()
                .position(|b| b != a)
                .is_some_and(|j| streams[i + 1 + j..].contains(a))
        })
    })
}

/// A WINDOW_UPDATE (not one that opens or accepts a stream) from a peer that had been sent
/// DATA on that stream: the reader made room.
fn window_update_after_data(trace: &Trace, since: Since) -> bool {
    let mut had_data = std::collections::HashSet::new();
    frames(trace, since).any(|(message, header)| {
        if carries_data(&header) {
            had_data.insert((message.to, message.from, header.stream));
            false
        } else {
            header.kind == FrameType::WindowUpdate
                && !header.flags.contains(Flags::SYN)
                && !header.flags.contains(Flags::ACK)
                && had_data.contains(&(message.from, message.to, header.stream))
        }
    })
}

/// Once the relay has gone: `yes` when a PONG from another tab arrived after it went, `no`
/// when no other tab is connected any more (its circuits went with the relay), None until
/// one or the other shows.
pub(super) fn pinged_without_relay(members: &Members, trace: &Trace) -> Option<bool> {
    let lost = members.relay_lost_at?;
    let pong_after = trace.messages().any(|m| {
        m.label == "PONG"
            && members.get(&m.from).is_some()
            && m.received.is_some_and(|r| r.at_ms > lost)
    });
    if pong_after {
        Some(true)
    } else if members.connected().next().is_none() {
        Some(false)
    } else {
        None
    }
}
