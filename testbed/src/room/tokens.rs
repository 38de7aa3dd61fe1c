//! Chandy-Lamport across tabs: the peers of a room's tabs hold tokens and move them to one
//! another over FIFO channels (one long-lived stream per direction, `/testbed/room-tokens/1.0.0`,
//! on the direct connection, or the circuit through the relay when going direct failed). Any tab starts a snapshot; every tab's part (its
//! balance and the tokens it recorded in flight) goes to the initiator over
//! `/testbed/room-snapshot/1.0.0`, which adds them up. The snapshot machine is the page's own
//! ([`crate::snapshot::machine`]), with peers named by PeerId.
//!
//! Each tab starts with [`INITIAL_TOKENS`]; a snapshot's total equals that many per tab in it
//! while tokens moved only among those tabs (a tab that left with tokens, or joined during the
//! snapshot, changes the sum, and the outcome says which tabs took part).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::{PeerId, StreamProtocol};

use super::RoomStep;
use crate::event::EventKind;
use crate::labels::peer_tail;
use crate::peer;
use crate::runtime::spawn;
use crate::snapshot;
use crate::snapshot::channel::{self, Packet, Stamp, TokensWire, BACKLOG};
use crate::snapshot::machine::{LocalPart, Output, SnapshotId};
use crate::trace::clock::unix_ms;
use crate::trace::mark::MessageKind;

pub const CHANNEL: StreamProtocol = StreamProtocol::new(super::TOKEN_CHANNEL);
pub const PARTS: StreamProtocol = StreamProtocol::new("/testbed/room-snapshot/1.0.0");

/// What each tab holds when it joins.
pub const INITIAL_TOKENS: u64 = 100;

/// Longest part accepted from another tab: a balance and a few channels' tokens.
const MAX_PART_BYTES: usize = 64 * 1024;

/// Tries to open a channel (libp2p-stream may reset an inbound stream while another waits).
const OPEN_ATTEMPTS: u32 = 8;
const OPEN_RETRY: Duration = Duration::from_millis(50);

/// Outcomes of this tab's snapshots the page has not read yet: one per click.
const OUTCOME_QUEUE: usize = 64;

/// One tab's part of a snapshot: its balance, and per incoming channel the amounts recorded.
pub type Part = LocalPart<u64, u64, PeerId>;

/// What a tab did to its tokens, reported as it happens (under the tab's lock, so in the
/// order it happened there). Tabs in one process can number these in one shared order: a
/// ground truth kept apart from the snapshot machine, as `snapshot::truth` is in a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// Tokens queued on the channel to `to`, which delivers in order.
    Sent { to: PeerId, amount: u64 },
    /// Tokens from `from` counted in the balance.
    Received { from: PeerId, amount: u64 },
    /// The balance written down for snapshot `id`.
    Recorded {
        id: SnapshotId<PeerId>,
        balance: u64,
    },
}

/// Hears what a tab did: the tab's own PeerId and what happened.
pub type Observer = Arc<dyn Fn(PeerId, &Happened) + Send + Sync>;

/// A part on its way to the snapshot's initiator.
#[derive(serde::Serialize, serde::Deserialize)]
struct PartMessage {
    id: SnapshotId<PeerId>,
    part: Part,
}

/// A snapshot as its initiator saw it end.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every tab in it sent its part.
    Complete {
        id: SnapshotId<PeerId>,
        parts: Vec<Part>,
    },
    /// A tab it waited on left before its marker came (or before sending its part).
    Incomplete {
        id: SnapshotId<PeerId>,
        missing: Vec<PeerId>,
    },
}

impl Outcome {
    /// Balances plus the tokens recorded in flight.
    pub fn total(parts: &[Part]) -> u64 {
        parts
            .iter()
            .map(|p| p.state + p.channels.values().flatten().sum::<u64>())
            .sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("no channel to {0} yet")]
    NoChannel(PeerId),
    #[error("this tab holds {balance} tokens, not {wanted}")]
    NotEnough { balance: u64, wanted: u64 },
    #[error("could not open a channel to {peer}: {reason}")]
    Open { peer: PeerId, reason: String },
    #[error("the channel to {0} fell {BACKLOG} packets behind and was closed")]
    Backlog(PeerId),
}

