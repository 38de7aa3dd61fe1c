//! Free play's churn of one: any peer leaves the running network, and the rest carry on.

use leptos::prelude::*;
use testbed::NetworkView;

use crate::session::{Phase, Session};

#[component]
pub fn LeaveControls(session: Session, from: RwSignal<usize>) -> impl IntoView {
    let ready = move || matches!(session.phase.get(), Phase::Ready { .. });
    // The peers still in the network: only they can leave.
    let present = Memo::new(move |_| session.view.with(NetworkView::present));
    let chosen = RwSignal::new(None::<usize>);
    // The one that leaves: the choice while it is still there, else the last peer present.
    let leaver = move || {
        present.with(|present| {
            chosen
                .get()
                .filter(|peer| present.contains(peer))
                .or_else(|| present.last().copied())
        })
    };
    let leave = move |_| {
        let Some(peer) = leaver() else { return };
        session.leave(peer);
        // The free-play controls act from a peer still there.
        if from.get_untracked() == peer {
            if let Some(first) = present.with_untracked(|p| p.iter().copied().find(|&p| p != peer))
            {
                from.set(first);
            }
        }
    };
    view! {
        <section class="panel" aria-labelledby="leave-heading">
            <h2 id="leave-heading">"A peer leaves"</h2>
            <p class="hint">
                "A peer that leaves stops at once, as a laptop closed mid-run would: its connections close, its lifeline ends in a red ✕ and its tokens go with it. The others carry on without it."
            </p>
            <div class="ping-form">
                <label>
                    "Peer"
                    <select name="leaver" prop:value=move || leaver().map(|p| p.to_string()).unwrap_or_default()
                        on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                        {move || present.get().into_iter().map(|p| view! {
                            <option value=p.to_string()>{format!("peer {p}")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" disabled=move || !ready() || present.with(|p| p.len() <= 2)
                    on:click=leave>
                    "Leave"
                </button>
            </div>
        </section>
    }
}
