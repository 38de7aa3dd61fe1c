//! The snapshot lessons' token application on the page's network: random sends, Chandy-Lamport
//! snapshots and naive ones, and a report of what each recorded for the table.

use std::rc::Rc;
use std::time::Duration;

use futures::future::{self, Either, LocalBoxFuture};
use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::lesson::Action;
use testbed::snapshot::collect::Outcome;
use testbed::snapshot::live::TokenNetwork;
use testbed::snapshot::report::{self, Report};
use testbed::snapshot::SnapshotId;
use testbed::{Network, PeerIndex};

use crate::lazy;
use crate::running::Running;

/// Tokens each peer holds when the application starts.
const TOKENS_EACH: u64 = 100;
/// Random sends of the "tokens" action.
const SENDS: u64 = 12;
/// Random sends before and after a snapshot starts, so tokens are in flight when it cuts.
const SENDS_BEFORE: u64 = 4;
const SENDS_AFTER: u64 = 6;
/// Sends are half the latency apart (so a few are in flight at any moment), at least this.
/// A recording (naive or a snapshot's start) comes half a gap after the last send: then every
/// send, arrival and marker lies a quarter of the latency or more from every recording, so a
/// reopened link records the same tokens in flight as the run it was copied from.
const MIN_SEND_GAP: Duration = Duration::from_millis(60);
/// A snapshot not finished this long after it started (plus its markers' latency, time paused
/// not counted) is reported as stuck.
const SNAPSHOT_PATIENCE: Duration = Duration::from_secs(8);
/// How often a waiting action looks for its snapshot's report.
const REPORT_POLL: Duration = Duration::from_millis(40);
/// Reports kept for the table.
const MAX_REPORTS: usize = 12;

#[derive(Clone, Copy)]
pub struct TokenApp {
    tokens: StoredValue<Option<Rc<TokenNetwork>>, LocalStorage>,
    /// Channels are being opened.
    opening: StoredValue<bool>,
    /// What each recording recorded, oldest first.
    pub reports: RwSignal<Vec<Report>>,
    /// Actions still running.
    pub busy: RwSignal<u32>,
    sends: StoredValue<u64>,
    /// Actions run one at a time, in the order asked: each takes a ticket and waits for its
    /// turn, so a replayed link runs them exactly as they ran live.
    tickets: StoredValue<u64>,
    serving: StoredValue<u64>,
}

impl TokenApp {
    pub fn new() -> TokenApp {
        TokenApp {
            tokens: StoredValue::new_local(None),
            opening: StoredValue::new(false),
            reports: RwSignal::new(Vec::new()),
            busy: RwSignal::new(0),
            sends: StoredValue::new(0),
            tickets: StoredValue::new(0),
            serving: StoredValue::new(0),
        }
    }

    /// Forgets the application of a network that was replaced.
    pub fn stop(self) {
        self.tokens.set_value(None);
        self.opening.set_value(false);
        self.reports.set(Vec::new());
        self.busy.set(0);
        self.sends.set_value(0);
        self.tickets.set_value(0);
        self.serving.set_value(0);
    }

    /// Runs a token action (random sends, snapshots, a naive snapshot, a peer leaving),
    /// starting the application first if need be; an error becomes the page's problem. Other
    /// actions are not the token application's.
    pub fn run(self, running: Running, action: Action) {
        let Some(network) = running.network() else {
            running.problem.set(Some(
                "Start the network first: no peers are running yet.".into(),
            ));
            return;
        };
        let turn = self.in_turn(running, network, action);
        spawn_local(async move {
            if let Some(Err(error)) = turn.await {
                running.problem.set(Some(error));
            }
        });
    }

    /// Runs `action` once the actions asked before it are done: None when the network was
    /// replaced meanwhile. Counted busy from the call, so a replay waits for it.
    pub fn in_turn(
        self,
        running: Running,
        network: Rc<Network>,
        action: Action,
    ) -> impl std::future::Future<Output = Option<Result<(), String>>> {
        let generation = running.generation();
        self.busy.update(|n| *n += 1);
        let ticket = self.tickets.get_value();
        self.tickets.set_value(ticket + 1);
        async move {
            while self.serving.get_value() != ticket {
                if running.generation() != generation {
                    return None;
                }
                futures_timer::Delay::new(REPORT_POLL).await;
            }
            let result = match lazy::token_actions().await {
                Ok(act) => act(self, network, action).await,
                Err(error) => Err(error.to_string()),
            };
            if running.generation() != generation {
                return None;
            }
            self.serving.set_value(ticket + 1);
            self.busy.update(|n| *n = n.saturating_sub(1));
            Some(result)
        }
    }

    /// Whether the application runs (or is opening) on the network: a peer that leaves
    /// must then leave it too.
    pub fn is_open(self) -> bool {
        self.opening.get_value() || self.tokens.with_value(Option::is_some)
    }

