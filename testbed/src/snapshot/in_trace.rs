//! What a trace shows of the token application's recordings: which snapshots finished, and
//! which tokens crossed a cut. Lessons check their steps with these, so what a step asks the
//! learner to see is what the diagram draws.

use std::collections::HashMap;

use libp2p::PeerId;

use super::Recording;
use crate::snapshot::cuts::Cut;
use crate::trace::mark::MessageKind;
use crate::trace::model::Message;
use crate::trace::Trace;

/// Chandy-Lamport snapshots every one of `peers` peers recorded, whose markers all arrived:
/// one on each of the `channels` directed channels, and that no peer gave up. Oldest first.
pub fn finished_snapshots(trace: &Trace, peers: usize, channels: usize) -> Vec<&Cut> {
    let mut markers: HashMap<String, usize> = HashMap::new();
    for message in trace.messages() {
        if message.kind == MessageKind::Marker && message.received.is_some() {
            *markers.entry(message.label.clone()).or_default() += 1;
        }
    }
    trace
        .cuts()
        .filter(|cut| match cut.recording {
            Recording::Snapshot(id) => {
                !cut.abandoned
                    && cut.points.len() == peers
                    && markers.get(&format!("marker {id}")).copied() == Some(channels)
            }
            Recording::Naive(_) => false,
        })
        .collect()
}

/// The newest naive recording every one of `peers` peers made.
pub fn last_naive(trace: &Trace, peers: usize) -> Option<&Cut> {
    trace
        .cuts()
        .filter(|cut| matches!(cut.recording, Recording::Naive(_)) && cut.points.len() == peers)
        .last()
}

/// Tokens sent before their sender's point of `cut` and not received before their
/// receiver's: in flight across it.
pub fn crossing<'t>(trace: &'t Trace, cut: &Cut) -> Vec<&'t Message> {
    let point: HashMap<PeerId, f64> = cut.points.iter().copied().collect();
    trace
        .messages()
        .filter(|m| m.kind == MessageKind::Tokens)
        .filter(|m| {
            let (Some(&sent_cut), Some(&received_cut)) = (point.get(&m.from), point.get(&m.to))
            else {
                return false;
            };
            m.sent.at_ms <= sent_cut && m.received.is_none_or(|r| r.at_ms > received_cut)
        })
        .collect()
}

/// How long a snapshot took, from the first peer's recording to the arrival of its last
/// marker; None until every marker sent has arrived.
pub fn took_ms(trace: &Trace, recording: Recording) -> Option<f64> {
    let cut = trace.cuts().find(|c| c.recording == recording)?;
    let start = cut.points.iter().map(|(_, at)| *at).reduce(f64::min)?;
    let label = format!("marker {recording}");
    let mut end = start;
    for marker in trace
        .messages()
        .filter(|m| m.kind == MessageKind::Marker && m.label == label)
    {
        end = end.max(marker.received?.at_ms);
    }
    Some(end - start)
}

/// Whether two cuts were being recorded at the same time.
pub fn overlap(a: &Cut, b: &Cut) -> bool {
    let span = |cut: &Cut| {
        cut.points
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), (_, at)| {
                (lo.min(*at), hi.max(*at))
            })
    };
    let ((a0, a1), (b0, b1)) = (span(a), span(b));
    a0 <= b1 && b0 <= a1
}
