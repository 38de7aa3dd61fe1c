//! One peer's side of the DHT: its libp2p-kad behaviour, the lookups it was asked to run and
//! their answers, and its routing table read out for the page.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::channel::oneshot;
use libp2p::kad::{self, store::MemoryStore, GetRecordOk, QueryId, QueryResult, Quorum, Record};
use libp2p::{identify, PeerId, StreamProtocol};
use web_time::Instant;

use super::{Config, DhtStep, KeyPoint, LookupKind, LookupOutcome};

pub type Kad = kad::Behaviour<MemoryStore>;

pub const PROTOCOL: StreamProtocol = StreamProtocol::new(crate::wire::kad::PROTOCOL);

/// A lookup gives up after this long (libp2p-kad's default is a minute).
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

pub fn behaviour(local: PeerId, config: Config) -> Kad {
    let one = NonZeroUsize::MIN;
    let mut kad_config = kad::Config::new(PROTOCOL);
    kad_config
        .set_kbucket_size(NonZeroUsize::new(config.k.into()).unwrap_or(one))
        .set_parallelism(NonZeroUsize::new(config.alpha.into()).unwrap_or(one))
        .set_replication_factor(NonZeroUsize::new(config.replication.into()).unwrap_or(one))
        .set_query_timeout(QUERY_TIMEOUT);
    // Without a refresh interval there is no background upkeep: what the learner sees is what
    // they asked for, plus the start-up bootstrap libp2p-kad always runs.
    let refresh = config.refresh_interval();
    kad_config
        .set_periodic_bootstrap_interval(refresh)
        .set_replication_interval(refresh)
        .set_publication_interval(refresh)
        .set_provider_publication_interval(refresh);
    if let Some(refresh) = refresh {
        // A peer that left keeps its bucket entry until a newcomer has waited this long for
        // its place (libp2p-kad's default is a minute): one refresh heals within a lesson.
        kad_config.set_kbucket_pending_timeout(refresh);
    }
    let mut kad = Kad::with_config(local, MemoryStore::new(local), kad_config);
    // In-page peers have no confirmed external address, so kad would stay a client that
    // nobody queries.
    kad.set_mode(Some(kad::Mode::Server));
    kad
}

/// A lookup the page asks a peer to run.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupRequest {
    ClosestPeers {
        key: Vec<u8>,
    },
    PutRecord {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// Done once `quorum` peers have answered with the record (or every candidate was asked).
    GetRecord {
        key: Vec<u8>,
        quorum: usize,
    },
    Provide {
        key: Vec<u8>,
    },
    FindProviders {
        key: Vec<u8>,
    },
}

impl LookupRequest {
    pub fn kind(&self) -> LookupKind {
        match self {
            LookupRequest::ClosestPeers { .. } => LookupKind::ClosestPeers,
            LookupRequest::PutRecord { .. } => LookupKind::PutRecord,
            LookupRequest::GetRecord { .. } => LookupKind::GetRecord,
            LookupRequest::Provide { .. } => LookupKind::Provide,
            LookupRequest::FindProviders { .. } => LookupKind::FindProviders,
        }
    }

    pub fn key(&self) -> &[u8] {
        match self {
            LookupRequest::ClosestPeers { key }
            | LookupRequest::PutRecord { key, .. }
            | LookupRequest::GetRecord { key, .. }
            | LookupRequest::Provide { key }
            | LookupRequest::FindProviders { key } => key,
        }
    }
}

/// One peer's routing table: its non-empty buckets, farthest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoutingTable {
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// libp2p-kad's index: log2 of the distance, so peers in bucket i share 255 − i leading
    /// bits with the local peer.
    pub index: u32,
    pub peers: Vec<PeerId>,
}

impl RoutingTable {
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.buckets.iter().flat_map(|b| b.peers.iter().copied())
    }
}

/// Whether a peer's DHT side is busy: a network has settled once every peer has no lookup
/// running (the automatic bootstrap included) and has heard no kad request for a while. With
/// a refresh interval, background lookups never stop: then only the learner's lookups and
/// changes to the routing table count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status {
    pub running: usize,
    /// Every lookup libp2p-kad is running, its own bootstraps and refreshes included.
    pub lookups: usize,
    pub table_size: usize,
    /// Since libp2p-kad last reported anything that counts (a request answered, a lookup's
    /// progress, a table change).
    pub quiet_ms: f64,
    pub bootstrap: BootstrapLookups,
}

