//! What the learner's actions do on the running network: a ping, a transfer, the DHT's and
//! the tokens' actions, and a link's actions replayed one after the other.

use futures::future;
use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::lesson::{Action, PingPair, Since, Transfer, MAX_MEANWHILE_MS};
use testbed::pace::Pace;
use testbed::{NetworkConfig, PeerIndex};

use crate::frame::now_ms;

use super::{Phase, PingRun, PingState, PingTarget, Session};

/// A slow reader's pause after each 16 KiB it reads: long enough that its window fills.
const TRANSFER_READ_DELAY_MS: u64 = 8;

/// Pings sent alongside a transfer that asks for them.
const TRANSFER_PINGS: usize = 3;

/// How often a replay checks whether the last action has settled.
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(20);

impl Session {
    /// Whether the network has finished starting (a DHT's settling included) and no action
    /// is still at work.
    fn is_settled(self) -> bool {
        let starting = matches!(
            self.phase.get_untracked(),
            Phase::Loading(_) | Phase::Starting | Phase::Connecting
        );
        !starting
            && self.dht.settling.with_untracked(Option::is_none)
            && self.tokens.busy.get_untracked() == 0
            && !self.at_work(true)
    }

    /// Whether an action that runs alongside others is still at work: a transfer, a leave,
    /// a DHT action, or (when `pings` counts) the last ping. The token application's
    /// actions are not among them: it runs them in turn.
    fn at_work(self, pings: bool) -> bool {
        let pinging = self
            .last_ping
            .with_untracked(|p| p.as_ref().is_some_and(|p| p.state == PingState::Running));
        (pings && pinging)
            || self.transfers.get_untracked() > 0
            || self.leaving.get_untracked() > 0
            || self.dht.busy.get_untracked() > 0
    }

    /// Waits until [`Session::is_settled`].
    pub async fn settled(self) {
        while !self.is_settled() {
            futures_timer::Delay::new(SETTLE_POLL).await;
        }
    }

    /// Keeps `action` for the link, and counts it. One started while the action kept before
    /// it was still at work (a leave during a slow ping) is kept after a `Meanwhile` that
    /// says how much later it started, so a replay overlaps them the same way. Keep
    /// pinging's pings are not kept, so they do not count. Call it before the action sets
    /// anything that [`Session::at_work`] reads.
    fn record(self, action: Action) {
        let now = now_ms();
        let overlaps = self.at_work(!self.continuous.get_untracked())
            && self.actions.with_untracked(|actions| {
                actions
                    .last()
                    .is_some_and(|last| *last != Action::StartNetwork)
            });
        let after_ms = (now - self.last_recorded_at.get_value())
            .round()
            .clamp(0.0, f64::from(MAX_MEANWHILE_MS)) as u32;
        self.actions.update(|actions| {
            if overlaps {
                actions.push(Action::Meanwhile { after_ms });
            }
            actions.push(action);
        });
        self.last_recorded_at.set_value(now);
        self.action_ran();
    }

    /// Replays `actions` one after the other, each once the previous has settled (or as
    /// long after it started as a `Meanwhile` says) and, while paused, when the learner
    /// steps or plays.
    pub async fn replay(self, config: NetworkConfig, mut actions: Vec<Action>) {
        // Every other action needs a network: a link cut before its `start` still gets one.
        if actions.first() != Some(&Action::StartNetwork) {
            actions.insert(0, Action::StartNetwork);
        }
        self.replaying.set(true);
        let mut actions = actions.into_iter().peekable();
        let mut first = true;
        while let Some(action) = actions.next() {
            if !std::mem::take(&mut first) {
                self.pace.with_value(Pace::turn).await;
            }
            let started_at = now_ms();
            match action {
                Action::StartNetwork => self.start(config),
                Action::Ping { from, to } => {
                    self.ping(from, to.map_or(PingTarget::Random, PingTarget::Peer))
                }
                Action::Transfer(transfer) => self.transfer(transfer),
                Action::Tokens
                | Action::Snapshot { .. }
                | Action::NaiveSnapshot
                | Action::LeaveDuringSnapshot { .. } => self.run_tokens(action),
                Action::Dht { .. } | Action::Churn { .. } => self.run_dht(action),
                Action::Leave { peer } => self.leave(peer),
                // Links record the peer that was clicked, as a plain action.
                Action::PingClicked { .. } | Action::SnapshotClicked | Action::PingRoom => continue,
                // One with no action before it to overlap (a link edited by hand).
                Action::Meanwhile { .. } => continue,
            }
            match actions.next_if(|next| matches!(next, Action::Meanwhile { .. })) {
                Some(Action::Meanwhile { after_ms }) => {
                    let wait_ms = started_at + f64::from(after_ms) - now_ms();
                    if wait_ms > 0.0 {
                        futures_timer::Delay::new(std::time::Duration::from_millis(wait_ms as u64))
                            .await;
                    }
                }
                _ => self.settled().await,
            }
        }
        self.replaying.set(false);
    }

    /// Marks where the trace stands as an action starts, and counts it.
    pub fn action_ran(self) {
        self.since_action.set(self.trace.with_untracked(Since::now));
        self.actions_run.update(|n| *n += 1);
    }

    /// Runs an action of the token application and records it for the link.
    pub fn run_tokens(self, action: Action) {
        self.record(action);
        self.tokens.run(self.running, action);
    }

    /// Runs a DHT action and records it for the link.
    pub fn run_dht(self, action: Action) {
        self.record(action);
        self.dht.run(self.running, action);
    }

    /// The PeerIds of the last ping's initiator and responder.
    pub fn last_ping_pair(self) -> Option<PingPair> {
        let run = self.last_ping.get()?;
        self.view.with(|view| {
            Some(PingPair {
                from: view.peer_id(run.from)?,
                to: view.peer_id(run.to)?,
            })
        })
    }

