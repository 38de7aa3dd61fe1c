//! Free play with the snapshot lessons' application: tokens moving between neighbours, a
//! Chandy-Lamport snapshot from any peer, a naive snapshot to compare.

use leptos::prelude::*;
use testbed::lesson::Action;

use crate::session::{Phase, Session};

#[component]
pub fn TokenControls(session: Session, from: RwSignal<usize>) -> impl IntoView {
    let ready = move || matches!(session.phase.get(), Phase::Ready { .. });
    let busy = move || session.tokens.busy.get() > 0;
    view! {
        <section class="panel" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Snapshots"</h2>
            <p class="hint">
                "Each peer holds 100 tokens and sends some to its neighbours over FIFO channels. A Chandy-Lamport snapshot records every balance and the tokens in flight; they add up to the total."
            </p>
            <div class="ping-form">
                <button type="button" disabled=move || !ready()
                    on:click=move |_| session.run_tokens(Action::Tokens)>"Move tokens"</button>
                <button type="button" disabled=move || !ready()
                    on:click=move |_| session.run_tokens(Action::Snapshot { first: from.get_untracked(), second: None })>
                    {move || format!("Snapshot from peer {}", from.get())}
                </button>
                <button type="button" class="quiet" disabled=move || !ready()
                    on:click=move |_| session.run_tokens(Action::NaiveSnapshot)>"Naive snapshot"</button>
            </div>
            <Show when=busy>
                <p class="hint" role="status">"Working: opening channels, moving tokens, waiting for markers…"</p>
            </Show>
        </section>
    }
}
