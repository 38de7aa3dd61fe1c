//! The first visit's landing: what the page is, the lessons in order (what each teaches and
//! how long it takes), the first one a click away, and free play as one more choice.

use leptos::prelude::*;
use testbed::lesson::Lesson;

/// Remembered in the browser once the learner has chosen, so a return visit goes straight in.
const SEEN_KEY: &str = "p2p-testbed.welcome-seen";

pub fn seen() -> bool {
    storage().is_some_and(|s| s.get_item(SEEN_KEY).ok().flatten().is_some())
}

pub fn mark_seen() {
    if let Some(storage) = storage() {
        let _ = storage.set_item(SEEN_KEY, "1");
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[component]
pub fn Welcome(
    lessons: StoredValue<Vec<Lesson>>,
    choose_lesson: Callback<usize>,
    choose_free_play: Callback<()>,
) -> impl IntoView {
    let first_title = lessons.with_value(|all| all.first().map(|l| l.title.clone()));
    view! {
        <main class="welcome" aria-labelledby="welcome-heading">
            <h2 id="welcome-heading">"Learn how peer-to-peer networks work by watching real ones"</h2>
            <p class="lead">"Every peer here is real rust-libp2p, running in this page: its own identity, encrypted connections, streams. Each lesson makes the peers act, draws every message they exchange, and says what to look for."</p>
            {first_title.map(|title| view! {
                <button type="button" class="start-first" autofocus
                    on:click=move |_| choose_lesson.run(0)>
                    {format!("Start with “{title}”")}
                </button>
            })}
            <h3>"The lessons, in order"</h3>
            <ol class="lesson-list">
                {lessons.with_value(|all| all.iter().enumerate().map(|(i, lesson)| view! {
                    <li>
                        <button type="button" class="lesson-choice" on:click=move |_| choose_lesson.run(i)>
                            <span class="lesson-title">{lesson.title.clone()}</span>
                            <span class="lesson-summary">{lesson.summary.clone()}</span>
                            <span class="lesson-minutes">{format!("about {} min · {} steps", lesson.minutes, lesson.steps.len())}</span>
                        </button>
                    </li>
                }).collect_view())}
            </ol>
            <h3>"Or play freely"</h3>
            <p>"Choose the number of peers, the topology, the seed and the latency; ping, move tokens, take snapshots."</p>
            <button type="button" class="quiet free-play" on:click=move |_| choose_free_play.run(())>"Free play: your own network"</button>
        </main>
    }
}
