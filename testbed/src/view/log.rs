//! The log: a readable sentence for each event worth a line, told by the event's protocol,
//! naming peers as the network view knows them.

use libp2p::PeerId;

use super::NetworkView;
use crate::event::Event;
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
        let (tone, text) = event.kind.sentence(&self.name(&event.peer), self)?;
        Some(LogLine {
            at_ms: event.at_ms,
            tone,
            text,
        })
    }
}
