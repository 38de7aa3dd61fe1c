//! A labelled checkbox bound to a boolean signal.

use leptos::prelude::*;

#[component]
pub fn Toggle(
    /// The input's name (tests and forms find it by this).
    name: &'static str,
    #[prop(into)] text: TextProp,
    value: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <label class="toggle">
            <input type="checkbox" name=name prop:checked=value
                on:change=move |ev| value.set(event_target_checked(&ev)) />
            {move || text.get().to_string()}
        </label>
    }
}
