//! The page's left column: the lesson (or, in free play, the controls), the network's status
//! and the log of what happened.

use leptos::prelude::*;
use testbed::lesson::Lesson;
use testbed::trace::mark::MessageKind;
use testbed::NetworkConfig;

use crate::components::dht_controls::DhtControls;
use crate::components::event_log::EventLog;
use crate::components::leave_controls::LeaveControls;
use crate::components::lesson_panel::{LessonPanel, Place, Predictions};
use crate::components::network_controls::NetworkControls;
use crate::components::network_status::NetworkStatus;
use crate::components::ping_controls::PingControls;
use crate::components::token_controls::TokenControls;
use crate::session::{PingTarget, Session};

#[component]
pub fn SideColumn(
    session: Session,
    lessons: StoredValue<Vec<Lesson>>,
    place: RwSignal<Option<Place>>,
    predictions: Predictions,
    show_me: Callback<Option<MessageKind>>,
    can_show: Signal<bool>,
    /// The peer the free-play controls ping (and move tokens) from, and the one they ping.
    from: RwSignal<usize>,
    to: RwSignal<PingTarget>,
) -> impl IntoView {
    let start = Callback::new(move |config: NetworkConfig| {
        from.set(0);
        to.set(PingTarget::Random);
        session.start(config);
    });
    let free_play = move || place.get().is_none();
    view! {
        <div class="side">
            <LessonPanel session=session lessons=lessons place=place predictions=predictions show_me=show_me can_show=can_show />
            <Show when=free_play>
                <NetworkControls config=session.config on_start=start />
            </Show>
            <section class="panel">
                <NetworkStatus phase=session.phase view=session.view />
            </section>
            <Show when=free_play>
                <PingControls session=session from=from to=to />
                <TokenControls session=session from=from />
                <Show when=move || session.config.with(|c| c.dht.is_some())>
                    <DhtControls session=session from=from />
                </Show>
                <LeaveControls session=session from=from />
            </Show>
            <EventLog log=session.log scrub=session.scrub />
        </div>
    }
}
