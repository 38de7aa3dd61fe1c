//! The diagram's controls: real or Lamport time, zoom, follow, export, and which lifelines:
//! every peer's, only the last ping's, or only those with arrows.

use leptos::prelude::*;
use testbed::diagram::TimeMode;
use testbed::lesson::Focus;

use super::export::export_trace;
use super::ZOOM_STEPS;
use crate::components::toggle::Toggle;
use crate::session::Session;

/// Beyond this many peers the toolbar offers to keep only the lifelines with arrows.
const CROWDED_LIFELINES: usize = 8;

#[component]
pub fn DiagramToolbar(
    session: Session,
    mode: RwSignal<TimeMode>,
    zoom_step: RwSignal<usize>,
    follow: RwSignal<bool>,
    focus: RwSignal<Option<Focus>>,
) -> impl IntoView {
    // Offered where lifelines crowd: a lookup among thirty peers asks a handful.
    let crowded = move || session.view.with(|v| v.peer_count()) > CROWDED_LIFELINES;
    let offers_last_ping = move || session.last_ping.with(Option::is_some);
    // A choice is offered where it helps, and always while it is the one made (a lesson's step
    // may make it before its ping).
    let offered = move |choice: Focus| {
        focus.get() == Some(choice)
            || match choice {
                Focus::LastPing => offers_last_ping(),
                Focus::PeersWithArrows => crowded(),
            }
    };
    view! {
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
        <label class="export" title="Export the trace for Jaeger, Perfetto, ShiViz or Mermaid">
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
                <option value="" selected>"Export…"</option>
                <option value="jaeger">"Jaeger JSON"</option>
                <option value="chrome">"Chrome trace (Perfetto)"</option>
                <option value="shiviz">"ShiViz log"</option>
                <option value="mermaid">"Mermaid sequenceDiagram"</option>
            </select>
        </label>
        // One choice, where a checkbox each wrapped the toolbar onto a second row on a laptop;
        // its choices kept short for a 1280-pixel window.
        <Show when=move || offered(Focus::LastPing) || offered(Focus::PeersWithArrows)>
            <label class="lifelines" title="Which peers keep a lifeline in the diagram">
                "Lifelines"
                <select name="lifelines" on:change=move |ev| focus.set(match event_target_value(&ev).as_str() {
                    "last-ping" => Some(Focus::LastPing),
                    "peers-with-arrows" => Some(Focus::PeersWithArrows),
                    _ => None,
                })>
                    <option value="all" prop:selected=move || focus.get().is_none()>"all peers"</option>
                    // Before the ping every peer is drawn.
                    <Show when=move || offered(Focus::LastPing)>
                        <option value="last-ping" prop:selected=move || focus.get() == Some(Focus::LastPing)>
                            {move || match offers_last_ping() {
                                true => "last ping's peers",
                                false => "last ping's (none yet)",
                            }}
                        </option>
                    </Show>
                    <Show when=move || offered(Focus::PeersWithArrows)>
                        <option value="peers-with-arrows" prop:selected=move || focus.get() == Some(Focus::PeersWithArrows)>
                            "peers with arrows"
                        </option>
                    </Show>
                </select>
            </label>
        </Show>
    </div>
    }
}
