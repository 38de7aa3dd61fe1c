//! The chips that choose which kinds of message the diagram draws, and the way back for hidden
//! lifelines.

use std::collections::HashSet;

use leptos::prelude::*;
use testbed::trace::mark::MessageKind;
use testbed::trace::model::Trace;

/// Every kind of message, with its chip's name and what it means.
const KINDS: [(MessageKind, &str, &str); 10] = [
    (
        MessageKind::Connect,
        "dials",
        "a dial: the connection, its noise handshake and yamux",
    ),
    (
        MessageKind::OpenStream,
        "stream opens",
        "a new stream and the protocol agreed on it",
    ),
    (MessageKind::Envelope, "messages", "PING and PONG envelopes"),
    (
        MessageKind::Close,
        "closes",
        "one side closing its half of a stream (FIN)",
    ),
    (
        MessageKind::Handshake,
        "handshakes",
        "from the wire: multistream-select agreeing on a protocol, and the Noise XX handshake",
    ),
    (
        MessageKind::Frame,
        "frames",
        "from the wire: yamux frames (DATA, WINDOW_UPDATE, PING) with their flags SYN, ACK, FIN, RST",
    ),
    (
        MessageKind::Tokens,
        "tokens",
        "tokens sent over a FIFO channel; highlighted when a snapshot recorded them in flight",
    ),
    (
        MessageKind::Marker,
        "markers",
        "Chandy-Lamport markers: a snapshot's boundary on a channel",
    ),
    (
        MessageKind::Kad,
        "kad lookups",
        "from the wire: the Kademlia requests of the lookups you ran (FIND_NODE, GET_VALUE…) and their answers",
    ),
    (
        MessageKind::KadBackground,
        "kad background",
        "from the wire: Kademlia traffic libp2p-kad makes on its own (its start-up bootstrap, table refreshes)",
    ),
];

/// What the diagram draws until a lesson or the learner says otherwise: the wire tap's
/// handshakes and frames are many, and shown on request.
pub fn default_kinds() -> HashSet<MessageKind> {
    KINDS
        .iter()
        .map(|(kind, ..)| *kind)
        .filter(|kind| !kind.is_detail())
        .collect()
}

/// The kinds every network has; the others (tokens, markers, Kademlia) get a chip once this
/// run has one, so the first lessons offer no switches for what they never show.
const ALWAYS_OFFERED: [MessageKind; 6] = [
    MessageKind::Connect,
    MessageKind::OpenStream,
    MessageKind::Envelope,
    MessageKind::Close,
    MessageKind::Handshake,
    MessageKind::Frame,
];

/// The kinds with a chip for this trace.
pub fn offered(trace: &Trace) -> Vec<MessageKind> {
    KINDS
        .iter()
        .map(|(kind, ..)| *kind)
        .filter(|kind| ALWAYS_OFFERED.contains(kind) || trace.has_kind(*kind))
        .collect()
}

pub fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Connect => "connect",
        MessageKind::OpenStream => "open",
        MessageKind::Envelope => "envelope",
        MessageKind::Close => "close",
        MessageKind::Handshake => "handshake",
        MessageKind::Frame => "frame",
        MessageKind::Tokens => "tokens",
        MessageKind::Marker => "marker",
        MessageKind::Kad => "kad",
        MessageKind::KadBackground => "kad-background",
        MessageKind::Signal => "signal",
    }
}

#[component]
pub fn KindFilters(
    kinds: RwSignal<HashSet<MessageKind>>,
    /// The kinds to offer a chip for (see [`offered`]).
    offered: Memo<Vec<MessageKind>>,
    /// Peers whose lifeline the learner hid.
    hidden: RwSignal<HashSet<usize>>,
) -> impl IntoView {
    view! {
    <div class="diagram-filters" role="group" aria-label="Show">
        {move || KINDS.into_iter().filter(|(kind, ..)| offered.with(|o| o.contains(kind))).map(|(kind, name, what)| view! {
            <label class="chip" data-kind=kind_name(kind) title=what>
                <input type="checkbox" prop:checked=move || kinds.with(|k| k.contains(&kind))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        kinds.update(|k| { if on { k.insert(kind); } else { k.remove(&kind); } });
                    } />
                {name}
            </label>
        }).collect_view()}
        {move || (!hidden.with(HashSet::is_empty)).then(|| view! {
            <button type="button" class="quiet" on:click=move |_| hidden.set(HashSet::new())>
                {move || format!("Show {} hidden peers", hidden.with(HashSet::len))}
            </button>
        })}
    </div>
    }
}
