//! The walkthrough: pick a lesson, read a step, predict what the peers will do, run the
//! step's action, see whether the run agreed, then go on. Usable by keyboard alone.

use std::collections::BTreeMap;

use leptos::ev;
use leptos::prelude::*;
use testbed::lesson::{Action, DhtOp, Expectation, Inline, Lesson, Prediction};
use testbed::trace::mark::MessageKind;

use crate::keys;
use crate::relay_link::RelayLink;
use crate::session::{Phase, PingTarget, Session};

/// Where the learner is: a lesson (by index in the catalogue) and a step, or free play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub lesson: usize,
    pub step: usize,
}

/// The learner's predictions in the current lesson.
#[derive(Clone, Copy)]
pub struct Predictions {
    /// Step → the answer's key. Kept in the scenario link.
    pub answers: RwSignal<BTreeMap<usize, String>>,
    /// Step → `Session::actions_run` when it was answered: the run checks it only after.
    answered_at: RwSignal<BTreeMap<usize, u64>>,
}

/// What the run said about a prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub answer: String,
    pub observed: String,
}

impl Predictions {
    /// Answers restored from a link count as made before anything ran.
    pub fn new(answers: BTreeMap<usize, String>) -> Predictions {
        Predictions {
            answers: RwSignal::new(answers),
            answered_at: RwSignal::new(BTreeMap::new()),
        }
    }

    pub fn clear(self) {
        self.answers.set(BTreeMap::new());
        self.answered_at.set(BTreeMap::new());
    }

    /// Records an answer, unless the run has already answered the question.
    pub fn answer(self, session: Session, step: usize, prediction: &Prediction, key: String) {
        if self.outcome(session, step, prediction).is_some() {
            return;
        }
        let run = session.actions_run.get_untracked();
        self.answers.update(|a| {
            a.insert(step, key);
        });
        self.answered_at.update(|a| {
            a.insert(step, run);
        });
        // What comes next is running the action: Space or Enter there does it. Once the
        // page has enabled the button, on the next frame.
        request_animation_frame(|| {
            let button = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector(".step-action").ok().flatten())
                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
            if let Some(button) = button {
                let _ = button.focus();
            }
        });
    }

    pub fn answer_to(self, step: usize) -> Option<String> {
        self.answers.with(|a| a.get(&step).cloned())
    }

    /// The run's answer, once an action has run after the learner's and the trace shows it.
    pub fn outcome(
        self,
        session: Session,
        step: usize,
        prediction: &Prediction,
    ) -> Option<Outcome> {
        let answer = self.answer_to(step)?;
        let since = self
            .answered_at
            .with(|a| a.get(&step).copied().unwrap_or(0));
        if session.actions_run.get() <= since {
            return None;
        }
        let observed = if prediction.measure.in_room() {
            let link = use_context::<RelayLink>()?;
            link.members.with(|members| {
                link.trace
                    .with(|trace| prediction.measure.observe_in_room(members, trace))
            })?
        } else {
            let pair = session.last_ping_pair();
            session.view.with(|view| {
                session
                    .trace
                    .with(|trace| prediction.measure.observe(view, trace, pair))
            })?
        };
        Some(Outcome { answer, observed })
    }
}

fn action_label(action: Action) -> String {
    match action {
        Action::StartNetwork => "Start the network".into(),
        Action::Ping { from, to: None } => format!("Ping from peer {from} to a random peer"),
        Action::Ping { from, to: Some(to) } => format!("Ping from peer {from} to peer {to}"),
        Action::PingClicked { from } => {
            format!("Click a peer in the Network view: peer {from} pings it")
        }
        Action::Transfer(transfer) => transfer.describe(),
        Action::Tokens => "Move tokens".into(),
        Action::Snapshot {
            first,
            second: None,
        } => format!("Snapshot from peer {first}"),
        Action::Snapshot {
            first,
            second: Some(second),
        } => format!("Snapshots from peers {first} and {second} at once"),
        Action::SnapshotClicked => "Click a peer: it starts the snapshot".into(),
        Action::NaiveSnapshot => "Naive snapshot: everyone records now".into(),
        Action::LeaveDuringSnapshot { leaver, initiator } => {
            format!("Snapshot from peer {initiator}, and peer {leaver} leaves")
        }
        Action::Dht { from, op, key } => match op {
            DhtOp::Lookup => format!("Peer {from} looks up the peers closest to {key}"),
            DhtOp::Put => format!("Peer {from} puts {key}"),
            DhtOp::Get => format!("Peer {from} gets {key}"),
            DhtOp::Provide => format!("Peer {from} announces it provides {key}"),
            DhtOp::FindProviders => format!("Peer {from} looks for providers of {key}"),
        },
        Action::Churn { percent } => format!("{percent}% of the peers leave"),
        Action::Leave { peer } => format!("Peer {peer} leaves"),
        Action::PingRoom => "Ping every other tab of the room".into(),
        // Lessons refuse it; only links carry it.
        Action::Meanwhile { after_ms } => format!("{after_ms} ms later"),
    }
}

