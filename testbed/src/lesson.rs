//! Lessons: content files with a small front matter and steps. Each step has text, the action
//! the learner runs with a button, and what must be seen in the trace before "Next" lights up.
//!
//! ```text
//! ---
//! title: The original testbed
//! peers: 20
//! topology: original
//! seed: 42
//! latency: 0 ms
//! ---
//! ## Step title
//! A paragraph with `code` and **bold** words.
//!
//! @predict first-close: Which side closes its half of the stream first?
//! @choice initiator: Peer 0, once the PONG is in
//! @choice responder: The responder, right after sending PONG
//! @why The responder has nothing more to say once its PONG is written.
//! @action ping 0 random      (or: start, ping 0 5, ping 0 click)
//! @expect pong
//! @show diagram
//! @focus last-ping
//! @draw dials handshakes frames   (the kinds of message the diagram draws in this step)
//! ```
//!
//! DHT lessons add `dht: k3-a3-r3` to the front matter and use `@action lookup 0 peer 7`,
//! `put 3 record 1`, `get 9 record 1`, `provide 2 record 4`, `providers 5 record 4` and
//! `churn 30` (that share of the peers leave).
//!
//! A step with `@predict` asks its question before its action runs; the answer is then
//! checked against what the real peers did (a [`Measure`] of the trace). A prediction without
//! `@choice` lines is answered by clicking a peer.

use libp2p::PeerId;

use crate::dht::{lookup, DhtKey, LookupKind, LookupRequest};
use crate::network::NetworkConfig;
use crate::protocols::transfer;
use crate::room::Members;
use crate::snapshot::in_trace;
use crate::trace::model::{Message, MessageKind};
use crate::trace::Trace;
use crate::view::NetworkView;
use crate::wire::yamux::{Flags, FrameType, Header};
use crate::PeerIndex;

#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    /// What the lesson teaches, in a sentence: the welcome lists it.
    pub summary: String,
    /// About how long the lesson takes, in minutes.
    pub minutes: u32,
    pub network: NetworkConfig,
    /// The room the lesson's tabs meet in, unless the link names another.
    pub room: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: String,
    pub paragraphs: Vec<Vec<Inline>>,
    pub action: Option<Action>,
    pub expect: Option<Expectation>,
    /// The view this step talks about.
    pub show: Option<View>,
    /// Draw only the last ping's two peers.
    pub focus_last_ping: bool,
    /// Asked before the action runs.
    pub predict: Option<Prediction>,
    /// The kinds of message the diagram draws in this step, when the step says.
    pub draw: Option<Vec<MessageKind>>,
}

/// A question about what the peers are about to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub measure: Measure,
    pub question: String,
    /// The answers offered; empty when the learner answers by clicking a peer.
    pub choices: Vec<Choice>,
    /// Why the peers did what they did, shown once the run has answered.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// What the measure reports when this answer is right, e.g. `190` or `responder`.
    pub key: String,
    pub label: String,
}

/// What the trace is asked, to check a prediction. Each answers with a key: a choice's key,
/// or a peer's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// How many connections are up once every dial is done.
    Connections,
    /// The peer the last ping's PONG arrived at.
    PongReceiver,
    /// Which side of the last ping's stream sent its FIN first: `initiator` or `responder`.
    FirstClose,
    /// Which side wrote the first byte of the first connection: `dialer` or `listener`.
    FirstSpeaker,
    /// Whether pings started during a transfer waited for it to end: `yes` or `no`.
    PingsWaited,
    /// Whether the last naive snapshot's balances add up to every token: `yes` or `no`.
    NaiveAddsUp,
    /// How many markers the last finished snapshot sent.
    Markers,
    /// How deep the last closest-peers lookup went: `1`, `2`, `3`, or `4` for 4 or more.
    LookupHops,
    /// Whether the last record lookup found the record: `yes` or `no`.
    RecordFound,
}

impl Measure {
    fn parse(name: &str) -> Option<Measure> {
        Some(match name {
            "connections" => Measure::Connections,
            "pong-receiver" => Measure::PongReceiver,
            "first-close" => Measure::FirstClose,
            "first-speaker" => Measure::FirstSpeaker,
            "pings-waited" => Measure::PingsWaited,
            "naive-adds-up" => Measure::NaiveAddsUp,
            "markers" => Measure::Markers,
            "lookup-hops" => Measure::LookupHops,
            "record-found" => Measure::RecordFound,
            _ => return None,
        })
    }

