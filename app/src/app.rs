//! The page: header, the lesson (or free-play controls) and log on the left, the network view
//! and the sequence diagram on the right.

use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::lesson::{Action, View};
use testbed::scenario::{self, Scenario};
use testbed::NetworkConfig;
use wasm_bindgen::JsCast;

use crate::components::dht_controls::DhtControls;
use crate::components::dht_view::DhtView;
use crate::components::event_log::EventLog;
use crate::components::lesson_panel::{LessonPanel, Place, Predictions};
use crate::components::network_controls::NetworkControls;
use crate::components::network_status::NetworkStatus;
use crate::components::network_view::NetworkView;
use crate::components::ping_controls::PingControls;
use crate::components::relay_badge::RelayBadge;
use crate::components::room_view::RoomView;
use crate::components::sequence_diagram::{default_kinds, SequenceDiagram};
use crate::components::share_link::ShareLink;
use crate::components::snapshot_table::SnapshotTable;
use crate::components::time_controls::TimeControls;
use crate::components::token_controls::TokenControls;
use crate::components::wire_view::WireView;
use crate::keys;
use crate::relay_link::RelayLink;
use crate::session::{PingTarget, Session};
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
    let tab = RwSignal::new(View::Network);
    let only_last_ping = RwSignal::new(false);
    let kinds = RwSignal::new(default_kinds());
    // A lesson step says which view it talks about, and what the diagram draws.
    Effect::new(move || {
        let Some(p) = place.get() else { return };
        let step = lessons.with_value(|all| {
            all.get(p.lesson)
                .and_then(|l| l.steps.get(p.step))
                .map(|s| (s.show, s.focus_last_ping, s.draw.clone()))
        });
        if let Some((show, focus, draw)) = step {
            if let Some(view) = show {
                tab.set(view);
            }
            only_last_ping.set(focus);
            if let Some(draw) = draw {
                kinds.set(draw.into_iter().collect());
            }
        }
    });
    let show_in_diagram = Callback::new(move |position: u64| {
        let kind = session
            .trace
            .with_untracked(|t| t.message(position).map(|m| m.kind));
        if let Some(kind) = kind {
            kinds.update(|k| {
                k.insert(kind);
            });
        }
        only_last_ping.set(false);
        session.selected.set(Some(position));
        tab.set(View::Diagram);
    });

    // "Show me" points at the first arrow drawn since the learner's latest action, of the
    // kinds the diagram shows.
    let first_since_action = Memo::new(move |_| {
        let since = session.since_action.get().message;
        session.trace.with(|trace| {
            kinds.with(|kinds| {
                trace
                    .messages()
                    .rev()
                    .take_while(|m| m.position >= since)
                    .filter(|m| kinds.contains(&m.kind))
                    .last()
                    .map(|m| m.position)
            })
        })
    });
    let show_me = Callback::new(move |()| {
        if let Some(position) = first_since_action.get_untracked() {
            show_in_diagram.run(position);
        }
    });
    let can_show = Signal::derive(move || first_since_action.with(Option::is_some));

    let click_pings_from = Signal::derive(move || {
        let p = place.get()?;
        lessons.with_value(|all| match all.get(p.lesson)?.steps.get(p.step)?.action {
            Some(Action::PingClicked { from }) => Some(from),
            _ => None,
        })
    });
    // A question the learner answers by clicking a peer, while it is open.
    let peer_question = Signal::derive(move || {
        let p = place.get()?;
        let prediction =
            lessons.with_value(|all| all.get(p.lesson)?.steps.get(p.step)?.predict.clone())?;
        (prediction.is_peer_click() && predictions.outcome(session, p.step, &prediction).is_none())
            .then_some((p.step, prediction))
    });
    // The step's action starts a snapshot from the peer the learner clicks.
    let click_starts_snapshot = Signal::derive(move || {
        let p = place.get()?;
        lessons.with_value(|all| {
            let step = all.get(p.lesson)?.steps.get(p.step)?;
            let answered = step.predict.is_none() || predictions.answer_to(p.step).is_some();
            Some(step.action == Some(Action::SnapshotClicked) && answered)
        })
    });
    // A click on a peer (in the network view or on a lifeline head) answers the open
    // question, or starts the step's snapshot.
    let peer_wanted = Signal::derive(move || {
        peer_question.with(Option::is_some) || click_starts_snapshot.get() == Some(true)
    });
    let answer_peer = Callback::new(move |peer: usize| {
        if let Some((step, prediction)) = peer_question.get_untracked() {
            predictions.answer(session, step, &prediction, peer.to_string());
        } else if click_starts_snapshot.get_untracked() == Some(true) {
            session.run_tokens(Action::Snapshot {
                first: peer,
                second: None,
            });
        }
    });
    let predicted_peer = Signal::derive(move || {
        let p = place.get()?;
        let is_click = lessons.with_value(|all| {
            all.get(p.lesson)?
                .steps
                .get(p.step)?
                .predict
                .as_ref()
                .map(|q| q.is_peer_click())
        })?;
        is_click.then(|| predictions.answer_to(p.step)?.parse().ok())?
    });
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
    let start = Callback::new(move |config: NetworkConfig| {
        from.set(0);
        to.set(PingTarget::Random);
        session.start(config);
    });

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

    // The URL always describes what is on screen, so a reload or a shared link rebuilds it.
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
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let url = format!("#{}", scenario::encode(&now));
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    });

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
        <header class="top">
            <div>
                <h1>"p2p-testbed"</h1>
                <p class="tagline">"Real libp2p peers, running in this page. Watch them connect, then make them talk."</p>
            </div>
            <div class="header-tools">
                <details class="keys" prop:open=keys_open on:toggle=move |ev| {
                    let open = ev.target()
                        .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlDetailsElement>(t).ok())
                        .is_some_and(|d| d.open());
                    keys_open.set(open);
                }>
                    <summary aria-keyshortcuts="?">"Keys"</summary>
                    <dl class="key-list">
                        {keys::SHORTCUTS.into_iter().map(|(key, what)| view! {
                            <dt><kbd>{key}</kbd></dt><dd>{what}</dd>
                        }).collect_view()}
                    </dl>
                </details>
                <button type="button" class="quiet" on:click=move |_| welcome.set(true)>"All lessons"</button>
                <ShareLink />
                <RelayBadge status=link.status />
            </div>
        </header>
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
            <div class="side">
                <LessonPanel session=session lessons=lessons place=place predictions=predictions show_me=show_me can_show=can_show />
                <Show when=move || place.get().is_none()>
                    <NetworkControls session=session on_start=start />
                </Show>
                <section class="panel">
                    <NetworkStatus session=session />
                </section>
                <Show when=move || place.get().is_none()>
                    <PingControls session=session from=from to=to />
                    <TokenControls session=session from=from />
                    <Show when=move || session.config.with(|c| c.dht.is_some())>
                        <DhtControls session=session from=from />
                    </Show>
                </Show>
                <EventLog session=session />
            </div>
            <div class="views">
                <TimeControls session=session />
                <SnapshotTable session=session />
                <div class="tabs" role="tablist" aria-label="Views">
                    <button type="button" role="tab" id="tab-network" class="tab"
                        aria-selected=move || (tab.get() == View::Network).to_string()
                        on:click=move |_| tab.set(View::Network)>"Network"</button>
                    <button type="button" role="tab" id="tab-diagram" class="tab"
                        aria-selected=move || (tab.get() == View::Diagram).to_string()
                        on:click=move |_| tab.set(View::Diagram)>"Sequence diagram"</button>
                    <button type="button" role="tab" id="tab-wire" class="tab"
                        aria-selected=move || (tab.get() == View::Wire).to_string()
                        on:click=move |_| tab.set(View::Wire)>"Wire"</button>
                    <button type="button" role="tab" id="tab-room" class="tab"
                        aria-selected=move || (tab.get() == View::Room).to_string()
                        on:click=move |_| tab.set(View::Room)>"Room"</button>
                    <Show when=move || session.config.with(|c| c.dht.is_some())>
                        <button type="button" role="tab" id="tab-dht" class="tab"
                            aria-selected=move || (tab.get() == View::Dht).to_string()
                            on:click=move |_| tab.set(View::Dht)>"DHT"</button>
                    </Show>
                </div>
                <div role="tabpanel" id="network-panel" aria-labelledby="tab-network" class="tab-panel" hidden=move || tab.get() != View::Network>
                    <NetworkView session=session from=from to=to click_pings_from=click_pings_from
                        peer_question_open=peer_wanted
                        answer_peer=answer_peer predicted_peer=predicted_peer />
                </div>
                <div role="tabpanel" id="diagram-panel" aria-labelledby="tab-diagram" class="tab-panel" hidden=move || tab.get() != View::Diagram>
                    <SequenceDiagram session=session visible=Signal::derive(move || tab.get() == View::Diagram)
                        only_last_ping=only_last_ping
                        peer_question_open=peer_wanted
                        answer_peer=answer_peer kinds=kinds />
                </div>
                <div role="tabpanel" aria-labelledby="tab-wire" class="tab-panel" hidden=move || tab.get() != View::Wire>
                    <WireView session=session show_in_diagram=show_in_diagram
                        visible=Signal::derive(move || tab.get() == View::Wire) />
                </div>
                <div role="tabpanel" aria-labelledby="tab-room" class="tab-panel" hidden=move || tab.get() != View::Room>
                    <RoomView link=link />
                </div>
                <div role="tabpanel" aria-labelledby="tab-dht" class="tab-panel" hidden=move || tab.get() != View::Dht>
                    <DhtView session=session visible=Signal::derive(move || tab.get() == View::Dht) />
                </div>
            </div>
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
