//! The page: what the link asks for (a lesson, a network, a room) read and set up, then the
//! header, the welcome, and the two columns (`side_column`, `views_column`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::lesson::View;
use testbed::scenario::{self, Scenario};
use wasm_bindgen::JsCast;

use crate::components::lesson_panel::{Place, Predictions};
use crate::components::page_header::PageHeader;
use crate::components::side_column::SideColumn;
use crate::components::views_column::ViewsColumn;
use crate::keys;
use crate::peer_clicks::PeerClicks;
use crate::relay_link::RelayLink;
use crate::session::{PingTarget, Session};
use crate::view_choice::ViewChoice;
use crate::welcome::{self, Welcome};

#[component]
pub fn App() -> impl IntoView {
    let fragment = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let (scenario, problems) = scenario::decode(&fragment);
    let recorder = use_context::<testbed::trace::layer::Recorder>().unwrap_or_default();
    let session = Session::new(scenario.network, recorder);
    if !problems.is_empty() {
        session.problem.set(Some(scenario::explain(&problems)));
    }
    let lessons = StoredValue::new(testbed::lesson::all());
    // A first visit without a link lands on the welcome; a link, or a returning visitor, goes
    // straight where it points.
    let welcome = RwSignal::new(fragment.trim_start_matches('#').is_empty() && !welcome::seen());
    let opened_lesson = scenario
        .lesson
        .as_ref()
        .and_then(|id| lessons.with_value(|all| all.iter().position(|l| &l.id == id)));
    // A lesson about tabs meets in its own room unless the link names one.
    let room = scenario.room.clone().or_else(|| {
        opened_lesson
            .and_then(|i| lessons.with_value(|all| all.get(i).and_then(|l| l.room.clone())))
    });
    let link = RelayLink::start(room);
    // Lesson steps about the room act and check through it.
    provide_context(link);
    let place = RwSignal::new(opened_lesson.map(|lesson| Place {
        lesson,
        step: scenario.step,
    }));
    // A lesson about tabs picked from the menu (or after Reset) meets in its room too.
    Effect::new(move || {
        let Some(p) = place.get() else { return };
        let lesson_room = lessons.with_value(|all| all.get(p.lesson).and_then(|l| l.room.clone()));
        if let Some(room) = lesson_room {
            if link.room.get_untracked().is_none() {
                link.room.set(Some(room));
            }
        }
    });
    let predictions = Predictions::new(scenario.answers.clone());
    let views = ViewChoice::new(lessons, place);
    let tab = views.tab;
    // Rooms are first used when the Room tab opens.
    Effect::new(move || {
        if tab.get() == View::Room {
            link.wake();
        }
    });
    let show_in_diagram = views.show_in_diagram(session);
    let (show_me, can_show) = views.show_me(session);

    let clicks = PeerClicks::new(session, lessons, place, predictions);
    let keys_open = RwSignal::new(false);
    let key_handle = window_event_listener(leptos::ev::keydown, move |event| {
        match keys::for_page(&event).as_deref() {
            Some("?") => keys_open.update(|open| *open = !*open),
            Some("n" | "N") => show_view(tab, View::Network),
            Some("d" | "D") => show_view(tab, View::Diagram),
            _ => return,
        }
        event.prevent_default();
    });
    on_cleanup(move || key_handle.remove());

    let from = RwSignal::new(0usize);
    let to = RwSignal::new(PingTarget::Random);

    // Rebuild the run the link describes: free play starts its network at once; a lesson
    // waits for the learner unless the link carries actions to replay.
    let network = opened_lesson
        .and_then(|i| lessons.with_value(|all| all.get(i).map(|l| l.network)))
        .unwrap_or(scenario.network);
    if scenario.actions.is_empty() {
        if place.get_untracked().is_none() && !welcome.get_untracked() {
            session.start(network);
        }
    } else {
        spawn_local(session.replay(network, scenario.actions));
    }

    let leaving = StoredValue::new(false);
    keep_link_current(session, lessons, place, predictions, link, leaving);
    let hash_handle = window_event_listener(leptos::ev::hashchange, move |_| {
        leaving.set_value(true);
        reload();
    });
    on_cleanup(move || hash_handle.remove());

    let choose_lesson = Callback::new(move |lesson: usize| {
        welcome::mark_seen();
        welcome.set(false);
        session.stop();
        predictions.clear();
        place.set(Some(Place { lesson, step: 0 }));
    });
    let choose_free_play = Callback::new(move |()| {
        welcome::mark_seen();
        welcome.set(false);
        predictions.clear();
        place.set(None);
        session.start(network);
    });

    view! {
        <nav class="skip-links" aria-label="Skip to">
            <a href="#tab-network" on:click=move |ev| { ev.prevent_default(); show_view(tab, View::Network); }>"Skip to the network view (N)"</a>
            <a href="#tab-diagram" on:click=move |ev| { ev.prevent_default(); show_view(tab, View::Diagram); }>"Skip to the sequence diagram (D)"</a>
        </nav>
        <PageHeader welcome=welcome keys_open=keys_open relay=link.status />
        {move || session.problem.get().map(|message| view! {
            <div class="problem" role="alert">
                <p>{message}</p>
                <button type="button" on:click=move |_| session.problem.set(None)>"Dismiss"</button>
            </div>
        })}
        <Show when=move || welcome.get()>
            <Welcome lessons=lessons choose_lesson=choose_lesson choose_free_play=choose_free_play />
        </Show>
        <main class="layout" hidden=move || welcome.get()>
            <SideColumn session=session lessons=lessons place=place predictions=predictions
                show_me=show_me can_show=can_show from=from to=to />
            <ViewsColumn session=session views=views clicks=clicks link=link
                show_in_diagram=show_in_diagram from=from to=to />
        </main>
    }
}

/// Shows `view` and puts the keyboard focus in it: on its first peer or lifeline, where
/// Enter acts.
fn show_view(tab: RwSignal<View>, view: View) {
    tab.set(view);
    let selector = match view {
        View::Diagram => "#diagram-panel .lifeline-head",
        _ => "#network-panel .peer",
    };
    // Once the panel is shown.
    request_animation_frame(move || {
        let target = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten());
        // A peer is an SVG element: focus() is there, though not on web-sys's Element.
        let focus = target.as_ref().and_then(|t| {
            js_sys::Reflect::get(t, &"focus".into())
                .ok()?
                .dyn_into::<js_sys::Function>()
                .ok()
        });
        if let (Some(target), Some(focus)) = (target, focus) {
            let _ = focus.call0(&target);
        }
    });
}

/// A link pasted into this tab (or Back to the link before it) changes only the fragment, and
/// a browser loads nothing for that: the page loads again, to rebuild the run the link
/// describes as a new tab would.
fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// The URL always describes what is on screen, so a reload or a shared link rebuilds it;
/// once `leaving` (a new link is loading), it is the new link's.
fn keep_link_current(
    session: Session,
    lessons: StoredValue<Vec<testbed::lesson::Lesson>>,
    place: RwSignal<Option<Place>>,
    predictions: Predictions,
    link: RelayLink,
    leaving: StoredValue<bool>,
) {
    Effect::new(move || {
        let now = Scenario {
            network: session.config.get(),
            lesson: place
                .get()
                .and_then(|p| lessons.with_value(|all| all.get(p.lesson).map(|l| l.id.clone()))),
            step: place.get().map_or(0, |p| p.step),
            actions: session.actions.get(),
            answers: predictions.answers.get(),
            room: link.room.get(),
        };
        if leaving.get_value() {
            return;
        }
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let url = format!("#{}", scenario::encode(&now));
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    });
}
