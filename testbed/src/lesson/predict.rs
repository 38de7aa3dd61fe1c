//! Predictions: the question a step asks before its action, and the [`Measure`] that reads
//! the answer from the real run.

use super::expect::{carries_data, frames, pinged_without_relay};
use super::*;

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
    /// Whether another tab answered a ping after the relay went away: `yes` or `no`.
    PingWithoutRelay,
}

impl Measure {
    pub(super) fn parse(name: &str) -> Option<Measure> {
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
            "ping-without-relay" => Measure::PingWithoutRelay,
            _ => return None,
        })
    }

    /// Answered by what this tab's own peer saw in its room (see [`Measure::observe_in_room`]),
    /// not by the in-page network.
    pub fn in_room(self) -> bool {
        self == Measure::PingWithoutRelay
    }

    /// The answer this tab's room gave, once it has given one.
    pub fn observe_in_room(self, members: &Members, trace: &Trace) -> Option<String> {
        match self {
            Measure::PingWithoutRelay => pinged_without_relay(members, trace)
                .map(|pinged| if pinged { "yes" } else { "no" }.to_owned()),
            _ => None,
        }
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
            (Measure::PingWithoutRelay, _) | (_, None) => None,
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
