//! The DHT on the page's network: waiting for libp2p-kad's start-up bootstrap to settle,
//! running the learner's lookups, peers leaving, and reading routing tables and stored records
//! for the DHT view.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::dht::node::RoutingTable;
use testbed::dht::settle::{settle, Settling};
use testbed::dht::{Holding, LookupKind};
use testbed::lesson::{Action, DhtOp};
use testbed::{Network, PeerIndex};

use crate::running::Running;

/// No kad traffic for this long counts as settled.
const QUIET: Duration = Duration::from_millis(500);

/// How often the view looks whether a peer was asked to store something since it last read
/// the stores.
const STORES_LOOKED_AT_EVERY: Duration = Duration::from_millis(250);

#[derive(Clone, Copy)]
pub struct DhtApp {
    /// How settling stands, while it lasts.
    pub settling: RwSignal<Option<Settling>>,
    /// Lookups, churns and leaves still running.
    pub busy: RwSignal<u32>,
    /// The peer whose routing table the DHT view shows.
    pub chosen: RwSignal<PeerIndex>,
    pub table: RwSignal<Option<(PeerIndex, RoutingTable)>>,
    /// Who holds each key that was put or provided.
    pub holdings: RwSignal<Vec<Holding>>,
    /// Peers that left.
    pub left: RwSignal<Vec<PeerIndex>>,
    /// Reads of the stores started: only the latest one's result is shown, since an earlier
    /// one may finish later with older stores.
    reads: StoredValue<u64>,
}

impl DhtApp {
    pub fn new() -> DhtApp {
        DhtApp {
            settling: RwSignal::new(None),
            busy: RwSignal::new(0),
            chosen: RwSignal::new(0),
            table: RwSignal::new(None),
            holdings: RwSignal::new(Vec::new()),
            left: RwSignal::new(Vec::new()),
            reads: StoredValue::new(0),
        }
    }

    pub fn stop(self) {
        self.settling.set(None);
        self.busy.set(0);
        self.chosen.set(0);
        self.table.set(None);
        self.holdings.set(Vec::new());
        self.left.set(Vec::new());
    }

    /// A DHT network of `peers` is starting: it is busy until it has settled (so a replayed
    /// link waits for that before its next action).
    pub fn expect_settling(self, peers: usize) {
        self.settling.set(Some(Settling::starting(peers)));
    }

    /// Follows the network's settling once it is connected, then shows peer 0's table.
    pub fn watch(self, running: Running) {
        let Some(network) = running.network() else {
            return;
        };
        let generation = running.generation();
        spawn_local(async move {
            let result = settle(&network, QUIET, |settling| {
                if running.generation() == generation {
                    self.settling.set(Some(settling));
                }
            })
            .await;
            if running.generation() != generation {
                return;
            }
            self.settling.set(None);
            if let Err(error) = result {
                running
                    .problem
                    .set(Some(format!("The DHT did not settle: {error}")));
                return;
            }
            // The stores change after the actions that change them have ended (libp2p-kad
            // writes an ADD_PROVIDER once its lookup is over), and, in peers that refresh and
            // replicate on their own, unasked: the view reads them again whenever the wire shows
            // a PUT_VALUE or ADD_PROVIDER received (a DHT network is always tapped).
            let stores_asked = || running.trace.with_untracked(|t| t.lookups().stores_asked);
            let mut read_after = stores_asked();
            self.refresh(running, &network).await;
            while running.generation() == generation {
                futures_timer::Delay::new(STORES_LOOKED_AT_EVERY).await;
                let asked = stores_asked();
                if asked != read_after {
                    read_after = asked;
                    self.refresh(running, &network).await;
                }
            }
        });
    }

    /// Shows `peer`'s routing table.
    pub fn choose(self, running: Running, peer: PeerIndex) {
        self.chosen.set(peer);
        if let Some(network) = running.network() {
            let generation = running.generation();
            spawn_local(async move {
                if let Some(handle) = network.peer(peer) {
                    if let Ok(table) = handle.routing_table().await {
                        if running.generation() == generation {
                            self.table.set(Some((peer, table)));
                        }
                    }
                }
            });
        }
    }

