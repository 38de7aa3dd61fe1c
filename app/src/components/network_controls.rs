//! Choose the network: how many peers, how they connect, and the seed of their identities.

use leptos::prelude::*;
use testbed::dht::slow_to_settle;
use testbed::network::{slow_to_connect, MAX_LATENCY_MS};
use testbed::view::counted;
use testbed::{NetworkConfig, Topology, MAX_PEERS};

#[component]
pub fn NetworkControls(
    config: RwSignal<NetworkConfig>,
    on_start: Callback<NetworkConfig>,
) -> impl IntoView {
    let initial = config.get_untracked();
    let peers = RwSignal::new(initial.peers.to_string());
    let topology = RwSignal::new(initial.topology);
    let seed = RwSignal::new(initial.seed.to_string());
    let latency = RwSignal::new(initial.latency_ms.to_string());
    let dht = RwSignal::new(initial.dht.is_some());
    let invalid = RwSignal::new(None::<String>);

    // A scenario change from outside (the URL) shows in the form.
    Effect::new(move || {
        let config = config.get();
        peers.set(config.peers.to_string());
        topology.set(config.topology);
        seed.set(config.seed.to_string());
        latency.set(config.latency_ms.to_string());
        dht.set(config.dht.is_some());
    });

    // The peers and connections the form describes, told before the learner waits for them.
    let chosen = Memo::new(move |_| {
        let peers = peers_from(&peers.get())?;
        let seed = seed_from(&seed.get())?;
        Some((peers, topology.get().dials(peers, seed).len()))
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(peers) = peers_from(&peers.get_untracked()) else {
            invalid.set(Some(format!("Peers: a number from 2 to {MAX_PEERS}.")));
            return;
        };
        let Some(seed) = seed_from(&seed.get_untracked()) else {
            invalid.set(Some("Seed: a whole number, 0 or more.".into()));
            return;
        };
        let latency_ms = match latency.get_untracked().trim().parse::<u64>() {
            Ok(ms) if ms <= MAX_LATENCY_MS => ms,
            _ => {
                invalid.set(Some(format!(
                    "Latency: milliseconds from 0 to {MAX_LATENCY_MS}."
                )));
                return;
            }
        };
        invalid.set(None);
        on_start.run(NetworkConfig {
            peers,
            topology: topology.get_untracked(),
            seed,
            latency_ms,
            dht: dht
                .get_untracked()
                .then(|| config.get_untracked().dht.unwrap_or_default()),
        });
    };

    view! {
        <section class="panel" aria-labelledby="network-heading">
            <h2 id="network-heading">"Network"</h2>
            <form class="network-form" on:submit=submit>
                <label>
                    "Peers"
                    <input type="number" min="2" max=MAX_PEERS.to_string() name="peers"
                        prop:value=peers on:input=move |ev| peers.set(event_target_value(&ev)) />
                </label>
                <label>
                    "Topology"
                    <select name="topology"
                        on:change=move |ev| {
                            if let Ok(t) = event_target_value(&ev).parse() { topology.set(t) }
                        }>
                        {Topology::ALL.into_iter().map(|t| view! {
                            <option value=t.name() selected=move || topology.get() == t>{t.name()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "Seed"
                    <input type="number" min="0" name="seed"
                        prop:value=seed on:input=move |ev| seed.set(event_target_value(&ev)) />
                </label>
                <label title="How long each PING and PONG is held before it is sent, as if the link were slow">
                    "Latency (ms)"
                    <input type="number" min="0" max=MAX_LATENCY_MS.to_string() name="latency"
                        prop:value=latency on:input=move |ev| latency.set(event_target_value(&ev)) />
                </label>
                <label class="check" title="Every peer runs libp2p-kad: lookups, records, routing tables (the DHT tab)">
                    <input type="checkbox" name="dht" prop:checked=dht
                        on:change=move |ev| dht.set(event_target_checked(&ev)) />
                    "Kademlia DHT"
                </label>
                <button type="submit">"Start network"</button>
            </form>
            <p class="hint">
                {move || topology.get().description()}
                {move || chosen.get().map(|(_, connections)| format!(": {}", counted(connections, "connection", "connections")))}
                ". The seed fixes every peer's identity."
                {move || chosen.get().map(|(peers, connections)| {
                    let slow = [
                        slow_to_connect(peers, connections),
                        dht.get().then(|| slow_to_settle(peers).map(String::from)).flatten(),
                    ];
                    slow.into_iter().flatten().map(|s| format!(" {s}")).collect::<String>()
                })}
            </p>
            {move || invalid.get().map(|message| view! { <p class="invalid" role="alert">{message}</p> })}
        </section>
    }
}

/// The peer count typed in the form, if it is one a network may have.
fn peers_from(text: &str) -> Option<usize> {
    text.trim()
        .parse()
        .ok()
        .filter(|n| (2..=MAX_PEERS).contains(n))
}

/// The seed typed in the form, if it is one.
fn seed_from(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}
