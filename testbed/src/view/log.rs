//! The log: a readable sentence for each event worth a line, told by the event's protocol,
//! naming peers as the network view knows them.

use libp2p::PeerId;

use super::NetworkView;
use crate::event::{Event, EventKind};
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
        let (tone, text) = match &event.kind {
            // libp2p's cause ("I/O error: connection is closed") reads like a fault here; the
            // reason is that the other side went away.
            EventKind::ConnectionClosed { remote, .. }
                if self.index_of(remote).is_some_and(|r| self.has_left(r)) =>
            {
                let them = self.name(remote);
                (
                    Tone::Info,
                    format!("{me}'s connection to {them} closed: {them} left the network"),
                )
            }
            kind => kind.sentence(&me, self)?,
        };
        Some(LogLine {
            at_ms: event.at_ms,
            tone,
            text,
        })
    }
}
