//! What a run is made of, written into the page's URL fragment so a link rebuilds it:
//! `#peers=20&topology=original&seed=42`. Decoding is strict: every problem is reported, and
//! whatever could not be read keeps its default.

use crate::network::{NetworkConfig, MAX_PEERS};
use crate::topology::Topology;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioProblem {
    #[error("\"{key}={value}\" is not a peer count from 2 to {MAX_PEERS}")]
    PeerCount { key: String, value: String },
    #[error("\"{value}\" is not a topology (original, ring, star, line, random)")]
    Topology { value: String },
    #[error("\"{value}\" is not a seed (a whole number from 0 to 18446744073709551615)")]
    Seed { value: String },
    #[error("\"{part}\" is not a setting this page knows")]
    Unknown { part: String },
}

/// Reads a URL fragment (with or without its `#`). Returns the scenario, with defaults where
/// the fragment said nothing or said something wrong, and the problems found.
pub fn decode(fragment: &str) -> (NetworkConfig, Vec<ScenarioProblem>) {
    let mut config = NetworkConfig::default();
    let mut problems = Vec::new();
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    for part in fragment.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        match key {
            "peers" => match value.parse() {
                Ok(peers) if (2..=MAX_PEERS).contains(&peers) => config.peers = peers,
                _ => problems.push(ScenarioProblem::PeerCount {
                    key: key.into(),
                    value: value.into(),
                }),
            },
            "topology" => match value.parse::<Topology>() {
                Ok(topology) => config.topology = topology,
                Err(_) => problems.push(ScenarioProblem::Topology {
                    value: value.into(),
                }),
            },
            "seed" => match value.parse() {
                Ok(seed) => config.seed = seed,
                Err(_) => problems.push(ScenarioProblem::Seed {
                    value: value.into(),
                }),
            },
            _ => problems.push(ScenarioProblem::Unknown { part: part.into() }),
        }
    }
    (config, problems)
}

/// The fragment for a scenario, without its `#`.
pub fn encode(config: &NetworkConfig) -> String {
    format!(
        "peers={}&topology={}&seed={}",
        config.peers, config.topology, config.seed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_round_trips_through_its_fragment() {
        let config = NetworkConfig {
            peers: 57,
            topology: Topology::Random,
            seed: 9,
        };
        assert_eq!(decode(&format!("#{}", encode(&config))), (config, vec![]));
    }

    #[test]
    fn an_empty_fragment_is_the_original_testbed() {
        assert_eq!(decode(""), (NetworkConfig::default(), vec![]));
        assert_eq!(decode("#"), (NetworkConfig::default(), vec![]));
    }

    #[test]
    fn every_problem_is_reported_and_the_rest_is_kept() {
        let (config, problems) = decode("#peers=1000&topology=ring&seed=-3&color=blue");
        assert_eq!(config.topology, Topology::Ring);
        assert_eq!(config.peers, NetworkConfig::default().peers);
        assert_eq!(config.seed, NetworkConfig::default().seed);
        let messages: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("peers=1000"));
        assert!(messages[1].contains("-3"));
        assert!(messages[2].contains("color=blue"));
    }

    #[test]
    fn arbitrary_text_never_panics() {
        for text in [
            "&&&",
            "=",
            "peers",
            "peers=",
            "topology=",
            "%%%",
            "é=ü&peers=é",
        ] {
            let _ = decode(text);
        }
    }
}