/// How far libp2p-kad's own bootstraps have got on one peer, in lookups: a bootstrap looks up
/// the peer's own key, then a key in each bucket farther than its nearest neighbour's, each
/// time for the 20 closest peers (libp2p-kad's `K_VALUE`, whatever the bucket size). A peer
/// whose table gains someone while it holds fewer than 20 bootstraps again once the running
/// bootstrap ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootstrapLookups {
    pub done: usize,
    /// Still to run in the bootstrap under way. Until its first lookup ends libp2p-kad has not
    /// said how many buckets it will refresh, so that one lookup is all that is known.
    pub left: usize,
}

impl BootstrapLookups {
    /// Takes in one bootstrap lookup's end.
    fn count(&mut self, result: &kad::BootstrapResult, last: bool) {
        let remaining = match result {
            Ok(ok) => Some(ok.num_remaining),
            Err(kad::BootstrapError::Timeout { num_remaining, .. }) => *num_remaining,
        };
        self.done += 1;
        self.left = match remaining {
            Some(remaining) if !last => remaining as usize,
            _ => 0,
        };
    }
}

/// What a peer keeps for the DHT: the keys of the records it stores, and those of the keys
/// asked about that it holds provider records for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stored {
    pub records: Vec<Vec<u8>>,
    pub provided: Vec<Vec<u8>>,
}

/// What a peer asks of its DHT side.
pub enum Command {
    Lookup {
        request: LookupRequest,
        reply: oneshot::Sender<LookupOutcome>,
    },
    Table {
        reply: oneshot::Sender<RoutingTable>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
    /// What it stores; `provider_keys`: the keys to look for provider records of (the store
    /// cannot list them).
    Stored {
        provider_keys: Vec<Vec<u8>>,
        reply: oneshot::Sender<Stored>,
    },
}

struct Running {
    number: u64,
    request: LookupRequest,
    started: Instant,
    outcome: LookupOutcome,
    reply: oneshot::Sender<LookupOutcome>,
}

/// The lookups a peer is running.
pub struct Node {
    /// How many closest peers a lookup looks for.
    k: NonZeroUsize,
    running: HashMap<QueryId, Running>,
    next_lookup: u64,
    /// Whether libp2p-kad refreshes and replicates on its own: its background lookups then
    /// never stop, so only the tables changing and the learner's own lookups count as busy.
    refreshing: bool,
    last_activity: Instant,
    bootstrap: BootstrapLookups,
}

impl Node {
    pub fn new(config: Config) -> Node {
        Node {
            k: NonZeroUsize::new(config.k.into()).unwrap_or(NonZeroUsize::MIN),
            running: HashMap::new(),
            next_lookup: 0,
            refreshing: config.refresh_secs.is_some(),
            last_activity: Instant::now(),
            bootstrap: BootstrapLookups::default(),
        }
    }

    /// Runs `command`; returns the events to report.
    pub fn on_command(&mut self, kad: &mut Kad, command: Command) -> Vec<DhtStep> {
        match command {
            Command::Status { reply } => {
                let lookups = kad.iter_queries().count();
                let running = if self.refreshing {
                    self.running.len()
                } else {
                    lookups
                };
                // Not every query the learner did not ask for: with a refresh interval,
                // replication and republication run queries too.
                let bootstraps_running = kad
                    .iter_queries()
                    .filter(|query| matches!(query.info(), kad::QueryInfo::Bootstrap { .. }))
                    .count();
                let _ = reply.send(Status {
                    running,
                    lookups,
                    table_size: table_size(kad),
                    quiet_ms: self.last_activity.elapsed().as_secs_f64() * 1000.0,
                    bootstrap: BootstrapLookups {
                        left: self.bootstrap.left.max(bootstraps_running),
                        ..self.bootstrap
                    },
                });
                Vec::new()
            }
            Command::Table { reply } => {
                let _ = reply.send(table(kad));
                Vec::new()
            }
            Command::Stored {
                provider_keys,
                reply,
            } => {
                use kad::store::RecordStore;
                let store = kad.store_mut();
                let _ = reply.send(Stored {
                    records: store.records().map(|r| r.key.to_vec()).collect(),
                    provided: provider_keys
                        .into_iter()
                        .filter(|key| !store.providers(&kad::RecordKey::new(key)).is_empty())
                        .collect(),
                });
                Vec::new()
            }
            Command::Lookup { request, reply } => self.start(kad, request, reply),
        }
    }

