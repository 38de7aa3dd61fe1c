//! The token application and its snapshots on real in-page peers: every peer of a running
//! [`Network`] holds tokens and runs a [`Machine`]; each directed channel is one
//! long-lived libp2p stream ([`super::channel`]), paced like the testbed's other messages.
//!
//! Every step is recorded in the ground truth ([`super::truth`]) each snapshot is checked
//! against, and reported as an [`EventKind::Tokens`] event, for the trace and the diagram.
//! Completed parts are gathered by [`Snapshots`], standing in for the initiator's collection.
//!
//! A channel that closes (its peer left, or sent something malformed) closes the channel back
//! too: snapshots waiting for its marker end incomplete, later ones go on without it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::channel::{self, Packet};
use super::check::Violation;
use super::collect::{PartReport, Snapshots};
use super::machine::{Machine, SnapshotId};
use super::report::Report;
use super::sim::Completed;
use super::truth::{lock, Truth};
use crate::network::Network;
use crate::pace::Pace;
use crate::runtime::spawn;
use crate::PeerIndex;
use token_peer::{Command, Delivery, TokenPeer, Writer};

mod token_peer;

/// Most tokens one random send moves.
pub const MAX_RANDOM_AMOUNT: u64 = 20;

/// Commands waiting for one peer: the page asks a few per click, so a full queue means the
/// peer is stuck.
const COMMAND_QUEUE: usize = 64;

/// Packets read from a peer's incoming channels, waiting for it: when full, its readers wait,
/// and the streams' flow control slows the senders.
const INBOX: usize = 1024;

/// Parts and give-ups waiting for the collector: room for many snapshots of 200 peers.
const REPORT_QUEUE: usize = 4096;

/// Tries to open a channel before giving up.
const OPEN_ATTEMPTS: u32 = 8;
const OPEN_RETRY: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("the channel from peer {from} to peer {to} could not be opened: {reason}")]
    Open {
        from: PeerIndex,
        to: PeerIndex,
        reason: String,
    },
    #[error("peer {0} is not in this network")]
    NoPeer(PeerIndex),
    #[error("peer {0} has stopped")]
    Stopped(PeerIndex),
    #[error("peer {0} is busy: {COMMAND_QUEUE} commands wait for it")]
    Busy(PeerIndex),
    #[error("no two peers left in the network are neighbours: no tokens can move")]
    NobodyToSendTo,
}

/// The token application on the peers of a [`Network`]; see the module's documentation.
pub struct TokenNetwork {
    // Behind locks: futures' mpsc gives each clone of a sender a slot of its own, so sending
    // through clones would not be bounded.
    commands: Vec<Mutex<mpsc::Sender<Command>>>,
    neighbours: Vec<Vec<PeerIndex>>,
    /// What peers rejected, as sentences for the page.
    problems: Arc<Mutex<Vec<String>>>,
    truth: Arc<Mutex<Truth>>,
    reports: Mutex<mpsc::Sender<PartReport>>,
    total: u64,
    naive_snapshots: std::sync::atomic::AtomicU32,
}