/// Runs a lesson action on the session.
pub fn run_action(session: Session, lesson: &Lesson, action: Action) {
    match action {
        Action::StartNetwork => session.start(lesson.network),
        Action::Ping { from, to } => {
            session.ping(from, to.map_or(PingTarget::Random, PingTarget::Peer))
        }
        Action::Transfer(transfer) => session.transfer(transfer),
        Action::Tokens
        | Action::Snapshot { .. }
        | Action::NaiveSnapshot
        | Action::LeaveDuringSnapshot { .. } => session.run_tokens(action),
        Action::Dht { .. } | Action::Churn { .. } => session.run_dht(action),
        Action::Leave { peer } => session.leave(peer),
        Action::PingRoom => {
            if let Some(link) = use_context::<RelayLink>() {
                link.ping_everyone();
                session.action_ran();
            }
        }
        Action::PingClicked { .. } | Action::SnapshotClicked | Action::Meanwhile { .. } => {}
    }
}

/// Whether the step was opened by a link that carries none of the earlier steps' actions, so
/// that no network runs: its own action would act on nothing.
fn waits_for_earlier_steps(session: Session, lesson: &Lesson, step: usize) -> bool {
    matches!(session.phase.get(), Phase::Idle) && !lesson.catch_up(step).is_empty()
}

/// Offered on a step opened by a link that carries none of the earlier steps' actions, so
/// that no network runs: runs them one after the other, and the step has what it talks about.
/// While they (or a link's own actions) replay, says that the step's action waits for them.
#[component]
fn CatchUp(session: Session, lesson: Lesson, step: usize) -> impl IntoView {
    let actions = StoredValue::new(lesson.catch_up(step));
    let network = lesson.network;
    let offered = move || waits_for_earlier_steps(session, &lesson, step);
    let label = match step {
        1 => "Run step 1 first".to_string(),
        _ => format!("Run steps 1–{step} first"),
    };
    view! {
        <Show when=offered>
            <div class="catch-up" role="note">
                <p>"This step goes on from the steps before it, which have not run in this tab. Its own action waits for them."</p>
                <button type="button" on:click=move |_| {
                    leptos::task::spawn_local(session.replay(network, actions.get_value()));
                }>{label.clone()}</button>
            </div>
        </Show>
        <Show when=move || session.replaying.get()>
            <p class="catch-up" role="status">"Running the actions before this step; its own waits until they are done."</p>
        </Show>
    }
}

/// The arrow of the room's diagram a room step is about: a selector, and whether the first
/// or the last match (the room's diagram follows the newest arrows, so the first PING may be
/// far above by the time the learner reads about it).
fn room_arrow(expect: Expectation) -> Option<(&'static str, bool)> {
    Some(match expect {
        Expectation::RoomPong => (
            ".room-diagram .arrow[data-kind=\"envelope\"][data-path=\"relayed\"]",
            true,
        ),
        Expectation::RoomDirect => (".room-diagram .arrow[data-kind=\"signal\"]", true),
        Expectation::RoomPongDirect | Expectation::RoomPongWithoutRelay => (
            ".room-diagram .arrow[data-kind=\"envelope\"][data-path=\"direct\"][data-label=\"PONG\"]",
            false,
        ),
        _ => return None,
    })
}

