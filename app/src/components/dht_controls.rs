//! Free play with the DHT: any peer looks up the peers closest to a key, puts or gets a
//! record, announces it provides a key or looks for providers.

use leptos::prelude::*;
use testbed::dht::DhtKey;
use testbed::lesson::{Action, DhtOp};

use crate::session::{Phase, Session};

const OPS: [(DhtOp, &str); 5] = [
    (DhtOp::Lookup, "find the closest peers to"),
    (DhtOp::Put, "put"),
    (DhtOp::Get, "get"),
    (DhtOp::Provide, "provide"),
    (DhtOp::FindProviders, "find providers of"),
];

#[component]
pub fn DhtControls(session: Session, from: RwSignal<usize>) -> impl IntoView {
    let op = RwSignal::new(0usize);
    let record = RwSignal::new(true);
    let number = RwSignal::new("1".to_owned());
    let ready = move || matches!(session.phase.get(), Phase::Ready { .. });
    let busy = move || session.dht.busy.get() > 0;
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(n) = number.get_untracked().trim().parse::<u16>() else {
            session
                .problem
                .set(Some("The key's number: a whole number from 0.".into()));
            return;
        };
        let key = if record.get_untracked() {
            DhtKey::Record(n)
        } else {
            DhtKey::Peer(usize::from(n))
        };
        session.run_dht(Action::Dht {
            from: from.get_untracked(),
            op: OPS[op.get_untracked()].0,
            key,
        });
    };
    view! {
        <section class="panel" aria-labelledby="dht-heading">
            <h2 id="dht-heading">"DHT"</h2>
            <form class="ping-form" on:submit=run>
                <span>{move || format!("Peer {}", from.get())}</span>
                <select aria-label="What to do" on:change=move |ev| {
                    if let Ok(i) = event_target_value(&ev).parse() { op.set(i) }
                }>
                    {OPS.iter().enumerate().map(|(i, (_, name))| view! {
                        <option value=i.to_string()>{*name}</option>
                    }).collect_view()}
                </select>
                <select aria-label="Kind of key" on:change=move |ev| record.set(event_target_value(&ev) == "record")>
                    <option value="record">"record"</option>
                    <option value="peer">"peer"</option>
                </select>
                <input type="number" min="0" aria-label="Key number" class="short"
                    prop:value=number on:input=move |ev| number.set(event_target_value(&ev)) />
                <button type="submit" disabled=move || !ready() || busy()>"Run"</button>
            </form>
            <p class="hint">"Pick the peer that asks by clicking it in the Network view. The DHT tab draws the lookup hop by hop."</p>
        </section>
    }
}
