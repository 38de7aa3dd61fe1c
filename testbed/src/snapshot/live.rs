//! The token application and its snapshots on real in-page peers: every peer of a running
//! [`Network`] holds tokens and runs a [`SnapshotMachine`]; each directed channel is one
//! long-lived libp2p stream ([`super::channel`]), paced like the testbed's other messages.
//!
//! Every send, receive and recorded state also takes the next number of one shared step
//! counter: the ground truth [`super::check`] compares each snapshot with. Completed parts are
//! gathered here, standing in for the initiator's collection.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;

use super::channel::{self, ChannelError, Packet};
use super::check::{self, Sent, Violation};
use super::machine::{LocalPart, Output, SnapshotId, SnapshotMachine};
use super::sim::Completed;
use super::{GlobalSnapshot, Tokens};
use crate::network::Network;
use crate::pace::Pace;
use crate::runtime::spawn;
use crate::PeerIndex;

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
    Send { to: PeerIndex, amount: u64 },
    Snapshot { reply: oneshot::Sender<SnapshotId> },
}

pub struct TokenNetwork {
    commands: Vec<mpsc::UnboundedSender<Command>>,
    /// What peers rejected, as sentences for the page.
    problems: Arc<Mutex<Vec<String>>>,
    parts: mpsc::UnboundedReceiver<(SnapshotId, LocalPart<u64, Tokens>)>,
    gathered: BTreeMap<SnapshotId, Vec<Option<LocalPart<u64, Tokens>>>>,
    truth: Arc<Mutex<Truth>>,
    total: u64,
}

fn lock(truth: &Mutex<Truth>) -> MutexGuard<'_, Truth> {
    truth.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenNetwork {
    /// Opens a channel both ways along every connection of `network` and gives each peer
    /// `tokens`.
    pub async fn start(network: &Network, tokens: u64) -> Result<TokenNetwork, LiveError> {
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
        // Every peer opens one stream to each neighbour, written by its own task.
        let mut writers: Vec<BTreeMap<PeerIndex, mpsc::UnboundedSender<Packet>>> =
            vec![BTreeMap::new(); count];
        for (from, writers) in writers.iter_mut().enumerate() {
            for to in network.neighbours(from) {
                let mut stream = open_channel(network, from, to).await?;
                let (sender, mut queue) = mpsc::unbounded::<Packet>();
                let pace: Pace = network.pace().clone();
                spawn(async move {
                    while let Some(packet) = queue.next().await {
                        pace.hold().await;
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
                peers: count,
                problems: problems.clone(),
            };
            spawn(peer.run(receiver, inbox));
        }
        Ok(TokenNetwork {
            commands,
            problems,
            parts,
            gathered: BTreeMap::new(),
            truth,
            total: tokens * count as u64,
        })
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// What peers rejected so far (a malformed packet closes its channel; the rest goes on).
    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `from` sends `amount` tokens to its neighbour `to` (fewer if it has fewer).
    pub fn send(&self, from: PeerIndex, to: PeerIndex, amount: u64) -> Result<(), LiveError> {
        self.commands
            .get(from)
            .ok_or(LiveError::NoPeer(from))?
            .unbounded_send(Command::Send { to, amount })
            .map_err(|_| LiveError::Stopped(from))
    }

    /// `peer` starts a snapshot; resolves with its id once the peer has recorded its state.
    pub async fn start_snapshot(&self, peer: PeerIndex) -> Result<SnapshotId, LiveError> {
        let (reply, id) = oneshot::channel();
        self.commands
            .get(peer)
            .ok_or(LiveError::NoPeer(peer))?
            .unbounded_send(Command::Snapshot { reply })
            .map_err(|_| LiveError::Stopped(peer))?;
        id.await.map_err(|_| LiveError::Stopped(peer))
    }

    /// Waits for the next snapshot every peer has finished.
    pub async fn next_completed(&mut self) -> Option<Completed> {
        let peers = self.commands.len();
        while let Some((id, part)) = self.parts.next().await {
            let parts = self.gathered.entry(id).or_insert_with(|| vec![None; peers]);
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

    /// `completed` checked against what really happened.
    pub fn check(&self, completed: &Completed) -> Result<(), Violation> {
        let truth = lock(&self.truth);
        check::check(&completed.snapshot, &completed.cut, &truth.sent, self.total)
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

struct TokenPeer {
    me: PeerIndex,
    balance: u64,
    machine: SnapshotMachine<u64, Tokens>,
    writers: BTreeMap<PeerIndex, mpsc::UnboundedSender<Packet>>,
    truth: Arc<Mutex<Truth>>,
    parts: mpsc::UnboundedSender<(SnapshotId, LocalPart<u64, Tokens>)>,
    numbers: u32,
    /// Peers in the network.
    peers: usize,
    problems: Arc<Mutex<Vec<String>>>,
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
                    Some((from, Err(error))) => self.problems.lock().unwrap_or_else(|e| e.into_inner()).push(format!(
                        "peer {} rejected what peer {from} sent on its channel ({error}) and closed that channel",
                        self.me
                    )),
                    None => return,
                },
            }
        }
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
                let _ = writer.unbounded_send(Packet::from(tokens));
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
        }
    }

    fn record_cut(&self, id: SnapshotId) {
        let mut truth = lock(&self.truth);
        let step = truth.next();
        let peers = self.peers;
        truth.cuts.entry(id).or_insert_with(|| vec![None; peers])[self.me] = Some(step);
    }

    fn on_packet(&mut self, from: PeerIndex, packet: Packet) {
        match packet {
            Packet::Tokens(wire) => {
                let tokens = Tokens {
                    id: wire.id,
                    amount: wire.amount,
                };
                if self.machine.on_message(from, &tokens).is_err() {
                    return;
                }
                self.balance += tokens.amount;
                let mut truth = lock(&self.truth);
                let step = truth.next();
                if let Some(sent) = truth.sent.get_mut(tokens.id as usize) {
                    sent.received_at = Some(step);
                }
            }
            Packet::Marker(id) => {
                let balance = self.balance;
                let mut recorded = false;
                let outputs = self.machine.on_marker(from, id, || {
                    recorded = true;
                    balance
                });
                if recorded {
                    self.record_cut(id);
                }
                if let Ok(outputs) = outputs {
                    self.apply(outputs);
                }
            }
        }
    }

    fn apply(&mut self, outputs: Vec<Output<u64, Tokens>>) {
        for output in outputs {
            match output {
                Output::SendMarker { to, id } => {
                    if let Some(writer) = self.writers.get(&to) {
                        let _ = writer.unbounded_send(Packet::Marker(id));
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
