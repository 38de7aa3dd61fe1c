//! What one connection carried, from the wire tap: newest last, at both depths (under noise
//! and inside it), each record opening to its fields and bytes, and to its arrow in the
//! sequence diagram.

use std::collections::VecDeque;

use leptos::html::Ol;
use leptos::prelude::*;
use testbed::labels::hex;
use testbed::network::MAX_TAPPED_PEERS;
use testbed::wire::decode::WireItem;
use testbed::wire::multistream;
use testbed::wire::yamux::frame_fields;
use testbed::wire::{Direction, Layer};
use testbed::{NetworkView, PeerId};
use wasm_bindgen::JsCast;

use crate::dom::{draw_into, el, Node};
use crate::session::{PingRun, WireEntry};

/// Records drawn at once: the newest of the chosen connection.
const SHOWN: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    Both,
    Raw,
    Plain,
}

fn summary(item: &WireItem) -> String {
    match item {
        WireItem::Negotiation {
            stream: None,
            message,
        } => format!("multistream-select: {message}"),
        WireItem::Negotiation {
            stream: Some(stream),
            message,
        } => format!("stream {stream} negotiates: {message}"),
        WireItem::NoiseHandshake { message, len } => format!(
            "Noise XX message {message}: {} ({len} bytes)",
            WireItem::noise_tokens(*message)
        ),
        WireItem::Ciphertext { len } => format!("ciphertext, {len} bytes"),
        WireItem::Frame {
            header, protocol, ..
        } => match protocol {
            Some(protocol) => format!("{header} · {protocol}"),
            None => header.to_string(),
        },
        WireItem::Kad {
            stream,
            request,
            message,
        } => match message {
            Ok(message) => format!("stream {stream}: kad {}", message.label(*request)),
            Err(error) => format!("stream {stream}: not a kad message: {error}"),
        },
        WireItem::Undecodable { error } => format!("undecodable: {error}"),
    }
}

/// The fields and bytes shown when a record is opened.
fn details(item: &WireItem) -> Vec<(&'static str, String)> {
    match item {
        WireItem::Negotiation { stream, message } => vec![
            ("what", match stream {
                None => "a multistream-select message: an unsigned varint length, then the text and a newline".into(),
                Some(s) => format!("a multistream-select message inside yamux stream {s}: which protocol the stream speaks"),
            }),
            ("bytes", hex(&multistream::encode(message))),
        ],
        WireItem::NoiseHandshake { message, len } => vec![
            ("what", format!("Noise XX handshake message {message} of 3, after a 2-byte length")),
            ("tokens", WireItem::noise_tokens(*message).to_owned()),
            ("length", format!("{len} bytes")),
        ],
        WireItem::Ciphertext { len } => vec![
            ("what", "a Noise transport message: encrypted and authenticated, so only its length can be seen on the wire".into()),
            ("length", format!("{len} bytes (16 of them the authentication tag)")),
        ],
        WireItem::Frame { header, protocol, data } => {
            let mut rows = frame_fields(header, data);
            if let Some(protocol) = protocol {
                rows.push(("stream's protocol", protocol.clone()));
            }
            if !data.is_empty() {
                rows.push(("data as text", String::from_utf8_lossy(data).replace(|c: char| c.is_control(), "·")));
            }
            rows
        }
        WireItem::Kad { message: Ok(message), request, .. } => vec![
            ("what", format!("a Kademlia {}: an unsigned varint length, then a protobuf message", if *request { "request" } else { "answer" })),
            ("message", message.details()),
        ],
        WireItem::Kad { message: Err(error), .. } | WireItem::Undecodable { error } => {
            vec![("error", error.clone())]
        }
    }
}

