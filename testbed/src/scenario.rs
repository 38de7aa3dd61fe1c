//! Everything needed to rebuild what is on screen, written into the page's URL fragment:
//! `#v=1&peers=20&topology=original&seed=42&latency=100&lesson=original-testbed&step=2&actions=start.ping-0-5&answers=1:190.3:0`
//! (`latency` only when not 0; `dht=k3-a3-r3` for networks that run Kademlia; `answers`: the learner's predictions, step:answer).
//! Decoding is strict: every problem is reported, and whatever could not be read keeps its
//! default, so a broken link still opens a working page.

use std::collections::BTreeMap;

use crate::lesson::{self, Action};
use crate::network::{NetworkConfig, MAX_LATENCY_MS, MAX_PEERS};
use crate::topology::Topology;

/// The version this page writes. A link without `v` is read as version 1.
pub const VERSION: u32 = 1;
/// Longest fragment read: far beyond any real scenario, short enough to parse instantly.
pub const MAX_FRAGMENT: usize = 16 * 1024;
/// Most actions replayed from a link.
pub const MAX_ACTIONS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scenario {
    pub network: NetworkConfig,
    /// The lesson's id, or None for free play.
    pub lesson: Option<String>,
    /// Index of the step within the lesson.
    pub step: usize,
    /// What the learner did, in order, with random choices already resolved.
    pub actions: Vec<Action>,
    /// The learner's predictions: step index → the answer's key.
    pub answers: BTreeMap<usize, String>,
    /// The room this tab joins on the relay, to meet the peers of other tabs.
    pub room: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioProblem {
    #[error("the link is {len} characters long; at most {MAX_FRAGMENT} are read")]
    TooLong { len: usize },
    #[error("the link was made by a newer version of the page (v={0}); only v=1 is understood, so parts may be missing")]
    FutureVersion(String),
    #[error("\"{key}={value}\" is not a peer count from 2 to {MAX_PEERS}")]
    PeerCount { key: String, value: String },
    #[error("\"{value}\" is not a topology (original, ring, star, line, random)")]
    Topology { value: String },
    #[error("\"{value}\" is not a seed (a whole number from 0 to 18446744073709551615)")]
    Seed { value: String },
    #[error("\"latency={value}\" is not a latency from 0 to {MAX_LATENCY_MS} ms")]
    Latency { value: String },
    #[error(transparent)]
    Dht(#[from] crate::dht::ConfigError),
    #[error("there is no lesson \"{0}\"")]
    Lesson(String),
    #[error("\"step={value}\" is not a step of this lesson (it has {steps})")]
    Step { value: String, steps: usize },
    #[error(
        "\"{0}\" is not an action: start, ping-FROM-TO, transfer-FROM-TO-KIB (with -slow, \
         -pings, -giveup), tokens, snapshot-PEER, naive, leave-PEER, \
         leave-PEER-snapshot-PEER, lookup-FROM-record-N (or put, get, provide, providers; or \
         -peer-N), churn-PERCENT, meanwhile-MS"
    )]
    Action(String),
    #[error("\"{0}\" is not an answer to a question of this lesson")]
    Answer(String),
    #[error("more than {MAX_ACTIONS} actions; the rest were left out")]
    TooManyActions,
    #[error("\"room\": {0}")]
    Room(String),
    #[error("\"{part}\" is not a setting this page knows")]
    Unknown { part: String },
}

/// What the page says about a link's problems: each one, then what to do about them.
pub fn explain(problems: &[ScenarioProblem]) -> String {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let run_cut = problems.iter().any(|p| {
        matches!(
            p,
            ScenarioProblem::TooLong { .. }
                | ScenarioProblem::Action(_)
                | ScenarioProblem::TooManyActions
        )
    });
    let next = if run_cut {
        "The link looks cut short or changed, so the run shown may differ from the one shared: ask for the whole link again, or press Reset to take the lesson from its first step."
    } else if problems
        .iter()
        .any(|p| matches!(p, ScenarioProblem::Lesson(_)))
    {
        "Pick a lesson from the Lesson menu, or ask for the whole link again."
    } else {
        "Check that the whole link was copied; the settings can also be changed in the page."
    };
    format!(
        "Part of this link could not be used, so defaults stand in: {}. {next}",
        list.join("; ")
    )
}