    /// Runs the testbed's ping from `from` to `to` (a seeded random peer for `Random`).
    pub fn ping(self, from: PeerIndex, to: PingTarget) {
        self.ping_and_record(from, to, true);
    }

    /// Runs a transfer action: bytes from one peer to another over a new stream, with pings
    /// alongside when asked.
    pub fn transfer(self, transfer: Transfer) {
        let Transfer {
            from,
            to,
            kib,
            slow,
            pings,
            give_up,
        } = transfer;
        let Some(network) = self.running.network() else {
            self.problem
                .set(Some("Start a network before sending anything.".into()));
            return;
        };
        self.record(Action::Transfer(transfer));
        self.transfers.update(|n| *n += 1);
        let generation = self.running.generation();
        let bytes = u64::from(kib) * 1024;
        let request = testbed::protocols::transfer::Request {
            bytes,
            read_delay_ms: if slow { TRANSFER_READ_DELAY_MS } else { 0 },
        };
        spawn_local(async move {
            let transfer = network.transfer(from, to, request, give_up.then_some(bytes / 4));
            let alongside = async {
                for n in 0..if pings { TRANSFER_PINGS } else { 0 } {
                    futures_timer::Delay::new(std::time::Duration::from_millis(40)).await;
                    network.ping(from, to, format!("alongside-{n}")).await?;
                }
                Ok(())
            };
            let (sent, pinged) = future::join(transfer, alongside).await;
            if self.running.generation() != generation {
                return;
            }
            self.transfers.update(|n| *n = n.saturating_sub(1));
            if let Some(error) = sent.err().or(pinged.err()) {
                self.problem.set(Some(error.to_string()));
            }
        });
    }

    /// Peer `peer` leaves the network, as if its machine went away. When tokens move, it
    /// leaves the token application first, taking its tokens along; in a DHT network the
    /// DHT's view forgets it.
    pub fn leave(self, peer: PeerIndex) {
        let Some(network) = self.running.network() else {
            self.problem
                .set(Some("Start a network before a peer can leave it.".into()));
            return;
        };
        let refused = match network.peer(peer) {
            None => Some(format!("there is no peer {peer} in this network.")),
            Some(_) if network.has_left(peer) => {
                Some(format!("peer {peer} has left the network already."))
            }
            Some(_) => None,
        };
        if refused.is_some() {
            self.problem.set(refused);
            return;
        }
        self.record(Action::Leave { peer });
        self.leaving.update(|n| *n += 1);
        let generation = self.running.generation();
        let tokens = self.tokens.is_open().then(|| {
            self.tokens
                .in_turn(self.running, network.clone(), Action::Leave { peer })
        });
        spawn_local(async move {
            let mut result = match tokens {
                Some(turn) => turn.await.unwrap_or(Ok(())),
                None => Ok(()),
            };
            if self.running.generation() != generation {
                return;
            }
            if network.config().dht.is_some() {
                self.dht.run(self.running, Action::Leave { peer });
            } else if let Err(error) = network.stop_peer(peer).await {
                result = Err(error.to_string());
            }
            self.leaving.update(|n| *n = n.saturating_sub(1));
            if let Err(error) = result {
                self.problem.set(Some(error));
            }
        });
    }

    /// Pings from random peers to random neighbours, one after the other, until `continuous`
    /// is switched off or the network is replaced. Not recorded in the link: thousands of
    /// pings would not fit in a URL.
    pub fn ping_continuously(self) {
        let generation = self.running.generation();
        self.continuous.set(true);
        spawn_local(async move {
            while self.continuous.get_untracked() && self.running.generation() == generation {
                let Some(network) = self.running.network() else {
                    break;
                };
                let senders = network.peers_with_a_neighbour();
                if senders.is_empty() {
                    self.problem.set(Some(
                        "No two peers still in the network are connected: there is no one left to ping."
                            .into(),
                    ));
                    break;
                }
                let from = senders
                    [(js_sys::Math::random() * senders.len() as f64) as usize % senders.len()];
                self.ping_and_record(from, PingTarget::Random, false);
                self.settled().await;
            }
            self.continuous.set(false);
        });
    }

    fn ping_and_record(self, from: PeerIndex, to: PingTarget, record: bool) {
        let Some(network) = self.running.network() else {
            self.problem
                .set(Some("Start a network before pinging.".into()));
            return;
        };
        let nth = self.pings_sent.get_value();
        self.pings_sent.set_value(nth + 1);
        let to = match to {
            PingTarget::Peer(peer) => peer,
            PingTarget::Random => match network.random_target(from, nth) {
                Some(peer) => peer,
                None => {
                    self.problem
                        .set(Some(format!("peer {from} has no neighbour to ping.")));
                    return;
                }
            },
        };
        // Refused before it is kept for the link: a replay would only fail again.
        if let Some(gone) = network.gone_of(from, to) {
            self.problem
                .set(Some(testbed::NetworkError::Left(gone).to_string()));
            return;
        }
        if record {
            self.record(Action::Ping { from, to: Some(to) });
        }
        self.last_ping.set(Some(PingRun {
            from,
            to,
            state: PingState::Running,
        }));
        let generation = self.running.generation();
        spawn_local(async move {
            let sent_at = now_ms();
            let result = network.ping(from, to, (nth + 1).to_string()).await;
            if self.running.generation() != generation {
                return;
            }
            let state = match result {
                Ok(_) => PingState::Answered {
                    round_trip_ms: now_ms() - sent_at,
                },
                Err(error) => {
                    self.problem.set(Some(error.to_string()));
                    PingState::Failed(error.to_string())
                }
            };
            self.last_ping.set(Some(PingRun { from, to, state }));
        });
    }
}
