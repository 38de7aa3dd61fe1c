//! The room side of a peer's event loop: registering and discovering through the relay's
//! rendezvous point, and what the relay client reports.

use std::collections::VecDeque;

use futures::channel::oneshot;
use libp2p::rendezvous::{self, Namespace};
use libp2p::{Multiaddr, PeerId};

use super::{namespace, RoomStep, REGISTRATION_TTL_SECONDS};

/// A peer of the room and the addresses it registered.
pub type Registration = (PeerId, Vec<Multiaddr>);

type RegisterReply = oneshot::Sender<Result<(), String>>;
type DiscoverReply = oneshot::Sender<Result<Vec<Registration>, String>>;

pub enum RoomCommand {
    Register {
        room: String,
        relay: PeerId,
        reply: RegisterReply,
    },
    Discover {
        room: String,
        relay: PeerId,
        reply: DiscoverReply,
    },
}

/// Requests waiting for the relay's answer.
#[derive(Default)]
pub struct Client {
    registering: Vec<(Namespace, String, RegisterReply)>,
    /// The rendezvous client's answers to discovery name no namespace: they come in order.
    discovering: VecDeque<(String, DiscoverReply)>,
}

impl Client {
    pub fn on_command(
        &mut self,
        rendezvous: &mut rendezvous::client::Behaviour,
        command: RoomCommand,
    ) -> Vec<RoomStep> {
        match command {
            RoomCommand::Register { room, relay, reply } => {
                let space = match Namespace::new(namespace(&room)) {
                    Ok(space) => space,
                    Err(error) => {
                        let _ = reply.send(Err(error.to_string()));
                        return vec![];
                    }
                };
                match rendezvous.register(space.clone(), relay, Some(REGISTRATION_TTL_SECONDS)) {
                    Ok(()) => self.registering.push((space, room, reply)),
                    Err(error) => {
                        let _ = reply.send(Err(error.to_string()));
                    }
                }
            }
            RoomCommand::Discover { room, relay, reply } => {
                match Namespace::new(namespace(&room)) {
                    Ok(space) => {
                        rendezvous.discover(Some(space), None, None, relay);
                        self.discovering.push_back((room, reply));
                    }
                    Err(error) => {
                        let _ = reply.send(Err(error.to_string()));
                    }
                }
            }
        }
        vec![]
    }

    pub fn on_rendezvous(
        &mut self,
        local: PeerId,
        event: rendezvous::client::Event,
    ) -> Vec<RoomStep> {
        use rendezvous::client::Event;
        let step = |step| vec![step];
        match event {
            Event::Registered { namespace, .. } => {
                let Some((room, reply)) = self.take_registering(&namespace) else {
                    return vec![];
                };
                let _ = reply.send(Ok(()));
                step(RoomStep::Registered { room })
            }
            Event::RegisterFailed {
                namespace, error, ..
            } => {
                let reason = format!("{error:?}");
                if let Some((_, reply)) = self.take_registering(&namespace) {
                    let _ = reply.send(Err(reason.clone()));
                }
                step(RoomStep::Refused {
                    what: "registration",
                    reason,
                })
            }
            Event::Discovered { registrations, .. } => {
                let Some((room, reply)) = self.discovering.pop_front() else {
                    return vec![];
                };
                let others: Vec<Registration> = registrations
                    .iter()
                    .map(|r| (r.record.peer_id(), r.record.addresses().to_vec()))
                    .filter(|(peer, _)| *peer != local)
                    .collect();
                let peers = others.iter().map(|(peer, _)| *peer).collect();
                let _ = reply.send(Ok(others));
                step(RoomStep::Discovered { room, peers })
            }
            Event::DiscoverFailed { error, .. } => {
                let reason = format!("{error:?}");
                if let Some((_, reply)) = self.discovering.pop_front() {
                    let _ = reply.send(Err(reason.clone()));
                }
                step(RoomStep::Refused {
                    what: "discovery",
                    reason,
                })
            }
            Event::Expired { .. } => vec![],
        }
    }

    fn take_registering(&mut self, space: &Namespace) -> Option<(String, RegisterReply)> {
        let at = self.registering.iter().position(|(s, ..)| s == space)?;
        let (_, room, reply) = self.registering.remove(at);
        Some((room, reply))
    }
}