impl TokenNetwork {
    /// Opens a channel both ways along every connection of `network` and gives each peer
    /// `tokens`.
    pub async fn start(
        network: &Network,
        tokens: u64,
    ) -> Result<(TokenNetwork, Snapshots), LiveError> {
        let peers = network.peer_ids();
        let count = peers.len();
        let truth = Arc::new(Mutex::new(Truth::default()));
        let (reports, report_queue) = mpsc::channel(REPORT_QUEUE);
        let mut inboxes = Vec::new();
        let mut inbox_senders = Vec::new();
        for _ in 0..count {
            let (sender, inbox) = mpsc::channel::<(PeerIndex, Delivery)>(INBOX);
            inbox_senders.push(sender);
            inboxes.push(inbox);
        }
        // Every peer accepts channels, acknowledges each, and reads it into its inbox. The
        // first stream from a neighbour is its channel; another is read, and its faults
        // reported, but its end closes nothing.
        for (me, inbox) in inbox_senders.iter().enumerate() {
            let handle = network.peer(me).ok_or(LiveError::NoPeer(me))?;
            let mut incoming = handle
                .accept(channel::PROTOCOL)
                .map_err(|_| LiveError::Stopped(me))?;
            let inbox = inbox.clone();
            let peers = peers.clone();
            spawn(async move {
                let mut channels = BTreeSet::new();
                while let Some((remote, mut stream)) = incoming.next().await {
                    let Some(from) = peers.iter().position(|p| *p == remote) else {
                        continue;
                    };
                    let is_channel = channels.insert(from);
                    let mut inbox = inbox.clone();
                    spawn(async move {
                        if channel::acknowledge(&mut stream).await.is_err() {
                            return;
                        }
                        loop {
                            let delivery = match channel::read_packet(&mut stream).await {
                                Ok(Some(packet)) => Delivery::Packet(packet),
                                Ok(None) => Delivery::Closed,
                                Err(error) => Delivery::Malformed(error),
                            };
                            let end = !matches!(delivery, Delivery::Packet(_));
                            let malformed = matches!(delivery, Delivery::Malformed(_));
                            if (is_channel || malformed)
                                && inbox.send((from, delivery)).await.is_err()
                            {
                                return;
                            }
                            if end {
                                if malformed && is_channel {
                                    let _ = inbox.send((from, Delivery::Closed)).await;
                                }
                                return;
                            }
                        }
                    });
                }
            });
        }
        // Every peer opens one stream to each neighbour, written by its own task: packets
        // queued one after the other travel together, each held for the latency, in order.
        let mut writers: Vec<BTreeMap<PeerIndex, Writer>> =
            (0..count).map(|_| BTreeMap::new()).collect();
        for (from, writers) in writers.iter_mut().enumerate() {
            for to in network.neighbours(from) {
                let mut stream = open_channel(network, from, to).await?;
                let (sender, mut queue) =
                    mpsc::channel::<(web_time::Instant, Packet)>(channel::BACKLOG);
                let pace: Pace = network.pace().clone();
                spawn(async move {
                    while let Some((queued, packet)) = queue.next().await {
                        pace.hold_since(queued).await;
                        if channel::write_packet(&mut stream, &packet, None)
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
                writers.insert(to, sender);
            }
        }
        let mut commands = Vec::new();
        let problems = Arc::new(Mutex::new(Vec::new()));
        for (me, (inbox, writers)) in inboxes.into_iter().zip(writers).enumerate() {
            let (sender, receiver) = mpsc::channel(COMMAND_QUEUE);
            commands.push(Mutex::new(sender));
            let incoming: Vec<PeerIndex> = network.neighbours(me);
            let machine = Machine::new(me, incoming, writers.keys().copied());
            let peer = TokenPeer {
                me,
                balance: tokens,
                machine,
                writers,
                truth: truth.clone(),
                reports: reports.clone(),
                numbers: 0,
                peers: peers.clone(),
                problems: problems.clone(),
                events: network.events().clone(),
            };
            spawn(peer.run(receiver, inbox));
        }
        let total = tokens * count as u64;
        let snapshots = Snapshots::new(report_queue, truth.clone(), count, total);
        let network = TokenNetwork {
            commands,
            neighbours: (0..count).map(|p| network.neighbours(p)).collect(),
            problems,
            truth,
            reports: Mutex::new(reports),
            total,
            naive_snapshots: Default::default(),
        };
        Ok((network, snapshots))
    }

    /// Tokens the peers began with.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Tokens sent and not yet received, on channels still open.
    pub fn in_flight(&self) -> usize {
        let truth = lock(&self.truth);
        truth
            .sent
            .iter()
            .filter(|sent| sent.received_at.is_none())
            .filter(|sent| !truth.closed.contains(&(sent.from, sent.to)))
            .filter(|sent| !truth.left.contains_key(&sent.to))
            .count()
    }

    /// What peers rejected so far (a malformed packet closes its channel; the rest goes on).
    pub fn problems(&self) -> Vec<String> {
        lock(&self.problems).clone()
    }

    /// `from` sends `amount` tokens to its neighbour `to` (fewer if it has fewer).
    pub fn send(&self, from: PeerIndex, to: PeerIndex, amount: u64) -> Result<(), LiveError> {
        self.command(from, Command::Send { to, amount })
    }

    /// The `nth` send of a seeded run: a random peer sends a random amount (1 to
    /// [`MAX_RANDOM_AMOUNT`]) to a random neighbour, both still in the network. Returns
    /// (from, to, amount).
    pub fn send_random(
        &self,
        seed: u64,
        nth: u64,
    ) -> Result<(PeerIndex, PeerIndex, u64), LiveError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ nth.rotate_left(17));
        let present = self.present();
        let present_neighbours = |peer: PeerIndex| -> Vec<PeerIndex> {
            self.neighbours[peer]
                .iter()
                .copied()
                .filter(|to| present.contains(to))
                .collect()
        };
        // Peers with someone left to send to: while nobody has left, every peer.
        let senders: Vec<PeerIndex> = present
            .iter()
            .copied()
            .filter(|&peer| !present_neighbours(peer).is_empty())
            .collect();
        let from = *senders
            .get(rng.random_range(0..senders.len().max(1)))
            .ok_or(LiveError::NobodyToSendTo)?;
        let neighbours = present_neighbours(from);
        let to = neighbours[rng.random_range(0..neighbours.len())];
        let amount = rng.random_range(1..=MAX_RANDOM_AMOUNT);
        self.send(from, to, amount)?;
        Ok((from, to, amount))
    }

    /// `peer` starts a snapshot; resolves with its id once the peer has recorded its state.
    pub async fn start_snapshot(&self, peer: PeerIndex) -> Result<SnapshotId, LiveError> {
        let (reply, id) = oneshot::channel();
        self.command(peer, Command::Snapshot { reply })?;
        id.await.map_err(|_| LiveError::Stopped(peer))
    }

    /// Every peer writes its balance down at once: no markers, no channel states. Its sum
    /// misses every token in flight.
    pub async fn record_naive(&self) -> Result<Report, LiveError> {
        let number = self
            .naive_snapshots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut replies = Vec::new();
        for peer in self.present() {
            let (reply, balance) = oneshot::channel();
            self.command(peer, Command::RecordNaive { number, reply })?;
            replies.push((peer, balance));
        }
        let mut balances = Vec::new();
        for (peer, balance) in replies {
            balances.push((peer, balance.await.map_err(|_| LiveError::Stopped(peer))?));
        }
        let total = self.total - lock(&self.truth).left.values().map(|(_, b)| b).sum::<u64>();
        Ok(Report::naive(number, balances, total))
    }

    /// `peer` leaves with its balance: the application forgets it, and its channels close.
    /// The caller stops its libp2p peer too, as a machine that goes away would.
    pub async fn leave(&self, peer: PeerIndex) -> Result<(), LiveError> {
        let (reply, balance) = oneshot::channel();
        self.command(peer, Command::Leave { reply })?;
        balance.await.map_err(|_| LiveError::Stopped(peer))?;
        if let Ok(mut reports) = self.reports.lock() {
            let _ = reports.try_send(PartReport::Left(peer));
        }
        Ok(())
    }

    /// Peers that have not left.
    fn present(&self) -> Vec<PeerIndex> {
        let truth = lock(&self.truth);
        (0..self.commands.len())
            .filter(|p| !truth.left.contains_key(p))
            .collect()
    }

    /// Why snapshots have not completed: (snapshot, peer, the channels into it whose marker
    /// has not come), for every peer still waiting.
    pub async fn waiting(&self) -> Vec<(SnapshotId, PeerIndex, Vec<PeerIndex>)> {
        let mut waiting = Vec::new();
        for peer in self.present() {
            let (reply, answer) = oneshot::channel();
            if self.command(peer, Command::Waiting { reply }).is_err() {
                continue;
            }
            if let Ok(snapshots) = answer.await {
                waiting.extend(snapshots.into_iter().map(|(id, from)| (id, peer, from)));
            }
        }
        waiting
    }

    fn command(&self, peer: PeerIndex, command: Command) -> Result<(), LiveError> {
        self.commands
            .get(peer)
            .ok_or(LiveError::NoPeer(peer))?
            .lock()
            .map_err(|_| LiveError::Stopped(peer))?
            .try_send(command)
            .map_err(|error| match error.is_full() {
                true => LiveError::Busy(peer),
                false => LiveError::Stopped(peer),
            })
    }

    /// `completed` checked against what really happened.
    pub fn check(&self, completed: &Completed) -> Result<(), Violation> {
        lock(&self.truth).check(completed)
    }
}

async fn open_channel(
    network: &Network,
    from: PeerIndex,
    to: PeerIndex,
) -> Result<libp2p::Stream, LiveError> {
    let handle = network.peer(from).ok_or(LiveError::NoPeer(from))?;
    let remote = network.peer_ids()[to];
    let mut last = String::new();
    for attempt in 0..OPEN_ATTEMPTS {
        if attempt > 0 {
            futures_timer::Delay::new(OPEN_RETRY * attempt).await;
        }
        match handle.open_stream(remote, channel::PROTOCOL).await {
            Ok(mut stream) => match channel::await_acknowledgement(&mut stream).await {
                Ok(()) => return Ok(stream),
                Err(error) => last = error.to_string(),
            },
            Err(error) => last = error.to_string(),
        }
    }
    Err(LiveError::Open {
        from,
        to,
        reason: last,
    })
}
