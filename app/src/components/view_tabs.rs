//! The tabs above the views: Network, Sequence diagram, Wire, Room, and DHT when the network
//! runs Kademlia or a lesson shows it before its network starts.

use leptos::prelude::*;
use testbed::lesson::View;

#[component]
pub fn ViewTabs(tab: RwSignal<View>, dht: Signal<bool>) -> impl IntoView {
    let button = move |view: View, id: &'static str, label: &'static str| {
        view! {
            <button type="button" role="tab" id=id class="tab"
                aria-selected=move || (tab.get() == view).to_string()
                on:click=move |_| tab.set(view)>{label}</button>
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label="Views">
            {button(View::Network, "tab-network", "Network")}
            {button(View::Diagram, "tab-diagram", "Sequence diagram")}
            {button(View::Wire, "tab-wire", "Wire")}
            {button(View::Room, "tab-room", "Room")}
            <Show when=move || dht.get() || tab.get() == View::Dht>{button(View::Dht, "tab-dht", "DHT")}</Show>
        </div>
    }
}
