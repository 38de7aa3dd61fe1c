//! The log: a readable sentence for each event worth a line, told by the event's protocol,
//! naming peers as the network view knows them.

use libp2p::PeerId;

use super::NetworkView;
use crate::event::{Event, EventKind, PingStep, TransferStep};
use crate::labels::{Names, Tone};

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at_ms: f64,
    pub tone: Tone,
    pub text: String,
}

impl Names for NetworkView {
    fn peer(&self, peer: &PeerId) -> String {
        self.name(peer)
    }
}

impl NetworkView {
    pub(super) fn describe(&self, event: &Event) -> Option<LogLine> {
        let me = self.name(&event.peer);
        let (tone, text) = if let Some(text) = self.broken_off(event) {
            (Tone::Ping, text)
        } else {
            match &event.kind {
                // libp2p's cause ("I/O error: connection is closed") reads like a fault here; the
                // reason is that the other side went away.
                EventKind::ConnectionClosed { remote, .. } if self.is_gone(remote) => {
                    let them = self.name(remote);
                    (
                        Tone::Info,
                        format!("{me}'s connection to {them} closed: {them} left the network"),
                    )
                }
                // A routing table still lists peers that left: dialing one is expected, and
                // "No listener on the given port" hides why.
                EventKind::DialFailed {
                    remote: Some(remote),
                    ..
                } if self.is_gone(remote) => {
                    let them = self.name(remote);
                    (
                        Tone::Info,
                        format!(
                            "{me} could not connect to {them}: {them} left the network, nothing listens at its address"
                        ),
                    )
                }
                kind => kind.sentence(&me, self)?,
            }
        };
        Some(LogLine {
            at_ms: event.at_ms,
            tone,
            text,
        })
    }

    /// A ping or transfer cut short because one of its ends left fails on both sides with
    /// whatever its stream saw last ("connection is closed", "ended before a complete
    /// envelope"); its line names the leave instead.
    fn broken_off(&self, event: &Event) -> Option<String> {
        let (what, remote) = match &event.kind {
            EventKind::Ping(PingStep::Failed { remote, .. }) => ("ping", remote),
            EventKind::Transfer(TransferStep::Failed { remote, .. }) => ("transfer", remote),
            _ => return None,
        };
        let gone = [&event.peer, remote]
            .into_iter()
            .find(|peer| self.is_gone(peer))?;
        Some(format!(
            "{}: the {what} with {} broke off: {} left the network",
            self.name(&event.peer),
            self.name(remote),
            self.name(gone)
        ))
    }

    fn is_gone(&self, peer: &PeerId) -> bool {
        self.index_of(peer)
            .is_some_and(|index| self.has_left(index))
    }
}
