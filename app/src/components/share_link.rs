//! "Copy link": the page's URL, whose fragment rebuilds what is on screen.

use leptos::html::Input;
use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[component]
pub fn ShareLink() -> impl IntoView {
    let link = RwSignal::new(None::<String>);
    let copied = RwSignal::new(false);
    let field = NodeRef::<Input>::new();
    let copy = move |_| {
        let Some(window) = web_sys::window() else {
            return;
        };
        let Ok(href) = window.location().href() else {
            return;
        };
        link.set(Some(href.clone()));
        copied.set(false);
        let clipboard = window.navigator().clipboard();
        leptos::task::spawn_local(async move {
            // Without clipboard access (an insecure origin, a denied permission) the link
            // stays in the field, selected, to copy by hand.
            copied.set(JsFuture::from(clipboard.write_text(&href)).await.is_ok());
            if let Some(input) = field.get_untracked() {
                input.select();
            }
        });
    };
    view! {
        <div class="share">
            <button type="button" class="quiet" on:click=copy
                title="A link that rebuilds this run: same peers, same lesson step, same actions">
                "Copy link"
            </button>
            {move || link.get().map(|href| view! {
                <input class="share-link" readonly node_ref=field prop:value=href aria-label="Link to this run" />
                <span class="hint" role="status">{move || if copied.get() { "Copied" } else { "" }}</span>
            })}
        </div>
    }
}
