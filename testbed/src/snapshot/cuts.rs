//! The cuts of a run's recordings, folded from the peers' token steps: where each peer wrote
//! its balance down, drawn as a line across the lifelines.

use std::collections::VecDeque;

use libp2p::PeerId;

use super::{Recording, TokenStep};
use crate::event::{Event, EventKind};

/// Cuts kept: one per snapshot, and a lesson takes a handful.
const MAX_CUTS: usize = 256;

/// Where each peer wrote its balance down for one recording: a line across the lifelines.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    pub recording: Recording,
    /// (peer, ms since the network started), in the order they recorded.
    pub points: Vec<(PeerId, f64)>,
    /// A peer gave the snapshot up: a channel it waited on closed before the marker came.
    pub abandoned: bool,
}

/// Every recording's cut, oldest first; bounded.
#[derive(Debug, Default)]
pub struct Cuts {
    cuts: VecDeque<Cut>,
}

impl Cuts {
    pub fn apply_event(&mut self, event: &Event) {
        let EventKind::Tokens(step) = &event.kind else {
            return;
        };
        match step {
            TokenStep::Abandoned { id, .. } => {
                let recording = Recording::Snapshot(*id);
                if let Some(cut) = self.cuts.iter_mut().find(|c| c.recording == recording) {
                    cut.abandoned = true;
                }
            }
            TokenStep::Recorded { recording, .. } => {
                let point = (event.peer, event.at_ms);
                match self.cuts.iter_mut().find(|c| c.recording == *recording) {
                    Some(cut) => cut.points.push(point),
                    None => {
                        self.cuts.push_back(Cut {
                            recording: *recording,
                            points: vec![point],
                            abandoned: false,
                        });
                        if self.cuts.len() > MAX_CUTS {
                            self.cuts.pop_front();
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Cut> {
        self.cuts.iter()
    }
}