    fn start(
        &mut self,
        kad: &mut Kad,
        request: LookupRequest,
        reply: oneshot::Sender<LookupOutcome>,
    ) -> Vec<DhtStep> {
        let key = request.key().to_vec();
        let record_key = kad::RecordKey::new(&key);
        let started = match &request {
            LookupRequest::ClosestPeers { key } => Ok(kad.get_n_closest_peers(key.clone(), self.k)),
            LookupRequest::PutRecord { value, .. } => {
                // Done once every closest peer found holds a copy, as the page then shows:
                // with a quorum of one the put would end at the first copy, the others still
                // on their way. A network smaller than r cannot give r copies.
                let quorum = NonZeroUsize::new(table_size(kad)).map_or(Quorum::One, Quorum::N);
                kad.put_record(Record::new(record_key, value.clone()), quorum)
                    .map_err(|e| e.to_string())
            }
            LookupRequest::GetRecord { .. } => Ok(kad.get_record(record_key)),
            LookupRequest::Provide { .. } => {
                kad.start_providing(record_key).map_err(|e| e.to_string())
            }
            LookupRequest::FindProviders { .. } => Ok(kad.get_providers(record_key)),
        };
        let outcome = LookupOutcome {
            kind: request.kind(),
            key: key.clone(),
            closest: Vec::new(),
            value: None,
            holders: Vec::new(),
            providers: Vec::new(),
            error: None,
            requests: 0,
            took_ms: 0.0,
        };
        let number = self.next_lookup;
        self.next_lookup += 1;
        let mut events = vec![DhtStep::LookupStarted {
            lookup: number,
            kind: request.kind(),
            key,
        }];
        match started {
            Ok(query) => {
                self.running.insert(
                    query,
                    Running {
                        number,
                        request,
                        started: Instant::now(),
                        outcome,
                        reply,
                    },
                );
            }
            Err(error) => {
                let outcome = LookupOutcome {
                    error: Some(error),
                    ..outcome
                };
                events.push(DhtStep::LookupFinished {
                    lookup: number,
                    outcome: outcome.clone(),
                });
                let _ = reply.send(outcome);
            }
        }
        events
    }

