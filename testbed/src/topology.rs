//! Which peer dials which: the shapes a network can take.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// How the peers of a network are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// The original testbed's: peer i dials every peer j > i, so every pair is connected.
    Original,
    /// Each peer dials the next one, and the last dials peer 0.
    Ring,
    /// Peer 0 is the hub: every other peer dials it.
    Star,
    /// Each peer dials the next one; the ends stay apart.
    Line,
    /// A seeded random connected graph: each peer dials one earlier peer (a random tree, so
    /// everyone is reachable) and one more random peer.
    Random,
}

impl Topology {
    pub const ALL: [Topology; 5] = [
        Topology::Original,
        Topology::Ring,
        Topology::Star,
        Topology::Line,
        Topology::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topology::Original => "original",
            Topology::Ring => "ring",
            Topology::Star => "star",
            Topology::Line => "line",
            Topology::Random => "random",
        }
    }

    /// One sentence a learner reads next to the picker.
    pub fn description(self) -> &'static str {
        match self {
            Topology::Original => "peer i dials every peer after it: every pair is connected",
            Topology::Ring => "each peer dials the next; the last closes the ring",
            Topology::Star => "every peer dials peer 0, the hub",
            Topology::Line => "each peer dials the next; the ends stay apart",
            Topology::Random => "a random connected graph drawn from the seed",
        }
    }

    /// The dials of a network of `peers` peers, as (dialer, listener) pairs. Every unordered
    /// pair appears at most once, so each dial is one connection.
    pub fn dials(self, peers: usize, seed: u64) -> Vec<(usize, usize)> {
        let mut dials = Vec::new();
        let mut connected = BTreeSet::new();
        let mut add = |from: usize, to: usize| {
            if from != to && connected.insert((from.min(to), from.max(to))) {
                dials.push((from, to));
            }
        };
        match self {
            Topology::Original => {
                for i in 0..peers {
                    for j in i + 1..peers {
                        add(i, j);
                    }
                }
            }
            Topology::Ring => {
                for i in 0..peers {
                    add(i, (i + 1) % peers);
                }
            }
            Topology::Star => {
                for i in 1..peers {
                    add(i, 0);
                }
            }
            Topology::Line => {
                for i in 1..peers {
                    add(i - 1, i);
                }
            }
            Topology::Random => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                for i in 1..peers {
                    add(i, rng.random_range(0..i));
                }
                for i in 0..peers {
                    add(i, rng.random_range(0..peers));
                }
            }
        }
        dials
    }
}

/// The peers `peer` is paired with among `pairs` (in either order), sorted.
pub fn neighbours(pairs: impl Iterator<Item = (usize, usize)>, peer: usize) -> Vec<usize> {
    let mut neighbours: Vec<_> = pairs
        .filter_map(|(a, b)| match (a == peer, b == peer) {
            (true, _) => Some(b),
            (_, true) => Some(a),
            _ => None,
        })
        .collect();
    neighbours.sort_unstable();
    neighbours
}

/// How many of `pairs` each of `peers` peers is part of.
pub fn degrees(pairs: impl Iterator<Item = (usize, usize)>, peers: usize) -> Vec<usize> {
    let mut degrees = vec![0; peers];
    for (a, b) in pairs {
        for end in [a, b] {
            if let Some(degree) = degrees.get_mut(end) {
                *degree += 1;
            }
        }
    }
    degrees
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topology {0:?}; known: original, ring, star, line, random")]
pub struct UnknownTopology(pub String);

impl FromStr for Topology {
    type Err = UnknownTopology;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topology::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownTopology(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_connected(peers: usize, dials: &[(usize, usize)]) -> bool {
        let mut reached = vec![false; peers];
        let mut stack = vec![0];
        while let Some(p) = stack.pop() {
            if std::mem::replace(&mut reached[p], true) {
                continue;
            }
            for &(a, b) in dials {
                if a == p {
                    stack.push(b);
                } else if b == p {
                    stack.push(a);
                }
            }
        }
        reached.iter().all(|&r| r)
    }

    #[test]
    fn original_dials_every_later_peer() {
        let dials = Topology::Original.dials(20, 0);
        assert_eq!(dials.len(), 190);
        assert!(dials.iter().all(|&(i, j)| i < j));
    }

    #[test]
    fn shapes_have_their_edge_counts() {
        assert_eq!(Topology::Ring.dials(10, 0).len(), 10);
        assert_eq!(Topology::Star.dials(10, 0).len(), 9);
        assert!(Topology::Star.dials(10, 0).iter().all(|&(_, to)| to == 0));
        assert_eq!(Topology::Line.dials(10, 0).len(), 9);
        assert_eq!(Topology::Ring.dials(2, 0), vec![(0, 1)]);
    }

    #[test]
    fn every_topology_is_connected_and_has_no_duplicate_pairs() {
        for topology in Topology::ALL {
            for peers in [1, 2, 3, 7, 20, 100] {
                for seed in 0..5 {
                    let dials = topology.dials(peers, seed);
                    assert!(is_connected(peers, &dials), "{topology} with {peers} peers");
                    let pairs: BTreeSet<_> =
                        dials.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
                    assert_eq!(pairs.len(), dials.len(), "{topology} repeats a pair");
                }
            }
        }
    }

    #[test]
    fn random_topology_follows_the_seed() {
        assert_eq!(Topology::Random.dials(30, 7), Topology::Random.dials(30, 7));
        assert_ne!(Topology::Random.dials(30, 7), Topology::Random.dials(30, 8));
    }

    #[test]
    fn degrees_count_both_ends_of_each_pair() {
        assert_eq!(
            degrees(Topology::Star.dials(4, 0).into_iter(), 4),
            [3, 1, 1, 1]
        );
        assert_eq!(
            degrees(Topology::Original.dials(5, 0).into_iter(), 5),
            [4; 5]
        );
        // A pair naming a peer beyond the count (a view of fewer peers) is not counted there.
        assert_eq!(degrees([(0, 1), (1, 7)].into_iter(), 2), [1, 2]);
    }

    #[test]
    fn neighbours_are_found_on_either_side_of_a_pair() {
        let dials = Topology::Ring.dials(5, 0);
        assert_eq!(neighbours(dials.iter().copied(), 0), vec![1, 4]);
        assert_eq!(neighbours(dials.iter().copied(), 2), vec![1, 3]);
    }

    #[test]
    fn names_round_trip() {
        for topology in Topology::ALL {
            assert_eq!(topology.name().parse::<Topology>(), Ok(topology));
        }
        assert!("mesh".parse::<Topology>().is_err());
    }
}
