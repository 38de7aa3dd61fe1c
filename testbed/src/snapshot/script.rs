//! Scripts for the snapshot simulator: a topology and what happens, one command per line.
//! `cargo run -p testbed --bin snapshot-sim -- FILE` runs one and prints every completed
//! snapshot as a line of JSON.
//!
//! ```text
//! # Four peers in a ring, 100 tokens each; messages take 1 to 5 ticks.
//! peers 4
//! topology ring          (original, ring, star, line, random; or: edges 0-1 1-2 2-3)
//! tokens 100            (each peer starts with 100; `tokens 2 0`: peer 2 starts with 0)
//! link 0 1               (a one-way channel from peer 0 to peer 1, as exercises draw them;
//!                         with links or edges given, they are all the channels there are)
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

use std::collections::{BTreeMap, BTreeSet};

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
    /// One-way channels, (from, to).
    links: Vec<(PeerIndex, PeerIndex)>,
    topology: Topology,
    tokens: u64,
    /// Starting balances that differ from `tokens`, by peer.
    balances: BTreeMap<PeerIndex, u64>,
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
        links: Vec::new(),
        topology: Topology::Ring,
        tokens: 100,
        balances: BTreeMap::new(),
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
            "peers" | "topology" | "edges" | "link" | "tokens" | "delay" | "seed"
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
            ["tokens", peer, n] => {
                settings.balances.insert(int(peer)? as PeerIndex, int(n)?);
            }
            ["link", from, to] => settings
                .links
                .push((int(from)? as PeerIndex, int(to)? as PeerIndex)),
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
        None if settings.links.is_empty() => settings.topology.dials(settings.peers, settings.seed),
        None => Vec::new(),
    };
    let channels: BTreeSet<(PeerIndex, PeerIndex)> = edges
        .iter()
        .flat_map(|&(a, b)| [(a, b), (b, a)])
        .chain(settings.links.iter().copied())
        .collect();
    if let Some(&(a, b)) = channels
        .iter()
        .find(|(a, b)| *a >= settings.peers || *b >= settings.peers || a == b)
    {
        return Err(format!(
            "channel {a}-{b} is not between two of the {} peers",
            settings.peers
        ));
    }
    if let Some(peer) = settings.balances.keys().find(|&&p| p >= settings.peers) {
        return Err(format!(
            "peer {peer} is not one of the {} peers",
            settings.peers
        ));
    }
    let balances = (0..settings.peers)
        .map(|p| {
            settings
                .balances
                .get(&p)
                .copied()
                .unwrap_or(settings.tokens)
        })
        .collect();
    let channels: Vec<_> = channels.into_iter().collect();
    Ok(Simulation::with_channels(
        balances,
        &channels,
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
    fn an_exercise_with_one_way_links_and_its_own_balances_replays_as_written() {
        // Three processes on a one-way ring 0 → 1 → 2 → 0, holding 10, 0 and 5.
        let run = run("peers 3\nlink 0 1\nlink 1 2\nlink 2 0\ntokens 0 10\ntokens 1 0\ntokens 2 5\ndelay 3 3\nsend 0 1 4\nsnapshot 1\ntick 1\nsend 2 0 5\n")
            .unwrap();
        let [report] = &run.completed[..] else {
            panic!("{run:?}")
        };
        assert_eq!(
            (report.recorded, report.total, report.check.as_str()),
            (15, 15, "ok")
        );
        // Each peer records only its one incoming channel.
        for part in &report.snapshot.parts {
            assert_eq!(part.channels.len(), 1, "{part:?}");
        }
        // Peer 1 recorded 0 before the 4 tokens from peer 0 arrived: they are on its channel.
        let part = &report.snapshot.parts[1];
        assert_eq!(part.state, 0);
        assert_eq!(part.channels[&0].iter().map(|t| t.amount).sum::<u64>(), 4);
        // A one-way link carries nothing back.
        assert!(super::run("peers 2\nlink 0 1\nsend 1 0 1")
            .unwrap_err()
            .problem
            .contains("no channel"));
        assert!(super::run("peers 2\ntokens 5 1\nsnapshot 0").is_err());
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
