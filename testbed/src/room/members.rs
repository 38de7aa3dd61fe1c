//! Who is in the room, as this tab's peer has seen it: rebuilt from its events.

use std::collections::BTreeMap;

use libp2p::{Multiaddr, PeerId};

use super::RoomStep;
use crate::event::{Event, EventKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// The room lists it; no connection yet.
    Listed,
    /// A circuit through the relay is open to it.
    Connected,
    /// It was listed, but dialing it through the relay failed (its tab has closed and its
    /// registration not yet expired, or a relay limit).
    Unreachable,
    /// Its connection closed: its tab closed or lost the relay.
    Left,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub state: MemberState,
    /// Connections open to it: circuits and direct ones.
    connections: u32,
    /// A direct WebRTC connection is open to it, so losing the relay does not lose it.
    pub direct: bool,
    /// The last reason a dial or a connection failed.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    /// The relay and this peer's circuit address on it, once reserved.
    pub reservation: Option<(PeerId, Multiaddr)>,
    members: BTreeMap<PeerId, Member>,
}

impl Members {
    /// Peers of the room other than this one, in PeerId order.
    pub fn iter(&self) -> impl Iterator<Item = (&PeerId, &Member)> {
        self.members.iter()
    }

    pub fn get(&self, peer: &PeerId) -> Option<&Member> {
        self.members.get(peer)
    }

    pub fn connected(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.members
            .iter()
            .filter(|(_, m)| m.state == MemberState::Connected)
            .map(|(p, _)| *p)
    }

    /// Takes in one event of this tab's peer.
    pub fn apply(&mut self, event: &Event) {
        let relay = self.reservation.as_ref().map(|(relay, _)| *relay);
        match &event.kind {
            EventKind::Room(RoomStep::Reserved { relay, address }) => {
                self.reservation = Some((*relay, address.clone()));
            }
            EventKind::Room(RoomStep::Discovered { peers, .. }) => {
                for peer in peers {
                    self.members.entry(*peer).or_insert(Member {
                        state: MemberState::Listed,
                        connections: 0,
                        direct: false,
                        problem: None,
                    });
                }
            }
            EventKind::Room(RoomStep::CircuitOpened { remote, .. }) => {
                let member = self.members.entry(*remote).or_insert(Member {
                    state: MemberState::Listed,
                    connections: 0,
                    direct: false,
                    problem: None,
                });
                member.connections += 1;
                member.state = MemberState::Connected;
                member.problem = None;
            }
            EventKind::Room(RoomStep::DirectOpened { remote, .. }) => {
                if let Some(member) = self.members.get_mut(remote) {
                    member.connections += 1;
                    member.direct = true;
                    member.state = MemberState::Connected;
                    member.problem = None;
                }
            }
            EventKind::ConnectionClosed { remote, cause } if Some(*remote) != relay => {
                if let Some(member) = self.members.get_mut(remote) {
                    member.connections = member.connections.saturating_sub(1);
                    if member.connections == 0 {
                        member.state = MemberState::Left;
                        member.problem = cause.clone();
                    }
                }
            }
            EventKind::ConnectionClosed { remote, .. } if Some(*remote) == relay => {
                // Circuits run inside the connection to the relay: they all end with it.
                self.reservation = None;
                for member in self.members.values_mut() {
                    if member.state == MemberState::Connected && !member.direct {
                        member.state = MemberState::Left;
                        member.connections = 0;
                        member.problem = Some("the relay is gone".into());
                    }
                }
            }
            EventKind::DialFailed {
                remote: Some(remote),
                error,
            } => {
                if let Some(member) = self.members.get_mut(remote) {
                    if member.state != MemberState::Connected {
                        member.state = MemberState::Unreachable;
                        member.problem = Some(error.clone());
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> Event {
        Event {
            at_ms: 0.0,
            peer: PeerId::random(),
            kind,
        }
    }

    #[test]
    fn a_member_is_listed_then_connected_then_leaves() {
        let (relay, alice, bob) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut members = Members::default();
        members.apply(&event(EventKind::Room(RoomStep::Reserved {
            relay,
            address: "/memory/1".parse().unwrap(),
        })));
        members.apply(&event(EventKind::Room(RoomStep::Discovered {
            room: "blue".into(),
            peers: vec![alice, bob],
        })));
        assert_eq!(members.get(&alice).unwrap().state, MemberState::Listed);
        let opened = EventKind::Room(RoomStep::CircuitOpened {
            relay,
            remote: alice,
            dialer: true,
        });
        members.apply(&event(opened.clone()));
        members.apply(&event(opened));
        assert_eq!(members.connected().collect::<Vec<_>>(), vec![alice]);
        let closed = EventKind::ConnectionClosed {
            remote: alice,
            cause: None,
        };
        members.apply(&event(closed.clone()));
        assert_eq!(members.get(&alice).unwrap().state, MemberState::Connected);
        members.apply(&event(closed));
        assert_eq!(members.get(&alice).unwrap().state, MemberState::Left);
        members.apply(&event(EventKind::DialFailed {
            remote: Some(bob),
            error: "no reservation".into(),
        }));
        let bob_now = members.get(&bob).unwrap();
        assert_eq!(bob_now.state, MemberState::Unreachable);
        assert_eq!(bob_now.problem.as_deref(), Some("no reservation"));
    }

    #[test]
    fn losing_the_relay_ends_every_circuit() {
        let (relay, alice) = (PeerId::random(), PeerId::random());
        let mut members = Members::default();
        members.apply(&event(EventKind::Room(RoomStep::Reserved {
            relay,
            address: "/memory/1".parse().unwrap(),
        })));
        members.apply(&event(EventKind::Room(RoomStep::CircuitOpened {
            relay,
            remote: alice,
            dialer: false,
        })));
        members.apply(&event(EventKind::ConnectionClosed {
            remote: relay,
            cause: Some("reset".into()),
        }));
        assert_eq!(members.get(&alice).unwrap().state, MemberState::Left);
        assert!(members.reservation.is_none());
    }

    #[test]
    fn a_tab_reached_directly_stays_when_the_relay_goes() {
        let (relay, alice) = (PeerId::random(), PeerId::random());
        let mut members = Members::default();
        members.apply(&event(EventKind::Room(RoomStep::CircuitOpened {
            relay,
            remote: alice,
            dialer: true,
        })));
        members.apply(&event(EventKind::Room(RoomStep::DirectOpened {
            remote: alice,
            dialer: true,
        })));
        // The relay goes, and the circuit inside it.
        for remote in [relay, alice] {
            members.apply(&event(EventKind::ConnectionClosed {
                remote,
                cause: Some("reset".into()),
            }));
        }
        let alice_now = members.get(&alice).unwrap();
        assert_eq!(alice_now.state, MemberState::Connected);
        assert!(alice_now.direct);
    }
}
