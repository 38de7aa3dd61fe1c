//! The DHT view: the key space as a circle (every peer and the key looked up, at their 256-bit
//! positions), the last lookup hop by hop with a chart of the best distance it knew, one
//! peer's routing table as its buckets, and which peers hold each record. A click on a peer
//! shows its routing table.
//!
//! The drawing comes in the DHT's chunk (`lazy`), with the DHT's peers. What is drawn is
//! first computed as a [`Picture`], in a memo: the trace changes with every kad message, the
//! picture far less often; an unchanged picture leaves the page alone, and a changed one
//! touches only what changed (`dom::draw_into`), so the focused peer keeps its focus.

use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::dom::draw_into;
use testbed::NetworkView;

use crate::dht_app::DhtApp;
use crate::lazy::{self, Fetched};
use crate::running::Running;

mod draw;
mod picture;

use draw::picture_nodes;
use picture::Picture;

/// How the DHT tab is drawn: [`dht_state`], once the DHT's chunk has come.
pub type DrawDht =
    fn(DhtApp, Running, RwSignal<NetworkView>, Signal<usize>, Signal<bool>) -> AnyView;

#[component]
pub fn DhtView(
    dht: DhtApp,
    running: Running,
    view: RwSignal<NetworkView>,
    /// How many copies of a record the DHT keeps (r).
    replication: Signal<usize>,
    visible: Signal<bool>,
) -> impl IntoView {
    // The drawing comes with the DHT's chunk, fetched when the tab is first shown.
    let drawing = Fetched::<DrawDht>::default();
    let shown = Memo::new(move |before: Option<&bool>| before == Some(&true) || visible.get());
    move || match shown.get() {
        false => ().into_any(),
        true => drawing.draw(lazy::dht_view, "the DHT's", |draw| {
            draw(dht, running, view, replication, visible)
        }),
    }
}

/// The DHT tab once shown; reached only from [`lazy::dht_view`].
pub fn dht_state(
    dht: DhtApp,
    running: Running,
    view: RwSignal<NetworkView>,
    replication: Signal<usize>,
    visible: Signal<bool>,
) -> AnyView {
    let picture = Memo::new(move |_| match visible.get() {
        true => picture::of(dht, running.trace, view, replication.get()),
        false => Picture::default(),
    });
    let chosen_peer = move |ev: &web_sys::Event, closest: bool| {
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| match closest {
                true => e.closest("[data-peer]").ok().flatten(),
                false => Some(e),
            })
            .and_then(|e| e.get_attribute("data-peer"))
            .and_then(|p| p.parse::<usize>().ok())
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if let Some(peer) = chosen_peer(&ev, true) {
            dht.choose(running, peer);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" || ev.key() == " " {
            if let Some(peer) = chosen_peer(&ev, false) {
                ev.prevent_default();
                dht.choose(running, peer);
            }
        }
    };
    let container = NodeRef::<Div>::new();
    draw_into(container, move || picture.with(picture_nodes));
    view! {
        <div class="dht" node_ref=container on:click=on_click on:keydown=on_key></div>
    }
    .into_any()
}
