//! Scripts for the snapshot simulator: a topology and what happens, one command per line.
//! `cargo run -p testbed --bin snapshot-sim -- FILE` runs one and prints every completed
//! snapshot as a line of JSON.
//!
//! ```text
//! # Four peers in a ring, 100 tokens each; messages take 1 to 5 ticks.
//! peers 4
//! topology ring          (original, ring, star, line, random; or: edges 0-1 1-2 2-3)
//! tokens 100
//! delay 1 5
//! seed 7
//! send 0 1 5             (peer 0 sends 5 tokens to peer 1)
//! snapshot 2             (peer 2 starts a snapshot)
//! tick 3                 (3 ticks pass; messages due are delivered)
//! random-sends 10        (10 sends of random amounts to random neighbours)
//! leave 3                (peer 3 leaves: its connections close, with what was in flight)
//! ```
//!
//! A snapshot that a leaving peer kept from completing is reported as incomplete, with
//! what it was still waiting for.
//!
//! Settings come before the first event. At the end everything in flight is delivered.

use serde::Serialize;

use super::sim::{Incomplete, SimError, Simulation};
use super::GlobalSnapshot;
use crate::topology::Topology;
use crate::PeerIndex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ScriptError {
    pub line: usize,
    pub problem: String,
}

/// A completed snapshot as the runner prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub snapshot: GlobalSnapshot,
    pub took_ticks: u64,
    /// Tokens recorded: balances plus channels.
    pub recorded: u64,
    pub total: u64,
    /// "ok", or what the check found wrong.
    pub check: String,
}

struct Settings {
    peers: usize,
    edges: Option<Vec<(PeerIndex, PeerIndex)>>,
    topology: Topology,
    tokens: u64,
    delay: (u64, u64),
    seed: u64,
}

/// What a script's run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// In the order they completed.
    pub completed: Vec<Report>,
    pub incomplete: Vec<Incomplete>,
}

/// Runs `text` and returns every snapshot, completed or not.
pub fn run(text: &str) -> Result<Run, ScriptError> {
    let mut settings = Settings {
        peers: 4,
        edges: None,
        topology: Topology::Ring,
        tokens: 100,
        delay: (1, 5),
        seed: 0,
    };
    let mut sim: Option<Simulation> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let error = |problem: String| ScriptError {
            line: number,
            problem,
        };
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let int = |word: &str| -> Result<u64, ScriptError> {
            word.parse()
                .map_err(|_| error(format!("not a whole number: {word:?}")))
        };
        let is_setting = matches!(
            words[0],
            "peers" | "topology" | "edges" | "tokens" | "delay" | "seed"
        );
        if is_setting && sim.is_some() {
            return Err(error(format!(
                "{:?} must come before the first event",
                words[0]
            )));
        }
        match words[..] {
            ["peers", n] => {
                settings.peers = int(n)? as usize;
                if !(2..=crate::MAX_PEERS).contains(&settings.peers) {
                    return Err(error(format!("between 2 and {} peers", crate::MAX_PEERS)));
                }
            }
            ["topology", name] => {
                settings.topology = name
                    .parse()
                    .map_err(|_| error(format!("not a topology: {name:?}")))?
            }
            ["edges", ref pairs @ ..] => {
                let edges = pairs
                    .iter()
                    .map(|pair| {
                        let (a, b) = pair
                            .split_once('-')
                            .ok_or_else(|| error(format!("not an edge: {pair:?}")))?;
                        Ok((int(a)? as PeerIndex, int(b)? as PeerIndex))
                    })
                    .collect::<Result<Vec<_>, ScriptError>>()?;
                settings.edges = Some(edges);
            }
            ["tokens", n] => settings.tokens = int(n)?,
            ["delay", low, high] => settings.delay = (int(low)?, int(high)?),
            ["seed", n] => settings.seed = int(n)?,
            _ => {
                let sim = match &mut sim {
                    Some(sim) => sim,
                    None => sim.insert(start(&settings).map_err(error)?),
                };
                let event = |result: Result<(), SimError>| result.map_err(|e| error(e.to_string()));
                match words[..] {
                    ["send", from, to, amount] => event(sim.send(
                        int(from)? as PeerIndex,
                        int(to)? as PeerIndex,
                        int(amount)?,
                    ))?,
                    ["snapshot", peer] => {
                        event(sim.start_snapshot(int(peer)? as PeerIndex).map(drop))?
                    }
                    ["tick", n] => event(sim.tick(int(n)?))?,
                    ["leave", peer] => event(sim.disconnect(int(peer)? as PeerIndex))?,
                    ["random-sends", n] => {
                        for i in 0..int(n)? {
                            let from = (i as usize) % settings.peers;
                            event(sim.send_random(from))?;
                        }
                    }
                    _ => return Err(error(format!("not a command: {line:?}"))),
                }
            }
        }
    }
    let mut sim = match sim {
        Some(sim) => sim,
        None => start(&settings).map_err(|problem| ScriptError { line: 0, problem })?,
    };
    sim.run_until_quiet().map_err(|e| ScriptError {
        line: 0,
        problem: e.to_string(),
    })?;
    Ok(Run {
        completed: sim.reports(),
        incomplete: sim.incomplete().to_vec(),
    })
}

