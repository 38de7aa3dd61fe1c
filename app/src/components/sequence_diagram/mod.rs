//! The live sequence diagram: a lifeline per peer, each message an arrow from its send to its
//! receive. Follows new messages unless paused; zoom; real time or Lamport time; filter by
//! kind and by peer; click an arrow for its details. Only arrows on screen are in the DOM.

use std::collections::HashSet;

use leptos::html::Div;
use leptos::prelude::*;
use testbed::diagram::{self, Options, TimeMode};
use testbed::trace::export;
use testbed::trace::model::MessageKind;

use crate::components::toggle::Toggle;
use crate::download;
use crate::session::Session;

/// Offers the trace as a file in `format`.
fn export_trace(session: Session, format: &str) -> Result<(), String> {
    let origin = session.started_unix_ms.get_value();
    session.view.with_untracked(|view| {
        let names = |p: &testbed::PeerId| view.name(p);
        session.trace.with_untracked(|trace| match format {
            "mermaid" => download::save("trace.mmd", "text/plain", &export::mermaid(trace, &names)),
            "chrome" => download::save(
                "trace.chrome.json",
                "application/json",
                &export::chrome_trace(trace, &names).to_string(),
            ),
            "jaeger" => download::save(
                "trace.jaeger.json",
                "application/json",
                &export::jaeger(trace, &names, origin).to_string(),
            ),
            "shiviz" => download::save(
                "trace.shiviz.log",
                "text/plain",
                &export::shiviz(trace, &names),
            ),
            _ => Ok(()),
        })
    })
}

/// Height of the sticky row of lifeline names over the diagram (1.6rem).
const HEAD_HEIGHT: f64 = 26.0;
/// Arrows this far outside the visible area are drawn too, so scrolling shows no blank edge.
const OVERSCAN: f64 = 400.0;
/// Until the scroller is measured.
const DEFAULT_VIEWPORT: f64 = 560.0;
const ZOOM_STEPS: [f64; 7] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// Every kind of message, with its chip's name and what it means.
pub const KINDS: [(MessageKind, &str, &str); 10] = [
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
        .filter(|kind| {
            !matches!(
                kind,
                MessageKind::Handshake | MessageKind::Frame | MessageKind::KadBackground
            )
        })
        .collect()
}

fn kind_name(kind: MessageKind) -> &'static str {
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
    }
}

