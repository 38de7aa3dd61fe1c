//! One peer of the token application: the task that holds its balance and its snapshot
//! machine, runs the network's commands for it, and reads what its channels deliver.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use libp2p::PeerId;

use crate::event::{EventKind, EventSink, TokenStep};
use crate::snapshot::channel::{self, ChannelError, Packet};
use crate::snapshot::check::Sent;
use crate::snapshot::collect::PartReport;
use crate::snapshot::machine::{Machine, Output, SnapshotId};
use crate::snapshot::truth::{lock, Truth};
use crate::snapshot::{Recording, Tokens};
use crate::PeerIndex;

pub(super) type Writer = mpsc::Sender<(web_time::Instant, Packet)>;

pub(super) enum Command {
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
    /// Stop, taking the balance along.
    Leave {
        reply: oneshot::Sender<u64>,
    },
}

/// What arrives on a peer's incoming channels.
pub(super) enum Delivery {
    Packet(Packet),
    Malformed(ChannelError),
    /// The channel ended: its sender left, or it was closed.
    Closed,
}

pub(super) struct TokenPeer {
    pub(super) me: PeerIndex,
    pub(super) balance: u64,
    pub(super) machine: Machine<u64, Tokens>,
    /// Outgoing channels still open.
    pub(super) writers: BTreeMap<PeerIndex, Writer>,
    pub(super) truth: Arc<Mutex<Truth>>,
    pub(super) reports: mpsc::Sender<PartReport>,
    pub(super) numbers: u32,
    /// Every peer of the network, by index.
    pub(super) peers: Vec<PeerId>,
    pub(super) problems: Arc<Mutex<Vec<String>>>,
    pub(super) events: EventSink,
}

impl TokenPeer {
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut inbox: mpsc::Receiver<(PeerIndex, Delivery)>,
    ) {
        loop {
            futures::select! {
                command = commands.next() => match command {
                    Some(Command::Leave { reply }) => {
                        lock(&self.truth).leave(self.me, self.balance, self.peers.len());
                        let _ = reply.send(self.balance);
                        // Dropping the writers closes this peer's channels.
                        return;
                    }
                    Some(command) => self.on_command(command),
                    None => return,
                },
                delivery = inbox.next() => match delivery {
                    Some((from, Delivery::Packet(packet))) => self.on_packet(from, packet),
                    Some((from, Delivery::Malformed(error))) => lock(&self.problems).push(format!(
                        "peer {} rejected what peer {from} sent on its channel ({error}) and closed that channel",
                        self.me
                    )),
                    Some((from, Delivery::Closed)) => self.channel_closed(from),
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
                if !self.writers.contains_key(&to) || amount == 0 {
                    return;
                }
                self.balance -= amount;
                let tokens = {
                    let mut truth = lock(&self.truth);
                    let tokens = Tokens {
                        id: truth.sent.len() as u64,
                        amount,
                    };
                    let sent_at = truth.next_step();
                    truth.sent.push(Sent {
                        from: self.me,
                        to,
                        tokens,
                        sent_at,
                        received_at: None,
                    });
                    tokens
                };
                self.write(to, Packet::from(tokens));
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
            // Handled by `run`, which stops.
            Command::Leave { .. } => {}
        }
    }

    /// This peer records its balance for `id`: its point of the cut, in the ground truth and
    /// in the trace.
    fn record_cut(&self, id: SnapshotId) {
        lock(&self.truth).record_cut(id, self.me, self.peers.len());
        self.report(TokenStep::Recorded {
            recording: Recording::Snapshot(id),
            balance: self.balance,
        });
    }

    /// The channel from `from` ended: this peer closes its channel back, and snapshots
    /// waiting for `from`'s marker here can never finish.
    fn channel_closed(&mut self, from: PeerIndex) {
        {
            let mut truth = lock(&self.truth);
            truth.closed.insert((from, self.me));
            truth.closed.insert((self.me, from));
        }
        self.writers.remove(&from);
        for output in self.machine.peer_gone(from) {
            if let Output::Incomplete { id, waiting_for } = output {
                self.report(TokenStep::Abandoned {
                    id,
                    closed: self.peers[from],
                });
                let _ = self.reports.try_send(PartReport::Stuck {
                    id,
                    peer: self.me,
                    waiting_for,
                });
            }
        }
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
                    let step = truth.next_step();
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

    /// Queues `packet` on the channel to `to`; a channel [`channel::BACKLOG`] packets behind
    /// is closed (its writer dropped), and the peer on the other end closes it back.
    fn write(&mut self, to: PeerIndex, packet: Packet) {
        let Some(writer) = self.writers.get_mut(&to) else {
            return;
        };
        match writer.try_send((web_time::Instant::now(), packet)) {
            Ok(()) => {}
            Err(error) if error.is_full() => {
                self.writers.remove(&to);
                lock(&self.problems).push(format!(
                    "peer {}'s channel to peer {to} fell {} packets behind and was closed",
                    self.me,
                    channel::BACKLOG
                ));
            }
            Err(_) => {}
        }
    }

    fn apply(&mut self, outputs: Vec<Output<u64, Tokens>>) {
        for output in outputs {
            match output {
                Output::SendMarker { to, id } => {
                    if self.writers.contains_key(&to) {
                        self.write(to, Packet::Marker(id));
                        self.report(TokenStep::MarkerSent {
                            remote: self.peers[to],
                            id,
                        });
                    }
                }
                Output::Done { id, part } => {
                    let _ = self.reports.try_send(PartReport::Done { id, part });
                }
                // Only a closed channel gives a snapshot up: `channel_closed` reports it.
                Output::Incomplete { .. } => {}
            }
        }
    }
}
