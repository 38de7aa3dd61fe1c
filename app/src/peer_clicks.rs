//! What a click on a peer does in the current lesson step (in the network view, or on a
//! lifeline's head): answer the step's open question, start its snapshot, or ping from it.

use leptos::prelude::*;
use testbed::lesson::{Action, Lesson};

use crate::components::lesson_panel::{Place, Predictions};
use crate::session::Session;

#[derive(Clone, Copy)]
pub struct PeerClicks {
    /// The peer a click pings from, when the step's action is a ping clicked by the learner.
    pub pings_from: Signal<Option<usize>>,
    /// A click on a peer is wanted now: a question or a snapshot waits for it.
    pub wanted: Signal<bool>,
    /// What a click on a peer does.
    pub answer: Callback<usize>,
    /// The peer the learner chose as an answer, once they have.
    pub predicted: Signal<Option<usize>>,
}

impl PeerClicks {
    pub fn new(
        session: Session,
        lessons: StoredValue<Vec<Lesson>>,
        place: RwSignal<Option<Place>>,
        predictions: Predictions,
    ) -> PeerClicks {
        let step_of = move |place: Place, read: &dyn Fn(&testbed::lesson::Step) -> bool| {
            lessons.with_value(|all| {
                all.get(place.lesson)
                    .and_then(|l| l.steps.get(place.step))
                    .is_some_and(read)
            })
        };
        let pings_from = Signal::derive(move || {
            let p = place.get()?;
            lessons.with_value(|all| match all.get(p.lesson)?.steps.get(p.step)?.action {
                Some(Action::PingClicked { from }) => Some(from),
                _ => None,
            })
        });
        // A question the learner answers by clicking a peer, while it is open.
        let question = Signal::derive(move || {
            let p = place.get()?;
            let prediction =
                lessons.with_value(|all| all.get(p.lesson)?.steps.get(p.step)?.predict.clone())?;
            (prediction.is_peer_click()
                && predictions.outcome(session, p.step, &prediction).is_none())
            .then_some((p.step, prediction))
        });
        // The step's action starts a snapshot from the peer the learner clicks, once its
        // question (if any) is answered.
        let starts_snapshot = Signal::derive(move || {
            let Some(p) = place.get() else {
                return false;
            };
            let answered = predictions.answer_to(p.step).is_some();
            step_of(p, &|step| {
                step.action == Some(Action::SnapshotClicked) && (step.predict.is_none() || answered)
            })
        });
        let wanted =
            Signal::derive(move || question.with(Option::is_some) || starts_snapshot.get());
        let answer = Callback::new(move |peer: usize| {
            if let Some((step, prediction)) = question.get_untracked() {
                predictions.answer(session, step, &prediction, peer.to_string());
            } else if starts_snapshot.get_untracked() {
                session.run_tokens(Action::Snapshot {
                    first: peer,
                    second: None,
                });
            }
        });
        let predicted = Signal::derive(move || {
            let p = place.get()?;
            let is_click = step_of(p, &|step| {
                step.predict.as_ref().is_some_and(|q| q.is_peer_click())
            });
            is_click.then(|| predictions.answer_to(p.step)?.parse().ok())?
        });
        PeerClicks {
            pings_from,
            wanted,
            answer,
            predicted,
        }
    }
}
