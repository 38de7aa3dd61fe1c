//! A message's details, as rows of the panel shown when its arrow is picked: who sent it to
//! whom, when, its trace context and what it carried.

use libp2p::PeerId;

use super::model::{Message, Stamp};

/// A message's details, for the panel shown when its arrow is picked.
pub fn details(message: &Message, name: impl Fn(&PeerId) -> String) -> Vec<(String, String)> {
    let stamp = |s: &Stamp| match s.lamport {
        Some(l) => format!("{:.1} ms · Lamport {l}", s.at_ms),
        None => format!("{:.1} ms", s.at_ms),
    };
    let mut rows = vec![
        ("message".into(), message.label.clone()),
        (
            "from → to".into(),
            format!("{} → {}", name(&message.from), name(&message.to)),
        ),
        ("protocol".into(), message.protocol.clone()),
        (
            "sent".into(),
            if message.sent_unseen {
                "in the other tab, unseen from here (it carries no clock)".into()
            } else {
                stamp(&message.sent)
            },
        ),
        (
            "received".into(),
            message
                .received
                .as_ref()
                .map_or("not received".into(), stamp),
        ),
    ];
    if let Some((trace, span)) = message.context {
        rows.push(("trace id".into(), format!("{:032x}", trace.0)));
        rows.push(("span id".into(), format!("{:016x}", span.0)));
    }
    if let Some(payload) = &message.payload {
        rows.push(("payload".into(), payload.clone()));
    }
    rows
}
