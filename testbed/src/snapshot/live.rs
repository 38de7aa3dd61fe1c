//! The token application and its snapshots on real in-page peers: every peer of a running
//! [`Network`] holds tokens and runs a [`SnapshotMachine`]; each directed channel is one
//! long-lived libp2p stream ([`super::channel`]), paced like the testbed's other messages.
//!
//! Every send, receive and recorded state also takes the next number of one shared step
//! counter: the ground truth [`super::check`] compares each snapshot with. Completed parts are
//! gathered by [`Snapshots`], standing in for the initiator's collection. Every step is also
//! reported as an [`EventKind::Tokens`] event, for the trace and the diagram.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use libp2p::PeerId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::channel::{self, ChannelError, Packet};
use super::check::{self, Sent, Violation};
use super::machine::{LocalPart, Output, SnapshotId, SnapshotMachine};
use super::report::Report;
use super::sim::Completed;
use super::{GlobalSnapshot, Recording, Tokens};
use crate::event::{EventKind, EventSink, TokenStep};
use crate::network::Network;
use crate::pace::Pace;
use crate::runtime::spawn;
use crate::PeerIndex;

/// Most tokens one random send moves.
pub const MAX_RANDOM_AMOUNT: u64 = 20;

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
}

/// The ground truth, in one order of everything that happened.
#[derive(Debug, Default)]
struct Truth {
    step: u64,
    sent: Vec<Sent>,
    cuts: BTreeMap<SnapshotId, Vec<Option<u64>>>,
}

impl Truth {
    fn next(&mut self) -> u64 {
        self.step += 1;
        self.step
    }
}

enum Command {
    Send {
        to: PeerIndex,
        amount: u64,
    },
    Snapshot {
        reply: oneshot::Sender<SnapshotId>,
    },
    /// Write the balance down now, for a naive snapshot.
    RecordNaive {
        number: u32,
        reply: oneshot::Sender<u64>,
    },
    /// Which snapshots this peer still waits on, and for which channels' markers.
    Waiting {
        reply: oneshot::Sender<Vec<(SnapshotId, Vec<PeerIndex>)>>,
    },
}

/// The token application on the peers of a [`Network`]; see the module's documentation.
pub struct TokenNetwork {
    commands: Vec<mpsc::UnboundedSender<Command>>,
    neighbours: Vec<Vec<PeerIndex>>,
    /// What peers rejected, as sentences for the page.
    problems: Arc<Mutex<Vec<String>>>,
    truth: Arc<Mutex<Truth>>,
    total: u64,
    naive_snapshots: std::sync::atomic::AtomicU32,
}

