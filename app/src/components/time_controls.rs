//! Pace and time: pause, play and step the peers' messages, change their speed, and drag
//! back through the recorded run (the scrubber) without running anything again.

use leptos::ev;
use leptos::prelude::*;
use testbed::pace::SPEEDS;

use crate::keys;
use crate::session::Session;

fn seconds(ms: f64) -> String {
    format!("{:.2} s", ms / 1000.0)
}

#[component]
pub fn TimeControls(session: Session) -> impl IntoView {
    let live = move || session.scrub.get().is_none();
    let shown_at = move || {
        session
            .scrub
            .get()
            .unwrap_or_else(|| session.timeline_end.get())
    };
    let scrub_by = move |forward: bool| {
        let at = shown_at();
        let next = if forward {
            session.moment_after(at)
        } else {
            session.moment_before(at)
        };
        match next {
            // Forward past the last event is live again.
            None if forward => session.scrub.set(None),
            None => {}
            Some(moment) => session.scrub.set(Some(moment)),
        }
    };
    let toggle_pause = move || session.set_paused(!session.paused.get_untracked());
    let handle = window_event_listener(ev::keydown, move |event| {
        let Some(key) = keys::for_page(&event) else {
            return;
        };
        match key.as_str() {
            "p" | "P" => toggle_pause(),
            "." => {
                session.step();
            }
            "[" => scrub_by(false),
            "]" => scrub_by(true),
            "l" | "L" => session.scrub.set(None),
            _ => return,
        }
        event.prevent_default();
    });
    on_cleanup(move || handle.remove());

    view! {
        <div class="time-controls" role="group" aria-label="Pace and time">
            <div class="pace">
                <button type="button" class="quiet" aria-keyshortcuts="P"
                    aria-pressed=move || session.paused.get().to_string()
                    title="Hold every message before it is written (P)"
                    on:click=move |_| toggle_pause()>
                    {move || if session.paused.get() { "Play" } else { "Pause" }}
                </button>
                <button type="button" class="quiet" aria-keyshortcuts="."
                    disabled=move || !session.paused.get() || session.held.get() == 0
                    title="Let the oldest held message go (.)"
                    on:click=move |_| { session.step(); }>"Step ›"</button>
                <label class="speed" title="How fast messages travel: the injected latency is divided by this">
                    "Speed"
                    <select name="speed" on:change=move |ev| {
                        if let Ok(speed) = event_target_value(&ev).parse() {
                            session.set_speed(speed);
                        }
                    }>
                        {SPEEDS.into_iter().map(|speed| view! {
                            <option value=speed.to_string() selected=move || session.speed.get() == speed>
                                {format!("{speed}×")}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <span class="held" role="status">{move || {
                    let held = session.held.get();
                    match (session.paused.get(), held) {
                        (false, _) => String::new(),
                        (true, 0) => "Paused: the next message will wait".into(),
                        (true, 1) => "1 message waiting".into(),
                        (true, n) => format!("{n} messages waiting"),
                    }
                }}</span>
            </div>
            <div class="scrubber">
                <label for="scrubber" class="visually-hidden">"Moment shown"</label>
                <input id="scrubber" type="range" name="scrubber" min="0" step="any"
                    aria-keyshortcuts="[ ]"
                    prop:max=move || session.timeline_end.get()
                    prop:value=shown_at
                    aria-valuetext=move || format!("{} of {}", seconds(shown_at()), seconds(session.timeline_end.get()))
                    on:input=move |ev| {
                        if let Ok(at) = event_target_value(&ev).parse::<f64>() {
                            session.scrub.set(Some(at));
                        }
                    } />
                <span class="scrub-time" data-live=move || live().to_string()
                    title="The recording reaches the newest event or message; while the peers are quiet it does not grow">
                    {move || if live() {
                        format!("Live · {} recorded", seconds(session.timeline_end.get()))
                    } else {
                        format!("{} of {}", seconds(shown_at()), seconds(session.timeline_end.get()))
                    }}
                </span>
                <button type="button" class="quiet" aria-keyshortcuts="L" disabled=live
                    title="Back to the present (L)" on:click=move |_| session.scrub.set(None)>"Live"</button>
            </div>
        </div>
    }
}