/// Scrolls the room's diagram (and the page) to the arrow a room step is about.
fn show_in_room(expect: Expectation) {
    let Some((selector, first)) = room_arrow(expect) else {
        return;
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(found) = document.query_selector_all(selector) else {
        return;
    };
    let index = if first {
        0
    } else {
        found.length().saturating_sub(1)
    };
    if let Some(arrow) = found
        .item(index)
        .and_then(|node| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(node).ok())
    {
        arrow.scroll_into_view_with_bool(false);
        let _ = arrow.set_attribute("data-shown", "true");
    }
}

#[component]
pub fn LessonPanel(
    session: Session,
    lessons: StoredValue<Vec<Lesson>>,
    place: RwSignal<Option<Place>>,
    predictions: Predictions,
    /// Shows, in the diagram, the first arrow the step's action drew (of the kind that shows its
    /// expectation met, where one kind does).
    show_me: Callback<Option<MessageKind>>,
    /// Whether the step's action drew an arrow the diagram shows.
    can_show: Signal<bool>,
) -> impl IntoView {
    let step = move || {
        let place = place.get()?;
        lessons.with_value(|all| {
            let lesson = all.get(place.lesson)?;
            Some((lesson.clone(), place.step))
        })
    };
    let met_now = Memo::new(move |_| {
        let Some((lesson, index)) = step() else {
            return false;
        };
        let Some(expect) = lesson.steps.get(index).and_then(|s| s.expect) else {
            return true;
        };
        if expect.in_room() {
            return use_context::<RelayLink>().is_some_and(|link| {
                link.members.with(|members| {
                    link.trace
                        .with(|trace| expect.is_met_in_room(members, trace))
                })
            });
        }
        if expect == Expectation::Churned {
            // Met once the last leaver has stopped: the first one gone is not the churn.
            return session.dht.left.with(|left| {
                session
                    .view
                    .with(|view| testbed::lesson::churn_is_over(view, left))
            });
        }
        if expect == Expectation::Healed {
            let replication = session.replication().get();
            let dht = session.dht;
            // Healed after a churn: before one, an empty store would count as healed.
            return dht.left.with(|left| {
                !left.is_empty()
                    && dht.holdings.with(|holdings| {
                        session.view.with(|view| {
                            testbed::dht::healed(
                                holdings,
                                view.peer_ids(),
                                |p| left.contains(&p),
                                replication,
                            )
                        })
                    })
            });
        }
        let pair = session.last_ping_pair();
        let since = session.since_action.get();
        session.view.with(|view| {
            session
                .trace
                .with(|trace| expect.is_met(view, trace, pair, since))
        })
    });
    // "✓ Seen" stays seen for this visit of the step: the DHT's background upkeep may change what
    // was seen a moment later, and a tick that comes and goes would only confuse.
    let visit = move || {
        (
            place.get(),
            session.actions_run.get(),
            session.actions.with(Vec::len),
        )
    };
    let met = seen_this_visit(visit, move || met_now.get());
    let offer_show_me = seen_this_visit(visit, move || met.get() && can_show.get());
    let choose = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        session.stop();
        predictions.clear();
        match value.parse::<usize>() {
            Ok(lesson) => place.set(Some(Place { lesson, step: 0 })),
            Err(_) => {
                place.set(None);
                session.start(session.config.get_untracked());
            }
        }
    };
    let go = move |delta: isize| {
        place.update(|p| {
            if let Some(p) = p {
                p.step = p.step.saturating_add_signed(delta);
            }
        })
    };
    // The action may run once the actions replayed before it are done and the step's question,
    // if any, is answered.
    let may_run = move |index: usize, lesson: &Lesson| {
        !session.replaying.get()
            && lesson.steps.get(index).is_some_and(|s| {
                (s.predict.is_none() || predictions.answers.with(|a| a.contains_key(&index)))
                    && !waits_for_earlier_steps(session, lesson, index)
            })
    };

    let handle = window_event_listener(ev::keydown, move |event| {
        let Some(key) = keys::for_page(&event) else {
            return;
        };
        let Some((lesson, index)) = step() else {
            return;
        };
        // On an answer's radio button, Space and the arrows would choose an answer by
        // themselves: here they do what they do everywhere else in the lesson, or nothing.
        if keys::on_radio(&event) && (key == " " || key.starts_with("Arrow")) {
            event.prevent_default();
        }
        let current = &lesson.steps[index];
        match key.as_str() {
            " " => match current.action {
                Some(action)
                    if !matches!(action, Action::PingClicked { .. } | Action::SnapshotClicked)
                        && may_run(index, &lesson) =>
                {
                    run_action(session, &lesson, action)
                }
                _ => return,
            },
            "ArrowRight" if met.get_untracked() && index + 1 < lesson.steps.len() => go(1),
            "ArrowLeft" if index > 0 => go(-1),
            digit => {
                let chosen = digit
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|n| current.predict.as_ref()?.choices.get(n));
                let (Some(choice), Some(prediction)) = (chosen, current.predict.as_ref()) else {
                    return;
                };
                predictions.answer(session, index, prediction, choice.key.clone());
            }
        }
        event.prevent_default();
    });
    on_cleanup(move || handle.remove());

    view! {
        <section class="panel lesson" aria-labelledby="lesson-heading">
            <label class="lesson-picker">
                "Lesson"
                <select name="lesson" on:change=choose>
                    <option value="free" selected=move || place.get().is_none()>"Free play: your own network"</option>
                    {lessons.with_value(|all| all.iter().enumerate().map(|(i, l)| view! {
                        <option value=i.to_string() selected=move || place.get().map(|p| p.lesson) == Some(i)>{l.title.clone()}</option>
                    }).collect_view())}
                </select>
            </label>
            {move || step().map(|(lesson, index)| {
                let count = lesson.steps.len();
                let current = lesson.steps[index.min(count - 1)].clone();
                let action = current.action;
                let expect = current.expect;
                let lesson_for_action = lesson.clone();
                let lesson_for_check = lesson.clone();
                let last = index + 1 == count;
                let next_disabled = move || !met.get() || last;
                view! {
                    <p class="step-count">{format!("Step {} of {count}", index + 1)}</p>
                    <h2 id="lesson-heading" class="step-title">{current.title.clone()}</h2>
                    <div class="step-text">
                        {current.paragraphs.into_iter().map(|paragraph| view! {
                            <p>{paragraph.into_iter().map(|piece| match piece {
                                Inline::Text(t) => view! { <span>{t}</span> }.into_any(),
                                Inline::Code(c) => view! { <code>{c}</code> }.into_any(),
                                Inline::Strong(s) => view! { <strong>{s}</strong> }.into_any(),
                            }).collect_view()}</p>
                        }).collect_view()}
                    </div>
                    <CatchUp session=session lesson=lesson.clone() step=index />
                    {current.predict.map(|prediction| view! {
                        <PredictionCard session=session predictions=predictions step=index prediction=prediction />
                    })}
                    {action.map(|action| match action {
                        // Done in the network view, not by a button.
                        Action::PingClicked { .. } | Action::SnapshotClicked => view! {
                            <p class="step-action-hint">{action_label(action)}</p>
                        }.into_any(),
                        _ => view! {
                            <button type="button" class="step-action" aria-keyshortcuts="Space"
                                disabled=move || !may_run(index, &lesson_for_check)
                                on:click=move |_| run_action(session, &lesson_for_action, action)>
                                {move || match (action, session.phase.get()) {
                                    // Pressed again, it replaces the network: say so.
                                    (Action::StartNetwork, Phase::Ready { .. } | Phase::Failed(_)) => "Start a new network".to_string(),
                                    _ => action_label(action),
                                }}
                            </button>
                        }.into_any(),
                    })}
                    {expect.map(|expect| view! {
                        <p class="expectation" data-met=move || met.get().to_string() data-actions-run=move || session.actions_run.get().to_string() role="status">
                            {move || if met.get() {
                                format!("✓ Seen: {}.", expect.describe())
                            } else {
                                format!("Look for {}.", expect.describe())
                            }}
                            {move || (!expect.in_room() && offer_show_me.get()).then(|| view! {
                                " "
                                <button type="button" class="quiet show-me" title="The first arrow this step drew, picked in the sequence diagram"
                                    on:click=move |_| show_me.run(expect.shown_by())>"Show me"</button>
                            })}
                            {move || (met.get() && room_arrow(expect).is_some()).then(|| view! {
                                " "
                                <button type="button" class="quiet show-me" title="The arrow this step is about, in the room's diagram"
                                    on:click=move |_| show_in_room(expect)>"Show me"</button>
                            })}
                        </p>
                    })}
                    {last.then(|| view! { <p class="hint">"This is the last step of the lesson. Reset to take it again, or pick another lesson."</p> })}
                    <nav class="step-nav" aria-label="Lesson steps">
                        <button type="button" class="quiet" disabled=index == 0 aria-keyshortcuts="ArrowLeft"
                            on:click=move |_| go(-1)>"← Back"</button>
                        <button type="button" class="quiet" on:click=move |_| {
                            session.stop();
                            predictions.clear();
                            place.update(|p| if let Some(p) = p { p.step = 0 });
                        }>"Reset"</button>
                        <button type="button" class="next" disabled=next_disabled aria-keyshortcuts="ArrowRight"
                            on:click=move |_| go(1)>"Next →"</button>
                    </nav>
                }
            })}
        </section>
    }
}

