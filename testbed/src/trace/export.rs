//! The trace in formats other tools read: Mermaid `sequenceDiagram` text, Chrome trace-event
//! JSON (Perfetto, chrome://tracing), Jaeger JSON (the Jaeger UI's JSON import) and a ShiViz
//! log (with vector clocks, for ShiViz's default regex).

use std::collections::{BTreeMap, HashMap};

use libp2p::PeerId;
use serde_json::{json, Value};

use super::mark::MessageKind;
use super::model::Message;
use super::Trace;

/// Names a peer in an export ("peer 3").
pub type Names<'a> = &'a dyn Fn(&PeerId) -> String;

fn host(name: &str) -> String {
    name.replace(' ', "")
}

/// A Mermaid `sequenceDiagram`: one arrow per message, in the order they were sent. Messages
/// never received end in a cross.
pub fn mermaid(trace: &Trace, names: Names) -> String {
    let mut participants: Vec<PeerId> = Vec::new();
    for m in trace.messages() {
        for peer in [m.from, m.to] {
            if !participants.contains(&peer) {
                participants.push(peer);
            }
        }
    }
    let mut text = String::from("sequenceDiagram\n");
    for peer in &participants {
        let name = names(peer);
        text.push_str(&format!("    participant {} as {name}\n", host(&name)));
    }
    for m in trace.messages() {
        let arrow = match (m.received.is_some(), m.kind) {
            (false, _) => "-x",
            (true, MessageKind::Envelope) => "->>",
            (true, _) => "-)",
        };
        let label = if m.received.is_some() {
            m.label.clone()
        } else {
            format!("{} (not received)", m.label)
        };
        // ':' and ';' end a Mermaid message; keep labels plain.
        let label = label.replace([':', ';', '#'], " ");
        text.push_str(&format!(
            "    {}{arrow}{}: {label}\n",
            host(&names(&m.from)),
            host(&names(&m.to))
        ));
    }
    text
}

/// Chrome trace-event JSON: a thread per peer, a short slice at each send and receive, and a
/// flow arrow from each send to its receive.
pub fn chrome_trace(trace: &Trace, names: Names) -> Value {
    let mut tids: HashMap<PeerId, usize> = HashMap::new();
    let mut events = Vec::new();
    let mut tid = |peer: &PeerId, events: &mut Vec<Value>| {
        let next = tids.len() + 1;
        *tids.entry(*peer).or_insert_with(|| {
            events.push(
                json!({"ph": "M", "pid": 1, "tid": next, "name": "thread_name",
                               "args": {"name": names(peer)}}),
            );
            next
        })
    };
    for m in trace.messages() {
        let from = tid(&m.from, &mut events);
        let sent_us = m.sent.at_ms * 1000.0;
        events.push(
            json!({"ph": "X", "pid": 1, "tid": from, "ts": sent_us, "dur": 1,
                           "name": format!("send {}", m.label), "cat": m.protocol}),
        );
        events.push(
            json!({"ph": "s", "pid": 1, "tid": from, "ts": sent_us, "id": m.position,
                           "name": m.label, "cat": "message"}),
        );
        if let Some(received) = m.received {
            let to = tid(&m.to, &mut events);
            let received_us = received.at_ms * 1000.0;
            events.push(
                json!({"ph": "X", "pid": 1, "tid": to, "ts": received_us, "dur": 1,
                               "name": format!("receive {}", m.label), "cat": m.protocol}),
            );
            events.push(
                json!({"ph": "f", "bp": "e", "pid": 1, "tid": to, "ts": received_us,
                               "id": m.position, "name": m.label, "cat": "message"}),
            );
        }
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

/// Jaeger JSON, one trace per exchange: each traced message is a span from its send to its
/// receive on the sender's process; an answer is a child of the message it answers.
/// `origin_unix_ms` is when the network started, by the wall clock.
pub fn jaeger(trace: &Trace, names: Names, origin_unix_ms: f64) -> Value {
    let mut by_trace: BTreeMap<u128, Vec<&Message>> = BTreeMap::new();
    for m in trace.messages() {
        if let Some((trace_id, _)) = m.context {
            by_trace.entry(trace_id.0).or_default().push(m);
        }
    }
    let mut processes = serde_json::Map::new();
    let mut process_of = |peer: &PeerId| {
        let name = names(peer);
        let id = format!("p{}", host(&name).trim_start_matches("peer"));
        processes
            .entry(id.clone())
            .or_insert_with(|| json!({"serviceName": name, "tags": [{"key": "peer_id", "type": "string", "value": peer.to_base58()}]}));
        id
    };
    let data: Vec<Value> = by_trace
        .iter()
        .map(|(trace_id, messages)| {
            let trace_hex = format!("{trace_id:032x}");
            let spans: Vec<Value> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let span_hex = format!("{:016x}", m.context.map_or(0, |(_, s)| s.0));
                    // The message this one answers: the latest earlier one that arrived at its sender.
                    let parent = messages[..i].iter().rev().find(|p| p.to == m.from);
                    let references: Vec<Value> = parent
                        .and_then(|p| p.context)
                        .map(|(_, s)| json!({"refType": "CHILD_OF", "traceID": trace_hex, "spanID": format!("{:016x}", s.0)}))
                        .into_iter()
                        .collect();
                    let start = ((origin_unix_ms + m.sent.at_ms) * 1000.0).round() as u64;
                    let end = m.received.map_or(m.sent.at_ms, |r| r.at_ms);
                    json!({
                        "traceID": trace_hex,
                        "spanID": span_hex,
                        "operationName": format!("{} {}", m.label, m.protocol),
                        "references": references,
                        "startTime": start,
                        "duration": ((end - m.sent.at_ms) * 1000.0).round().max(0.0) as u64,
                        "tags": [
                            {"key": "to", "type": "string", "value": names(&m.to)},
                            {"key": "received", "type": "bool", "value": m.received.is_some()},
                            {"key": "lamport.sent", "type": "int64", "value": m.sent.lamport.unwrap_or(0)},
                        ],
                        "logs": [],
                        "processID": process_of(&m.from),
                        "warnings": null,
                    })
                })
                .collect();
            json!({"traceID": trace_hex, "spans": spans, "processes": {}, "warnings": null})
        })
        .collect();
    let processes = Value::Object(processes);
    let data: Vec<Value> = data
        .into_iter()
        .map(|mut t| {
            t["processes"] = processes.clone();
            t
        })
        .collect();
    json!({ "data": data })
}

