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
//! @action ping 0 random      (or: start, ping 0 5, ping 0 click)
//! @expect pong
//! @show diagram
//! @focus last-ping
//! ```

use libp2p::PeerId;

use crate::network::NetworkConfig;
use crate::trace::model::MessageKind;
use crate::trace::Trace;
use crate::view::NetworkView;
use crate::PeerIndex;

#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    pub network: NetworkConfig,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: String,
    pub paragraphs: Vec<Vec<Inline>>,
    pub action: Option<Action>,
    pub expect: Option<Expectation>,
    /// The view this step talks about.
    pub show: Option<View>,
    /// Draw only the last ping's two peers.
    pub focus_last_ping: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Network,
    Diagram,
}

/// A piece of a paragraph.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(String),
}

/// Something the learner makes the peers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start the lesson's network and dial its topology.
    StartNetwork,
    /// The testbed's ping from one peer to another (None: a random neighbour).
    Ping {
        from: PeerIndex,
        to: Option<PeerIndex>,
    },
    /// The learner clicks a peer in the network view, and `from` pings it.
    PingClicked { from: PeerIndex },
}

/// What the trace must show before the step is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Every connection of the topology is up.
    Connected,
    /// The last ping's initiator received the PONG.
    Pong,
    /// The last ping's stream is closed from both sides.
    StreamClosed,
}

/// The last ping, as the page knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingPair {
    pub from: PeerId,
    pub to: PeerId,
}

