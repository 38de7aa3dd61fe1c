//! What a step's button does: the actions, how lessons and links write them, and DHT and
//! transfer actions' parameters.

use super::*;

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
    /// While tokens move, every peer is told to write its balance down now, all at once.
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
    /// One peer leaves, as if its machine went away: its connections drop, and the tokens
    /// it held go with it.
    Leave { peer: PeerIndex },
    /// This tab's own peer pings every other tab of its room, through the relay.
    PingRoom,
    /// The next action started `after_ms` after the one before this, while that one still
    /// ran (a leave during a slow ping): a replay starts it then instead of waiting for the
    /// one before to settle. Links record it; the page never shows it as a step.
    Meanwhile { after_ms: u32 },
}

/// The longest a link may say an action ran alongside the one before it.
pub const MAX_MEANWHILE_MS: u32 = 600_000;

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
            ["leave", leaver] => Some(Action::Leave {
                peer: peer(leaver)?,
            }),
            ["meanwhile", ms] => Some(Action::Meanwhile {
                after_ms: ms.parse().ok().filter(|ms| *ms <= MAX_MEANWHILE_MS)?,
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
            Action::Leave { peer } => vec!["leave".into(), peer.to_string()],
            Action::Meanwhile { after_ms } => vec!["meanwhile".into(), after_ms.to_string()],
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
