//! The diagram's controls: real or Lamport time, zoom, follow, export, and which lifelines:
//! only the last ping's, or only those with arrows.

use leptos::prelude::*;
use testbed::diagram::TimeMode;

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
    only_last_ping: RwSignal<bool>,
    only_peers_with_arrows: RwSignal<bool>,
) -> impl IntoView {
    // Offered where lifelines crowd: a lookup among thirty peers asks a handful.
    let crowded = move || session.view.with(|v| v.peer_count()) > CROWDED_LIFELINES;
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
        // Offered once there is a ping; a lesson's step may check it before its ping, and the
        // diagram shows every peer till then.
        <Show when=move || only_last_ping.get() || session.last_ping.with(Option::is_some)>
            <Toggle name="only-last-ping" value=only_last_ping text=move || match session.last_ping.with(Option::is_some) {
                true => "Only the last ping's peers",
                false => "Only the last ping's peers (no ping yet)",
            } />
        </Show>
        <Show when=move || only_peers_with_arrows.get() || crowded()>
            <Toggle name="only-peers-with-arrows" value=only_peers_with_arrows text="Only peers with arrows" />
        </Show>
    </div>
    }
}
