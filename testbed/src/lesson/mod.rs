//! Lessons: content files with a small front matter and steps. Each step has text, the action
//! the learner runs with a button, and what must be seen in the trace before "Next" lights up.
//!
//! ```text
//! ---
//! title: The original testbed
//! peers: 20
//! topology: original
//! seed: 42
//! latency: 0 ms
//! ---
//! ## Step title
//! A paragraph with `code` and **bold** words.
//!
//! @predict first-close: Which side closes its half of the stream first?
//! @choice initiator: Peer 0, once the PONG is in
//! @choice responder: The responder, right after sending PONG
//! @why The responder has nothing more to say once its PONG is written.
//! @action ping 0 random      (or: start, ping 0 5, ping 0 click)
//! @expect pong
//! @show diagram           (or: network, wire, dht, room; `diagram from-start` and
//!                          `wire from-start` open at the first arrow or record)
//! @focus last-ping      (or: peers-with-arrows, the peers an arrow drawn is from or to)
//! @draw dials handshakes frames   (the kinds of message the diagram draws in this step)
//! ```
//!
//! DHT lessons add `dht: k3-a3-r3` to the front matter and use `@action lookup 0 peer 7`,
//! `put 3 record 1`, `get 9 record 1`, `provide 2 record 4`, `providers 5 record 4` and
//! `churn 30` (that share of the peers leave). Any network's `leave 4` takes one peer away.
//!
//! A step with `@predict` asks its question before its action runs; the answer is then
//! checked against what the real peers did (a [`Measure`] of the trace). A prediction without
//! `@choice` lines is answered by clicking a peer.

mod action;
mod catalogue;
mod expect;
mod parse;
mod predict;

pub use action::*;
pub use catalogue::*;
pub use expect::*;
pub use parse::*;
pub use predict::*;

use crate::dht::{lookup, DhtKey, LookupKind, LookupRequest};
use crate::network::NetworkConfig;
use crate::protocols::transfer;
use crate::room::{MemberState, Members, Path};
use crate::snapshot::in_trace;
use crate::trace::mark::MessageKind;
use crate::trace::model::Message;
use crate::trace::Trace;
use crate::view::NetworkView;
use crate::wire::yamux::{Flags, FrameType, Header};
use crate::PeerIndex;
use libp2p::PeerId;

#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    /// What the lesson teaches, in a sentence: the welcome lists it.
    pub summary: String,
    /// About how long the lesson takes, in minutes.
    pub minutes: u32,
    pub network: NetworkConfig,
    /// The room the lesson's tabs meet in, unless the link names another.
    pub room: Option<String>,
    pub steps: Vec<Step>,
}

impl Lesson {
    /// What the steps before `step` made the peers do, for a learner who opened the lesson at
    /// `step` by a link that carries none of it: a click becomes what it stands for (a ping to
    /// a random neighbour, a snapshot from peer 0). Empty when no earlier step starts an
    /// in-page network, or when `step` starts its own (which replaces theirs): there is
    /// nothing to catch up on.
    pub fn catch_up(&self, step: usize) -> Vec<Action> {
        if self.steps.get(step).and_then(|s| s.action) == Some(Action::StartNetwork) {
            return Vec::new();
        }
        let earlier: Vec<Action> = self
            .steps
            .iter()
            .take(step)
            .filter_map(|s| match s.action? {
                Action::PingClicked { from } => Some(Action::Ping { from, to: None }),
                Action::SnapshotClicked => Some(Action::Snapshot {
                    first: 0,
                    second: None,
                }),
                Action::PingRoom => None,
                action => Some(action),
            })
            .collect();
        if earlier.contains(&Action::StartNetwork) {
            earlier
        } else {
            Vec::new()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: String,
    pub paragraphs: Vec<Vec<Inline>>,
    pub action: Option<Action>,
    pub expect: Option<Expectation>,
    /// The view this step talks about.
    pub show: Option<View>,
    /// The view (the Wire tab or the diagram) opens at its first record or arrow, for a step
    /// about how the connection began, rather than following the newest.
    pub from_start: bool,
    /// Which lifelines the diagram keeps, when the step says.
    pub focus: Option<Focus>,
    /// Asked before the action runs.
    pub predict: Option<Prediction>,
    /// The kinds of message the diagram draws in this step, when the step says.
    pub draw: Option<Vec<MessageKind>>,
}

/// The lifelines a step's diagram keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The last ping's two peers.
    LastPing,
    /// The peers that sent or received an arrow drawn (say, a lookup's among thirty).
    PeersWithArrows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Network,
    Diagram,
    /// The frames of one connection, from the wire tap.
    Wire,
    /// The DHT: key space, routing tables, lookups.
    Dht,
    /// This tab's room: the peers of other tabs, reached through the relay.
    Room,
}

/// A piece of a paragraph.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(String),
}

