//! What happened, one readable line per event, newest last.

use std::collections::VecDeque;

use leptos::html::Ol;
use leptos::prelude::*;
use testbed::view::Tone;

use crate::components::toggle::Toggle;
use crate::session::NumberedLine;

#[component]
pub fn EventLog(
    log: RwSignal<VecDeque<NumberedLine>>,
    /// The moment the scrubber shows, or None for live.
    scrub: RwSignal<Option<f64>>,
) -> impl IntoView {
    let list = NodeRef::<Ol>::new();
    let pings_only = RwSignal::new(false);
    // Follow the newest line.
    Effect::new(move || {
        log.track();
        pings_only.track();
        if let Some(list) = list.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });
    // At a scrubbed moment, only what had happened by then.
    let lines = move || {
        let until = scrub.get().unwrap_or(f64::INFINITY);
        log.with(|log| {
            log.iter()
                .filter(|l| !pings_only.get() || l.line.tone != Tone::Info)
                .filter(|l| l.line.at_ms <= until)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="panel log-panel" aria-labelledby="log-heading">
            <div class="log-header">
                <h2 id="log-heading">"What happened"</h2>
                <Toggle name="pings-only" text="Only pings and problems" value=pings_only />
            </div>
            <ol class="event-log" node_ref=list aria-live="polite">
                <For each=lines key=|l| l.number let:entry>
                    <li data-tone=match entry.line.tone {
                        Tone::Info => "info",
                        Tone::Ping => "ping",
                        Tone::Problem => "problem",
                    }>
                        <time>{format!("{:>7.1} ms", entry.line.at_ms)}</time>
                        <span>{entry.line.text}</span>
                    </li>
                </For>
            </ol>
        </section>
    }
}
