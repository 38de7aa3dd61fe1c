//! A readable sentence for each event worth a line in the log.

use libp2p::PeerId;

use super::NetworkView;
use crate::event::{DhtStep, Event, EventKind, PingStep, RoomStep, TokenStep, TransferStep};
use crate::labels::key_label;

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

impl NetworkView {
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

    pub(super) fn describe(&self, event: &Event) -> Option<LogLine> {
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