/// Reads a URL fragment (with or without its `#`).
pub fn decode(fragment: &str) -> (Scenario, Vec<ScenarioProblem>) {
    let mut scenario = Scenario::default();
    let mut problems = Vec::new();
    let mut fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    if fragment.len() > MAX_FRAGMENT {
        problems.push(ScenarioProblem::TooLong {
            len: fragment.len(),
        });
        let mut cut = MAX_FRAGMENT;
        while !fragment.is_char_boundary(cut) {
            cut -= 1;
        }
        fragment = &fragment[..cut];
    }
    // Browsers percent-encode what they show in the address bar; problems echo it decoded.
    let decoded = percent_decode(fragment);
    let mut step = None;
    let mut answers = Vec::new();
    for part in decoded.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        match key {
            "v" => {
                if value != VERSION.to_string() {
                    problems.push(ScenarioProblem::FutureVersion(
                        value.chars().take(12).collect(),
                    ));
                }
            }
            "peers" => match value.parse() {
                Ok(peers) if (2..=MAX_PEERS).contains(&peers) => scenario.network.peers = peers,
                _ => problems.push(ScenarioProblem::PeerCount {
                    key: key.into(),
                    value: value.into(),
                }),
            },
            "topology" => match value.parse::<Topology>() {
                Ok(topology) => scenario.network.topology = topology,
                Err(_) => problems.push(ScenarioProblem::Topology {
                    value: value.into(),
                }),
            },
            "seed" => match value.parse() {
                Ok(seed) => scenario.network.seed = seed,
                Err(_) => problems.push(ScenarioProblem::Seed {
                    value: value.into(),
                }),
            },
            "latency" => match value.parse() {
                Ok(ms) if ms <= MAX_LATENCY_MS => scenario.network.latency_ms = ms,
                _ => problems.push(ScenarioProblem::Latency {
                    value: value.into(),
                }),
            },
            "dht" => match value.parse() {
                Ok(dht) => scenario.network.dht = Some(dht),
                Err(error) => problems.push(ScenarioProblem::Dht(error)),
            },
            "lesson" => scenario.lesson = Some(value.to_owned()),
            "room" => match crate::room::check_room_name(value) {
                Ok(()) => scenario.room = Some(value.to_owned()),
                Err(reason) => problems.push(ScenarioProblem::Room(reason)),
            },
            "step" => step = Some(value.to_owned()),
            "actions" => {
                for (n, word) in value.split('.').filter(|w| !w.is_empty()).enumerate() {
                    if n == MAX_ACTIONS {
                        problems.push(ScenarioProblem::TooManyActions);
                        break;
                    }
                    match parse_action(word) {
                        Some(action) => scenario.actions.push(action),
                        None => {
                            problems.push(ScenarioProblem::Action(word.chars().take(40).collect()))
                        }
                    }
                }
            }
            "answers" => answers.extend(
                value
                    .split('.')
                    .filter(|w| !w.is_empty())
                    .take(MAX_ACTIONS)
                    .map(str::to_owned),
            ),
            _ => problems.push(ScenarioProblem::Unknown {
                part: part.chars().take(60).collect(),
            }),
        }
    }
    if let Some(id) = scenario.lesson.clone() {
        match lesson::all().into_iter().find(|l| l.id == id) {
            Some(lesson) => {
                let steps = lesson.steps.len();
                if let Some(value) = step {
                    match value.parse::<usize>() {
                        Ok(n) if (1..=steps).contains(&n) => scenario.step = n - 1,
                        _ => problems.push(ScenarioProblem::Step { value, steps }),
                    }
                }
                for answer in answers {
                    match read_answer(&lesson, &answer, scenario.network.peers) {
                        Some((step, key)) => {
                            scenario.answers.insert(step, key);
                        }
                        None => problems
                            .push(ScenarioProblem::Answer(answer.chars().take(40).collect())),
                    }
                }
            }
            None => {
                problems.push(ScenarioProblem::Lesson(id.chars().take(40).collect()));
                scenario.lesson = None;
            }
        }
    }
    (scenario, problems)
}