    /// The answer the run gave, once it has given one.
    pub fn observe(
        self,
        view: &NetworkView,
        trace: &Trace,
        last_ping: Option<PingPair>,
    ) -> Option<String> {
        // Snapshots are over the peers still in the network.
        let peers = view.connected_peer_count();
        let channels = 2 * view.connection_count();
        let lookups = trace.lookups();
        match (self, last_ping) {
            (Measure::LookupHops, _) => {
                let lookup = lookups.last_finished(LookupKind::ClosestPeers)?;
                Some(lookup::depth(&lookups.hops(lookup)).clamp(1, 4).to_string())
            }
            (Measure::RecordFound, _) => {
                let outcome = lookups
                    .last_finished(LookupKind::GetRecord)?
                    .outcome
                    .as_ref()?;
                Some(if outcome.value.is_some() { "yes" } else { "no" }.to_owned())
            }
            (Measure::NaiveAddsUp, _) => {
                let cut = in_trace::last_naive(trace, peers)?;
                Some(
                    if in_trace::crossing(trace, cut).is_empty() {
                        "yes"
                    } else {
                        "no"
                    }
                    .to_owned(),
                )
            }
            (Measure::Markers, _) => {
                let cut = *in_trace::finished_snapshots(trace, peers, channels).last()?;
                let label = format!("marker {}", cut.recording);
                Some(
                    trace
                        .messages()
                        .filter(|m| m.kind == MessageKind::Marker && m.label == label)
                        .count()
                        .to_string(),
                )
            }
            (Measure::Connections, _) => view
                .all_connected()
                .then(|| view.connection_count().to_string()),
            (Measure::PongReceiver, Some(ping)) => trace
                .messages()
                .rev()
                .find(|m| {
                    m.kind == MessageKind::Envelope
                        && m.label == "PONG"
                        && m.from == ping.to
                        && m.received.is_some()
                })
                .and_then(|pong| view.index_of(&pong.to))
                .map(|peer| peer.to_string()),
            (Measure::FirstClose, Some(ping)) => {
                let mut closes = trace.messages().rev().filter(|m| {
                    m.kind == MessageKind::Close
                        && [(ping.from, ping.to), (ping.to, ping.from)].contains(&(m.from, m.to))
                });
                // The exchange's two FINs are the pair's latest.
                let (later, earlier) = (closes.next()?, closes.next()?);
                if later.from == earlier.from {
                    return None;
                }
                let first = if earlier.sent.at_ms <= later.sent.at_ms {
                    earlier
                } else {
                    later
                };
                Some(
                    if first.from == ping.from {
                        "initiator"
                    } else {
                        "responder"
                    }
                    .to_owned(),
                )
            }
            (Measure::FirstSpeaker, _) => {
                let dial = trace.messages().find(|m| m.kind == MessageKind::Connect)?;
                // By the time it was written: each side's records reach the trace together,
                // once its handshake is done.
                let first = trace
                    .messages()
                    .filter(|m| {
                        m.kind == MessageKind::Handshake
                            && [(dial.from, dial.to), (dial.to, dial.from)]
                                .contains(&(m.from, m.to))
                    })
                    .min_by(|a, b| a.sent.at_ms.total_cmp(&b.sent.at_ms))?;
                Some(
                    if first.from == dial.from {
                        "dialer"
                    } else {
                        "listener"
                    }
                    .to_owned(),
                )
            }
            (Measure::PingsWaited, _) => pings_waited(trace),
            (_, None) => None,
        }
    }
}

impl Prediction {
    /// Answered by clicking a peer rather than choosing from a list.
    pub fn is_peer_click(&self) -> bool {
        self.choices.is_empty()
    }

    /// How an answer reads on the page: a choice's label, or "peer N".
    pub fn answer_label(&self, key: &str) -> String {
        match self.choices.iter().find(|c| c.key == key) {
            Some(choice) => choice.label.clone(),
            None => format!("peer {key}"),
        }
    }

    /// Whether `key` is an answer this question takes (a network of `peers`).
    pub fn accepts(&self, key: &str, peers: usize) -> bool {
        if self.is_peer_click() {
            key.parse::<usize>().is_ok_and(|peer| peer < peers)
        } else {
            self.choices.iter().any(|c| c.key == key)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Network,
    Diagram,
    /// The frames of one connection, from the wire tap.
    Wire,
    /// The DHT: key space, routing tables, lookups.
    Dht,
    /// This tab's room: the peers of other tabs, reached through the relay.
    Room,
}

/// A piece of a paragraph.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(String),
}

/// Something the learner makes the peers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start the lesson's network and dial its topology.
    StartNetwork,
    /// The testbed's ping from one peer to another (None: a random neighbour).
    Ping {
        from: PeerIndex,
        to: Option<PeerIndex>,
    },
    /// The learner clicks a peer in the network view, and `from` pings it.
    PingClicked { from: PeerIndex },
    /// Bytes over a new stream (the testbed's transfer protocol).
    Transfer(Transfer),
    /// Start the token application (a channel each way along every connection) and let
    /// peers send random amounts to random neighbours for a while.
    Tokens,
    /// While tokens move, `first` (and `second` at the same moment) start a Chandy-Lamport
    /// snapshot.
    Snapshot {
        first: PeerIndex,
        second: Option<PeerIndex>,
    },
    /// The learner clicks the peer that starts a snapshot.
    SnapshotClicked,
    /// While tokens move, every peer writes its balance down at the same instant.
    NaiveSnapshot,
    /// `initiator` starts a snapshot and `leaver` leaves the network before its marker
    /// arrives.
    LeaveDuringSnapshot {
        leaver: PeerIndex,
        initiator: PeerIndex,
    },
    /// `from` runs a DHT lookup for `key`.
    Dht {
        from: PeerIndex,
        op: DhtOp,
        key: DhtKey,
    },
    /// This share of the peers (never peer 0), drawn from the seed, leave at once.
    Churn { percent: u8 },
    /// This tab's own peer pings every other tab of its room, through the relay.
    PingRoom,
}

