//! Kademlia on the in-page peers: libp2p-kad itself runs in every peer (server mode, fed by
//! identify); this module sets it up, asks it for lookups and its routing table, and rebuilds
//! each lookup hop by hop from the kad messages the wire tap read ([`crate::wire::kad`]),
//! because libp2p-kad reports a lookup only once it has finished.

pub mod key;
pub mod lookup;
pub mod node;
pub mod peer;
pub mod settle;
mod shown;

use std::fmt;

use libp2p::PeerId;
use serde::{Deserialize, Serialize};

pub use key::{Distance, KeyPoint};
pub use lookup::{Hop, Lookup, Lookups};
pub use node::{BootstrapLookups, LookupRequest, RoutingTable};
pub use shown::steady_before;

/// Kademlia's parameters, from the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    /// Bucket size and how many closest peers a lookup looks for (Kademlia's k). Lessons use
    /// 2 to 4 so that lookups among 20 to 100 peers take several hops.
    pub k: u8,
    /// Requests a lookup keeps in flight at once (Kademlia's α).
    pub alpha: u8,
    /// How many of the closest peers a record is stored on.
    pub replication: u8,
    /// Every this many seconds, each peer refreshes its routing table (libp2p-kad's periodic
    /// bootstrap) and puts the records it holds again on the closest peers it now finds
    /// (replication, or republication by the record's publisher): how a DHT heals after
    /// churn. `None`: the peers do only what the learner asks.
    pub refresh_secs: Option<u16>,
}

impl Config {
    /// The refresh interval as a duration.
    pub fn refresh_interval(&self) -> Option<std::time::Duration> {
        self.refresh_secs
            .map(|secs| std::time::Duration::from_secs(secs.into()))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            k: 3,
            alpha: 3,
            replication: 3,
            refresh_secs: None,
        }
    }
}

/// Largest k, α and replication factor a scenario may ask for (libp2p-kad's own k is 20).
pub const MAX_PARAMETER: u8 = 20;

/// Longest refresh interval a scenario may ask for: an hour, Kademlia's own.
pub const MAX_REFRESH_SECS: u16 = 3600;

/// From this many peers a Kademlia network takes a minute or more to settle in one page: 100
/// took 98 s here (their tables stopped changing at 26 s), 30 take about 15 s. Natively 100
/// take 35 s: see [`settle`] for where the requests come from.
pub const MANY_PEERS: usize = 100;

/// What to tell a learner about to start a Kademlia network of `peers`, when it is slow.
pub fn slow_to_settle(peers: usize) -> Option<&'static str> {
    (peers >= MANY_PEERS).then_some(
        "A Kademlia network this big takes a minute or more to settle in one page: every peer bootstraps, often twice, and each bootstrap's lookups ask for the 20 closest peers (100 peers make some 90,000 requests).",
    )
}

/// `k3-a3-r3`, or `k3-a3-r3-t20` with a refresh every 20 s: how a scenario link and a
/// lesson's front matter write the parameters.
impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "k{}-a{}-r{}", self.k, self.alpha, self.replication)?;
        match self.refresh_secs {
            Some(secs) => write!(f, "-t{secs}"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a DHT setting like k3-a3-r3 (k, α and replication from 1 to 20) or \
     k3-a3-r3-t20 (and a refresh every 1 to 3600 seconds)"
)]
pub struct ConfigError(String);

impl std::str::FromStr for Config {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Config, ConfigError> {
        let error = || ConfigError(text.chars().take(40).collect());
        let mut config = Config::default();
        for part in text.split('-') {
            let (name, value) = part.split_at_checked(1).ok_or_else(error)?;
            let value: u16 = value.parse().map_err(|_| error())?;
            let parameter = || {
                u8::try_from(value)
                    .ok()
                    .filter(|v| (1..=MAX_PARAMETER).contains(v))
                    .ok_or_else(error)
            };
            match name {
                "k" => config.k = parameter()?,
                "a" => config.alpha = parameter()?,
                "r" => config.replication = parameter()?,
                "t" if (1..=MAX_REFRESH_SECS).contains(&value) => config.refresh_secs = Some(value),
                _ => return Err(error()),
            }
        }
        Ok(config)
    }
}

