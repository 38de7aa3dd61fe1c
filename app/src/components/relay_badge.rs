//! The relay's state in the header: optional, so never alarming.

use leptos::prelude::*;

use crate::relay_link::RelayStatus;

#[component]
pub fn RelayBadge(status: RwSignal<RelayStatus>) -> impl IntoView {
    let state = move || match status.get() {
        RelayStatus::NotStarted => "idle",
        RelayStatus::Looking { .. } | RelayStatus::Connecting { .. } => "pending",
        RelayStatus::Connected { .. } => "connected",
        RelayStatus::Absent { .. } | RelayStatus::Lost { .. } => "absent",
    };
    let text = move || match status.get() {
        RelayStatus::NotStarted => "Relay: not needed yet".to_owned(),
        RelayStatus::Looking { info_url } => format!("Relay: looking at {info_url}…"),
        RelayStatus::Connecting { .. } => "Relay: connecting over WebSocket…".to_owned(),
        RelayStatus::Connected {
            relay,
            round_trip_ms,
        } => match round_trip_ms {
            Some(ms) => format!("Relay {relay} reached · {ms:.0} ms round trip"),
            None => format!("Relay {relay} reached"),
        },
        RelayStatus::Absent { .. } => "No relay: in-page peers work without it".to_owned(),
        RelayStatus::Lost { .. } => "Relay lost: in-page peers go on".to_owned(),
    };
    let detail = move || match status.get() {
        RelayStatus::Absent { reason, retry_in } | RelayStatus::Lost { reason, retry_in } => {
            format!("{reason}. Trying again in {retry_in} s.")
        }
        RelayStatus::Connecting { address } => address,
        RelayStatus::NotStarted => {
            "This tab's own peer starts when you open the Room tab or a lesson about tabs."
                .to_owned()
        }
        RelayStatus::Looking { info_url } => info_url,
        RelayStatus::Connected { .. } => {
            "This tab's own peer is connected to the native relay.".to_owned()
        }
    };
    view! {
        <p class="relay-badge" data-state=state title=detail role="status">
            <span class="dot" aria-hidden="true"></span>
            {text}
        </p>
    }
}