/// A step's question: the choices (or a request to click a peer), then what the run showed.
#[component]
fn PredictionCard(
    session: Session,
    predictions: Predictions,
    step: usize,
    prediction: Prediction,
) -> impl IntoView {
    let prediction = StoredValue::new(prediction);
    let outcome =
        Memo::new(move |_| prediction.with_value(|p| predictions.outcome(session, step, p)));
    let answer = move || predictions.answers.with(|a| a.get(&step).cloned());
    let state = move || match (outcome.get(), answer()) {
        (Some(o), _) if o.answer == o.observed => "right",
        (Some(_), _) => "wrong",
        (None, Some(_)) => "answered",
        (None, None) => "open",
    };
    let label = move |key: &str| prediction.with_value(|p| p.answer_label(key));
    let (question, choices, peer_click) =
        prediction.with_value(|p| (p.question.clone(), p.choices.clone(), p.is_peer_click()));

    view! {
        <fieldset class="prediction" data-state=state>
            <legend>"Predict"</legend>
            <p class="question">{question}</p>
            {(!peer_click).then(|| view! {
                <div class="choices">
                    {choices.into_iter().enumerate().map(|(n, choice)| {
                        let key = choice.key.clone();
                        let checked_key = key.clone();
                        view! {
                            <label class="choice">
                                <input type="radio" name=format!("prediction-{step}") value=key.clone()
                                    prop:checked=move || answer().as_deref() == Some(checked_key.as_str())
                                    disabled=move || outcome.get().is_some()
                                    on:change=move |_| prediction.with_value(|p| predictions.answer(session, step, p, key.clone())) />
                                <kbd aria-hidden="true">{(n + 1).to_string()}</kbd>
                                <span>{choice.label}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
            })}
            {peer_click.then(|| view! {
                <p class="hint peer-answer">{move || match answer() {
                    Some(key) => format!("Your answer: peer {key}. Click another peer to change it."),
                    None => "Click a peer in the Network view (or Tab to it and press Enter).".to_owned(),
                }}</p>
            })}
            <div class="outcome" role="status">
                {move || match (outcome.get(), answer()) {
                    (Some(o), _) => {
                        let (said, ran) = (label(&o.answer), label(&o.observed));
                        let verdict = if o.answer == o.observed {
                            format!("✓ Right. You said “{said}”, and the run shows “{ran}”.")
                        } else {
                            format!("✗ Not this time. You said “{said}”; the run shows “{ran}”.")
                        };
                        view! {
                            <p class="verdict">{verdict}</p>
                            <p class="why">{prediction.with_value(|p| p.why.clone())}</p>
                        }.into_any()
                    }
                    (None, Some(_)) if session.replaying.get() => view! {
                        <p class="hint">"Run it once the actions before it are done."</p>
                    }.into_any(),
                    (None, Some(_)) => view! { <p class="hint">"Now run it, and watch."</p> }.into_any(),
                    (None, None) => view! { <p class="hint">"Answer first; then the action can run."</p> }.into_any(),
                }}
            </div>
        </fieldset>
    }
}

/// True from the moment `now` is first true until `visit` changes (another step, an action run,
/// a new network).
fn seen_this_visit<K: PartialEq + Clone + Send + Sync + 'static>(
    visit: impl Fn() -> K + Send + Sync + 'static,
    now: impl Fn() -> bool + Send + Sync + 'static,
) -> Memo<bool> {
    let seen = Memo::new(move |before: Option<&(K, bool)>| {
        let visit = visit();
        let seen = match before {
            Some((same, true)) if *same == visit => true,
            _ => now(),
        };
        (visit, seen)
    });
    Memo::new(move |_| seen.with(|(_, seen)| *seen))
}
