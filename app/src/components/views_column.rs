//! The page's right column: the time controls, the snapshot table and the views, one tab
//! each: the network, the sequence diagram, the wire, the room, the DHT.

use leptos::prelude::*;
use testbed::lesson::View;

use crate::components::dht_view::DhtView;
use crate::components::network_view::NetworkView;
use crate::components::room_view::RoomView;
use crate::components::sequence_diagram::SequenceDiagram;
use crate::components::snapshot_table::SnapshotTable;
use crate::components::time_controls::TimeControls;
use crate::components::view_tabs::ViewTabs;
use crate::components::wire_view::WireView;
use crate::peer_clicks::PeerClicks;
use crate::relay_link::RelayLink;
use crate::session::{PingTarget, Session};
use crate::view_choice::ViewChoice;

#[component]
pub fn ViewsColumn(
    session: Session,
    views: ViewChoice,
    clicks: PeerClicks,
    link: RelayLink,
    /// Picks a message in the diagram, from the wire view.
    show_in_diagram: Callback<u64>,
    from: RwSignal<usize>,
    to: RwSignal<PingTarget>,
) -> impl IntoView {
    let ViewChoice {
        tab,
        focus,
        kinds,
        from_start,
    } = views;
    let showing = move |view: View| Signal::derive(move || tab.get() == view);
    let dht = Signal::derive(move || session.config.with(|c| c.dht.is_some()));
    view! {
        <div class="views">
            <TimeControls session=session />
            <SnapshotTable tokens=session.tokens running=session.running() />
            <ViewTabs tab=tab dht=dht />
            <div role="tabpanel" id="network-panel" aria-labelledby="tab-network" class="tab-panel" hidden=move || tab.get() != View::Network>
                <NetworkView session=session from=from to=to click_pings_from=clicks.pings_from
                    peer_question_open=clicks.wanted
                    answer_peer=clicks.answer predicted_peer=clicks.predicted />
            </div>
            <div role="tabpanel" id="diagram-panel" aria-labelledby="tab-diagram" class="tab-panel" hidden=move || tab.get() != View::Diagram>
                <SequenceDiagram session=session visible=showing(View::Diagram)
                    focus=focus from_start=from_start
                    peer_question_open=clicks.wanted
                    answer_peer=clicks.answer kinds=kinds />
            </div>
            <div role="tabpanel" aria-labelledby="tab-wire" class="tab-panel" hidden=move || tab.get() != View::Wire>
                <WireView wire=session.wire view=session.view last_ping=session.last_ping scrub=session.scrub
                    show_in_diagram=show_in_diagram from_start=from_start
                    visible=showing(View::Wire) />
            </div>
            <div role="tabpanel" aria-labelledby="tab-room" class="tab-panel" hidden=move || tab.get() != View::Room>
                <RoomView link=link />
            </div>
            <div role="tabpanel" aria-labelledby="tab-dht" class="tab-panel" hidden=move || tab.get() != View::Dht>
                <DhtView dht=session.dht running=session.running() view=session.view replication=session.replication()
                    visible=showing(View::Dht) />
            </div>
        </div>
    }
}
