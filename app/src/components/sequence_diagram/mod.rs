//! The live sequence diagram: a lifeline per peer, each message an arrow from its send to its
//! receive. Follows new messages unless paused; zoom; real time or Lamport time; filter by
//! kind and by peer; click an arrow for its details. Only arrows on screen are in the DOM.

use std::collections::HashSet;

use leptos::html::Div;
use leptos::prelude::*;
use testbed::diagram::{self, Options, TimeMode};
use testbed::trace::details::details;
use testbed::trace::mark::MessageKind;

use crate::session::Session;

mod drawing;
mod export;
mod filters;
mod toolbar;

pub use drawing::ArrowheadMarker;
use drawing::{Drawing, LifelineHeads};

pub use filters::default_kinds;
use filters::{kind_name, KindFilters};
use toolbar::DiagramToolbar;

/// Height of the sticky row of lifeline names over the diagram (1.6rem).
const HEAD_HEIGHT: f64 = 26.0;
/// Arrows this far outside the visible area are drawn too, so scrolling shows no blank edge.
const OVERSCAN: f64 = 400.0;
/// Until the scroller is measured.
const DEFAULT_VIEWPORT: f64 = 560.0;
const ZOOM_STEPS: [f64; 7] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

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
    // The picked arrow is kept on screen until the learner scrolls.
    let pinned = StoredValue::new(false);

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

    // Scrolls the diagram so the arrow of the message at `position` is on screen; true once it
    // is (or when there is no such arrow to show).
    let scroll_to_arrow = move |position: u64| -> bool {
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
            return true;
        };
        // In the scroller, the diagram starts below the sticky row of lifeline names.
        let y = y + HEAD_HEIGHT;
        let height = f64::from(el.client_height());
        let on_screen = |top: f64| y >= top + HEAD_HEIGHT && y <= top + height - 8.0;
        if !on_screen(f64::from(el.scroll_top())) {
            el.set_scroll_top((y - height / 2.0).max(0.0) as i32);
        }
        sync_window(&el, scroll_top, viewport);
        on_screen(f64::from(el.scroll_top()))
    };
    // Follow: keep the newest message in view (also when the tab is shown again); or, once
    // one is picked, that one.
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
        } else if pinned.get_value() {
            // Messages stamped earlier than the picked one can arrive after it (a receive
            // read late from the wire) and push it down: it stays on screen.
            if let Some(position) = selected.get_untracked() {
                scroll_to_arrow(position);
            }
        }
        // A hidden scroller sends no scroll events: the window drawn catches up once shown.
        if let Some(el) = scroller.get() {
            sync_window(&el, scroll_top, viewport);
        }
    });
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
        pinned.set_value(true);
        // Once the panel is drawn (one just shown has no height yet), and again on the next
        // frames while the drawing is shorter than the arrow's place: while peers work, the
        // drawing's height can lag the layout by a frame or two.
        scroll_each_frame_until(SCROLL_TRIES, move || {
            selected.get_untracked() != Some(position) || scroll_to_arrow(position)
        });
    });
    let on_scroll = move |_| {
        if let Some(el) = scroller.get() {
            let top = el.scroll_top() as f64;
            let height = el.client_height() as f64;
            let at_bottom = top + height >= el.scroll_height() as f64 - 8.0;
            // Scrolling back in time pauses following; scrolling down to the end resumes it.
            // Content that grew under a scroll is not the learner scrolling back, and the
            // diagram's own scrolls (following, "Show me") were recorded as they were made.
            let scrolled_up = top < scroll_top.get_untracked() - 1.0;
            let scrolled_down = top > scroll_top.get_untracked() + 1.0;
            if scrolled_up || scrolled_down {
                pinned.set_value(false);
            }
            if follow.get_untracked() && scrolled_up && !at_bottom {
                follow.set(false);
            } else if !follow.get_untracked() && scrolled_down && at_bottom {
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
            <DiagramToolbar session=session mode=mode zoom_step=zoom_step follow=follow only_last_ping=only_last_ping />
            <KindFilters kinds=kinds hidden=hidden drawn=Signal::derive(move || layout.with(|l| l.drawn)) lamport=Signal::derive(move || mode.get() == TimeMode::Lamport) />
            <div class="diagram-scroll" node_ref=scroller on:scroll=on_scroll tabindex="0"
                aria-label="Sequence diagram, newest at the bottom">
                <LifelineHeads layout=layout lifelines=lifelines hidden=hidden
                    peer_question_open=peer_question_open answer_peer=answer_peer />
                <Drawing layout=layout selected=selected />
            </div>
            {move || match details() {
                Some(panel) => panel.into_any(),
                None => view! { <p class="hint">"Click an arrow for its details: ids, times, payload."</p> }.into_any(),
            }}
        </section>
    }
}

/// Frames in which "Show me" tries to bring its arrow on screen (a second at 60 Hz).
const SCROLL_TRIES: u32 = 60;

/// Runs `done` at the next animation frame, and at the ones after until it says it is done,
/// at most `tries` times.
fn scroll_each_frame_until(tries: u32, done: impl Fn() -> bool + Copy + 'static) {
    request_animation_frame(move || {
        if !done() && tries > 1 {
            scroll_each_frame_until(tries - 1, done);
        }
    });
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
