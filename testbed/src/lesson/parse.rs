//! The lesson file parser: front matter, steps, `@` lines and inline text.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lesson {lesson}, line {line}: {problem}")]
pub struct LessonError {
    pub lesson: String,
    pub line: usize,
    pub problem: String,
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
    let mut summary = None;
    let mut minutes = None;
    let mut network = NetworkConfig::default();
    let mut room = None;
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
            "summary" => summary = Some(value.to_owned()),
            "minutes" => minutes = Some(value.parse().map_err(|_| bad("not a number of minutes"))?),
            "room" => {
                crate::room::check_room_name(value).map_err(|e| error(number, e))?;
                room = Some(value.to_owned());
            }
            "peers" => network.peers = value.parse().map_err(|_| bad("not a peer count"))?,
            "topology" => network.topology = value.parse().map_err(|_| bad("not a topology"))?,
            "seed" => network.seed = value.parse().map_err(|_| bad("not a seed"))?,
            "dht" => network.dht = Some(value.parse().map_err(|e| error(number, format!("{e}")))?),
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
    let summary = summary.ok_or_else(|| error(1, "the front matter has no summary".into()))?;
    let minutes = minutes.ok_or_else(|| error(1, "the front matter has no minutes".into()))?;

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
                from_start: false,
                focus: None,
                predict: None,
                draw: None,
            });
        } else if let Some(directive) = line.strip_prefix('@') {
            flush(&mut paragraph, &mut steps);
            let step = steps
                .last_mut()
                .ok_or_else(|| error(number, "a directive before the first step".into()))?;
            if let Some(rest) = directive.strip_prefix("predict ") {
                let (measure, question) = rest
                    .split_once(':')
                    .ok_or_else(|| error(number, "expected '@predict MEASURE: question'".into()))?;
                let measure = Measure::parse(measure.trim()).ok_or_else(|| {
                    error(number, format!("unknown measure {:?}", measure.trim()))
                })?;
                step.predict = Some(Prediction {
                    measure,
                    question: question.trim().to_owned(),
                    choices: Vec::new(),
                    why: String::new(),
                });
                continue;
            }
            if let Some(rest) = directive.strip_prefix("choice ") {
                let prediction = step
                    .predict
                    .as_mut()
                    .ok_or_else(|| error(number, "@choice before its @predict".into()))?;
                let (key, label) = rest
                    .split_once(':')
                    .ok_or_else(|| error(number, "expected '@choice KEY: label'".into()))?;
                let key = key.trim();
                if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(error(
                        number,
                        format!("a choice key is letters, digits and '-': {key:?}"),
                    ));
                }
                prediction.choices.push(Choice {
                    key: key.to_owned(),
                    label: label.trim().to_owned(),
                });
                continue;
            }
            if let Some(why) = directive.strip_prefix("why ") {
                let prediction = step
                    .predict
                    .as_mut()
                    .ok_or_else(|| error(number, "@why before its @predict".into()))?;
                prediction.why = why.trim().to_owned();
                continue;
            }
            let words: Vec<&str> = directive.split_whitespace().collect();
            if words.first() == Some(&"draw") {
                let kinds = words[1..]
                    .iter()
                    .map(|name| {
                        kind_named(name)
                            .ok_or_else(|| error(number, format!("@draw: unknown kind {name:?}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                step.draw = Some(kinds);
                continue;
            }
            match words[..] {
                ["action", ref action @ ..] => {
                    step.action = Some(
                        Action::parse(action)
                            // It times a link's actions; a step's button has nothing to do.
                            .filter(|action| !matches!(action, Action::Meanwhile { .. }))
                            .ok_or_else(|| error(number, format!("not an action: @{directive}")))?,
                    );
                }
                ["expect", "connected"] => step.expect = Some(Expectation::Connected),
                ["expect", "pong"] => step.expect = Some(Expectation::Pong),
                ["expect", "closed"] => step.expect = Some(Expectation::StreamClosed),
                ["expect", "handshaken"] => step.expect = Some(Expectation::Handshaken),
                ["expect", "interleaved"] => step.expect = Some(Expectation::Interleaved),
                ["expect", "window-update"] => step.expect = Some(Expectation::WindowUpdate),
                ["expect", "reset"] => step.expect = Some(Expectation::Reset),
                ["expect", "tokens"] => step.expect = Some(Expectation::Tokens),
                ["expect", "snapshot"] => step.expect = Some(Expectation::Snapshot),
                ["expect", "naive"] => step.expect = Some(Expectation::Naive),
                ["expect", "concurrent"] => step.expect = Some(Expectation::Concurrent),
                ["expect", "incomplete"] => step.expect = Some(Expectation::Incomplete),
                ["expect", "settled"] => step.expect = Some(Expectation::Settled),
                ["expect", "lookup"] => step.expect = Some(Expectation::Lookup),
                ["expect", "stored"] => step.expect = Some(Expectation::Stored),
                ["expect", "got"] => step.expect = Some(Expectation::Got),
                ["expect", "provided"] => step.expect = Some(Expectation::Provided),
                ["expect", "providers"] => step.expect = Some(Expectation::Providers),
                ["expect", "churned"] => step.expect = Some(Expectation::Churned),
                ["expect", "healed"] => step.expect = Some(Expectation::Healed),
                ["expect", "reserved"] => step.expect = Some(Expectation::Reserved),
                ["expect", "room-peer"] => step.expect = Some(Expectation::RoomPeer),
                ["expect", "room-pong"] => step.expect = Some(Expectation::RoomPong),
                ["expect", "room-direct"] => step.expect = Some(Expectation::RoomDirect),
                ["expect", "room-pong-direct"] => step.expect = Some(Expectation::RoomPongDirect),
                ["expect", "room-pong-without-relay"] => {
                    step.expect = Some(Expectation::RoomPongWithoutRelay)
                }
                ["show", "network"] => step.show = Some(View::Network),
                ["show", "diagram"] => step.show = Some(View::Diagram),
                ["show", "wire"] => step.show = Some(View::Wire),
                ["show", "diagram", "from-start"] => {
                    step.show = Some(View::Diagram);
                    step.from_start = true;
                }
                ["show", "wire", "from-start"] => {
                    step.show = Some(View::Wire);
                    step.from_start = true;
                }
                ["show", "dht"] => step.show = Some(View::Dht),
                ["show", "room"] => step.show = Some(View::Room),
                ["focus", "last-ping"] => step.focus = Some(Focus::LastPing),
                ["focus", "peers-with-arrows"] => step.focus = Some(Focus::PeersWithArrows),
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
    if let Some(step) = steps
        .iter()
        .find(|s| s.predict.is_some() && (s.action.is_none() || s.expect.is_none()))
    {
        return Err(error(
            1,
            format!(
                "step {:?} asks for a prediction, so it needs an @action to run and an @expect to wait for",
                step.title
            ),
        ));
    }
    Ok(Lesson {
        id: id.to_owned(),
        title,
        summary,
        minutes,
        network,
        room,
        steps,
    })
}

/// The kinds of message by the names the diagram's filters use.
fn kind_named(name: &str) -> Option<MessageKind> {
    Some(match name {
        "dials" => MessageKind::Connect,
        "streams" => MessageKind::OpenStream,
        "messages" => MessageKind::Envelope,
        "closes" => MessageKind::Close,
        "handshakes" => MessageKind::Handshake,
        "frames" => MessageKind::Frame,
        "tokens" => MessageKind::Tokens,
        "markers" => MessageKind::Marker,
        "kad" => MessageKind::Kad,
        "kad-background" => MessageKind::KadBackground,
        _ => return None,
    })
}

/// Splits a paragraph into text, `code` and **strong** pieces.
pub(super) fn inlines(text: &str) -> Vec<Inline> {
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