    /// Takes in one of libp2p-kad's events; returns the events to report.
    pub fn on_event(&mut self, kad: &mut Kad, event: kad::Event) -> Vec<DhtStep> {
        let counts = match &event {
            _ if !self.refreshing => true,
            kad::Event::RoutingUpdated { .. } => true,
            kad::Event::OutboundQueryProgressed { id, .. } => self.running.contains_key(id),
            _ => false,
        };
        if counts {
            self.last_activity = Instant::now();
        }
        match event {
            kad::Event::OutboundQueryProgressed {
                id,
                result,
                stats,
                step,
            } => {
                let Some(running) = self.running.get_mut(&id) else {
                    if let QueryResult::Bootstrap(result) = result {
                        self.bootstrap.count(&result, step.last);
                    }
                    return Vec::new();
                };
                let found_record = record_progress(&mut running.outcome, result);
                if let LookupRequest::GetRecord { quorum, .. } = running.request {
                    if found_record && running.outcome.holders.len() >= quorum.max(1) {
                        if let Some(mut query) = kad.query_mut(&id) {
                            query.finish();
                        }
                    }
                }
                if !step.last {
                    return Vec::new();
                }
                let Some(mut running) = self.running.remove(&id) else {
                    return Vec::new();
                };
                running.outcome.requests = stats.num_requests();
                running.outcome.took_ms = running.started.elapsed().as_secs_f64() * 1000.0;
                let target = KeyPoint::of_bytes(&running.outcome.key);
                running
                    .outcome
                    .closest
                    .sort_by_key(|p| KeyPoint::of_peer(p).distance(&target));
                let _ = running.reply.send(running.outcome.clone());
                vec![DhtStep::LookupFinished {
                    lookup: running.number,
                    outcome: running.outcome,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Peers that told identify they speak kad are added to the routing table at the
    /// addresses they listen on (a peer that only dialed in is known no other way).
    pub fn on_identified(kad: &mut Kad, peer: PeerId, info: &identify::Info) {
        if info.protocols.contains(&PROTOCOL) {
            for address in &info.listen_addrs {
                kad.add_address(&peer, address.clone());
            }
        }
    }
}

/// How many peers the routing table holds.
fn table_size(kad: &mut Kad) -> usize {
    kad.kbuckets().map(|b| b.num_entries()).sum()
}

/// Folds one progress report into the outcome; true once a record was found.
fn record_progress(outcome: &mut LookupOutcome, result: QueryResult) -> bool {
    match result {
        QueryResult::GetClosestPeers(result) => {
            let peers = match result {
                Ok(ok) => ok.peers,
                Err(kad::GetClosestPeersError::Timeout { peers, .. }) => {
                    outcome.error = Some("the lookup timed out".into());
                    peers
                }
            };
            outcome.closest = peers.into_iter().map(|p| p.peer_id).collect();
            false
        }
        QueryResult::PutRecord(result) => {
            outcome.error = match result {
                Ok(_) => None,
                Err(kad::PutRecordError::QuorumFailed {
                    success, quorum, ..
                }) => Some(format!(
                    "stored on {} of the {quorum} closest peers: the others did not answer",
                    success.len()
                )),
                Err(kad::PutRecordError::Timeout {
                    success, quorum, ..
                }) => Some(format!(
                    "the put timed out: stored on {} of the {quorum} closest peers",
                    success.len()
                )),
            };
            false
        }
        QueryResult::GetRecord(result) => match result {
            Ok(GetRecordOk::FoundRecord(found)) => {
                outcome.value = Some(found.record.value);
                if let Some(peer) = found.peer {
                    outcome.holders.push(peer);
                }
                true
            }
            Ok(GetRecordOk::FinishedWithNoAdditionalRecord { .. }) => false,
            Err(kad::GetRecordError::NotFound { closest_peers, .. }) => {
                outcome.closest = closest_peers;
                outcome.error = Some("no peer asked had the record".into());
                false
            }
            Err(error) => {
                outcome.error = Some(error.to_string());
                false
            }
        },
        QueryResult::StartProviding(result) => {
            if let Err(error) = result {
                outcome.error = Some(error.to_string());
            }
            false
        }
        QueryResult::GetProviders(result) => {
            match result {
                Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => {
                    // Each answer names the providers its peer knows, and the closest peers
                    // all know the same ones: each is kept once, in the order first named
                    // (within an answer by id, as libp2p-kad hands them over unordered).
                    let mut named: Vec<PeerId> = providers.into_iter().collect();
                    named.sort();
                    for provider in named {
                        if !outcome.providers.contains(&provider) {
                            outcome.providers.push(provider);
                        }
                    }
                }
                Ok(kad::GetProvidersOk::FinishedWithNoAdditionalRecord { closest_peers }) => {
                    outcome.closest = closest_peers
                }
                Err(error) => outcome.error = Some(error.to_string()),
            }
            false
        }
        _ => false,
    }
}

fn table(kad: &mut Kad) -> RoutingTable {
    RoutingTable {
        buckets: kad
            .kbuckets()
            .filter(|bucket| !bucket.is_empty())
            .map(|bucket| Bucket {
                index: bucket.range().1.ilog2().unwrap_or(0),
                peers: bucket.iter().map(|e| *e.node.key.preimage()).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bootstrap_counts_its_lookups_done_and_those_it_says_are_left() {
        let ok = |num_remaining| {
            Ok(kad::BootstrapOk {
                peer: PeerId::random(),
                num_remaining,
            })
        };
        let mut lookups = BootstrapLookups::default();
        lookups.count(&ok(6), false);
        assert_eq!(lookups, BootstrapLookups { done: 1, left: 6 });
        lookups.count(&ok(5), false);
        assert_eq!(lookups, BootstrapLookups { done: 2, left: 5 });
        let timed_out = Err(kad::BootstrapError::Timeout {
            peer: PeerId::random(),
            num_remaining: Some(4),
        });
        lookups.count(&timed_out, false);
        assert_eq!(lookups, BootstrapLookups { done: 3, left: 4 });
        // The last lookup of a bootstrap leaves nothing, whatever it says.
        lookups.count(&ok(0), true);
        assert_eq!(lookups, BootstrapLookups { done: 4, left: 0 });
        // A second bootstrap adds to what is done.
        lookups.count(&ok(7), false);
        assert_eq!(lookups, BootstrapLookups { done: 5, left: 7 });
    }
}