/// Queues `packet` on the channel to `remote`, stamped so that the other tab can draw its
/// send. A channel [`BACKLOG`] packets behind is dropped: its writer ends, and the channel
/// closes as if broken.
fn write(
    peer: &peer::Handle,
    state: &mut State,
    remote: PeerId,
    packet: Packet<PeerId>,
) -> Result<(), TokensError> {
    let sender = state
        .outgoing
        .get_mut(&remote)
        .ok_or(TokensError::NoChannel(remote))?;
    let stamp = Stamp {
        send: peer.tracer().start_trace(),
        unix_ms: unix_ms(),
    };
    match sender.try_send((packet, stamp)) {
        Ok(()) => {
            peer.report(channel_step(remote, packet, stamp, None));
            Ok(())
        }
        Err(error) if error.is_full() => {
            state.outgoing.remove(&remote);
            Err(TokensError::Backlog(remote))
        }
        Err(_) => Err(TokensError::NoChannel(remote)),
    }
}

/// A packet sent to or received from `remote`, as the peer's event: the arrow's label is
/// `5 tokens`, or `marker S…XyZw.1` (snapshot 1 of the tab whose PeerId ends in `XyZw`, as its
/// lifeline is named).
fn channel_step(
    remote: PeerId,
    packet: Packet<PeerId>,
    stamp: Stamp,
    received: Option<u64>,
) -> EventKind {
    let (kind, label) = match packet {
        Packet::Tokens(tokens) => (MessageKind::Tokens, snapshot::amount(tokens.amount)),
        Packet::Marker(id) => (
            MessageKind::Marker,
            format!("marker S…{}.{}", peer_tail(&id.initiator), id.number + 1),
        ),
    };
    let line = String::from_utf8_lossy(&packet.encode_stamped(Some(&stamp)))
        .trim_end()
        .to_owned();
    EventKind::Room(RoomStep::Channel {
        remote,
        kind,
        label,
        line,
        stamp: stamp.send,
        sent_unix_ms: stamp.unix_ms,
        received,
    })
}

struct Collecting {
    expected: BTreeSet<PeerId>,
    parts: Vec<Part>,
}

struct State {
    balance: u64,
    machine: snapshot::Machine<u64, u64, PeerId>,
    outgoing: HashMap<PeerId, mpsc::Sender<(Packet<PeerId>, Stamp)>>,
    /// Channels being opened: asked twice meanwhile, a tab opens one, not two.
    opening: BTreeSet<PeerId>,
    /// The one sender of outcomes (each clone of a sender would add a slot to the queue).
    outcomes: mpsc::Sender<Outcome>,
    sent: u64,
    snapshots: u32,
    collecting: BTreeMap<SnapshotId<PeerId>, Collecting>,
}

/// This tab's tokens and snapshots. Cheap to clone.
#[derive(Clone)]
pub struct RoomTokens {
    me: PeerId,
    peer: peer::Handle,
    state: Arc<Mutex<State>>,
    observer: Option<Observer>,
}

impl RoomTokens {
    /// Starts accepting channels and parts on `peer`; outcomes of this tab's snapshots come
    /// on the receiver.
    pub fn start(peer: peer::Handle) -> (RoomTokens, mpsc::Receiver<Outcome>) {
        Self::start_observed(peer, None)
    }