#[cfg(test)]
mod tests {
    use super::parse::inlines;
    use super::*;
    use crate::topology::Topology;

    const SAMPLE: &str = "---\ntitle: Two peers\nsummary: Two peers ping.\nminutes: 2\npeers: 2\ntopology: line\n---\n\n## Start\nThey **dial** over `/memory`.\nStill the same paragraph.\n\nA second one.\n\n@action start\n@expect connected\n\n## Ping\n@action ping 0 random\n@expect pong\n";

    #[test]
    fn catching_up_runs_the_earlier_steps_actions_with_clicks_made_plain() {
        let text = SAMPLE.replace("@action ping 0 random", "@action ping 2 click")
            + "\n## Snapshot\n@action snapshot click\n\n## Read\nNo action.\n";
        let lesson = parse("two", &text).unwrap();
        assert_eq!(lesson.catch_up(0), vec![]);
        assert_eq!(lesson.catch_up(1), vec![Action::StartNetwork]);
        let ping = Action::Ping { from: 2, to: None };
        let snapshot = Action::Snapshot {
            first: 0,
            second: None,
        };
        assert_eq!(
            lesson.catch_up(4),
            vec![Action::StartNetwork, ping, snapshot]
        );
        // A lesson whose steps start no in-page network (a room's) has nothing to catch up.
        let rooms = parse("room", &text.replace("@action start", "@action ping-room")).unwrap();
        assert_eq!(rooms.catch_up(4), vec![]);
        // A step that starts a network of its own needs none of the steps before it.
        let restart = parse("restart", &(text + "\n## Again\n@action start\n")).unwrap();
        assert_eq!(restart.catch_up(4), vec![]);
    }

    #[test]
    fn a_lesson_parses_into_steps_with_actions_and_expectations() {
        let lesson = parse("two", SAMPLE).unwrap();
        assert_eq!(lesson.title, "Two peers");
        assert_eq!(lesson.network.peers, 2);
        assert_eq!(lesson.network.topology, Topology::Line);
        assert_eq!(lesson.steps.len(), 2);
        let start = &lesson.steps[0];
        assert_eq!(
            start.paragraphs[0],
            vec![
                Inline::Text("They ".into()),
                Inline::Strong("dial".into()),
                Inline::Text(" over ".into()),
                Inline::Code("/memory".into()),
                Inline::Text(". Still the same paragraph.".into()),
            ]
        );
        assert_eq!(start.paragraphs.len(), 2);
        assert_eq!(start.action, Some(Action::StartNetwork));
        assert_eq!(
            lesson.steps[1].action,
            Some(Action::Ping { from: 0, to: None })
        );
        assert_eq!(lesson.steps[1].expect, Some(Expectation::Pong));
    }

    #[test]
    fn a_step_keeps_the_lifelines_it_focuses_on() {
        let text = SAMPLE.replace("@expect pong", "@expect pong\n@focus peers-with-arrows");
        let lesson = parse("two", &text).unwrap();
        assert_eq!(lesson.steps[0].focus, None);
        assert_eq!(lesson.steps[1].focus, Some(Focus::PeersWithArrows));
        let last_ping = parse("two", &SAMPLE.replace("@expect pong", "@focus last-ping")).unwrap();
        assert_eq!(last_ping.steps[1].focus, Some(Focus::LastPing));
        assert!(parse("two", &SAMPLE.replace("@expect pong", "@focus everyone")).is_err());
    }

    #[test]
    fn a_step_can_open_the_wire_or_the_diagram_at_its_start() {
        let text = SAMPLE.replace("@expect pong", "@expect pong\n@show wire from-start");
        let lesson = parse("two", &text).unwrap();
        assert!(!lesson.steps[0].from_start);
        assert_eq!(lesson.steps[1].show, Some(View::Wire));
        assert!(lesson.steps[1].from_start);
        let text = SAMPLE.replace("@expect pong", "@show diagram from-start");
        let diagram = &parse("two", &text).unwrap().steps[1];
        assert_eq!(diagram.show, Some(View::Diagram));
        assert!(diagram.from_start);
        let following = parse("two", &SAMPLE.replace("@expect pong", "@show wire")).unwrap();
        assert!(!following.steps[1].from_start);
        for refused in ["@show wire from-end", "@show network from-start"] {
            assert!(parse("two", &SAMPLE.replace("@expect pong", refused)).is_err());
        }
    }

