//! The diagram itself: lifelines, the gaps where long pauses were shortened, snapshot cuts,
//! span bars, and an arrow per message (only those on screen are in the DOM).

use std::collections::HashSet;

use leptos::prelude::*;
use testbed::diagram::{self, Layout};

use super::kind_name;

/// The row of lifeline names over the diagram: a click hides a lifeline, or answers the
/// lesson's question about a peer.
#[component]
pub fn LifelineHeads(
    layout: Memo<Layout>,
    /// (index, PeerId) of each lifeline drawn.
    lifelines: Memo<Vec<(usize, testbed::PeerId)>>,
    hidden: RwSignal<HashSet<usize>>,
    peer_question_open: Signal<bool>,
    answer_peer: Callback<usize>,
) -> impl IntoView {
    view! {
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
                            data-choosing=move || peer_question_open.get().to_string()
                            on:click=move |_| if peer_question_open.get_untracked() {
                                answer_peer.run(index);
                            } else {
                                hidden.update(|h| { h.insert(index); });
                            }>{text}</button>
                    }
                }).collect_view()
            }}
        </div>
    }
}

#[component]
pub fn Drawing(layout: Memo<Layout>, selected: RwSignal<Option<u64>>) -> impl IntoView {
    view! {
        <svg class="diagram-svg" width=move || layout.with(|l| l.width) height=move || layout.with(|l| l.height)>
            <ArrowheadMarker id="arrowhead" />
            {move || layout.with(|l| l.lifeline_x.iter().zip(&l.lifeline_ends).map(|(&x, end)| view! {
                <line class="lifeline" x1=x y1="0" x2=x y2=end.unwrap_or(l.height) />
                {end.map(|y| view! {
                    // UML's mark for a lifeline's end: this peer went away here.
                    <g class="departure">
                        <title>"This peer left the network here: its connections dropped at once."</title>
                        <path d=format!("M {} {} l 12 12 m 0 -12 l -12 12", x - 6.0, y - 6.0) />
                        <text x=x + 10.0 y=y + 4.0>"left"</text>
                    </g>
                })}
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
                            format!("{name}: each peer recorded its balance when told, all at once")
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
                    let (x2, y2) = arrow.end();
                    let lost = arrow.received_y.is_none();
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
