//! The page's header: its name, the keyboard shortcuts, the way back to every lesson, the
//! share link and the relay's status.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::relay_badge::RelayBadge;
use crate::components::share_link::ShareLink;
use crate::keys;
use crate::relay_link::RelayStatus;

#[component]
pub fn PageHeader(
    /// Whether the welcome (every lesson) is shown.
    welcome: RwSignal<bool>,
    /// Whether the list of keys is open: `?` toggles it from anywhere on the page.
    keys_open: RwSignal<bool>,
    relay: RwSignal<RelayStatus>,
) -> impl IntoView {
    let on_toggle = move |ev: leptos::ev::Event| {
        let open = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok())
            .is_some_and(|d| d.open());
        keys_open.set(open);
    };
    view! {
        <header class="top">
            <div>
                <h1>"p2p-testbed"</h1>
                <p class="tagline">"Real libp2p peers, running in this page. Watch them connect, then make them talk."</p>
            </div>
            <div class="header-tools">
                <details class="keys" prop:open=keys_open on:toggle=on_toggle>
                    <summary aria-keyshortcuts="?">"Keys"</summary>
                    <dl class="key-list">
                        {keys::SHORTCUTS.into_iter().map(|(key, what)| view! {
                            <dt><kbd>{key}</kbd></dt><dd>{what}</dd>
                        }).collect_view()}
                    </dl>
                </details>
                <button type="button" class="quiet" on:click=move |_| welcome.set(true)>"All lessons"</button>
                <ShareLink />
                <RelayBadge status=relay />
            </div>
        </header>
    }
}
