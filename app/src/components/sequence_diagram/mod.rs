//! The live sequence diagram: a lifeline per peer, each message an arrow from its send to its
//! receive. Follows new messages unless paused; zoom; real time or Lamport time; filter by
//! kind and by peer; click an arrow for its details. Only arrows on screen are in the DOM.

use std::collections::HashSet;

use leptos::prelude::*;
use testbed::diagram::{self, Options, TimeMode};
use testbed::lesson::Focus;
use testbed::trace::details::details;
use testbed::trace::mark::MessageKind;
use testbed::PeerId;

use crate::session::Session;

mod drawing;
mod export;
mod filters;
mod scroll;
mod toolbar;

pub use drawing::ArrowheadMarker;
use drawing::{Drawing, LifelineHeads};

use filters::KindFilters;
pub use filters::{default_kinds, kind_name};
use scroll::Scroll;
use toolbar::DiagramToolbar;

const ZOOM_STEPS: [f64; 7] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

#[component]
pub fn SequenceDiagram(
    session: Session,
    visible: Signal<bool>,
    /// Which lifelines are kept (`None`: every peer's).
    focus: RwSignal<Option<Focus>>,
    /// Opens at the first arrow instead of following the newest.
    #[prop(into)]
    from_start: Signal<bool>,
    /// A lesson question is waiting for a peer: clicking a lifeline head answers it.
    peer_question_open: Signal<bool>,
    answer_peer: Callback<usize>,
    /// Kinds of message drawn.
    kinds: RwSignal<HashSet<MessageKind>>,
) -> impl IntoView {
    let mode = RwSignal::new(TimeMode::RealTime);
    let zoom_step = RwSignal::new(3usize);
    let scroll = Scroll::new();
    let available_width = RwSignal::new(0.0);
    let selected = session.selected;

    let offered = Memo::new(move |_| session.trace.with(filters::offered));
    // Peers whose lifeline the learner hid by clicking its head.
    let hidden = RwSignal::new(HashSet::<usize>::new());
    // Hidden, the diagram keeps its lifelines as they were: "peers with arrows" reads the
    // whole trace, which grows with every message.
    let lifelines = Memo::new(move |before: Option<&Vec<(usize, PeerId)>>| {
        if let (false, Some(before)) = (visible.get(), before) {
            return before.clone();
        }
        session.view.with(|view| {
            let ping = session.last_ping.get();
            let focus = focus.get();
            let peers: Vec<usize> = match ping {
                Some(run) if focus == Some(Focus::LastPing) => {
                    vec![run.from.min(run.to), run.from.max(run.to)]
                }
                _ => (0..view.peer_count()).collect(),
            };
            let hidden = hidden.get();
            let with_arrows = (focus == Some(Focus::PeersWithArrows)).then(|| {
                let until = session.scrub.get().unwrap_or(f64::INFINITY);
                kinds.with(|kinds| {
                    session.trace.with(|trace| {
                        trace
                            .messages()
                            .filter(|m| kinds.contains(&m.kind) && m.sent.at_ms <= until)
                            .flat_map(|m| [m.from, m.to])
                            .collect::<HashSet<PeerId>>()
                    })
                })
            });
            peers
                .into_iter()
                .filter(|i| !hidden.contains(i))
                .filter_map(|i| view.peer_id(i).map(|id| (i, id)))
                .filter(|(_, id)| with_arrows.as_ref().is_none_or(|peers| peers.contains(id)))
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
    // A hidden diagram keeps its last layout: laying out a screen of a trace that grows with
    // every message took part of each frame while a hundred peers connected on another tab.
    let layout = Memo::new(move |before: Option<&diagram::Layout>| {
        if let (false, Some(before)) = (visible.get(), before) {
            return before.clone();
        }
        let options = options.get();
        let (top, bottom) = scroll.window();
        session.trace.with(|trace| {
            session
                .bars
                .with(|bars| diagram::layout(trace, bars, &options, top, bottom))
        })
    });

    // How far up and down the arrow of the message at `position` reaches: in the layout,
    // which holds more than the screen shows (the overscan), else in the whole diagram.
    let arrow_extent = move |position: u64| -> Option<(f64, f64)> {
        let find = |l: &diagram::Layout| {
            l.arrows
                .iter()
                .find(|a| a.position == position)
                .map(diagram::Arrow::extent)
        };
        layout.with_untracked(find).or_else(|| {
            session.trace.with_untracked(|trace| {
                session.bars.with_untracked(|bars| {
                    find(&diagram::layout(
                        trace,
                        bars,
                        &options.get_untracked(),
                        f64::MIN,
                        f64::MAX,
                    ))
                })
            })
        })
    };
    // Lifelines spread over the width the diagram has: a change lays out again, and the same
    // width the next time round stops the loop. True when it changed; 0 px (a panel not laid
    // out yet) changes nothing.
    let spread_over = move |el: &web_sys::HtmlDivElement| {
        let width = f64::from(el.client_width());
        let changed = width > 0.0 && (available_width.get_untracked() - width).abs() > 0.5;
        if changed {
            available_width.set(width);
        }
        changed
    };
    // A window made wider or narrower spreads them again, even while no message comes.
    let resize = window_event_listener(leptos::ev::resize, move |_| {
        if let Some(el) = scroll.element.get_untracked() {
            spread_over(&el);
        }
    });
    on_cleanup(move || resize.remove());
    Effect::new(move || {
        layout.track();
        if !visible.get() {
            return;
        }
        let mut resized = false;
        if let Some(el) = scroll.element.get() {
            resized = spread_over(&el);
            if el.client_width() == 0 {
                // Shown this moment, in a panel not laid out yet: measured on the next frame,
                // or the lifelines stay packed at their narrowest until the layout changes.
                request_animation_frame(move || {
                    spread_over(&el);
                });
            }
        }
        // Read only while this layout is the one drawn: after a resize, reading it would lay
        // out again here, and this effect would not run once the new drawing is in place.
        let across = move |left, right, top, bottom| {
            (!resized)
                .then(|| {
                    layout
                        .with_untracked(|l| diagram::across_to(&l.arrows, left, right, top, bottom))
                })
                .flatten()
        };
        scroll.after_layout(selected.get_untracked(), arrow_extent, across);
    });
    // A message picked elsewhere (the wire view, "Show me"): the learner is looking at it.
    Effect::new(move || {
        let Some(position) = selected.get() else {
            return;
        };
        if visible.get() {
            scroll.pick(
                move || selected.get_untracked() == Some(position),
                move || arrow_extent(position),
            );
        }
    });

    // A new action: the learner watches what it does, so an arrow picked before (a step's "Show
    // me") lets go and the diagram follows the newest messages again, or shows the first ones
    // in a step about how the connection began.
    Effect::watch(
        move || session.actions_run.get(),
        move |_, _, _| {
            selected.set(None);
            if from_start.get_untracked() {
                scroll.to_start();
            } else {
                scroll.follow.set(true);
            }
        },
        false,
    );
    // Such a step opens the diagram at its start: at once if it is shown, else when it first
    // is. Back from another tab (its text sends the learner to the Wire tab), the diagram stays
    // where the learner left it. The step after it follows the newest again.
    let start_when_shown = StoredValue::new(false);
    Effect::watch(
        move || from_start.get(),
        move |&now, before, _| {
            let shown = visible.get_untracked();
            start_when_shown.set_value(now && !shown);
            if now && shown {
                scroll.to_start();
            } else if !now && before == Some(&true) {
                scroll.follow.set(true);
            }
        },
        true,
    );
    Effect::watch(
        move || visible.get(),
        move |&shown, _, _| {
            if shown && start_when_shown.get_value() {
                start_when_shown.set_value(false);
                scroll.to_start();
            }
        },
        false,
    );

    let details = move || {
        let position = selected.get()?;
        session.trace.with(|trace| {
            let message = trace.message(position)?;
            let rows = session.view.with(|view| details(message, |p| view.name(p)));
            Some(view! {
                <dl class="arrow-details" aria-live="polite">
                    {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
            })
        })
    };

    view! {
        <section class="diagram" aria-label="Sequence diagram">
            <DiagramToolbar session=session mode=mode zoom_step=zoom_step follow=scroll.follow focus=focus />
            <KindFilters kinds=kinds offered=offered hidden=hidden />
            <div class="diagram-scroll" node_ref=scroll.element on:scroll=move |_| scroll.on_scroll() tabindex="0"
                aria-label="Sequence diagram, newest at the bottom">
                <LifelineHeads layout=layout lifelines=lifelines hidden=hidden
                    peer_question_open=peer_question_open answer_peer=answer_peer />
                <Drawing layout=layout selected=selected />
                {move || session.trace.with(|t| t.is_empty()).then(|| view! {
                    <p class="diagram-empty">"No messages yet. Each message between two peers becomes an arrow here, from a peer's lifeline when it is sent to the other's when it arrives."</p>
                })}
            </div>
            <div class="diagram-foot">
                <div>
                    {move || (mode.get() == TimeMode::Lamport).then(|| view! {
                        <p class="hint">"Only PING and PONG carry a Lamport clock, so only they are drawn here; Real time shows the rest."</p>
                    })}
                    {move || match details() {
                        Some(panel) => panel.into_any(),
                        None => view! { <p class="hint">"Click an arrow for its details: ids, times, payload."</p> }.into_any(),
                    }}
                </div>
                <span class="diagram-count hint">{move || format!("{} messages", layout.with(|l| l.drawn))}</span>
            </div>
        </section>
    }
}
