//! How far the network has got: a progress bar while connections come up, then how long it
//! took. Shown in free play and in lessons alike.

use leptos::prelude::*;

use testbed::network::slow_to_connect;
use testbed::NetworkView;

use crate::session::Phase;

#[component]
pub fn NetworkStatus(phase: RwSignal<Phase>, view: RwSignal<NetworkView>) -> impl IntoView {
    let progress = move || {
        view.with(|view| match phase.get() {
            Phase::Idle => "No in-page network yet.".to_owned(),
            Phase::Loading(what) => format!("Downloading {what}…"),
            Phase::Starting => "Starting peers…".to_owned(),
            Phase::Connecting => {
                let expected = view.expected_connections();
                let line = format!(
                    "Connecting: {} of {} up.",
                    view.connection_count(),
                    testbed::view::counted(expected, "connection", "connections")
                );
                match slow_to_connect(view.peer_count(), expected) {
                    Some(note) => format!("{line} {note}"),
                    None => line,
                }
            }
            Phase::Ready { at_ms, took_ms } => format!(
                "{}. Connected in {:.2} s ({:.2} s after the page opened).",
                view.summary(),
                took_ms / 1000.0,
                at_ms / 1000.0
            ),
            Phase::Failed(message) => message,
        })
    };
    // Once connected the bar stays full: it measures the dialing, and a peer that leaves
    // later takes connections away without undoing it.
    let fraction = move || match phase.get() {
        Phase::Ready { .. } => 1.0,
        _ => view.with(|view| match view.expected_connections() {
            0 => 0.0,
            expected => view.connection_count() as f64 / expected as f64,
        }),
    };

    view! {
        <div class="network-status">
            <div class="progress" role="progressbar" aria-label="Connections up"
                aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", fraction() * 100.0)>
                <div class="bar" style:transform=move || format!("scaleX({:.3})", fraction())></div>
            </div>
            <p class="status" data-phase=move || match phase.get() {
                    Phase::Idle => "idle",
                    Phase::Loading(_) => "loading",
                    Phase::Starting => "starting",
                    Phase::Connecting => "connecting",
                    Phase::Ready { .. } => "ready",
                    Phase::Failed(_) => "failed",
                }
                data-ready-at-ms=move || match phase.get() {
                    Phase::Ready { at_ms, .. } => format!("{at_ms:.1}"),
                    _ => String::new(),
                }
                data-took-ms=move || match phase.get() {
                    Phase::Ready { took_ms, .. } => format!("{took_ms:.1}"),
                    _ => String::new(),
                }>
                {progress}
            </p>
        </div>
    }
}