    /// Runs a DHT action (a lookup, a put or get, providing, a churn, a peer leaving); an error becomes the
    /// page's problem.
    pub fn run(self, running: Running, action: Action) {
        let Some(network) = running.network() else {
            running
                .problem
                .set(Some("Start the network before using the DHT.".into()));
            return;
        };
        let generation = running.generation();
        self.busy.update(|n| *n += 1);
        spawn_local(async move {
            let result = match action {
                Action::Dht { from, op, key } => {
                    let peers = network.peer_ids();
                    match (key.bytes(&peers), network.peer(from)) {
                        (Some(bytes), Some(peer)) if !network.has_left(from) => peer
                            .lookup(op.request(bytes))
                            .await
                            .map_err(|e| format!("peer {from}: {e}"))
                            .and_then(|outcome| match outcome.error {
                                // A get that found nothing is an answer, not a failure.
                                Some(_) if op == DhtOp::Get => Ok(()),
                                Some(error) => {
                                    Err(format!("peer {from}'s {} failed: {error}", op.word()))
                                }
                                None => Ok(()),
                            }),
                        (Some(_), Some(_)) => Err(format!("peer {from} has left the network")),
                        _ => Err(format!("there is no {key} in this network")),
                    }
                }
                Action::Churn { percent } => {
                    let config = network.config();
                    self.take_away(
                        &network,
                        testbed::dht::churn(config.peers, config.seed, percent),
                    )
                    .await
                }
                Action::Leave { peer } => self.take_away(&network, vec![peer]).await,
                _ => Ok(()),
            };
            if running.generation() != generation {
                return;
            }
            self.refresh(running, &network).await;
            self.busy.update(|n| *n = n.saturating_sub(1));
            if let Err(error) = result {
                running.problem.set(Some(error));
            }
        });
    }

    /// Stops `leavers`' peers, then counts them as left: a churn is over once all have gone.
    async fn take_away(self, network: &Network, leavers: Vec<PeerIndex>) -> Result<(), String> {
        let mut result = Ok(());
        for &peer in &leavers {
            if let Err(error) = network.stop_peer(peer).await {
                result = Err(error.to_string());
            }
        }
        self.left.update(|left| {
            left.extend(leavers);
            left.sort_unstable();
            left.dedup();
        });
        result
    }

    /// Reads the chosen peer's table and who holds what from the live peers.
    async fn refresh(self, running: Running, network: &Network) {
        let generation = running.generation();
        self.reads.update_value(|n| *n += 1);
        let read = self.reads.get_value();
        let chosen = self.chosen.get_untracked();
        // Keys some peer was asked to provide: the stores cannot list provider records.
        let provided: Vec<Vec<u8>> = running.trace.with_untracked(|trace| {
            let mut keys: Vec<Vec<u8>> = trace
                .lookups()
                .lookups()
                .filter(|l| l.kind == LookupKind::Provide)
                .map(|l| l.key.clone())
                .collect();
            keys.sort();
            keys.dedup();
            keys
        });
        let mut holdings: Vec<Holding> = Vec::new();
        let mut complete = true;
        for (index, peer) in network.peers().iter().enumerate() {
            if network.has_left(index) {
                continue;
            }
            // A read that failed (the peer stopped after the check above) would drop its copies
            // from the list until the next read: keep the last complete list instead.
            let Ok(stored) = peer.stored(provided.clone()).await else {
                complete = false;
                continue;
            };
            for (keys, provider_records) in [(stored.records, false), (stored.provided, true)] {
                for key in keys {
                    match holdings
                        .iter_mut()
                        .find(|h| h.key == key && h.provider_records == provider_records)
                    {
                        Some(holding) => holding.peers.push(index),
                        None => holdings.push(Holding {
                            key,
                            peers: vec![index],
                            provider_records,
                        }),
                    }
                }
            }
        }
        let table = match network.peer(chosen) {
            Some(peer) if !network.has_left(chosen) => peer.routing_table().await.ok(),
            _ => None,
        };
        if running.generation() != generation || self.reads.get_value() != read {
            return;
        }
        if complete {
            holdings.sort_by(|a, b| a.key.cmp(&b.key));
            self.holdings.set(holdings);
        }
        self.table.set(table.map(|t| (chosen, t)));
    }
}