/// Every peer's part of the snapshots, gathered: the initiator's collection.
pub struct Snapshots {
    parts: mpsc::UnboundedReceiver<(SnapshotId, LocalPart<u64, Tokens>)>,
    gathered: BTreeMap<SnapshotId, Vec<Option<LocalPart<u64, Tokens>>>>,
    truth: Arc<Mutex<Truth>>,
    peers: usize,
    total: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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
        let (parts_sender, parts) = mpsc::unbounded();
        let mut inboxes = Vec::new();
        let mut inbox_senders = Vec::new();
        for _ in 0..count {
            let (sender, inbox) = mpsc::unbounded::<(PeerIndex, Result<Packet, ChannelError>)>();
            inbox_senders.push(sender);
            inboxes.push(inbox);
        }
        // Every peer accepts channels, acknowledges each, and reads it into its inbox.
        for (me, inbox) in inbox_senders.iter().enumerate() {
            let handle = network.peer(me).ok_or(LiveError::NoPeer(me))?;
            let mut incoming = handle
                .accept(channel::PROTOCOL)
                .map_err(|_| LiveError::Stopped(me))?;
            let inbox = inbox.clone();
            let peers = peers.clone();
            spawn(async move {
                while let Some((remote, mut stream)) = incoming.next().await {
                    let Some(from) = peers.iter().position(|p| *p == remote) else {
                        continue;
                    };
                    let inbox = inbox.clone();
                    spawn(async move {
                        if channel::acknowledge(&mut stream).await.is_err() {
                            return;
                        }
                        loop {
                            let read = channel::read_packet(&mut stream).await;
                            let end = !matches!(read, Ok(Some(_)));
                            let item = match read {
                                Ok(Some(packet)) => Ok(packet),
                                Ok(None) => return,
                                Err(error) => Err(error),
                            };
                            if inbox.unbounded_send((from, item)).is_err() || end {
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
                let (sender, mut queue) = mpsc::unbounded::<(web_time::Instant, Packet)>();
                let pace: Pace = network.pace().clone();
                spawn(async move {
                    while let Some((queued, packet)) = queue.next().await {
                        pace.hold_since(queued).await;
                        if channel::write_packet(&mut stream, &packet).await.is_err() {
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
            let (sender, receiver) = mpsc::unbounded();
            commands.push(sender);
            let incoming: Vec<PeerIndex> = network.neighbours(me);
            let machine = SnapshotMachine::new(me, incoming, writers.keys().copied());
            let peer = TokenPeer {
                me,
                balance: tokens,
                machine,
                writers,
                truth: truth.clone(),
                parts: parts_sender.clone(),
                numbers: 0,
                peers: peers.clone(),
                problems: problems.clone(),
                events: network.events().clone(),
            };
            spawn(peer.run(receiver, inbox));
        }
        let total = tokens * count as u64;
        let snapshots = Snapshots {
            parts,
            gathered: BTreeMap::new(),
            truth: truth.clone(),
            peers: count,
            total,
        };
        let network = TokenNetwork {
            commands,
            neighbours: (0..count).map(|p| network.neighbours(p)).collect(),
            problems,
            truth,
            total,
            naive_snapshots: Default::default(),
        };
        Ok((network, snapshots))
    }

    pub fn total(&self) -> u64 {
        self.total
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
    /// [`MAX_RANDOM_AMOUNT`]) to a random neighbour. Returns (from, to, amount).
    pub fn send_random(
        &self,
        seed: u64,
        nth: u64,
    ) -> Result<(PeerIndex, PeerIndex, u64), LiveError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ nth.rotate_left(17));
        let from = rng.random_range(0..self.commands.len());
        let neighbours = &self.neighbours[from];
        let to = *neighbours
            .get(rng.random_range(0..neighbours.len().max(1)))
            .ok_or(LiveError::NoPeer(from))?;
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
        for peer in 0..self.commands.len() {
            let (reply, balance) = oneshot::channel();
            self.command(peer, Command::RecordNaive { number, reply })?;
            replies.push(balance);
        }
        let mut balances = Vec::new();
        for (peer, balance) in replies.into_iter().enumerate() {
            balances.push(balance.await.map_err(|_| LiveError::Stopped(peer))?);
        }
        Ok(Report::naive(number, balances, self.total))
    }

    /// Why snapshots have not completed: (snapshot, peer, the channels into it whose marker
    /// has not come), for every peer still waiting.
    pub async fn waiting(&self) -> Vec<(SnapshotId, PeerIndex, Vec<PeerIndex>)> {
        let mut waiting = Vec::new();
        for peer in 0..self.commands.len() {
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
            .unbounded_send(command)
            .map_err(|_| LiveError::Stopped(peer))
    }

    /// `completed` checked against what really happened.
    pub fn check(&self, completed: &Completed) -> Result<(), Violation> {
        let truth = lock(&self.truth);
        check::check(&completed.snapshot, &completed.cut, &truth.sent, self.total)
    }
}

impl Snapshots {
    /// Waits for the next snapshot every peer has finished.
    pub async fn next_completed(&mut self) -> Option<Completed> {
        while let Some((id, part)) = self.parts.next().await {
            let parts = self
                .gathered
                .entry(id)
                .or_insert_with(|| vec![None; self.peers]);
            let peer = part.peer;
            parts[peer] = Some(part);
            if parts.iter().all(Option::is_some) {
                let parts = self.gathered.remove(&id).expect("present");
                let cut = lock(&self.truth)
                    .cuts
                    .get(&id)
                    .map(|c| c.iter().map(|s| s.unwrap_or_default()).collect())
                    .unwrap_or_default();
                return Some(Completed {
                    snapshot: GlobalSnapshot {
                        id,
                        parts: parts.into_iter().flatten().collect(),
                    },
                    cut,
                    took_ticks: 0,
                    total: self.total,
                });
            }
        }
        None
    }
}

type Writer = mpsc::UnboundedSender<(web_time::Instant, Packet)>;

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

struct TokenPeer {
    me: PeerIndex,
    balance: u64,
    machine: SnapshotMachine<u64, Tokens>,
    writers: BTreeMap<PeerIndex, Writer>,
    truth: Arc<Mutex<Truth>>,
    parts: mpsc::UnboundedSender<(SnapshotId, LocalPart<u64, Tokens>)>,
    numbers: u32,
    /// Every peer of the network, by index.
    peers: Vec<PeerId>,
    problems: Arc<Mutex<Vec<String>>>,
    events: EventSink,
}

impl TokenPeer {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut inbox: mpsc::UnboundedReceiver<(PeerIndex, Result<Packet, ChannelError>)>,
    ) {
        loop {
            futures::select! {
                command = commands.next() => match command {
                    Some(command) => self.on_command(command),
                    None => return,
                },
                delivery = inbox.next() => match delivery {
                    Some((from, Ok(packet))) => self.on_packet(from, packet),
                    // A malformed packet closes that channel; the rest goes on.
                    Some((from, Err(error))) => lock(&self.problems).push(format!(
                        "peer {} rejected what peer {from} sent on its channel ({error}) and closed that channel",
                        self.me
                    )),
                    None => return,
                },
            }
        }
    }

    fn report(&self, step: TokenStep) {
        self.events
            .emit(self.peers[self.me], EventKind::Tokens(step));
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Send { to, amount } => {
                let amount = amount.min(self.balance);
                let Some(writer) = self.writers.get(&to) else {
                    return;
                };
                if amount == 0 {
                    return;
                }
                self.balance -= amount;
                let tokens = {
                    let mut truth = lock(&self.truth);
                    let tokens = Tokens {
                        id: truth.sent.len() as u64,
                        amount,
                    };
                    let sent_at = truth.next();
                    truth.sent.push(Sent {
                        from: self.me,
                        to,
                        tokens,
                        sent_at,
                        received_at: None,
                    });
                    tokens
                };
                let _ = writer.unbounded_send((web_time::Instant::now(), Packet::from(tokens)));
                self.report(TokenStep::Sent {
                    remote: self.peers[to],
                    tokens,
                });
            }
            Command::Snapshot { reply } => {
                let id = SnapshotId {
                    initiator: self.me,
                    number: self.numbers,
                };
                self.numbers += 1;
                self.record_cut(id);
                if let Ok(outputs) = self.machine.start(id, self.balance) {
                    self.apply(outputs);
                }
                let _ = reply.send(id);
            }
            Command::RecordNaive { number, reply } => {
                self.report(TokenStep::Recorded {
                    recording: Recording::Naive(number),
                    balance: self.balance,
                });
                let _ = reply.send(self.balance);
            }
            Command::Waiting { reply } => {
                let _ = reply.send(self.machine.waiting().collect());
            }
        }
    }

    /// This peer records its balance for `id`: its point of the cut, in the ground truth and
    /// in the trace.
    fn record_cut(&self, id: SnapshotId) {
        {
            let mut truth = lock(&self.truth);
            let step = truth.next();
            let peers = self.peers.len();
            truth.cuts.entry(id).or_insert_with(|| vec![None; peers])[self.me] = Some(step);
        }
        self.report(TokenStep::Recorded {
            recording: Recording::Snapshot(id),
            balance: self.balance,
        });
    }

    fn on_packet(&mut self, from: PeerIndex, packet: Packet) {
        match packet {
            Packet::Tokens(wire) => {
                let tokens = Tokens {
                    id: wire.id,
                    amount: wire.amount,
                };
                let recorded_by = self.machine.recording(from);
                if self.machine.on_message(from, &tokens).is_err() {
                    return;
                }
                self.balance += tokens.amount;
                {
                    let mut truth = lock(&self.truth);
                    let step = truth.next();
                    if let Some(sent) = truth.sent.get_mut(tokens.id as usize) {
                        sent.received_at = Some(step);
                    }
                }
                self.report(TokenStep::Received {
                    remote: self.peers[from],
                    tokens,
                    recorded_by,
                });
            }
            Packet::Marker(id) => {
                self.report(TokenStep::MarkerReceived {
                    remote: self.peers[from],
                    id,
                });
                let balance = self.balance;
                let mut recorded = false;
                let outputs = self.machine.on_marker(from, id, || {
                    recorded = true;
                    balance
                });
                if recorded {
                    self.record_cut(id);
                }
                match outputs {
                    Ok(outputs) => self.apply(outputs),
                    Err(error) => lock(&self.problems).push(format!(
                        "peer {} rejected a marker from peer {from}: {error}",
                        self.me
                    )),
                }
            }
        }
    }

    fn apply(&mut self, outputs: Vec<Output<u64, Tokens>>) {
        for output in outputs {
            match output {
                Output::SendMarker { to, id } => {
                    if let Some(writer) = self.writers.get(&to) {
                        let _ =
                            writer.unbounded_send((web_time::Instant::now(), Packet::Marker(id)));
                        self.report(TokenStep::MarkerSent {
                            remote: self.peers[to],
                            id,
                        });
                    }
                }
                Output::Done { id, part } => {
                    let _ = self.parts.unbounded_send((id, part));
                }
                // Only a peer that leaves makes a part incomplete, and peers of a live token
                // network stay until it stops.
                Output::Incomplete { .. } => {}
            }
        }
    }
}