#[component]
pub fn SequenceDiagram(
    session: Session,
    visible: Signal<bool>,
    only_last_ping: RwSignal<bool>,
    /// A lesson question is waiting for a peer: clicking a lifeline head answers it.
    peer_question_open: Signal<bool>,
    answer_peer: Callback<usize>,
    /// Kinds of message drawn.
    kinds: RwSignal<HashSet<MessageKind>>,
) -> impl IntoView {
    let mode = RwSignal::new(TimeMode::RealTime);
    let zoom_step = RwSignal::new(3usize);
    let follow = RwSignal::new(true);
    let scroll_top = RwSignal::new(0.0);
    let viewport = RwSignal::new(DEFAULT_VIEWPORT);
    let available_width = RwSignal::new(0.0);
    let selected = session.selected;
    let scroller = NodeRef::<Div>::new();

    // Peers whose lifeline the learner hid by clicking its head.
    let hidden = RwSignal::new(HashSet::<usize>::new());
    let lifelines = Memo::new(move |_| {
        session.view.with(|view| {
            let ping = session.last_ping.get();
            let peers: Vec<usize> = match ping {
                Some(run) if only_last_ping.get() => {
                    vec![run.from.min(run.to), run.from.max(run.to)]
                }
                _ => (0..view.peer_count()).collect(),
            };
            let hidden = hidden.get();
            peers
                .into_iter()
                .filter(|i| !hidden.contains(i))
                .filter_map(|i| view.peer_id(i).map(|id| (i, id)))
                .collect::<Vec<_>>()
        })
    });
    let options = Memo::new(move |_| Options {
        mode: mode.get(),
        zoom: ZOOM_STEPS[zoom_step.get()],
        lifelines: lifelines.get().into_iter().map(|(_, id)| id).collect(),
        kinds: kinds.get(),
        width: available_width.get(),
        until_ms: session.scrub.get(),
    });
    let layout = Memo::new(move |_| {
        let options = options.get();
        let top = scroll_top.get();
        let bottom = top + viewport.get() + OVERSCAN;
        session.trace.with(|trace| {
            session
                .bars
                .with(|bars| diagram::layout(trace, bars, &options, top - OVERSCAN, bottom))
        })
    });

    // Follow: keep the newest message in view (also when the tab is shown again).
    Effect::new(move || {
        layout.track();
        if !visible.get() {
            return;
        }
        // Lifelines spread over the width the diagram has once it is shown (a change here
        // lays out again, and the same width the next time round stops the loop).
        if let Some(el) = scroller.get() {
            let width = f64::from(el.client_width());
            if width > 0.0 && (available_width.get_untracked() - width).abs() > 0.5 {
                available_width.set(width);
            }
        }
        if follow.get() {
            if let Some(el) = scroller.get() {
                el.set_scroll_top(el.scroll_height());
            }
        }
        // A hidden scroller sends no scroll events: the window drawn catches up once shown.
        if let Some(el) = scroller.get() {
            sync_window(&el, scroll_top, viewport);
        }
    });
    // Scrolls the diagram so the arrow of the message at `position` is on screen.
    let scroll_to_arrow = move |position: u64| {
        // The layout holds more than the screen shows (the overscan): look for the arrow
        // there first, in the whole diagram if need be.
        let laid_out = layout.with_untracked(|l| {
            l.arrows
                .iter()
                .find(|a| a.position == position)
                .map(|a| a.sent_y)
        });
        let y = laid_out.or_else(|| {
            session.trace.with_untracked(|trace| {
                session.bars.with_untracked(|bars| {
                    diagram::layout(trace, bars, &options.get_untracked(), f64::MIN, f64::MAX)
                        .arrows
                        .iter()
                        .find(|a| a.position == position)
                        .map(|a| a.sent_y)
                })
            })
        });
        let (Some(y), Some(el)) = (y, scroller.get_untracked()) else {
            return;
        };
        // In the scroller, the diagram starts below the sticky row of lifeline names.
        let y = y + HEAD_HEIGHT;
        let top = f64::from(el.scroll_top());
        let height = f64::from(el.client_height());
        if y < top + HEAD_HEIGHT || y > top + height - 8.0 {
            el.set_scroll_top((y - height / 2.0).max(0.0) as i32);
        }
        sync_window(&el, scroll_top, viewport);
    };
    // A message picked elsewhere (the wire view, "Show me") is scrolled into view.
    Effect::new(move || {
        let Some(position) = selected.get() else {
            return;
        };
        if !visible.get() {
            return;
        }
        // The learner is looking at it: new messages do not scroll it away.
        follow.set(false);
        // Once the panel is drawn: one just shown has no height yet.
        request_animation_frame(move || scroll_to_arrow(position));
    });
    let on_scroll = move |_| {
        if let Some(el) = scroller.get() {
            let top = el.scroll_top() as f64;
            let height = el.client_height() as f64;
            let at_bottom = top + height >= el.scroll_height() as f64 - 8.0;
            // Scrolling back in time pauses following; reaching the end resumes it. Content
            // that grew under a scroll is not the learner scrolling back.
            let scrolled_up = top < scroll_top.get_untracked() - 1.0;
            if follow.get_untracked() && scrolled_up && !at_bottom {
                follow.set(false);
            } else if !follow.get_untracked() && at_bottom {
                follow.set(true);
            }
            scroll_top.set(top);
            viewport.set(height);
        }
    };

    let details = move || {
        let position = selected.get()?;
        session.trace.with(|trace| {
            let message = trace.message(position)?;
            let rows = session.view.with(|view| diagram::describe(message, |p| view.name(p)));
            Some(view! {
                <dl class="arrow-details" aria-live="polite">
                    {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
            })
        })
    };

    view! {
        <section class="diagram" aria-label="Sequence diagram">
            <div class="diagram-toolbar" role="toolbar" aria-label="Diagram controls">
                <fieldset class="segmented">
                    <legend class="visually-hidden">"Time"</legend>
                    <label title="Arrows at the moment each send and receive happened; long pauses shortened">
                        <input type="radio" name="time-mode" prop:checked=move || mode.get() == TimeMode::RealTime
                            on:change=move |_| mode.set(TimeMode::RealTime) />
                        "Real time"
                    </label>
                    <label title="Arrows in happened-before order, by the Lamport clocks carried in the messages">
                        <input type="radio" name="time-mode" prop:checked=move || mode.get() == TimeMode::Lamport
                            on:change=move |_| mode.set(TimeMode::Lamport) />
                        "Lamport time"
                    </label>
                </fieldset>
                <div class="zoom">
                    <button type="button" class="quiet" aria-label="Zoom out"
                        disabled=move || zoom_step.get() == 0
                        on:click=move |_| zoom_step.update(|z| *z = z.saturating_sub(1))>"−"</button>
                    <button type="button" class="quiet" aria-label="Zoom in"
                        disabled=move || zoom_step.get() + 1 == ZOOM_STEPS.len()
                        on:click=move |_| zoom_step.update(|z| *z = (*z + 1).min(ZOOM_STEPS.len() - 1))>"+"</button>
                </div>
                <Toggle name="follow" text="Follow" value=follow />
                <label class="export">
                    <span class="visually-hidden">"Export the trace"</span>
                    <select name="export" on:change=move |ev| {
                        let format = event_target_value(&ev);
                        if let Err(error) = export_trace(session, &format) {
                            session.problem.set(Some(error));
                        }
                        // Back to the prompt, so the same format can be chosen again.
                        if let Some(select) = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlSelectElement>(t).ok()) {
                            select.set_value("");
                        }
                    }>
                        <option value="" selected>"Export trace…"</option>
                        <option value="jaeger">"Jaeger JSON"</option>
                        <option value="chrome">"Chrome trace (Perfetto)"</option>
                        <option value="shiviz">"ShiViz log"</option>
                        <option value="mermaid">"Mermaid sequenceDiagram"</option>
                    </select>
                </label>
                <Toggle name="only-last-ping" text="Only the last ping's peers" value=only_last_ping />
            </div>
            <div class="diagram-filters" role="group" aria-label="Show">
                {KINDS.into_iter().map(|(kind, name, what)| view! {
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
                <span class="hint">{move || {
                    let drawn = layout.with(|l| l.drawn);
                    if mode.get() == TimeMode::Lamport {
                        format!("{drawn} messages. Only PING and PONG carry a Lamport clock; the rest shows in real time.")
                    } else {
                        format!("{drawn} messages")
                    }
                }}</span>
            </div>
            <div class="diagram-scroll" node_ref=scroller on:scroll=on_scroll tabindex="0"
                aria-label="Sequence diagram, newest at the bottom">
                <div class="lifeline-heads" style:width=move || format!("{}px", layout.with(|l| l.width))>
                    {move || {
                        let xs = layout.with(|l| l.lifeline_x.clone());
                        let peers = lifelines.get();
                        // Many lifelines leave room for the number only.
                        let short = peers.len() > 8;
                        peers.into_iter().zip(xs).map(|((index, _), x)| {
                            let text = if short { index.to_string() } else { format!("peer {index}") };
                            let title = move || if peer_question_open.get() {
                                format!("peer {index}: click to choose it")
                            } else {
                                format!("peer {index}: click to hide its lifeline")
                            };
                            view! {
                                <button type="button" class="lifeline-head" style:left=format!("{x}px")
                                    title=title aria-label=title
                                    on:click=move |_| if peer_question_open.get_untracked() {
                                        answer_peer.run(index);
                                    } else {
                                        hidden.update(|h| { h.insert(index); });
                                    }>{text}</button>
                            }
                        }).collect_view()
                    }}
                </div>
                <svg class="diagram-svg" width=move || layout.with(|l| l.width) height=move || layout.with(|l| l.height)>
                    <ArrowheadMarker id="arrowhead" />
                    {move || layout.with(|l| l.lifeline_x.iter().map(|&x| view! {
                        <line class="lifeline" x1=x y1="0" x2=x y2=l.height />
                    }).collect_view())}
                    {move || layout.with(|l| l.gaps.iter().map(|gap| {
                        let text = if gap.skipped_ms < 1000.0 {
                            format!("… {:.0} ms later", gap.skipped_ms)
                        } else {
                            format!("… {:.1} s later", gap.skipped_ms / 1000.0)
                        };
                        view! {
                            <g class="gap">
                                <line x1="0" x2=l.width y1=gap.y y2=gap.y />
                                <text x="4" y=gap.y - 3.0>{text}</text>
                            </g>
                        }
                    }).collect_view())}
                    {move || layout.with(|l| l.cuts.iter().enumerate().map(|(n, cut)| {
                        let naive = matches!(cut.recording, testbed::snapshot::Recording::Naive(_));
                        let points: Vec<String> = cut.points.iter().map(|(x, y)| format!("{x},{y}")).collect();
                        let (label_x, label_y) = cut.points.last().copied().unwrap_or_default();
                        let name = diagram::cut_name(cut);
                        view! {
                            <g class="cut" data-naive=naive.to_string() data-recording=cut.recording.to_string() data-slot=(n % 3).to_string()
                                data-abandoned=cut.abandoned.to_string()>
                                <title>{if naive {
                                    format!("{name}: each peer recorded its balance at the same instant")
                                } else {
                                    format!("{name}: where each peer recorded its balance")
                                }}</title>
                                <polyline points=points.join(" ") />
                                {cut.points.iter().map(|(x, y)| view! { <circle cx=*x cy=*y r="4" /> }).collect_view()}
                                <text x=label_x + 8.0 y=label_y + 4.0>{name}</text>
                            </g>
                        }
                    }).collect_view())}
                    {move || layout.with(|l| l.bars.iter().map(|bar| view! {
                        <rect class="span-bar" x=bar.x - 4.0 y=bar.top width="8" height=(bar.bottom - bar.top).max(2.0) rx="2">
                            <title>{bar.label.clone()}</title>
                        </rect>
                    }).collect_view())}
                    <For each=move || layout.with(|l| l.arrows.clone())
                        key=|a| (a.position, a.sent_y.to_bits(), a.received_y.map(f64::to_bits), a.from_x.to_bits(), a.to_x.to_bits(), a.in_flight, a.text.as_ref().map(|t| (t.x.to_bits(), t.y.to_bits(), t.text.clone())))
                        let:arrow>
                        {
                            let position = arrow.position;
                            let (x2, y2, lost) = match arrow.received_y {
                                Some(y) => (arrow.to_x, y, false),
                                None => (arrow.from_x + (arrow.to_x - arrow.from_x) * 0.35, arrow.sent_y + 26.0, true),
                            };
                            view! {
                                <g class="arrow" data-kind=kind_name(arrow.kind) data-label=arrow.label.clone() data-lost=lost.to_string() data-in-flight=arrow.in_flight.to_string()
                                    data-recorded=arrow.recorded.to_string()
                                    class:selected=move || selected.get() == Some(position)
                                    on:click=move |_| selected.set(Some(position))>
                                    <title>{format!("{} · {}", arrow.label, arrow.protocol)}</title>
                                    <line class="hit" x1=arrow.from_x y1=arrow.sent_y x2=x2 y2=y2 />
                                    <line class="shaft" x1=arrow.from_x y1=arrow.sent_y x2=x2 y2=y2 marker-end="url(#arrowhead)" />
                                    {arrow.text.map(|t| view! { <text x=t.x y=t.y>{t.text}</text> })}
                                </g>
                            }
                        }
                    </For>
                </svg>
            </div>
            {move || match details() {
                Some(panel) => panel.into_any(),
                None => view! { <p class="hint">"Click an arrow for its details: ids, times, payload."</p> }.into_any(),
            }}
        </section>
    }
}

/// Brings the window the diagram draws in line with where its scroller really is (changed
/// only when it differs, so an effect that calls it settles).
fn sync_window(el: &web_sys::HtmlDivElement, scroll_top: RwSignal<f64>, viewport: RwSignal<f64>) {
    let top = f64::from(el.scroll_top());
    let height = f64::from(el.client_height());
    if (scroll_top.get_untracked() - top).abs() > 0.5 {
        scroll_top.set(top);
    }
    if height > 0.0 && (viewport.get_untracked() - height).abs() > 0.5 {
        viewport.set(height);
    }
}

/// The head every arrow of a diagram ends in, coloured like its shaft; `id` names it for
/// `marker-end`.
#[component]
pub fn ArrowheadMarker(id: &'static str) -> impl IntoView {
    view! {
        <defs>
            <marker id=id viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" />
            </marker>
        </defs>
    }
}