/// A ShiViz log: for every send and receive, a line describing it, then a line with the host
/// and its vector clock, as ShiViz's default regex expects:
/// `(?<event>.*)\n(?<host>\S*) (?<clock>{.*})`.
pub fn shiviz(trace: &Trace, names: Names) -> String {
    // Every send and receive, in the page's one clock; a send comes before its receive.
    let mut moments: Vec<(f64, bool, &Message)> = Vec::new();
    for m in trace.messages() {
        moments.push((m.sent.at_ms, false, m));
        if let Some(r) = m.received {
            moments.push((r.at_ms.max(m.sent.at_ms), true, m));
        }
    }
    moments.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut clocks: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
    let mut sent_clock: HashMap<u64, BTreeMap<String, u64>> = HashMap::new();
    let mut text = String::new();
    for (_, is_receive, m) in moments {
        let (me, other) = if is_receive {
            (&m.to, &m.from)
        } else {
            (&m.from, &m.to)
        };
        let me = host(&names(me));
        let mut clock = clocks.remove(&me).unwrap_or_default();
        if is_receive {
            if let Some(sent) = sent_clock.get(&m.position) {
                for (h, &t) in sent {
                    let entry = clock.entry(h.clone()).or_default();
                    *entry = (*entry).max(t);
                }
            }
        }
        *clock.entry(me.clone()).or_default() += 1;
        let event = if is_receive {
            format!("receive {} from {}", m.label, names(other))
        } else {
            sent_clock.insert(m.position, clock.clone());
            format!("send {} to {}", m.label, names(other))
        };
        let clock_json = serde_json::to_string(&clock).unwrap_or_default();
        text.push_str(&format!("{event}\n{me} {clock_json}\n"));
        clocks.insert(me, clock);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, PingStep};
    use crate::protocols::ping::Envelope;
    use crate::trace::synthetic::ping_exchange;
    use crate::trace::Tracer;

    fn peer(i: usize) -> PeerId {
        crate::identity::keypair(8, i).public().to_peer_id()
    }

    /// Peer 0 dials peer 1, then pings it twice; a third PING is lost.
    fn sample() -> (Trace, impl Fn(&PeerId) -> String) {
        let (a, b) = (peer(0), peer(1));
        let (ta, tb) = (Tracer::new(&a), Tracer::new(&b));
        let mut trace = Trace::default();
        let at = |at_ms, peer, kind| Event { at_ms, peer, kind };
        trace.apply(&at(0.0, a, EventKind::Dialing { remote: b }));
        trace.apply(&at(
            1.0,
            b,
            EventKind::ConnectionEstablished {
                remote: a,
                dialer: false,
            },
        ));
        for (n, t) in [("0", 10.0), ("1", 20.0)] {
            for event in ping_exchange((a, &ta), (b, &tb), n, [t, t + 1.0, t + 2.0, t + 3.0]) {
                trace.apply(&event);
            }
        }
        let lost = Envelope::ping("2".into(), a, String::new(), ta.start_trace());
        trace.apply(&at(
            30.0,
            a,
            EventKind::Ping(PingStep::Sent {
                remote: b,
                envelope: lost,
            }),
        ));
        let names = move |p: &PeerId| {
            if *p == a {
                "peer 0".to_owned()
            } else {
                "peer 1".to_owned()
            }
        };
        (trace, names)
    }

    #[test]
    fn mermaid_has_a_participant_per_peer_and_an_arrow_per_message() {
        let (trace, names) = sample();
        let text = mermaid(&trace, &names);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "sequenceDiagram");
        assert_eq!(lines[1], "    participant peer0 as peer 0");
        assert_eq!(lines[2], "    participant peer1 as peer 1");
        let arrows = &lines[3..];
        assert_eq!(arrows.len(), trace.len());
        assert_eq!(arrows[0], "    peer0-)peer1: dial");
        assert_eq!(arrows[1], "    peer0->>peer1: PING");
        assert_eq!(arrows[2], "    peer1->>peer0: PONG");
        assert_eq!(
            arrows.last().unwrap(),
            &"    peer0-xpeer1: PING (not received)"
        );
        // Every arrow line is `A<arrow>B: label` with one of the arrows Mermaid knows.
        for line in arrows {
            let (route, label) = line.trim().split_once(": ").unwrap();
            assert!(!label.contains(':'));
            assert!(
                ["->>", "-)", "-x"].iter().any(|a| route.contains(a)),
                "{line}"
            );
        }
    }

    #[test]
    fn chrome_trace_flows_pair_each_send_with_its_receive() {
        let (trace, names) = sample();
        let text = serde_json::to_string(&chrome_trace(&trace, &names)).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let events = parsed["traceEvents"].as_array().unwrap();
        let threads: Vec<_> = events
            .iter()
            .filter(|e| e["ph"] == "M")
            .map(|e| e["args"]["name"].clone())
            .collect();
        assert_eq!(threads, ["peer 0", "peer 1"]);
        let starts: Vec<_> = events.iter().filter(|e| e["ph"] == "s").collect();
        let finishes: Vec<_> = events.iter().filter(|e| e["ph"] == "f").collect();
        assert_eq!(starts.len(), trace.len());
        assert_eq!(
            finishes.len(),
            trace.len() - 1,
            "the lost PING has no finish"
        );
        for finish in finishes {
            let start = starts
                .iter()
                .find(|s| s["id"] == finish["id"])
                .expect("its start");
            assert!(start["ts"].as_f64() <= finish["ts"].as_f64());
            assert_ne!(start["tid"], finish["tid"]);
        }
    }

    #[test]
    fn jaeger_spans_are_valid_and_answers_are_children() {
        let (trace, names) = sample();
        let text = serde_json::to_string(&jaeger(&trace, &names, 1.7e12)).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let traces = parsed["data"].as_array().unwrap();
        assert_eq!(traces.len(), 3, "two exchanges and the lost PING");
        for t in traces {
            let spans = t["spans"].as_array().unwrap();
            for span in spans {
                assert_eq!(span["traceID"].as_str().unwrap().len(), 32);
                assert_eq!(span["spanID"].as_str().unwrap().len(), 16);
                assert!(span["startTime"].as_u64().unwrap() >= 1_700_000_000_000_000);
                let process = span["processID"].as_str().unwrap();
                assert!(t["processes"][process]["serviceName"].is_string());
                for reference in span["references"].as_array().unwrap() {
                    assert!(spans.iter().any(|s| s["spanID"] == reference["spanID"]));
                }
            }
        }
        let pong = traces
            .iter()
            .flat_map(|t| t["spans"].as_array().unwrap())
            .find(|s| s["operationName"].as_str().unwrap().starts_with("PONG"))
            .unwrap();
        assert_eq!(pong["references"][0]["refType"], "CHILD_OF");
    }

    #[test]
    fn shiviz_clocks_tick_per_event_and_receives_dominate_their_sends() {
        let (trace, names) = sample();
        let text = shiviz(&trace, &names);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() % 2, 0);
        let mut last_own: HashMap<String, u64> = HashMap::new();
        let mut sends: Vec<BTreeMap<String, u64>> = Vec::new();
        for pair in lines.chunks(2) {
            let (event, stamp) = (pair[0], pair[1]);
            // ShiViz's default regex: `(?<host>\S*) (?<clock>{.*})` on the second line.
            let (host, clock) = stamp.split_once(' ').unwrap();
            assert!(!host.is_empty() && !host.contains(char::is_whitespace));
            let clock: BTreeMap<String, u64> = serde_json::from_str(clock).unwrap();
            let own = clock[host];
            assert_eq!(own, last_own.get(host).copied().unwrap_or(0) + 1, "{stamp}");
            last_own.insert(host.to_owned(), own);
            if event.starts_with("send") {
                sends.push(clock);
            } else {
                assert!(sends
                    .iter()
                    .any(|s| s.iter().all(|(h, t)| clock.get(h).is_some_and(|c| c >= t))));
            }
        }
    }
}