    /// Opens the application if need be, then runs `action`. Reached only from
    /// [`lazy::token_actions`], so the snapshot machinery comes in a chunk of its own.
    pub(crate) fn act(
        self,
        network: Rc<Network>,
        action: Action,
    ) -> LocalBoxFuture<'static, Result<(), String>> {
        Box::pin(async move {
            let tokens = self.open(&network).await?;
            self.execute(&tokens, &network, action).await
        })
    }

    async fn execute(
        self,
        tokens: &TokenNetwork,
        network: &Network,
        action: Action,
    ) -> Result<(), String> {
        let text = |e: testbed::snapshot::live::LiveError| e.to_string();
        match action {
            Action::Tokens => self.send_random(tokens, network, SENDS).await,
            // While tokens move, the initiators start a snapshot each at the same moment.
            Action::Snapshot { first, second } => {
                self.send_random_then_wait_half_a_gap(tokens, network, SENDS_BEFORE)
                    .await;
                let mut ids = Vec::new();
                for peer in std::iter::once(first).chain(second) {
                    ids.push(tokens.start_snapshot(peer).await.map_err(text)?);
                }
                // Back in step with the sends before.
                futures_timer::Delay::new(send_gap(network) / 2).await;
                self.send_random(tokens, network, SENDS_AFTER).await;
                for id in ids {
                    self.wait_for_report(tokens, network, id).await?;
                }
            }
            // The leaver goes before the initiator's marker reaches it.
            Action::LeaveDuringSnapshot { leaver, initiator } => {
                self.send_random_then_wait_half_a_gap(tokens, network, SENDS_BEFORE)
                    .await;
                let id = tokens.start_snapshot(initiator).await.map_err(text)?;
                leave(tokens, network, leaver).await?;
                futures_timer::Delay::new(send_gap(network) / 2).await;
                self.send_random(tokens, network, SENDS_AFTER).await;
                self.wait_for_report(tokens, network, id).await?;
            }
            Action::Leave { peer } => leave(tokens, network, peer).await?,
            // While tokens move, every peer writes its balance down at once.
            Action::NaiveSnapshot => {
                self.send_random_then_wait_half_a_gap(tokens, network, SENDS_BEFORE)
                    .await;
                self.add_report(tokens.record_naive().await.map_err(text)?);
                self.send_random(tokens, network, 2).await;
            }
            _ => {}
        }
        // An action is over when its tokens have landed: the next starts from a quiet
        // network, live and in a replayed link alike.
        let deadline = network.pace().deadline(SNAPSHOT_PATIENCE, 1);
        let landed = async {
            while tokens.in_flight() > 0 {
                futures_timer::Delay::new(REPORT_POLL).await;
            }
        };
        let _ = future::select(Box::pin(landed), Box::pin(deadline)).await;
        Ok(())
    }

    /// The token application on `network`, opening its channels the first time.
    async fn open(self, network: &Network) -> Result<Rc<TokenNetwork>, String> {
        while self.opening.get_value() {
            futures_timer::Delay::new(REPORT_POLL).await;
        }
        if let Some(tokens) = self.tokens.get_value() {
            return Ok(tokens);
        }
        self.opening.set_value(true);
        let started = TokenNetwork::start(network, TOKENS_EACH).await;
        self.opening.set_value(false);
        let (tokens, mut snapshots) = started.map_err(|e| e.to_string())?;
        let tokens = Rc::new(tokens);
        self.tokens.set_value(Some(tokens.clone()));
        let collector = tokens.clone();
        spawn_local(async move {
            while let Some(outcome) = snapshots.next().await {
                self.add_report(match outcome {
                    Outcome::Completed(completed) => {
                        Report::of_snapshot(&completed, collector.check(&completed))
                    }
                    Outcome::Incomplete(incomplete) => {
                        Report::of_incomplete(&incomplete, collector.total())
                    }
                });
            }
        });
        Ok(tokens)
    }

    fn add_report(self, report: Report) {
        self.reports.update(|reports| {
            reports.push(report);
            let excess = reports.len().saturating_sub(MAX_REPORTS);
            reports.drain(..excess);
        });
    }

    /// `count` seeded random sends a gap apart, then a gap.
    async fn send_random(self, tokens: &TokenNetwork, network: &Network, count: u64) {
        self.send_random_then(tokens, network, count, send_gap(network))
            .await;
    }

    /// `count` sends a gap apart, then half a gap: the moment to record.
    async fn send_random_then_wait_half_a_gap(
        self,
        tokens: &TokenNetwork,
        network: &Network,
        count: u64,
    ) {
        self.send_random_then(tokens, network, count, send_gap(network) / 2)
            .await;
    }

    async fn send_random_then(
        self,
        tokens: &TokenNetwork,
        network: &Network,
        count: u64,
        after_last: Duration,
    ) {
        let seed = network.config().seed;
        for n in 0..count {
            let nth = self.sends.get_value();
            self.sends.set_value(nth + 1);
            if tokens.send_random(seed, nth).is_err() {
                return;
            }
            let wait = if n + 1 < count {
                send_gap(network)
            } else {
                after_last
            };
            futures_timer::Delay::new(wait).await;
        }
    }

    async fn wait_for_report(
        self,
        tokens: &TokenNetwork,
        network: &Network,
        id: SnapshotId,
    ) -> Result<(), String> {
        let recording = testbed::snapshot::Recording::Snapshot(id);
        let reported = async move {
            while !self
                .reports
                .with_untracked(|r| r.iter().any(|r| r.recording == recording))
            {
                futures_timer::Delay::new(REPORT_POLL).await;
            }
        };
        // Markers cross the network one channel after another at worst.
        let hops = u32::try_from(network.config().peers).unwrap_or(u32::MAX);
        let deadline = network.pace().deadline(SNAPSHOT_PATIENCE, hops);
        match future::select(Box::pin(reported), Box::pin(deadline)).await {
            Either::Left(_) => Ok(()),
            Either::Right(_) => Err(report::why_unfinished(id, &tokens.waiting().await)),
        }
    }
}

/// `peer` leaves the application with its tokens, then the network, as a machine that goes
/// away would.
async fn leave(tokens: &TokenNetwork, network: &Network, peer: PeerIndex) -> Result<(), String> {
    tokens.leave(peer).await.map_err(|e| e.to_string())?;
    network.stop_peer(peer).await.map_err(|e| e.to_string())
}

fn send_gap(network: &Network) -> Duration {
    (network.pace().delay() / 2).max(MIN_SEND_GAP)
}