/// What a DHT action does with its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhtOp {
    /// Find the k closest peers.
    Lookup,
    Put,
    Get,
    Provide,
    FindProviders,
}

impl DhtOp {
    const ALL: [(DhtOp, &'static str); 5] = [
        (DhtOp::Lookup, "lookup"),
        (DhtOp::Put, "put"),
        (DhtOp::Get, "get"),
        (DhtOp::Provide, "provide"),
        (DhtOp::FindProviders, "providers"),
    ];

    pub fn word(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(op, _)| *op == self)
            .map_or("lookup", |(_, word)| word)
    }

    fn named(word: &str) -> Option<DhtOp> {
        Self::ALL
            .iter()
            .find(|(_, w)| *w == word)
            .map(|(op, _)| *op)
    }

    /// The request for `key` (its bytes); a put stores `value`.
    pub fn request(self, key: Vec<u8>) -> LookupRequest {
        match self {
            DhtOp::Lookup => LookupRequest::ClosestPeers { key },
            DhtOp::Put => LookupRequest::PutRecord {
                value: format!("the value of {}", String::from_utf8_lossy(&key)).into_bytes(),
                key,
            },
            DhtOp::Get => LookupRequest::GetRecord { key, quorum: 1 },
            DhtOp::Provide => LookupRequest::Provide { key },
            DhtOp::FindProviders => LookupRequest::FindProviders { key },
        }
    }
}

/// Most of the peers a churn may take away.
pub const MAX_CHURN_PERCENT: u8 = 90;

/// `from` sends `kib` KiB to `to` over a new stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub from: PeerIndex,
    pub to: PeerIndex,
    pub kib: u32,
    /// The reader pauses after each 16 KiB: its window fills and the sender waits.
    pub slow: bool,
    /// `from` also pings `to` a few times while the transfer runs.
    pub pings: bool,
    /// `from` gives up after a quarter and drops the stream: a reset.
    pub give_up: bool,
}

impl Transfer {
    /// (set, its word in a lesson or link) for each option.
    fn options(&self) -> [(bool, &'static str); 3] {
        [
            (self.slow, "slow"),
            (self.pings, "pings"),
            (self.give_up, "give-up"),
        ]
    }

    /// What the step's button says.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "Send {} KiB from peer {} to peer {}",
            self.kib, self.from, self.to
        );
        for (on, words) in [
            (self.slow, ", read slowly"),
            (self.pings, ", with pings alongside"),
            (self.give_up, ", giving up a quarter of the way"),
        ] {
            if on {
                text.push_str(words);
            }
        }
        text
    }
}

/// Most a lesson or link may transfer at once.
pub const MAX_TRANSFER_KIB: u32 = 16 * 1024;