fn start(settings: &Settings) -> Result<Simulation, String> {
    let edges = match &settings.edges {
        Some(edges) => edges.clone(),
        None => settings.topology.dials(settings.peers, settings.seed),
    };
    if let Some(&(a, b)) = edges
        .iter()
        .find(|(a, b)| *a >= settings.peers || *b >= settings.peers || a == b)
    {
        return Err(format!(
            "edge {a}-{b} is not between two of the {} peers",
            settings.peers
        ));
    }
    Ok(Simulation::new(
        settings.peers,
        &edges,
        settings.tokens,
        settings.delay,
        settings.seed,
    ))
}

impl Simulation {
    /// Every completed snapshot with its check.
    pub fn reports(&self) -> Vec<Report> {
        self.completed()
            .iter()
            .map(|c| Report {
                recorded: c.snapshot.total(),
                total: c.total,
                check: match super::check::check(&c.snapshot, &c.cut, self.sent(), c.total) {
                    Ok(()) => "ok".to_owned(),
                    Err(violation) => violation.to_string(),
                },
                took_ticks: c.took_ticks,
                snapshot: c.snapshot.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_runs_and_reports_each_snapshot() {
        let reports = run("peers 3\ntopology line\ntokens 10\ndelay 2 2\nsend 0 1 4\nsnapshot 1\ntick 1\nsend 2 1 3\nsnapshot 0\n")
            .unwrap()
            .completed;
        assert_eq!(reports.len(), 2);
        for report in &reports {
            assert_eq!(
                (report.recorded, report.total, report.check.as_str()),
                (30, 30, "ok")
            );
        }
        let json = serde_json::to_string(&reports[0]).unwrap();
        assert!(
            json.contains("\"id\":{\"initiator\":1,\"number\":0}"),
            "{json}"
        );
        // Peer 1 recorded before the 4 tokens from peer 0 arrived: they are in flight.
        let part = &reports[0].snapshot.parts[1];
        assert_eq!(part.state, 10);
        assert_eq!(part.channels[&0].iter().map(|t| t.amount).sum::<u64>(), 4);
    }

    #[test]
    fn a_peer_leaving_leaves_an_incomplete_snapshot() {
        let run = run("peers 3\ntopology line\ndelay 5 5\nsnapshot 0\ntick 1\nleave 2\n").unwrap();
        assert!(run.completed.is_empty());
        assert_eq!(run.incomplete.len(), 1);
        assert_eq!(run.incomplete[0].peers_gone, [2]);
    }

    #[test]
    fn mistakes_name_their_line() {
        assert_eq!(run("peers 3\nfly 2").unwrap_err().line, 2);
        assert!(run("send 0 1 5\npeers 3")
            .unwrap_err()
            .problem
            .contains("before the first event"));
        assert!(run("peers 3\ntopology line\nsend 0 2 5")
            .unwrap_err()
            .problem
            .contains("no channel"));
        assert!(run("peers 3\nedges 0-7").is_err());
        assert!(run("peers 3\ntopology blob").is_err());
    }
}
