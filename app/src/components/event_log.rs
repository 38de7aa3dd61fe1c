//! What happened, one readable line per event, newest last.

use std::collections::VecDeque;

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
    let pings_only = RwSignal::new(false);
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
            // The scroller stacks from the bottom (style.css), so it follows the newest line
            // with no script reading the layout after every batch, and stays where the learner
            // scrolled to read.
            <div class="log-scroller" tabindex="0" aria-labelledby="log-heading">
                <ol class="event-log" aria-live="polite">
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
            </div>
        </section>
    }
}