    #[test]
    fn content_mistakes_name_the_line() {
        let broken = SAMPLE.replace("@expect pong", "@expect miracles");
        let error = parse("two", &broken).unwrap_err();
        assert_eq!(error.line, 20);
        assert!(error.problem.contains("@expect miracles"));
        assert!(parse("x", "no front matter").is_err());
        assert!(parse("x", "---\ntitle: t\n---\ntext first").is_err());
        assert!(
            parse("x", "---\ntitle: t\nminutes: 2\n---\n## s\n").is_err(),
            "a summary is needed"
        );
        assert!(parse("x", "---\ntitle: t\npeers: many\n---\n## s\n").is_err());
    }

    #[test]
    fn every_lesson_in_the_catalogue_parses() {
        for (id, text) in CATALOGUE {
            let lesson = parse(id, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                lesson.steps.iter().all(|s| !s.paragraphs.is_empty()),
                "{id}"
            );
        }
        assert_eq!(all().len(), CATALOGUE.len());
    }

    #[test]
    fn a_prediction_has_a_measure_choices_and_a_why() {
        let with_prediction = SAMPLE.replace(
            "## Ping\n",
            "## Ping\n@predict first-close: Who closes first?\n@choice initiator: Peer 0\n@choice responder: The other\n@why Because.\n",
        );
        let lesson = parse("two", &with_prediction).unwrap();
        let prediction = lesson.steps[1].predict.clone().unwrap();
        assert_eq!(prediction.measure, Measure::FirstClose);
        assert_eq!(prediction.question, "Who closes first?");
        assert_eq!(prediction.choices[1].key, "responder");
        assert_eq!(prediction.why, "Because.");
        assert!(prediction.accepts("initiator", 2) && !prediction.accepts("3", 2));
        assert_eq!(prediction.answer_label("responder"), "The other");

        let click = SAMPLE.replace("## Ping\n", "## Ping\n@predict pong-receiver: Click it.\n");
        let prediction = parse("two", &click).unwrap().steps[1]
            .predict
            .clone()
            .unwrap();
        assert!(prediction.is_peer_click());
        assert!(prediction.accepts("1", 2) && !prediction.accepts("2", 2));
        assert_eq!(prediction.answer_label("1"), "peer 1");

        let no_action = SAMPLE
            .replace("## Start\n", "## Start\n@predict connections: How many?\n")
            .replace("@action start\n", "");
        assert!(parse("two", &no_action)
            .unwrap_err()
            .problem
            .contains("needs an @action"));
        assert!(parse("two", &SAMPLE.replace("@expect pong", "@choice a: b")).is_err());
        // Meanwhile only times a link's actions: a step's button would do nothing.
        assert!(parse(
            "two",
            &SAMPLE.replace("@action start", "@action meanwhile 800")
        )
        .unwrap_err()
        .problem
        .contains("not an action: @action meanwhile 800"));
        assert!(parse("two", &SAMPLE.replace("@expect pong", "@predict luck: ?")).is_err());
    }