/// A key the learner looks up: a peer's own (its PeerId) or a record's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhtKey {
    Peer(crate::PeerIndex),
    /// The record `record N`.
    Record(u16),
}

impl DhtKey {
    /// The key's bytes in a network whose peers are `peers`.
    pub fn bytes(self, peers: &[PeerId]) -> Option<Vec<u8>> {
        match self {
            DhtKey::Peer(index) => peers.get(index).map(|p| p.to_bytes()),
            DhtKey::Record(number) => Some(format!("record {number}").into_bytes()),
        }
    }

    /// `peer 7`, `record 2`: as lessons and links write it (and the page shows it).
    pub fn words(self) -> [String; 2] {
        match self {
            DhtKey::Peer(index) => ["peer".into(), index.to_string()],
            DhtKey::Record(number) => ["record".into(), number.to_string()],
        }
    }

    pub fn parse(kind: &str, value: &str) -> Option<DhtKey> {
        match kind {
            "peer" => value
                .parse()
                .ok()
                .filter(|&p| p < crate::MAX_PEERS)
                .map(DhtKey::Peer),
            "record" => value.parse().ok().map(DhtKey::Record),
            _ => None,
        }
    }
}

impl fmt::Display for DhtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [kind, value] = self.words();
        write!(f, "{kind} {value}")
    }
}

/// What a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupKind {
    /// The k peers closest to a key (FIND_NODE).
    ClosestPeers,
    /// Find the closest peers to a record's key, then store the record on them (PUT_VALUE).
    PutRecord,
    /// Ask peers ever closer to a key for its record (GET_VALUE).
    GetRecord,
    /// Find the closest peers, then tell them this peer provides the key (ADD_PROVIDER).
    Provide,
    /// Ask peers ever closer to a key who provides it (GET_PROVIDERS).
    FindProviders,
}

impl LookupKind {
    pub fn name(self) -> &'static str {
        match self {
            LookupKind::ClosestPeers => "closest peers",
            LookupKind::PutRecord => "put record",
            LookupKind::GetRecord => "get record",
            LookupKind::Provide => "provide",
            LookupKind::FindProviders => "find providers",
        }
    }
}

impl fmt::Display for LookupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a lookup ended, as the peer that ran it saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupOutcome {
    pub kind: LookupKind,
    pub key: Vec<u8>,
    /// The closest peers found, closest first.
    pub closest: Vec<PeerId>,
    /// A record's value, when one was found.
    pub value: Option<Vec<u8>>,
    /// Peers that answered with the record (a get).
    pub holders: Vec<PeerId>,
    /// Providers named (a find providers), each once, though several peers name them.
    pub providers: Vec<PeerId>,
    /// Why it failed, when it did (a timeout, a quorum not reached, no known peers).
    pub error: Option<String>,
    /// Requests libp2p-kad counted for the lookup.
    pub requests: u32,
    pub took_ms: f64,
}

/// The peers that leave in a churn of `percent` of a network of `peers` (never peer 0, the
/// learner's vantage point), drawn from the scenario's seed so a link replays the same.
pub fn churn(peers: usize, seed: u64, percent: u8) -> Vec<crate::PeerIndex> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut candidates: Vec<crate::PeerIndex> = (1..peers).collect();
    candidates.shuffle(&mut rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ 0xc4a2));
    let leaving = (peers * usize::from(percent))
        .div_ceil(100)
        .min(candidates.len());
    let mut leavers = candidates[..leaving].to_vec();
    leavers.sort_unstable();
    leavers
}

/// Who holds one key, as the live peers' stores say.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub key: Vec<u8>,
    /// Peers storing the record (put) or a provider record for the key (provide).
    pub peers: Vec<crate::PeerIndex>,
    pub provider_records: bool,
}