#[component]
pub fn WireView(
    /// What the dialing end of each connection wrote and read, oldest first.
    wire: RwSignal<VecDeque<WireEntry>>,
    view: RwSignal<NetworkView>,
    last_ping: RwSignal<Option<PingRun>>,
    /// The moment the scrubber shows, or None for live.
    scrub: RwSignal<Option<f64>>,
    /// Shows the diagram with this message picked.
    show_in_diagram: Callback<u64>,
    /// Opens at the first record instead of following the newest.
    #[prop(into)]
    from_start: Signal<bool>,
    /// The records are sorted only while the view is shown: they change every frame.
    visible: Signal<bool>,
) -> impl IntoView {
    let depth = RwSignal::new(Depth::Both);
    let chosen = RwSignal::new(None::<(PeerId, PeerId)>);
    // Connections as (dialer, listener), in the order they first appear on the wire.
    let connections = Memo::new(move |_| {
        if !visible.get() {
            return Vec::new();
        }
        wire.with(|wire| {
            let mut seen: Vec<(PeerId, PeerId)> = Vec::new();
            for entry in wire {
                if let Some(remote) = entry.record.remote {
                    let pair = (entry.record.local, remote);
                    if !seen.contains(&pair) {
                        seen.push(pair);
                    }
                }
            }
            seen
        })
    });
    // The last ping's connection, unless the learner picked one.
    let shown_pair = move || {
        chosen
            .get()
            .or_else(|| {
                let run = last_ping.get()?;
                let ids = view.with(|v| Some((v.peer_id(run.from)?, v.peer_id(run.to)?)))?;
                connections.with(|c| {
                    c.iter()
                        .copied()
                        .find(|&(a, b)| (a, b) == ids || (b, a) == ids)
                })
            })
            .or_else(|| connections.with(|c| c.first().copied()))
    };
    let name = move |peer: &PeerId| view.with(|v| v.name(peer));
    let entries = Memo::new(move |_| {
        if !visible.get() {
            return (0, Vec::new());
        }
        let Some((dialer, listener)) = shown_pair() else {
            return (0, Vec::new());
        };
        let until = scrub.get().unwrap_or(f64::INFINITY);
        let depth = depth.get();
        wire.with(|wire| {
            let matching: Vec<&WireEntry> = wire
                .iter()
                .filter(|e| e.record.local == dialer && e.record.remote == Some(listener))
                .filter(|e| e.record.at_ms <= until)
                .filter(|e| match depth {
                    Depth::Both => true,
                    Depth::Raw => e.record.layer == Layer::Raw,
                    Depth::Plain => e.record.layer == Layer::Plain,
                })
                .collect();
            let total = matching.len();
            let newest = matching[total.saturating_sub(SHOWN)..]
                .iter()
                .map(|e| (*e).clone())
                .collect();
            (total, newest)
        })
    });

    // The records, drawn as plain DOM: the list changes with every frame of traffic.
    let items = Memo::new(move |_| {
        let pair = shown_pair();
        let dialer = pair.map(|(a, _)| name(&a)).unwrap_or_default();
        let listener = pair.map(|(_, b)| name(&b)).unwrap_or_default();
        entries.with(|(total, newest)| {
            // A record's place among all those shown names it as newer ones push it along.
            let first = total - newest.len();
            newest
                .iter()
                .enumerate()
                .map(|(i, entry)| record_node(entry, &dialer, &listener).key(first + i))
                .collect::<Vec<_>>()
        })
    });
    let list = NodeRef::<Ol>::new();
    draw_into(list, move || items.get());
    // Follows the newest records, as the event log does: a ping's stream comes after the
    // connection's set-up, and a step that shows this view talks about it. Scrolled up to read,
    // the list stays put; back at its end, it follows again. Shown again, or showing another
    // connection or depth, it starts at its end. Where the step is about how the connection
    // began, it opens at its first record instead: for each step, connection or depth, when
    // first shown; back from another tab, it stays where the learner left it.
    let following = StoredValue::new(true);
    // Where the list last scrolled itself: the scroll event comes a frame later, when more
    // records may have made that no longer the end, and is not the learner's.
    let scrolled_to = StoredValue::new(None::<i32>);
    // Where the list stood when last shown: hidden, it holds no records, so shown again it
    // must be put back there.
    let read_at = StoredValue::new(0);
    let stay_at = move |top: i32| {
        following.set_value(false);
        request_animation_frame(move || {
            if let Some(list) = list.get_untracked() {
                list.set_scroll_top(top);
                scrolled_to.set_value(Some(list.scroll_top()));
            }
        });
    };
    let shown_records = Memo::new(move |_| (shown_pair(), depth.get()));
    let start_when_shown = StoredValue::new(false);
    Effect::watch(
        move || (from_start.get(), shown_records.get()),
        move |&(from_start, _), _, _| {
            let shown = visible.get_untracked();
            following.set_value(!from_start);
            start_when_shown.set_value(from_start && !shown);
            if from_start && shown {
                stay_at(0);
            }
        },
        true,
    );
    Effect::watch(
        move || visible.get(),
        move |&shown, _, _| {
            if !shown {
                return;
            }
            if !from_start.get_untracked() {
                following.set_value(true);
            } else if start_when_shown.get_value() {
                start_when_shown.set_value(false);
                stay_at(0);
            } else {
                stay_at(read_at.get_value());
            }
        },
        false,
    );
    Effect::new(move || {
        items.track();
        request_animation_frame(move || {
            if let (true, Some(list)) = (following.get_value(), list.get_untracked()) {
                list.set_scroll_top(list.scroll_height());
                scrolled_to.set_value(Some(list.scroll_top()));
            }
        });
    });
    let on_scroll = move |_| {
        if let Some(list) = list.get_untracked() {
            if visible.get_untracked() {
                read_at.set_value(list.scroll_top());
            }
            if scrolled_to.get_value() != Some(list.scroll_top()) {
                let end = list.scroll_height() - list.client_height();
                following.set_value(list.scroll_top() >= end - 4);
            }
        }
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let position = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("[data-position]").ok().flatten())
            .and_then(|e| e.get_attribute("data-position"))
            .and_then(|p| p.parse::<u64>().ok());
        if let Some(position) = position {
            show_in_diagram.run(position);
        }
    };

    view! {
        <section class="wire-view" aria-label="Wire: what one connection carried">
            <div class="wire-toolbar">
                <label class="wire-connection">
                    "Connection"
                    <select name="wire-connection" on:change=move |ev| {
                        let index: Option<usize> = event_target_value(&ev).parse().ok();
                        chosen.set(index.and_then(|i| connections.with(|c| c.get(i).copied())));
                    }>
                        {move || {
                            let current = shown_pair();
                            connections.get().into_iter().enumerate().map(|(i, (a, b))| view! {
                                <option value=i.to_string() selected=current == Some((a, b))>
                                    {format!("{} ↔ {}", name(&a), name(&b))}
                                </option>
                            }).collect_view()
                        }}
                    </select>
                </label>
                <fieldset class="segmented">
                    <legend class="visually-hidden">"Depth"</legend>
                    {[(Depth::Both, "Both depths"), (Depth::Raw, "Under noise"), (Depth::Plain, "Inside noise")].into_iter().map(|(d, text)| view! {
                        <label>
                            <input type="radio" name="wire-depth" prop:checked=move || depth.get() == d
                                on:change=move |_| depth.set(d) />
                            {text}
                        </label>
                    }).collect_view()}
                </fieldset>
                <span class="hint">{move || {
                    let (total, shown) = entries.with(|(t, s)| (*t, s.len()));
                    if total > shown {
                        format!("the newest {shown} of {total} records, newest last")
                    } else {
                        format!("{total} records, newest last")
                    }
                }}</span>
            </div>
            {move || connections.with(Vec::is_empty).then(|| view! {
                <p class="hint">{format!("Nothing on the wire yet. Networks of up to {MAX_TAPPED_PEERS} peers are tapped: start one, and its connections appear here.")}</p>
            })}
            <ol class="wire-list" node_ref=list on:click=on_click on:scroll=on_scroll></ol>
        </section>
    }
}