    #[test]
    fn dht_actions_read_back_from_their_words() {
        use crate::dht::DhtKey;
        for (op, key) in [
            (DhtOp::Lookup, DhtKey::Peer(7)),
            (DhtOp::Put, DhtKey::Record(1)),
            (DhtOp::Get, DhtKey::Record(1)),
            (DhtOp::Provide, DhtKey::Record(4)),
            (DhtOp::FindProviders, DhtKey::Peer(0)),
        ] {
            let action = Action::Dht { from: 3, op, key };
            let words = action.words().unwrap();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(Action::parse(&words), Some(action));
        }
        assert_eq!(
            Action::parse(&["churn", "30"]),
            Some(Action::Churn { percent: 30 })
        );
        assert_eq!(
            Action::parse(&["leave", "4"]),
            Some(Action::Leave { peer: 4 })
        );
        assert_eq!(
            Action::parse(&["meanwhile", "800"]),
            Some(Action::Meanwhile { after_ms: 800 })
        );
        for bad in [
            &["churn", "0"][..],
            &["churn", "95"],
            &["leave", "200"],
            &["meanwhile", "600001"],
            &["meanwhile", "-1"],
            &["lookup", "0", "peer", "999"],
            &["lookup", "0", "song", "1"],
            &["put", "0", "record", "-1"],
        ] {
            assert_eq!(Action::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn snapshot_actions_read_back_from_their_words() {
        for action in [
            Action::Tokens,
            Action::NaiveSnapshot,
            Action::Snapshot {
                first: 2,
                second: None,
            },
            Action::Snapshot {
                first: 0,
                second: Some(3),
            },
            Action::LeaveDuringSnapshot {
                leaver: 3,
                initiator: 0,
            },
        ] {
            let words = action.words().unwrap();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(Action::parse(&words), Some(action));
        }
        assert_eq!(Action::parse(&["snapshot", "1", "1"]), None);
        assert_eq!(
            Action::parse(&["snapshot", "click"]),
            Some(Action::SnapshotClicked)
        );
    }

    #[test]
    fn an_unclosed_marker_stays_text() {
        assert_eq!(inlines("a `b"), vec![Inline::Text("a `b".into())]);
    }

    /// The prediction "once the relay is gone, does the ping still work?", read off a tab's
    /// room: no answer while the relay is up, `yes` once a PONG arrives after it went, `no`
    /// when nobody is left to ping.
    #[test]
    fn a_ping_without_the_relay_is_answered_by_what_came_after_it_went() {
        use crate::event::{Event, EventKind, PingStep};
        use crate::protocols::ping::{Envelope, Receipt};
        use crate::room::RoomStep;
        use crate::trace::Tracer;

        let (me, other, relay) = (PeerId::random(), PeerId::random(), PeerId::random());
        let event = |at_ms, kind| Event {
            at_ms,
            peer: me,
            kind,
        };
        let reserved_then_circuit = [
            (
                1.0,
                EventKind::Room(RoomStep::Reserved {
                    relay,
                    address: "/memory/1".parse().unwrap(),
                }),
            ),
            (
                2.0,
                EventKind::Room(RoomStep::CircuitOpened {
                    relay,
                    remote: other,
                    dialer: true,
                }),
            ),
        ];
        let relay_gone = (
            10.0,
            EventKind::ConnectionClosed {
                remote: relay,
                cause: None,
            },
        );
        let members_after = |steps: &[(f64, EventKind)]| {
            let mut members = Members::default();
            for (at_ms, kind) in reserved_then_circuit.iter().chain(steps) {
                members.apply(&event(*at_ms, kind.clone()));
            }
            members
        };
        let direct = (
            3.0,
            EventKind::Room(RoomStep::DirectOpened {
                remote: other,
                dialer: true,
            }),
        );
        let mut trace = Trace::across_tabs(0.0);
        let measure = predict::Measure::PingWithoutRelay;
        let (mine, theirs) = (Tracer::new(&me), Tracer::new(&other));
        let ping = Envelope::ping("1".into(), me, String::new(), mine.start_trace());
        let pong = |at| {
            let receipt = Receipt { at, lamport: 2 };
            let pong = ping.pong(theirs.continue_trace(&ping.traceparent.unwrap()), receipt);
            event(
                at as f64,
                EventKind::Ping(PingStep::Received {
                    remote: other,
                    envelope: pong,
                    lamport: 3,
                }),
            )
        };
        trace.apply(&pong(4));
        let members = members_after(std::slice::from_ref(&direct));
        assert_eq!(
            measure.observe_in_room(&members, &trace),
            None,
            "the relay is up"
        );

        let members = members_after(&[direct, relay_gone.clone()]);
        assert_eq!(
            measure.observe_in_room(&members, &trace),
            None,
            "the PONG came before the relay went"
        );
        assert!(!Expectation::RoomPongWithoutRelay.is_met_in_room(&members, &trace));
        trace.apply(&pong(12));
        assert_eq!(
            measure.observe_in_room(&members, &trace).as_deref(),
            Some("yes")
        );
        assert!(Expectation::RoomPongWithoutRelay.is_met_in_room(&members, &trace));

        // Reached only through a circuit: the tab goes with the relay.
        assert_eq!(
            measure
                .observe_in_room(&members_after(&[relay_gone]), &Trace::across_tabs(0.0))
                .as_deref(),
            Some("no")
        );
    }

    #[test]
    fn a_churn_is_over_once_every_leaver_has_lost_its_connections() {
        use crate::event::EventKind;
        use crate::view::test_events::{connect, event};
        let peers: Vec<libp2p::PeerId> = (0..3).map(|_| libp2p::PeerId::random()).collect();
        let mut view = NetworkView::new(peers.clone(), 3);
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            connect(&mut view, peers[a], peers[b]);
        }
        assert!(!churn_is_over(&view, &[]), "nobody left yet");
        assert!(
            !churn_is_over(&view, &[2]),
            "peer 2 still has its connections"
        );
        view.apply(&event(peers[2], EventKind::Left));
        assert!(churn_is_over(&view, &[2]));
    }
}