impl Holding {
    /// The `replication` peers closest to the key among those that have not left: where
    /// Kademlia keeps the record.
    pub fn closest_live(
        &self,
        peers: &[PeerId],
        has_left: impl Fn(crate::PeerIndex) -> bool,
        replication: usize,
    ) -> Vec<crate::PeerIndex> {
        let target = KeyPoint::of_bytes(&self.key);
        let mut live: Vec<crate::PeerIndex> = (0..peers.len()).filter(|&i| !has_left(i)).collect();
        live.sort_by_key(|&i| KeyPoint::of_peer(&peers[i]).distance(&target));
        live.truncate(replication);
        live
    }
}

/// Whether every record a live peer still holds is on the `replication` live peers closest to
/// its key: the DHT has healed after churn. A record nobody holds any more cannot come back.
pub fn healed(
    holdings: &[Holding],
    peers: &[PeerId],
    has_left: impl Fn(crate::PeerIndex) -> bool,
    replication: usize,
) -> bool {
    holdings
        .iter()
        .filter(|h| !h.provider_records && h.peers.iter().any(|&p| !has_left(p)))
        .all(|h| {
            h.closest_live(peers, &has_left, replication)
                .iter()
                .all(|c| h.peers.contains(c))
        })
}

/// What a peer's DHT side reports ([`node`]); the hops of a lookup come from the wire.
#[derive(Debug, Clone)]
pub enum DhtStep {
    /// `lookup` numbers this peer's lookups from 0.
    LookupStarted {
        lookup: u64,
        kind: LookupKind,
        key: Vec<u8>,
    },
    LookupFinished {
        lookup: u64,
        outcome: LookupOutcome,
    },
    /// Every peer's DHT side has been quiet for a while: libp2p-kad's start-up bootstrap is
    /// over (reported once, by peer 0, for the network). `entries`: over all routing tables;
    /// `tables_steady_ms`: how long before this no table had changed size.
    Settled {
        entries: usize,
        tables_steady_ms: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_takes_the_share_asked_never_peer_0_and_the_same_each_time() {
        let leavers = churn(30, 5, 30);
        assert_eq!(leavers.len(), 9);
        assert!(!leavers.contains(&0));
        assert_eq!(leavers, churn(30, 5, 30));
        assert_ne!(leavers, churn(30, 6, 30));
    }

    #[test]
    fn healed_means_every_record_still_held_is_on_the_closest_live_peers() {
        let peers: Vec<PeerId> = (0..8).map(|_| PeerId::random()).collect();
        let key = b"record 1".to_vec();
        let left = [1, 2];
        let has_left = |p: usize| left.contains(&p);
        let held_by = |holders: Vec<usize>| Holding {
            key: key.clone(),
            peers: holders,
            provider_records: false,
        };
        let closest = held_by(Vec::new()).closest_live(&peers, has_left, 3);
        assert_eq!(closest.len(), 3);
        assert!(closest.iter().all(|p| !has_left(*p)));

        assert!(healed(&[held_by(closest.clone())], &peers, has_left, 3));
        let mut more = closest.clone();
        more.push(1);
        assert!(
            healed(&[held_by(more)], &peers, has_left, 3),
            "old copies may stay"
        );
        let far = (0..8)
            .find(|p| !closest.contains(p) && !has_left(*p))
            .unwrap();
        let one_missing = vec![closest[0], closest[1], far];
        assert!(!healed(&[held_by(one_missing)], &peers, has_left, 3));
        assert!(
            healed(&[held_by(vec![1, 2])], &peers, has_left, 3),
            "nobody live holds it"
        );
    }

    #[test]
    fn settings_round_trip_and_bad_ones_are_refused() {
        let config: Config = "k2-a1-r4".parse().unwrap();
        assert_eq!((config.k, config.alpha, config.replication), (2, 1, 4));
        assert_eq!(config.to_string().parse::<Config>(), Ok(config));
        let refreshing: Config = "k3-a3-r3-t20".parse().unwrap();
        assert_eq!(refreshing.refresh_secs, Some(20));
        assert_eq!(refreshing.to_string(), "k3-a3-r3-t20");
        for bad in [
            "k0", "k21", "x3", "k", "", "k3-a", "kk", "t0", "t3601", "k300", "k-1",
        ] {
            assert!(bad.parse::<Config>().is_err(), "{bad}");
        }
    }
}