/// One record: when, who wrote it to whom, at which depth, what it was; opened, its fields and
/// the way to its arrow.
fn record_node(entry: &WireEntry, dialer: &str, listener: &str) -> Node {
    let record = &entry.record;
    let (from, to) = match record.direction {
        Direction::Sent => (dialer, listener),
        Direction::Received => (listener, dialer),
    };
    let (layer, depth) = match record.layer {
        Layer::Raw => ("raw", "under noise"),
        Layer::Plain => ("plain", "inside noise"),
    };
    let direction = match record.direction {
        Direction::Sent => "sent",
        Direction::Received => "received",
    };
    let head = el("summary")
        .child(el("time").text(format!("{:.1} ms", record.at_ms)))
        .child(
            el("span")
                .attr("class", "wire-route")
                .text(format!("{from} → {to}")),
        )
        .child(el("span").attr("class", "wire-layer").text(depth))
        .child(
            el("span")
                .attr("class", "wire-what")
                .text(summary(&record.item)),
        );
    let fields = el("dl").attr("class", "wire-fields").children(
        details(&record.item)
            .into_iter()
            .flat_map(|(k, v)| [el("dt").text(k), el("dd").child(el("code").text(v))]),
    );
    let arrow = entry.position.map(|position| {
        el("button")
            .attr("type", "button")
            .attr("class", "quiet")
            .attr("data-position", position)
            .text("Show its arrow in the diagram")
    });
    el("li")
        .attr("data-layer", layer)
        .attr("data-direction", direction)
        .child(el("details").child(head).child(fields).children(arrow))
}
