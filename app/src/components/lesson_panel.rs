//! The walkthrough: pick a lesson, read a step, run its action, see what it asks for in the
//! diagram, then go on.

use leptos::prelude::*;
use testbed::lesson::{Action, Inline, Lesson};

use crate::session::{PingTarget, Session};

/// Where the learner is: a lesson (by index in the catalogue) and a step, or free play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub lesson: usize,
    pub step: usize,
}

fn action_label(action: Action) -> String {
    match action {
        Action::StartNetwork => "Start the network".into(),
        Action::Ping { from, to: None } => format!("Ping from peer {from} to a random peer"),
        Action::Ping { from, to: Some(to) } => format!("Ping from peer {from} to peer {to}"),
        Action::PingClicked { from } => {
            format!("Click a peer in the Network view: peer {from} pings it")
        }
    }
}

/// Runs a lesson action on the session.
pub fn run_action(session: Session, lesson: &Lesson, action: Action) {
    match action {
        Action::StartNetwork => session.start(lesson.network),
        Action::Ping { from, to } => {
            session.ping(from, to.map_or(PingTarget::Random, PingTarget::Peer))
        }
        Action::PingClicked { .. } => {}
    }
}

#[component]
pub fn LessonPanel(
    session: Session,
    lessons: StoredValue<Vec<Lesson>>,
    place: RwSignal<Option<Place>>,
) -> impl IntoView {
    let step = move || {
        let place = place.get()?;
        lessons.with_value(|all| {
            let lesson = all.get(place.lesson)?;
            Some((lesson.clone(), place.step))
        })
    };
    let met = Memo::new(move |_| {
        let Some((lesson, index)) = step() else {
            return false;
        };
        let Some(expect) = lesson.steps.get(index).and_then(|s| s.expect) else {
            return true;
        };
        let pair = session.last_ping_pair();
        session
            .view
            .with(|view| session.trace.with(|trace| expect.is_met(view, trace, pair)))
    });
    let choose = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        session.stop();
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
                    {action.map(|action| match action {
                        // Done in the network view, not by a button.
                        Action::PingClicked { .. } => view! {
                            <p class="step-action-hint">{action_label(action)}</p>
                        }.into_any(),
                        _ => view! {
                            <button type="button" class="step-action"
                                on:click=move |_| run_action(session, &lesson_for_action, action)>
                                {action_label(action)}
                            </button>
                        }.into_any(),
                    })}
                    {expect.map(|expect| view! {
                        <p class="expectation" data-met=move || met.get().to_string() role="status">
                            {move || if met.get() {
                                format!("✓ Seen: {}.", expect.describe())
                            } else {
                                format!("Look for {}.", expect.describe())
                            }}
                        </p>
                    })}
                    {last.then(|| view! { <p class="hint">"This is the last step of the lesson. Reset to take it again, or pick another lesson."</p> })}
                    <nav class="step-nav" aria-label="Lesson steps">
                        <button type="button" class="quiet" disabled=index == 0 on:click=move |_| go(-1)>"← Back"</button>
                        <button type="button" class="quiet" on:click=move |_| {
                            session.stop();
                            place.update(|p| if let Some(p) = p { p.step = 0 });
                        }>"Reset"</button>
                        <button type="button" class="next" disabled=next_disabled
                            on:click=move |_| go(1)>"Next →"</button>
                    </nav>
                }
            })}
        </section>
    }
}