impl Action {
    /// `transfer 0 1 1024 slow pings`: the words after `@action`, or a link's action with `-`
    /// for spaces. None when they are not an action.
    pub fn parse(words: &[&str]) -> Option<Action> {
        let peer = |w: &str| {
            w.parse::<PeerIndex>()
                .ok()
                .filter(|&p| p < crate::MAX_PEERS)
        };
        match words {
            [op, from, kind, value] if DhtOp::named(op).is_some() => Some(Action::Dht {
                from: peer(from)?,
                op: DhtOp::named(op)?,
                key: DhtKey::parse(kind, value)?,
            }),
            ["ping-room"] => Some(Action::PingRoom),
            ["churn", percent] => Some(Action::Churn {
                percent: percent
                    .parse()
                    .ok()
                    .filter(|p| (1..=MAX_CHURN_PERCENT).contains(p))?,
            }),
            ["start"] => Some(Action::StartNetwork),
            ["tokens"] => Some(Action::Tokens),
            ["naive"] => Some(Action::NaiveSnapshot),
            ["snapshot", "click"] => Some(Action::SnapshotClicked),
            ["leave", leaver, "snapshot", initiator] => {
                let (leaver, initiator) = (peer(leaver)?, peer(initiator)?);
                (leaver != initiator).then_some(Action::LeaveDuringSnapshot { leaver, initiator })
            }
            ["snapshot", first] => Some(Action::Snapshot {
                first: peer(first)?,
                second: None,
            }),
            ["snapshot", first, second] => {
                let (first, second) = (peer(first)?, peer(second)?);
                (first != second).then_some(Action::Snapshot {
                    first,
                    second: Some(second),
                })
            }
            ["ping", from, "click"] => Some(Action::PingClicked { from: peer(from)? }),
            ["ping", from, "random"] => Some(Action::Ping {
                from: peer(from)?,
                to: None,
            }),
            ["ping", from, to] => Some(Action::Ping {
                from: peer(from)?,
                to: Some(peer(to)?),
            }),
            ["transfer", from, to, kib, options @ ..] => {
                let mut transfer = Transfer {
                    from: peer(from)?,
                    to: peer(to)?,
                    kib: kib
                        .parse()
                        .ok()
                        .filter(|k| (1..=MAX_TRANSFER_KIB).contains(k))?,
                    slow: false,
                    pings: false,
                    give_up: false,
                };
                for option in options {
                    match *option {
                        "slow" => transfer.slow = true,
                        "pings" => transfer.pings = true,
                        "give-up" => transfer.give_up = true,
                        _ => return None,
                    }
                }
                Some(Action::Transfer(transfer))
            }
            _ => None,
        }
    }