    /// Like [`RoomTokens::start`], telling `observer` what happens to the tokens.
    pub fn start_observed(
        peer: peer::Handle,
        observer: Option<Observer>,
    ) -> (RoomTokens, mpsc::Receiver<Outcome>) {
        let me = peer.peer_id();
        let (outcomes, receiver) = mpsc::channel(OUTCOME_QUEUE);
        let tokens = RoomTokens {
            me,
            peer: peer.clone(),
            state: Arc::new(Mutex::new(State {
                balance: INITIAL_TOKENS,
                machine: snapshot::Machine::new(me, [], []),
                outgoing: HashMap::new(),
                opening: BTreeSet::new(),
                sent: 0,
                snapshots: 0,
                collecting: BTreeMap::new(),
                outcomes,
            })),
            observer,
        };
        if let Ok(channels) = peer.accept(CHANNEL) {
            spawn(tokens.clone().accept_channels(channels));
        }
        if let Ok(parts) = peer.accept(PARTS) {
            spawn(tokens.clone().accept_parts(parts));
        }
        (tokens, receiver)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn observe(&self, happened: Happened) {
        if let Some(observer) = &self.observer {
            observer(self.me, &happened);
        }
    }

    pub fn balance(&self) -> u64 {
        self.lock().balance
    }

    /// Tabs this one has a channel to.
    pub fn channels(&self) -> Vec<PeerId> {
        self.lock().outgoing.keys().copied().collect()
    }

    /// Opens this tab's channel to `remote` (the other side opens its own back).
    pub async fn connect(&self, remote: PeerId) -> Result<(), TokensError> {
        {
            let mut state = self.lock();
            if state.outgoing.contains_key(&remote) || !state.opening.insert(remote) {
                return Ok(());
            }
        }
        let opened = self.open_channel(remote).await;
        self.lock().opening.remove(&remote);
        opened
    }

    /// Opens the channel (retrying while libp2p-stream resets it) and starts its writer.
    async fn open_channel(&self, remote: PeerId) -> Result<(), TokensError> {
        let mut attempt = 0;
        let mut stream = loop {
            let opened = async {
                let mut stream = self
                    .peer
                    .open_stream(remote, CHANNEL)
                    .await
                    .map_err(|e| e.to_string())?;
                channel::await_acknowledgement(&mut stream)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(stream)
            }
            .await;
            match opened {
                Ok(stream) => break stream,
                Err(_) if attempt + 1 < OPEN_ATTEMPTS => {
                    futures_timer::Delay::new(OPEN_RETRY).await;
                    attempt += 1;
                }
                Err(reason) => {
                    return Err(TokensError::Open {
                        peer: remote,
                        reason,
                    })
                }
            }
        };
        let (sender, mut queue) = mpsc::channel::<(Packet<PeerId>, Stamp)>(BACKLOG);
        {
            let mut state = self.lock();
            state.outgoing.insert(remote, sender);
            state.machine.peer_joined(remote);
        }
        // One writer per channel, in queue order: FIFO, as the algorithm needs.
        let tokens = self.clone();
        spawn(async move {
            while let Some((packet, stamp)) = queue.next().await {
                if channel::write_packet(&mut stream, &packet, Some(&stamp))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            tokens.channel_closed(remote);
        });
        Ok(())
    }

    /// Moves `amount` tokens to `remote`.
    pub fn send(&self, remote: PeerId, amount: u64) -> Result<(), TokensError> {
        let mut state = self.lock();
        if state.balance < amount {
            return Err(TokensError::NotEnough {
                balance: state.balance,
                wanted: amount,
            });
        }
        let id = state.sent;
        write(
            &self.peer,
            &mut state,
            remote,
            Packet::Tokens(TokensWire { id, amount }),
        )?;
        state.balance -= amount;
        state.sent += 1;
        self.observe(Happened::Sent { to: remote, amount });
        Ok(())
    }

    /// Starts a snapshot here; its outcome comes on the receiver [`RoomTokens::start`] gave.
    pub fn snapshot(&self) -> SnapshotId<PeerId> {
        let mut state = self.lock();
        let id = SnapshotId {
            initiator: self.me,
            number: state.snapshots,
        };
        state.snapshots += 1;
        let mut expected: BTreeSet<PeerId> = state.outgoing.keys().copied().collect();
        expected.insert(self.me);
        state.collecting.insert(
            id,
            Collecting {
                expected,
                parts: Vec::new(),
            },
        );
        let balance = state.balance;
        let started = state.machine.start(id, balance);
        if started.is_ok() {
            self.observe(Happened::Recorded { id, balance });
        }
        drop(state);
        let outputs = started.unwrap_or_default();
        self.carry_out(outputs);
        id
    }

    /// Does what the machine asked, outside the lock.
    fn carry_out(&self, outputs: Vec<Output<u64, u64, PeerId>>) {
        for output in outputs {
            match output {
                Output::SendMarker { to, id } => {
                    // A marker that cannot go closes its channel: the snapshot ends incomplete.
                    let _ = write(&self.peer, &mut self.lock(), to, Packet::Marker(id));
                }
                Output::Done { id, part } if id.initiator == self.me => self.gathered(id, part),
                Output::Done { id, part } => {
                    let tokens = self.clone();
                    spawn(async move { tokens.send_part(id, part).await });
                }
                Output::Incomplete { id, waiting_for } if id.initiator == self.me => {
                    let mut state = self.lock();
                    state.collecting.remove(&id);
                    let _ = state.outcomes.try_send(Outcome::Incomplete {
                        id,
                        missing: waiting_for,
                    });
                }
                Output::Incomplete { .. } => {}
            }
        }
    }

    fn gathered(&self, id: SnapshotId<PeerId>, part: Part) {
        let mut state = self.lock();
        let Some(collecting) = state.collecting.get_mut(&id) else {
            return;
        };
        if collecting.expected.contains(&part.peer)
            && collecting.parts.iter().all(|p| p.peer != part.peer)
        {
            collecting.parts.push(part);
        }
        if collecting.parts.len() == collecting.expected.len() {
            if let Some(done) = state.collecting.remove(&id) {
                let mut parts = done.parts;
                parts.sort_by_key(|p| p.peer);
                let _ = state.outcomes.try_send(Outcome::Complete { id, parts });
            }
        }
    }

    /// Sends a part to its initiator, which acknowledges it; tried again if the stream is
    /// dropped (libp2p-stream drops an inbound stream that comes while another waits).
    async fn send_part(&self, id: SnapshotId<PeerId>, part: Part) {
        let Ok(mut line) = serde_json::to_vec(&PartMessage { id, part }) else {
            return;
        };
        line.push(b'\n');
        for _ in 0..OPEN_ATTEMPTS {
            let sent = async {
                let mut stream = self
                    .peer
                    .open_stream(id.initiator, PARTS)
                    .await
                    .map_err(|e| e.to_string())?;
                stream.write_all(&line).await.map_err(|e| e.to_string())?;
                stream.flush().await.map_err(|e| e.to_string())?;
                channel::await_acknowledgement(&mut stream)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = stream.close().await;
                Ok::<_, String>(())
            };
            if sent.await.is_ok() {
                return;
            }
            futures_timer::Delay::new(OPEN_RETRY).await;
        }
    }

    async fn accept_channels(self, mut incoming: libp2p_stream::IncomingStreams) {
        while let Some((remote, mut stream)) = incoming.next().await {
            let tokens = self.clone();
            spawn(async move {
                if channel::acknowledge(&mut stream).await.is_err() {
                    return;
                }
                tokens.lock().machine.peer_joined(remote);
                // A channel that ends or carries something malformed closes: snapshots
                // waiting for its marker end incomplete.
                while let Ok(Some((packet, stamp))) =
                    channel::read_stamped::<PeerId, _>(&mut stream).await
                {
                    if let Some(stamp) = stamp {
                        let lamport = tokens.peer.tracer().receive(stamp.send.lamport);
                        tokens
                            .peer
                            .report(channel_step(remote, packet, stamp, Some(lamport)));
                    }
                    let outputs = tokens.on_packet(remote, packet);
                    tokens.carry_out(outputs);
                }
                tokens.channel_closed(remote);
            });
        }
    }

    fn on_packet(&self, from: PeerId, packet: Packet<PeerId>) -> Vec<Output<u64, u64, PeerId>> {
        let mut state = self.lock();
        match packet {
            Packet::Tokens(tokens) => {
                // Recorded before it counts, as the algorithm says.
                let _ = state.machine.on_message(from, &tokens.amount);
                state.balance += tokens.amount;
                self.observe(Happened::Received {
                    from,
                    amount: tokens.amount,
                });
                Vec::new()
            }
            Packet::Marker(id) => {
                let balance = state.balance;
                let recorded = std::cell::Cell::new(false);
                let outputs = state
                    .machine
                    .on_marker(from, id, || {
                        recorded.set(true);
                        balance
                    })
                    .unwrap_or_default();
                if recorded.get() {
                    self.observe(Happened::Recorded { id, balance });
                }
                outputs
            }
        }
    }

    async fn accept_parts(self, mut incoming: libp2p_stream::IncomingStreams) {
        while let Some((_, mut stream)) = incoming.next().await {
            let tokens = self.clone();
            spawn(async move {
                let Some(line) = read_line(&mut stream).await else {
                    return;
                };
                // A malformed part is dropped: its snapshot then never completes here.
                if let Ok(message) = serde_json::from_slice::<PartMessage>(&line) {
                    if channel::acknowledge(&mut stream).await.is_ok() {
                        tokens.gathered(message.id, message.part);
                    }
                }
            });
        }
    }

    fn channel_closed(&self, remote: PeerId) {
        let outputs = {
            let mut state = self.lock();
            state.outgoing.remove(&remote);
            state.machine.peer_gone(remote)
        };
        self.carry_out(outputs);
    }
}

/// One line of at most [`MAX_PART_BYTES`], without its newline.
async fn read_line(stream: &mut libp2p::Stream) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < MAX_PART_BYTES {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        if byte[0] == b'\n' {
            return Some(line);
        }
        line.push(byte[0]);
    }
    None
}
