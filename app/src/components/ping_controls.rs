//! The original testbed's action: one peer pings another over a fresh stream.

use leptos::prelude::*;
use testbed::protocols::ping::PROTOCOL;
use testbed::NetworkView;

use crate::session::{Phase, PingState, PingTarget, Session};

#[component]
pub fn PingControls(
    session: Session,
    from: RwSignal<usize>,
    to: RwSignal<PingTarget>,
) -> impl IntoView {
    // Memos: the network view changes with every connection, the lists far less often.
    let present = Memo::new(move |_| session.view.with(NetworkView::present));
    // A stream needs a connection: offer the peers `from` is connected to, plus a peer picked
    // in the network view that is not (pinging it explains why it cannot work).
    let targets = Memo::new(move |_| {
        let mut targets = session.view.with(|v| v.neighbours(from.get()));
        if let PingTarget::Peer(picked) = to.get() {
            if !targets.contains(&picked) {
                targets.push(picked);
            }
        }
        targets
    });
    let ready = move || matches!(session.phase.get(), Phase::Ready { .. });
    let to_value = move || match to.get() {
        PingTarget::Random => "random".to_owned(),
        PingTarget::Peer(p) => p.to_string(),
    };
    let result = move || {
        session.last_ping.get().map(|run| {
            let (state, text) = match run.state {
                PingState::Running => (
                    "running",
                    format!("peer {} is pinging peer {}…", run.from, run.to),
                ),
                PingState::Answered { round_trip_ms } => (
                    "answered",
                    format!(
                        "PONG from peer {} to peer {} · {round_trip_ms:.1} ms from opening the stream to both sides closing it",
                        run.to, run.from
                    ),
                ),
                PingState::Failed(error) => ("failed", error),
            };
            view! { <p class="ping-result" data-state=state role="status">{text}</p> }
        })
    };

    view! {
        <section class="panel" aria-labelledby="ping-heading">
            <h2 id="ping-heading">"Ping"</h2>
            <p class="hint">
                "The initiator opens a new stream, agrees on " <code>{PROTOCOL.to_string()}</code>
                ", sends PING and waits for PONG; then each side closes its half of the stream."
            </p>
            <div class="ping-form">
                <label>
                    "From"
                    <select name="from" prop:value=move || from.get().to_string()
                        on:change=move |ev| {
                            if let Ok(p) = event_target_value(&ev).parse() { from.set(p) }
                        }>
                        {move || present.get().into_iter().map(|p| view! {
                            <option value=p.to_string() selected=move || from.get() == p>{format!("peer {p}")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "To"
                    <select name="to" prop:value=to_value
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            to.set(value.parse().map_or(PingTarget::Random, PingTarget::Peer));
                        }>
                        <option value="random">"a random neighbour"</option>
                        {move || targets.get().into_iter().map(|p| view! {
                            <option value=p.to_string() selected=move || to.get() == PingTarget::Peer(p)>{format!("peer {p}")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" disabled=move || !ready()
                    on:click=move |_| session.ping(from.get_untracked(), to.get_untracked())>
                    "Run ping"
                </button>
                <label class="toggle">
                    <input type="checkbox" name="continuous" disabled=move || !ready()
                        prop:checked=move || session.continuous.get()
                        on:change=move |ev| {
                            if event_target_checked(&ev) {
                                session.ping_continuously();
                            } else {
                                session.continuous.set(false);
                            }
                        } />
                    "Keep pinging"
                </label>
            </div>
            {result}
        </section>
    }
}