/// `%3C` → `<`; a `%` not followed by two hex digits, or bytes that are not UTF-8, kept as
/// they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// `3:190`: the answer `190` to step 3's question (steps from 1, as the page shows them).
fn read_answer(lesson: &lesson::Lesson, word: &str, peers: usize) -> Option<(usize, String)> {
    let (step, key) = word.split_once(':')?;
    let step = step.parse::<usize>().ok()?.checked_sub(1)?;
    let prediction = lesson.steps.get(step)?.predict.as_ref()?;
    prediction
        .accepts(key, peers)
        .then(|| (step, key.to_owned()))
}

/// `ping-0-5`, `transfer-0-1-1024-slow-pings`: an action's words joined by `-` (`give-up`
/// is written `giveup`).
fn parse_action(word: &str) -> Option<Action> {
    let words: Vec<&str> = word
        .split('-')
        .map(|w| if w == "giveup" { "give-up" } else { w })
        .collect();
    match Action::parse(&words)? {
        // A link records the choice made, never a choice still to make.
        Action::Ping { to: None, .. } | Action::PingClicked { .. } => None,
        action => Some(action),
    }
}

/// The fragment for a scenario, without its `#`. Steps are written from 1, as the page shows.
pub fn encode(scenario: &Scenario) -> String {
    let network = &scenario.network;
    let mut text = format!(
        "v={VERSION}&peers={}&topology={}&seed={}",
        network.peers, network.topology, network.seed
    );
    if network.latency_ms > 0 {
        text.push_str(&format!("&latency={}", network.latency_ms));
    }
    if let Some(dht) = network.dht {
        text.push_str(&format!("&dht={dht}"));
    }
    if let Some(lesson) = &scenario.lesson {
        text.push_str(&format!("&lesson={lesson}&step={}", scenario.step + 1));
    }
    if let Some(room) = &scenario.room {
        text.push_str(&format!("&room={room}"));
    }
    let actions: Vec<String> = scenario
        .actions
        .iter()
        .filter_map(|action| {
            // A choice is recorded once it is made; an unmade one is not replayable.
            let words = action.words()?;
            Some(words.join("-").replace("give-up", "giveup"))
        })
        .collect();
    if !actions.is_empty() {
        text.push_str(&format!("&actions={}", actions.join(".")));
    }
    if scenario.lesson.is_some() && !scenario.answers.is_empty() {
        let answers: Vec<String> = scenario
            .answers
            .iter()
            .map(|(step, key)| format!("{}:{key}", step + 1))
            .collect();
        text.push_str(&format!("&answers={}", answers.join(".")));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cut_link_says_to_go_back_to_the_first_step() {
        let (_, problems) = super::decode("v=1&lesson=streams&step=4&actions=start.pi");
        let said = super::explain(&problems);
        assert!(said.contains("\"pi\" is not an action"), "{said}");
        assert!(said.contains("press Reset"), "{said}");
        let (_, problems) = super::decode("v=1&lesson=nope");
        assert!(super::explain(&problems).contains("Pick a lesson"));
    }

    #[test]
    fn a_broken_link_is_echoed_decoded() {
        let (scenario, problems) = super::decode("v=1&lesson=%3Cimg%20src%3Dx%3E&peers=5");
        assert_eq!(scenario.lesson, None);
        assert_eq!(scenario.network.peers, 5);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "there is no lesson \"<img src=x>\""
        );
        // A lone `%` and bytes that are not UTF-8 are kept as they came.
        let (_, problems) = super::decode("lesson=100%&x=%FF");
        let said = super::explain(&problems);
        assert!(said.contains("no lesson \"100%\""), "{said}");
        assert!(said.contains("\"x=%FF\""), "{said}");
    }

    #[test]
    fn a_room_is_part_of_the_link_and_a_bad_one_is_named() {
        let (scenario, problems) = super::decode("v=1&peers=2&room=class-7b");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(scenario.room.as_deref(), Some("class-7b"));
        assert!(super::encode(&scenario).contains("&room=class-7b"));
        let (scenario, problems) = super::decode("v=1&peers=3&room=a%20b");
        assert_eq!(scenario.room, None);
        assert_eq!(scenario.network.peers, 3, "the rest of the link is kept");
        assert!(problems[0].to_string().contains("room"), "{problems:?}");
    }

    use super::*;

    fn sample() -> Scenario {
        Scenario {
            network: NetworkConfig {
                peers: 57,
                topology: Topology::Random,
                seed: 9,
                latency_ms: 150,
                dht: Some(crate::dht::Config {
                    k: 2,
                    alpha: 1,
                    replication: 4,
                    refresh_secs: Some(15),
                }),
            },
            lesson: Some("original-testbed".into()),
            step: 2,
            room: Some("blue".into()),
            actions: vec![
                Action::StartNetwork,
                Action::Ping {
                    from: 0,
                    to: Some(5),
                },
                Action::Ping {
                    from: 3,
                    to: Some(4),
                },
                Action::Transfer(crate::lesson::Transfer {
                    from: 0,
                    to: 1,
                    kib: 1024,
                    slow: true,
                    pings: false,
                    give_up: true,
                }),
                Action::Dht {
                    from: 4,
                    op: crate::lesson::DhtOp::Put,
                    key: crate::dht::DhtKey::Record(2),
                },
                Action::Churn { percent: 40 },
            ],
            answers: BTreeMap::from([(0, "190".into()), (2, "0".into())]),
        }
    }

    #[test]
    fn a_scenario_round_trips_through_its_fragment() {
        let scenario = sample();
        let fragment = format!("#{}", encode(&scenario));
        assert!(fragment.starts_with("#v=1&"), "{fragment}");
        assert_eq!(decode(&fragment), (scenario, vec![]));
    }

    #[test]
    fn answers_must_fit_the_lessons_questions() {
        let (scenario, problems) =
            decode("lesson=original-testbed&answers=1:190.1:7.2:190.3:57.3:19.4:together.x");
        // Step 1 takes 190 (a choice) but not 7; step 2 asks nothing; step 3 takes a peer
        // of the 20; the later answer to a step wins.
        assert_eq!(
            scenario.answers,
            BTreeMap::from([(0, "190".into()), (2, "19".into()), (3, "together".into())])
        );
        let rejected: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(rejected.len(), 4, "{rejected:?}");
        assert!(rejected[0].contains("\"1:7\" is not an answer"));
    }

    #[test]
    fn an_empty_fragment_is_free_play_on_the_original_testbed() {
        assert_eq!(decode(""), (Scenario::default(), vec![]));
        assert_eq!(decode("#"), (Scenario::default(), vec![]));
    }

    #[test]
    fn a_broken_dht_setting_is_named_and_the_network_runs_without_it() {
        let (scenario, problems) = decode("#peers=30&dht=k99-a3&topology=star");
        assert_eq!(scenario.network.dht, None);
        assert_eq!(scenario.network.topology, Topology::Star);
        assert!(
            problems[0].to_string().contains("k99-a3"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn every_problem_is_reported_and_the_rest_is_kept() {
        let (scenario, problems) =
            decode("#peers=1000&topology=ring&seed=-3&color=blue&actions=start.fly.ping-1-2");
        assert_eq!(scenario.network.topology, Topology::Ring);
        assert_eq!(scenario.network.peers, NetworkConfig::default().peers);
        assert_eq!(scenario.network.seed, NetworkConfig::default().seed);
        assert_eq!(
            scenario.actions,
            [
                Action::StartNetwork,
                Action::Ping {
                    from: 1,
                    to: Some(2)
                }
            ]
        );
        let messages: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].contains("peers=1000"));
        assert!(messages[1].contains("-3"));
        assert!(messages[2].contains("color=blue"));
        assert!(messages[3].contains("\"fly\" is not an action"));
    }

    #[test]
    fn a_future_version_an_unknown_lesson_and_a_wrong_step_are_named() {
        let (_, problems) = decode("v=2&peers=5");
        assert!(matches!(problems[..], [ScenarioProblem::FutureVersion(_)]));
        let (scenario, problems) = decode("lesson=flying&step=1");
        assert_eq!(scenario.lesson, None);
        assert!(problems[0].to_string().contains("no lesson \"flying\""));
        let (scenario, problems) = decode("latency=99999");
        assert_eq!(scenario.network.latency_ms, 0);
        assert!(problems[0].to_string().contains("not a latency"));
        let (scenario, problems) = decode("lesson=original-testbed&step=99");
        assert_eq!(
            (scenario.lesson.as_deref(), scenario.step),
            (Some("original-testbed"), 0)
        );
        assert!(problems[0]
            .to_string()
            .contains("\"step=99\" is not a step"));
    }

    #[test]
    fn a_link_cut_anywhere_keeps_every_setting_and_action_before_the_cut() {
        let sample = sample();
        let full = encode(&sample);
        for cut in 0..=full.len() {
            let text = &full[..cut];
            let (scenario, _) = decode(text);
            // Every setting followed by its `&` came whole: it is read as it was written.
            let parts: Vec<&str> = text.split('&').collect();
            for part in &parts[..parts.len() - 1] {
                let (key, _) = part.split_once('=').unwrap();
                match key {
                    "peers" => assert_eq!(scenario.network.peers, sample.network.peers),
                    "topology" => assert_eq!(scenario.network.topology, sample.network.topology),
                    "seed" => assert_eq!(scenario.network.seed, sample.network.seed),
                    "latency" => assert_eq!(scenario.network.latency_ms, sample.network.latency_ms),
                    "dht" => assert_eq!(scenario.network.dht, sample.network.dht),
                    "lesson" => assert_eq!(scenario.lesson, sample.lesson),
                    "step" => assert_eq!(scenario.step, sample.step),
                    "room" => assert_eq!(scenario.room, sample.room),
                    "actions" => assert_eq!(scenario.actions, sample.actions),
                    _ => {}
                }
            }
            // Every action followed by its `.` came whole, in order.
            if let Some(actions) = text.split("actions=").nth(1) {
                let whole = actions.split('&').next().unwrap().matches('.').count();
                assert_eq!(scenario.actions[..whole], sample.actions[..whole], "{text}");
            }
            assert!((2..=MAX_PEERS).contains(&scenario.network.peers));
        }
    }

    fn any_action() -> impl proptest::strategy::Strategy<Value = Action> {
        use crate::dht::DhtKey;
        use crate::lesson::{DhtOp, Transfer};
        use proptest::prelude::*;
        let peer = || 0..MAX_PEERS;
        prop_oneof![
            Just(Action::StartNetwork),
            Just(Action::Tokens),
            Just(Action::NaiveSnapshot),
            (peer(), peer()).prop_map(|(from, to)| Action::Ping { from, to: Some(to) }),
            (
                peer(),
                peer(),
                1..=crate::lesson::MAX_TRANSFER_KIB,
                any::<[bool; 3]>()
            )
                .prop_map(|(from, to, kib, [slow, pings, give_up])| Action::Transfer(
                    Transfer {
                        from,
                        to,
                        kib,
                        slow,
                        pings,
                        give_up,
                    }
                )),
            (peer(), proptest::option::of(peer()))
                .prop_filter("two different initiators", |(a, b)| Some(*a) != *b)
                .prop_map(|(first, second)| Action::Snapshot { first, second }),
            (peer(), peer())
                .prop_filter("the leaver is not the initiator", |(a, b)| a != b)
                .prop_map(|(leaver, initiator)| Action::LeaveDuringSnapshot { leaver, initiator }),
            (1..=crate::lesson::MAX_CHURN_PERCENT).prop_map(|percent| Action::Churn { percent }),
            peer().prop_map(|peer| Action::Leave { peer }),
            (0..=crate::lesson::MAX_MEANWHILE_MS)
                .prop_map(|after_ms| Action::Meanwhile { after_ms }),
            (
                peer(),
                prop_oneof![
                    Just(DhtOp::Lookup),
                    Just(DhtOp::Put),
                    Just(DhtOp::Get),
                    Just(DhtOp::Provide),
                    Just(DhtOp::FindProviders)
                ],
                prop_oneof![
                    peer().prop_map(DhtKey::Peer),
                    any::<u16>().prop_map(DhtKey::Record)
                ]
            )
                .prop_map(|(from, op, key)| Action::Dht { from, op, key }),
        ]
    }

    fn any_scenario() -> impl proptest::strategy::Strategy<Value = Scenario> {
        use proptest::prelude::*;
        let lessons = lesson::all();
        let lesson_steps: Vec<(String, usize)> = lessons
            .iter()
            .map(|l| (l.id.clone(), l.steps.len()))
            .collect();
        let dht = (
            1..=crate::dht::MAX_PARAMETER,
            1..=crate::dht::MAX_PARAMETER,
            1..=crate::dht::MAX_PARAMETER,
            proptest::option::of(1..=crate::dht::MAX_REFRESH_SECS),
        )
            .prop_map(|(k, alpha, replication, refresh_secs)| crate::dht::Config {
                k,
                alpha,
                replication,
                refresh_secs,
            });
        let lesson = proptest::option::of(
            (
                proptest::sample::select(lesson_steps),
                any::<prop::sample::Index>(),
            )
                .prop_map(|((id, steps), step)| (id, step.index(steps))),
        );
        (
            2..=MAX_PEERS,
            proptest::sample::select(vec![
                Topology::Original,
                Topology::Ring,
                Topology::Star,
                Topology::Line,
                Topology::Random,
            ]),
            any::<u64>(),
            0..=MAX_LATENCY_MS,
            proptest::option::of(dht),
            lesson,
            proptest::option::of("[a-z0-9_-]{1,20}"),
            proptest::collection::vec(any_action(), 0..20),
        )
            .prop_map(
                |(peers, topology, seed, latency_ms, dht, lesson, room, actions)| Scenario {
                    network: NetworkConfig {
                        peers,
                        topology,
                        seed,
                        latency_ms,
                        dht,
                    },
                    step: lesson.as_ref().map_or(0, |(_, step)| *step),
                    lesson: lesson.map(|(id, _)| id),
                    actions,
                    answers: BTreeMap::new(),
                    room,
                },
            )
    }

    proptest::proptest! {
        #[test]
        fn every_scenario_round_trips_through_its_link(scenario in any_scenario()) {
            let (decoded, problems) = decode(&encode(&scenario));
            proptest::prop_assert!(problems.is_empty(), "{:?}", problems);
            proptest::prop_assert_eq!(decoded, scenario);
        }

        #[test]
        fn a_broken_action_is_answered_with_every_kind_of_action_a_link_can_hold(action in any_action()) {
            let said = ScenarioProblem::Action("fly".into()).to_string();
            let first = action.words().unwrap().remove(0);
            proptest::prop_assert!(said.contains(&format!(" {first}")), "{} missing from: {}", first, said);
        }

        #[test]
        fn whatever_a_link_says_what_is_read_stays_in_bounds(text in "[a-z0-9=&.:%#_-]{0,300}") {
            let (scenario, _) = decode(&text);
            proptest::prop_assert!((2..=MAX_PEERS).contains(&scenario.network.peers));
            proptest::prop_assert!(scenario.network.latency_ms <= MAX_LATENCY_MS);
            proptest::prop_assert!(scenario.actions.len() <= MAX_ACTIONS);
            match &scenario.lesson {
                Some(id) => {
                    let steps = lesson::all().into_iter().find(|l| &l.id == id).unwrap().steps.len();
                    proptest::prop_assert!(scenario.step < steps);
                    proptest::prop_assert!(scenario.answers.keys().all(|step| *step < steps));
                }
                None => proptest::prop_assert_eq!(scenario.step, 0),
            }
            if let Some(room) = &scenario.room {
                proptest::prop_assert!(crate::room::check_room_name(room).is_ok());
            }
        }
    }

    #[test]
    fn random_and_huge_input_never_panics_and_is_bounded() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000 {
            let text: String = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from_u32((state % 0x2FF) as u32).unwrap_or('?')
                })
                .collect();
            let _ = decode(&text);
        }
        let huge = format!("actions={}", "start.".repeat(MAX_FRAGMENT));
        let (scenario, problems) = decode(&huge);
        assert!(scenario.actions.len() <= MAX_ACTIONS);
        assert!(problems.contains(&ScenarioProblem::TooLong { len: huge.len() }));
    }
}