    /// The words [`Action::parse`] reads back; None for an action that waits for a choice,
    /// or that depends on which other tabs are open (a link cannot replay those).
    pub fn words(&self) -> Option<Vec<String>> {
        Some(match *self {
            Action::PingRoom => return None,
            Action::StartNetwork => vec!["start".into()],
            Action::Ping { from, to: Some(to) } => {
                vec!["ping".into(), from.to_string(), to.to_string()]
            }
            Action::Ping { to: None, .. }
            | Action::PingClicked { .. }
            | Action::SnapshotClicked => return None,
            Action::Tokens => vec!["tokens".into()],
            Action::Dht { from, op, key } => {
                let [kind, value] = key.words();
                vec![op.word().into(), from.to_string(), kind, value]
            }
            Action::Churn { percent } => vec!["churn".into(), percent.to_string()],
            Action::NaiveSnapshot => vec!["naive".into()],
            Action::LeaveDuringSnapshot { leaver, initiator } => vec![
                "leave".into(),
                leaver.to_string(),
                "snapshot".into(),
                initiator.to_string(),
            ],
            Action::Snapshot { first, second } => std::iter::once("snapshot".to_owned())
                .chain(std::iter::once(first).chain(second).map(|p| p.to_string()))
                .collect(),
            Action::Transfer(transfer) => {
                let mut words = vec![
                    "transfer".into(),
                    transfer.from.to_string(),
                    transfer.to.to_string(),
                    transfer.kib.to_string(),
                ];
                words.extend(
                    transfer
                        .options()
                        .into_iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, word)| word.to_owned()),
                );
                words
            }
        })
    }
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
    /// Some peers have left: their connections are gone.
    Churned,
    /// Every record a live peer still holds is back on the r closest live peers (see
    /// [`crate::dht::healed`]; the page reads the stores).
    Healed,
    /// The relay holds a slot for this tab's peer (see [`Expectation::is_met_in_room`]).
    Reserved,
    /// A circuit to another tab of the room is open.
    RoomPeer,
    /// A PONG came back from another tab, through the relay.
    RoomPong,
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
            Expectation::RoomPong => "a PONG from another tab, drawn across the relay",
        }
    }

    /// Met by what this tab's own peer saw in its room, not by the in-page network.
    pub fn in_room(self) -> bool {
        matches!(
            self,
            Expectation::Reserved | Expectation::RoomPeer | Expectation::RoomPong
        )
    }

    /// Whether a room expectation is met, by the room's members and this tab's room trace.
    pub fn is_met_in_room(self, members: &Members, trace: &Trace) -> bool {
        match self {
            Expectation::Reserved => members.reservation.is_some(),
            Expectation::RoomPeer => members.connected().next().is_some(),
            Expectation::RoomPong => trace.messages().any(|m| {
                m.label == "PONG" && m.received.is_some() && members.get(&m.from).is_some()
            }),
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
            (Expectation::Settled, _) => lookups.settled,
            (Expectation::Lookup, _) => finished(LookupKind::ClosestPeers),
            (Expectation::Stored, _) => finished(LookupKind::PutRecord),
            (Expectation::Got, _) => lookups
                .last_finished_since(LookupKind::GetRecord, since.lookup)
                .is_some(),
            (Expectation::Provided, _) => finished(LookupKind::Provide),
            (Expectation::Providers, _) => finished(LookupKind::FindProviders),
            (Expectation::Churned, _) => view.connected_peer_count() < view.peer_count(),
            (
                Expectation::Reserved
                | Expectation::RoomPeer
                | Expectation::RoomPong
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
fn frames(trace: &Trace, since: Since) -> impl Iterator<Item = (&Message, Header)> {
    trace
        .messages()
        .filter(move |m| m.position >= since.message && m.received.is_some())
        .filter_map(|m| Some((m, m.frame?)))
}

fn carries_data(header: &Header) -> bool {
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

/// `no` when a PONG of a ping started during the last transfer arrived before the transfer's
/// last DATA frame; `yes` when all waited; None without such a ping.
fn pings_waited(trace: &Trace) -> Option<String> {
    let transfer_data: Vec<&Message> = frames(trace, Since::START)
        .filter(|(m, h)| carries_data(h) && m.protocol == transfer::PROTOCOL.as_ref())
        .map(|(m, _)| m)
        .collect();
    let started = transfer_data.first()?.sent.at_ms;
    let ended = transfer_data.last()?.received?.at_ms;
    let pongs: Vec<f64> = trace
        .messages()
        .filter(|m| m.kind == MessageKind::Envelope && m.label == "PONG")
        .filter(|m| m.sent.at_ms > started)
        .filter_map(|m| m.received.map(|r| r.at_ms))
        .collect();
    if pongs.is_empty() {
        return None;
    }
    Some(
        if pongs.iter().any(|&at| at < ended) {
            "no"
        } else {
            "yes"
        }
        .to_owned(),
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lesson {lesson}, line {line}: {problem}")]
pub struct LessonError {
    pub lesson: String,
    pub line: usize,
    pub problem: String,
}

/// The lessons compiled into the page, in the order a learner takes them: (id, content).
pub const CATALOGUE: &[(&str, &str)] = &[
    (
        "original-testbed",
        include_str!("../lessons/original-testbed.md"),
    ),
    (
        "layers-of-a-connection",
        include_str!("../lessons/layers-of-a-connection.md"),
    ),
    ("streams", include_str!("../lessons/streams.md")),
    ("muxing", include_str!("../lessons/muxing.md")),
    (
        "chandy-lamport",
        include_str!("../lessons/chandy-lamport.md"),
    ),
    ("dht-distance", include_str!("../lessons/dht-distance.md")),
    ("dht-lookup", include_str!("../lessons/dht-lookup.md")),
    ("dht-records", include_str!("../lessons/dht-records.md")),
    ("dht-churn", include_str!("../lessons/dht-churn.md")),
    (
        "relays-and-nat",
        include_str!("../lessons/relays-and-nat.md"),
    ),
];

/// Every lesson of the catalogue, parsed.
pub fn all() -> Vec<Lesson> {
    CATALOGUE
        .iter()
        .filter_map(|(id, text)| parse(id, text).ok())
        .collect()
}

/// Parses a lesson file. Lessons are compiled in, so an error is a bug in the content: the
/// tests parse every one.
pub fn parse(id: &str, text: &str) -> Result<Lesson, LessonError> {
    let error = |line: usize, problem: String| LessonError {
        lesson: id.to_owned(),
        line,
        problem,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    if lines.next().map(|(_, l)| l) != Some("---") {
        return Err(error(1, "a lesson starts with a '---' front matter".into()));
    }
    let mut title = None;
    let mut summary = None;
    let mut minutes = None;
    let mut network = NetworkConfig::default();
    let mut room = None;
    for (number, line) in lines.by_ref() {
        if line == "---" {
            break;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| error(number, format!("expected 'key: value', got {line:?}")))?;
        let value = value.trim();
        let bad = |what: &str| error(number, format!("{what}: {value:?}"));
        match key.trim() {
            "title" => title = Some(value.to_owned()),
            "summary" => summary = Some(value.to_owned()),
            "minutes" => minutes = Some(value.parse().map_err(|_| bad("not a number of minutes"))?),
            "room" => {
                crate::room::check_room_name(value).map_err(|e| error(number, e))?;
                room = Some(value.to_owned());
            }
            "peers" => network.peers = value.parse().map_err(|_| bad("not a peer count"))?,
            "topology" => network.topology = value.parse().map_err(|_| bad("not a topology"))?,
            "seed" => network.seed = value.parse().map_err(|_| bad("not a seed"))?,
            "dht" => network.dht = Some(value.parse().map_err(|e| error(number, format!("{e}")))?),
            "latency" => {
                network.latency_ms = value
                    .trim_end_matches("ms")
                    .trim()
                    .parse()
                    .map_err(|_| bad("not a latency in ms"))?
            }
            other => return Err(error(number, format!("unknown front matter key {other:?}"))),
        }
    }
    let title = title.ok_or_else(|| error(1, "the front matter has no title".into()))?;
    let summary = summary.ok_or_else(|| error(1, "the front matter has no summary".into()))?;
    let minutes = minutes.ok_or_else(|| error(1, "the front matter has no minutes".into()))?;

    let mut steps: Vec<Step> = Vec::new();
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, steps: &mut Vec<Step>| {
        if let Some(step) = steps.last_mut() {
            if !paragraph.trim().is_empty() {
                step.paragraphs.push(inlines(paragraph.trim()));
            }
        }
        paragraph.clear();
    };
    for (number, line) in lines {
        if let Some(heading) = line.strip_prefix("## ") {
            flush(&mut paragraph, &mut steps);
            steps.push(Step {
                title: heading.trim().to_owned(),
                paragraphs: Vec::new(),
                action: None,
                expect: None,
                show: None,
                focus_last_ping: false,
                predict: None,
                draw: None,
            });
        } else if let Some(directive) = line.strip_prefix('@') {
            flush(&mut paragraph, &mut steps);
            let step = steps
                .last_mut()
                .ok_or_else(|| error(number, "a directive before the first step".into()))?;
            if let Some(rest) = directive.strip_prefix("predict ") {
                let (measure, question) = rest
                    .split_once(':')
                    .ok_or_else(|| error(number, "expected '@predict MEASURE: question'".into()))?;
                let measure = Measure::parse(measure.trim()).ok_or_else(|| {
                    error(number, format!("unknown measure {:?}", measure.trim()))
                })?;
                step.predict = Some(Prediction {
                    measure,
                    question: question.trim().to_owned(),
                    choices: Vec::new(),
                    why: String::new(),
                });
                continue;
            }
            if let Some(rest) = directive.strip_prefix("choice ") {
                let prediction = step
                    .predict
                    .as_mut()
                    .ok_or_else(|| error(number, "@choice before its @predict".into()))?;
                let (key, label) = rest
                    .split_once(':')
                    .ok_or_else(|| error(number, "expected '@choice KEY: label'".into()))?;
                let key = key.trim();
                if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(error(
                        number,
                        format!("a choice key is letters, digits and '-': {key:?}"),
                    ));
                }
                prediction.choices.push(Choice {
                    key: key.to_owned(),
                    label: label.trim().to_owned(),
                });
                continue;
            }
            if let Some(why) = directive.strip_prefix("why ") {
                let prediction = step
                    .predict
                    .as_mut()
                    .ok_or_else(|| error(number, "@why before its @predict".into()))?;
                prediction.why = why.trim().to_owned();
                continue;
            }
            let words: Vec<&str> = directive.split_whitespace().collect();
            if words.first() == Some(&"draw") {
                let kinds = words[1..]
                    .iter()
                    .map(|name| {
                        kind_named(name)
                            .ok_or_else(|| error(number, format!("@draw: unknown kind {name:?}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                step.draw = Some(kinds);
                continue;
            }
            match words[..] {
                ["action", ref action @ ..] => {
                    step.action =
                        Some(Action::parse(action).ok_or_else(|| {
                            error(number, format!("not an action: @{directive}"))
                        })?);
                }
                ["expect", "connected"] => step.expect = Some(Expectation::Connected),
                ["expect", "pong"] => step.expect = Some(Expectation::Pong),
                ["expect", "closed"] => step.expect = Some(Expectation::StreamClosed),
                ["expect", "handshaken"] => step.expect = Some(Expectation::Handshaken),
                ["expect", "interleaved"] => step.expect = Some(Expectation::Interleaved),
                ["expect", "window-update"] => step.expect = Some(Expectation::WindowUpdate),
                ["expect", "reset"] => step.expect = Some(Expectation::Reset),
                ["expect", "tokens"] => step.expect = Some(Expectation::Tokens),
                ["expect", "snapshot"] => step.expect = Some(Expectation::Snapshot),
                ["expect", "naive"] => step.expect = Some(Expectation::Naive),
                ["expect", "concurrent"] => step.expect = Some(Expectation::Concurrent),
                ["expect", "incomplete"] => step.expect = Some(Expectation::Incomplete),
                ["expect", "settled"] => step.expect = Some(Expectation::Settled),
                ["expect", "lookup"] => step.expect = Some(Expectation::Lookup),
                ["expect", "stored"] => step.expect = Some(Expectation::Stored),
                ["expect", "got"] => step.expect = Some(Expectation::Got),
                ["expect", "provided"] => step.expect = Some(Expectation::Provided),
                ["expect", "providers"] => step.expect = Some(Expectation::Providers),
                ["expect", "churned"] => step.expect = Some(Expectation::Churned),
                ["expect", "healed"] => step.expect = Some(Expectation::Healed),
                ["expect", "reserved"] => step.expect = Some(Expectation::Reserved),
                ["expect", "room-peer"] => step.expect = Some(Expectation::RoomPeer),
                ["expect", "room-pong"] => step.expect = Some(Expectation::RoomPong),
                ["show", "network"] => step.show = Some(View::Network),
                ["show", "diagram"] => step.show = Some(View::Diagram),
                ["show", "wire"] => step.show = Some(View::Wire),
                ["show", "dht"] => step.show = Some(View::Dht),
                ["show", "room"] => step.show = Some(View::Room),
                ["focus", "last-ping"] => step.focus_last_ping = true,
                _ => return Err(error(number, format!("unknown directive @{directive}"))),
            }
        } else if line.is_empty() {
            flush(&mut paragraph, &mut steps);
        } else if steps.is_empty() {
            return Err(error(number, "text before the first '## ' step".into()));
        } else {
            paragraph.push(' ');
            paragraph.push_str(line.trim());
        }
    }
    flush(&mut paragraph, &mut steps);
    if steps.is_empty() {
        return Err(error(1, "a lesson needs at least one '## ' step".into()));
    }
    if let Some(step) = steps
        .iter()
        .find(|s| s.predict.is_some() && (s.action.is_none() || s.expect.is_none()))
    {
        return Err(error(
            1,
            format!(
                "step {:?} asks for a prediction, so it needs an @action to run and an @expect to wait for",
                step.title
            ),
        ));
    }
    Ok(Lesson {
        id: id.to_owned(),
        title,
        summary,
        minutes,
        network,
        room,
        steps,
    })
}

/// The kinds of message by the names the diagram's filters use.
fn kind_named(name: &str) -> Option<MessageKind> {
    Some(match name {
        "dials" => MessageKind::Connect,
        "streams" => MessageKind::OpenStream,
        "messages" => MessageKind::Envelope,
        "closes" => MessageKind::Close,
        "handshakes" => MessageKind::Handshake,
        "frames" => MessageKind::Frame,
        "tokens" => MessageKind::Tokens,
        "markers" => MessageKind::Marker,
        "kad" => MessageKind::Kad,
        "kad-background" => MessageKind::KadBackground,
        _ => return None,
    })
}

/// Splits a paragraph into text, `code` and **strong** pieces.
fn inlines(text: &str) -> Vec<Inline> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let code = rest.find('`');
        let strong = rest.find("**");
        let (start, marker, make): (usize, &str, fn(String) -> Inline) = match (code, strong) {
            (Some(c), Some(s)) if s < c => (s, "**", Inline::Strong),
            (Some(c), _) => (c, "`", Inline::Code),
            (None, Some(s)) => (s, "**", Inline::Strong),
            (None, None) => {
                pieces.push(Inline::Text(rest.to_owned()));
                break;
            }
        };
        let after = &rest[start + marker.len()..];
        match after.find(marker) {
            Some(end) => {
                if start > 0 {
                    pieces.push(Inline::Text(rest[..start].to_owned()));
                }
                pieces.push(make(after[..end].to_owned()));
                rest = &after[end + marker.len()..];
            }
            None => {
                pieces.push(Inline::Text(rest.to_owned()));
                break;
            }
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    const SAMPLE: &str = "---\ntitle: Two peers\nsummary: Two peers ping.\nminutes: 2\npeers: 2\ntopology: line\n---\n\n## Start\nThey **dial** over `/memory`.\nStill the same paragraph.\n\nA second one.\n\n@action start\n@expect connected\n\n## Ping\n@action ping 0 random\n@expect pong\n";

    #[test]
    fn a_lesson_parses_into_steps_with_actions_and_expectations() {
        let lesson = parse("two", SAMPLE).unwrap();
        assert_eq!(lesson.title, "Two peers");
        assert_eq!(lesson.network.peers, 2);
        assert_eq!(lesson.network.topology, Topology::Line);
        assert_eq!(lesson.steps.len(), 2);
        let start = &lesson.steps[0];
        assert_eq!(
            start.paragraphs[0],
            vec![
                Inline::Text("They ".into()),
                Inline::Strong("dial".into()),
                Inline::Text(" over ".into()),
                Inline::Code("/memory".into()),
                Inline::Text(". Still the same paragraph.".into()),
            ]
        );
        assert_eq!(start.paragraphs.len(), 2);
        assert_eq!(start.action, Some(Action::StartNetwork));
        assert_eq!(
            lesson.steps[1].action,
            Some(Action::Ping { from: 0, to: None })
        );
        assert_eq!(lesson.steps[1].expect, Some(Expectation::Pong));
    }

    #[test]
    fn content_mistakes_name_the_line() {
        let broken = SAMPLE.replace("@expect pong", "@expect miracles");
        let error = parse("two", &broken).unwrap_err();
        assert_eq!(error.line, 20);
        assert!(error.problem.contains("@expect miracles"));
        assert!(parse("x", "no front matter").is_err());
        assert!(parse("x", "---\ntitle: t\n---\ntext first").is_err());
        assert!(
            parse("x", "---\ntitle: t\nminutes: 2\n---\n## s\n").is_err(),
            "a summary is needed"
        );
        assert!(parse("x", "---\ntitle: t\npeers: many\n---\n## s\n").is_err());
    }

    #[test]
    fn every_lesson_in_the_catalogue_parses() {
        for (id, text) in CATALOGUE {
            let lesson = parse(id, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                lesson.steps.iter().all(|s| !s.paragraphs.is_empty()),
                "{id}"
            );
        }
        assert_eq!(all().len(), CATALOGUE.len());
    }

    #[test]
    fn a_prediction_has_a_measure_choices_and_a_why() {
        let with_prediction = SAMPLE.replace(
            "## Ping\n",
            "## Ping\n@predict first-close: Who closes first?\n@choice initiator: Peer 0\n@choice responder: The other\n@why Because.\n",
        );
        let lesson = parse("two", &with_prediction).unwrap();
        let prediction = lesson.steps[1].predict.clone().unwrap();
        assert_eq!(prediction.measure, Measure::FirstClose);
        assert_eq!(prediction.question, "Who closes first?");
        assert_eq!(prediction.choices[1].key, "responder");
        assert_eq!(prediction.why, "Because.");
        assert!(prediction.accepts("initiator", 2) && !prediction.accepts("3", 2));
        assert_eq!(prediction.answer_label("responder"), "The other");

        let click = SAMPLE.replace("## Ping\n", "## Ping\n@predict pong-receiver: Click it.\n");
        let prediction = parse("two", &click).unwrap().steps[1]
            .predict
            .clone()
            .unwrap();
        assert!(prediction.is_peer_click());
        assert!(prediction.accepts("1", 2) && !prediction.accepts("2", 2));
        assert_eq!(prediction.answer_label("1"), "peer 1");

        let no_action = SAMPLE
            .replace("## Start\n", "## Start\n@predict connections: How many?\n")
            .replace("@action start\n", "");
        assert!(parse("two", &no_action)
            .unwrap_err()
            .problem
            .contains("needs an @action"));
        assert!(parse("two", &SAMPLE.replace("@expect pong", "@choice a: b")).is_err());
        assert!(parse("two", &SAMPLE.replace("@expect pong", "@predict luck: ?")).is_err());
    }

    #[test]
    fn dht_actions_read_back_from_their_words() {
        use crate::dht::DhtKey;
        for (op, key) in [
            (DhtOp::Lookup, DhtKey::Peer(7)),
            (DhtOp::Put, DhtKey::Record(1)),
            (DhtOp::Get, DhtKey::Record(1)),
            (DhtOp::Provide, DhtKey::Record(4)),
            (DhtOp::FindProviders, DhtKey::Peer(0)),
        ] {
            let action = Action::Dht { from: 3, op, key };
            let words = action.words().unwrap();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(Action::parse(&words), Some(action));
        }
        assert_eq!(
            Action::parse(&["churn", "30"]),
            Some(Action::Churn { percent: 30 })
        );
        for bad in [
            &["churn", "0"][..],
            &["churn", "95"],
            &["lookup", "0", "peer", "999"],
            &["lookup", "0", "song", "1"],
            &["put", "0", "record", "-1"],
        ] {
            assert_eq!(Action::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn snapshot_actions_read_back_from_their_words() {
        for action in [
            Action::Tokens,
            Action::NaiveSnapshot,
            Action::Snapshot {
                first: 2,
                second: None,
            },
            Action::Snapshot {
                first: 0,
                second: Some(3),
            },
            Action::LeaveDuringSnapshot {
                leaver: 3,
                initiator: 0,
            },
        ] {
            let words = action.words().unwrap();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(Action::parse(&words), Some(action));
        }
        assert_eq!(Action::parse(&["snapshot", "1", "1"]), None);
        assert_eq!(
            Action::parse(&["snapshot", "click"]),
            Some(Action::SnapshotClicked)
        );
    }

    #[test]
    fn an_unclosed_marker_stays_text() {
        assert_eq!(inlines("a `b"), vec![Inline::Text("a `b".into())]);
    }
}