impl Expectation {
    /// What the learner is told to look for.
    pub fn describe(self) -> &'static str {
        match self {
            Expectation::Connected => "every connection of the topology up",
            Expectation::Pong => "a PONG arriving back at the peer that pinged",
            Expectation::StreamClosed => "a close (FIN) from each side of the stream",
        }
    }

    pub fn is_met(self, view: &NetworkView, trace: &Trace, last_ping: Option<PingPair>) -> bool {
        let received = |from: PeerId, to: PeerId, kind: MessageKind, label: Option<&str>| {
            trace.messages().rev().any(|m| {
                m.kind == kind
                    && (m.from, m.to) == (from, to)
                    && label.is_none_or(|l| m.label == l)
                    && m.received.is_some()
            })
        };
        match (self, last_ping) {
            (Expectation::Connected, _) => view.all_connected(),
            (Expectation::Pong, Some(ping)) => {
                received(ping.to, ping.from, MessageKind::Envelope, Some("PONG"))
            }
            (Expectation::StreamClosed, Some(ping)) => {
                received(ping.from, ping.to, MessageKind::Close, None)
                    && received(ping.to, ping.from, MessageKind::Close, None)
            }
            (_, None) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lesson {lesson}, line {line}: {problem}")]
pub struct LessonError {
    pub lesson: String,
    pub line: usize,
    pub problem: String,
}

/// The lessons compiled into the page, in the order a learner takes them: (id, content).
pub const CATALOGUE: &[(&str, &str)] = &[(
    "original-testbed",
    include_str!("../lessons/original-testbed.md"),
)];

/// Every lesson of the catalogue, parsed.
pub fn all() -> Vec<Lesson> {
    CATALOGUE
        .iter()
        .filter_map(|(id, text)| parse(id, text).ok())
        .collect()
}

/// Parses a lesson file. Lessons are compiled in, so an error is a bug in the content: the
/// tests parse every one.
pub fn parse(id: &str, text: &str) -> Result<Lesson, LessonError> {
    let error = |line: usize, problem: String| LessonError {
        lesson: id.to_owned(),
        line,
        problem,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    if lines.next().map(|(_, l)| l) != Some("---") {
        return Err(error(1, "a lesson starts with a '---' front matter".into()));
    }
    let mut title = None;
    let mut network = NetworkConfig::default();
    for (number, line) in lines.by_ref() {
        if line == "---" {
            break;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| error(number, format!("expected 'key: value', got {line:?}")))?;
        let value = value.trim();
        let bad = |what: &str| error(number, format!("{what}: {value:?}"));
        match key.trim() {
            "title" => title = Some(value.to_owned()),
            "peers" => network.peers = value.parse().map_err(|_| bad("not a peer count"))?,
            "topology" => network.topology = value.parse().map_err(|_| bad("not a topology"))?,
            "seed" => network.seed = value.parse().map_err(|_| bad("not a seed"))?,
            "latency" => {
                network.latency_ms = value
                    .trim_end_matches("ms")
                    .trim()
                    .parse()
                    .map_err(|_| bad("not a latency in ms"))?
            }
            other => return Err(error(number, format!("unknown front matter key {other:?}"))),
        }
    }
    let title = title.ok_or_else(|| error(1, "the front matter has no title".into()))?;

    let mut steps: Vec<Step> = Vec::new();
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, steps: &mut Vec<Step>| {
        if let Some(step) = steps.last_mut() {
            if !paragraph.trim().is_empty() {
                step.paragraphs.push(inlines(paragraph.trim()));
            }
        }
        paragraph.clear();
    };
    for (number, line) in lines {
        if let Some(heading) = line.strip_prefix("## ") {
            flush(&mut paragraph, &mut steps);
            steps.push(Step {
                title: heading.trim().to_owned(),
                paragraphs: Vec::new(),
                action: None,
                expect: None,
                show: None,
                focus_last_ping: false,
            });
        } else if let Some(directive) = line.strip_prefix('@') {
            flush(&mut paragraph, &mut steps);
            let step = steps
                .last_mut()
                .ok_or_else(|| error(number, "a directive before the first step".into()))?;
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words[..] {
                ["action", "start"] => step.action = Some(Action::StartNetwork),
                ["action", "ping", from, "click"] => {
                    let from = from
                        .parse()
                        .map_err(|_| error(number, format!("not a peer: {from:?}")))?;
                    step.action = Some(Action::PingClicked { from });
                }
                ["action", "ping", from, to] => {
                    let from = from
                        .parse()
                        .map_err(|_| error(number, format!("not a peer: {from:?}")))?;
                    let to = match to {
                        "random" => None,
                        to => Some(
                            to.parse()
                                .map_err(|_| error(number, format!("not a peer: {to:?}")))?,
                        ),
                    };
                    step.action = Some(Action::Ping { from, to });
                }
                ["expect", "connected"] => step.expect = Some(Expectation::Connected),
                ["expect", "pong"] => step.expect = Some(Expectation::Pong),
                ["expect", "closed"] => step.expect = Some(Expectation::StreamClosed),
                ["show", "network"] => step.show = Some(View::Network),
                ["show", "diagram"] => step.show = Some(View::Diagram),
                ["focus", "last-ping"] => step.focus_last_ping = true,
                _ => return Err(error(number, format!("unknown directive @{directive}"))),
            }
        } else if line.is_empty() {
            flush(&mut paragraph, &mut steps);
        } else if steps.is_empty() {
            return Err(error(number, "text before the first '## ' step".into()));
        } else {
            paragraph.push(' ');
            paragraph.push_str(line.trim());
        }
    }
    flush(&mut paragraph, &mut steps);
    if steps.is_empty() {
        return Err(error(1, "a lesson needs at least one '## ' step".into()));
    }
    Ok(Lesson {
        id: id.to_owned(),
        title,
        network,
        steps,
    })
}

/// Splits a paragraph into text, `code` and **strong** pieces.
fn inlines(text: &str) -> Vec<Inline> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let code = rest.find('`');
        let strong = rest.find("**");
        let (start, marker, make): (usize, &str, fn(String) -> Inline) = match (code, strong) {
            (Some(c), Some(s)) if s < c => (s, "**", Inline::Strong),
            (Some(c), _) => (c, "`", Inline::Code),
            (None, Some(s)) => (s, "**", Inline::Strong),
            (None, None) => {
                pieces.push(Inline::Text(rest.to_owned()));
                break;
            }
        };
        let after = &rest[start + marker.len()..];
        match after.find(marker) {
            Some(end) => {
                if start > 0 {
                    pieces.push(Inline::Text(rest[..start].to_owned()));
                }
                pieces.push(make(after[..end].to_owned()));
                rest = &after[end + marker.len()..];
            }
            None => {
                pieces.push(Inline::Text(rest.to_owned()));
                break;
            }
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    const SAMPLE: &str = "---\ntitle: Two peers\npeers: 2\ntopology: line\n---\n\n## Start\nThey **dial** over `/memory`.\nStill the same paragraph.\n\nA second one.\n\n@action start\n@expect connected\n\n## Ping\n@action ping 0 random\n@expect pong\n";

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
    fn content_mistakes_name_the_line() {
        let broken = SAMPLE.replace("@expect pong", "@expect miracles");
        let error = parse("two", &broken).unwrap_err();
        assert_eq!(error.line, 18);
        assert!(error.problem.contains("@expect miracles"));
        assert!(parse("x", "no front matter").is_err());
        assert!(parse("x", "---\ntitle: t\n---\ntext first").is_err());
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
    fn an_unclosed_marker_stays_text() {
        assert_eq!(inlines("a `b"), vec![Inline::Text("a `b".into())]);
    }
}
