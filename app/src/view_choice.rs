//! Which view is shown and what the sequence diagram draws: set by the lesson step, by the
//! learner's tabs and filters, and by "Show me".

use leptos::prelude::*;
use testbed::lesson::{Focus, Lesson, View};
use testbed::trace::mark::MessageKind;

use crate::components::lesson_panel::Place;
use crate::components::sequence_diagram::default_kinds;
use crate::session::Session;

#[derive(Clone, Copy)]
pub struct ViewChoice {
    pub tab: RwSignal<View>,
    /// The lifelines the diagram keeps: every peer's (`None`), only the last ping's two, or
    /// only those of the peers its arrows are from or to.
    pub focus: RwSignal<Option<Focus>>,
    /// The kinds of message the diagram draws.
    pub kinds: RwSignal<std::collections::HashSet<MessageKind>>,
    /// The Wire view or the diagram opens at its first record or arrow, as the step asks.
    pub from_start: RwSignal<bool>,
}

impl ViewChoice {
    /// Follows the lesson step: the view it talks about, and what the diagram draws.
    pub fn new(lessons: StoredValue<Vec<Lesson>>, place: RwSignal<Option<Place>>) -> ViewChoice {
        let choice = ViewChoice {
            tab: RwSignal::new(View::Network),
            focus: RwSignal::new(None),
            kinds: RwSignal::new(default_kinds()),
            from_start: RwSignal::new(false),
        };
        Effect::new(move || {
            let Some(p) = place.get() else {
                // Free play follows the newest records, whatever the last step showed.
                choice.from_start.set(false);
                return;
            };
            let step = lessons.with_value(|all| {
                all.get(p.lesson)
                    .and_then(|l| l.steps.get(p.step))
                    .map(|s| (s.show, s.from_start, s.focus, s.draw.clone()))
            });
            if let Some((show, from_start, focus, draw)) = step {
                if let Some(view) = show {
                    choice.tab.set(view);
                }
                choice.from_start.set(from_start);
                choice.focus.set(focus);
                if let Some(draw) = draw {
                    choice.kinds.set(draw.into_iter().collect());
                }
            }
        });
        choice
    }

    /// Shows the message at `position` in the diagram, drawing its kind.
    pub fn show_in_diagram(self, session: Session) -> Callback<u64> {
        Callback::new(move |position: u64| {
            let kind = session
                .trace
                .with_untracked(|t| t.message(position).map(|m| m.kind));
            if let Some(kind) = kind {
                self.kinds.update(|k| {
                    k.insert(kind);
                });
            }
            // The message may be another ping's; with arrows, it keeps its lifelines.
            if self.focus.get_untracked() == Some(Focus::LastPing) {
                self.focus.set(None);
            }
            session.selected.set(Some(position));
            self.tab.set(View::Diagram);
        })
    }

    /// "Show me": the first arrow drawn since the learner's latest action, of the kinds the
    /// diagram draws, or of the kind asked for where there is one; and whether there is an arrow.
    pub fn show_me(self, session: Session) -> (Callback<Option<MessageKind>>, Signal<bool>) {
        let first_since_action = move |wanted: Option<MessageKind>| {
            let since = session.since_action.get().message;
            session.trace.with(|trace| {
                self.kinds.with(|kinds| {
                    trace
                        .messages()
                        .rev()
                        .take_while(|m| m.position >= since)
                        .filter(|m| wanted.map_or(kinds.contains(&m.kind), |k| m.kind == k))
                        .last()
                        .map(|m| m.position)
                })
            })
        };
        let any_since_action = Memo::new(move |_| first_since_action(None));
        let show_in_diagram = self.show_in_diagram(session);
        let show_me = Callback::new(move |wanted: Option<MessageKind>| {
            let first = untrack(|| wanted.and_then(|k| first_since_action(Some(k))))
                .or_else(|| any_since_action.get_untracked());
            if let Some(position) = first {
                show_in_diagram.run(position);
            }
        });
        (
            show_me,
            Signal::derive(move || any_since_action.with(Option::is_some)),
        )
    }
}
