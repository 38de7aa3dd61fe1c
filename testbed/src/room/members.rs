//! Who is in the room, as this tab's peer has seen it: rebuilt from its events.

use std::collections::{BTreeMap, VecDeque};

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

/// The spans of direct connections a member keeps: the diagram asks which path an old
/// message took; a member that reconnects more often forgets its oldest spans.
const MAX_DIRECT_SPANS: usize = 16;

/// How this tab's traffic reaches another tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Path {
    /// Through a circuit on the relay.
    Relayed,
    /// Over a direct WebRTC connection.
    Direct,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub state: MemberState,
    /// Connections open to it: circuits and direct ones.
    connections: u32,
    /// Of those, direct ones: two tabs that dial each other at once may get two.
    direct_open: u32,
    /// When direct connections to it opened and closed, in the trace's ms; the last may be
    /// open still.
    direct: VecDeque<(f64, Option<f64>)>,
    /// The room lists it; a peer reached by its address only (another libp2p node) is not,
    /// and a tab that dialed this one is not until this one's next look at the room.
    pub in_room: bool,
    /// The learner dialed it by its address: a peer outside the room.
    pub by_address: bool,
    /// Why the last direct connection failed or closed, while traffic stays on the relay.
    pub direct_problem: Option<String>,
    /// The last reason a dial or a connection failed.
    pub problem: Option<String>,
}

impl Member {
    fn listed() -> Self {
        Member {
            state: MemberState::Listed,
            connections: 0,
            direct_open: 0,
            direct: VecDeque::new(),
            in_room: false,
            by_address: false,
            direct_problem: None,
            problem: None,
        }
    }

    /// The path its traffic takes now.
    pub fn path(&self) -> Path {
        match self.direct.back() {
            Some((_, None)) => Path::Direct,
            _ => Path::Relayed,
        }
    }

    /// Whether the path to it is settled, so a long-lived stream (a token channel) can open
    /// without breaking soon after: only the direct connection is left (its circuits closed),
    /// or going direct failed and the traffic stays on the circuit.
    pub fn path_settled(&self) -> bool {
        match self.path() {
            Path::Direct => self.connections == self.direct_open,
            Path::Relayed => self.state == MemberState::Connected && self.direct_problem.is_some(),
        }
    }

    /// The path a message sent at `at_ms` took: once a direct connection is up, the
    /// circuits to the member close, so every stream goes direct.
    pub fn path_at(&self, at_ms: f64) -> Path {
        let direct = self
            .direct
            .iter()
            .any(|&(from, until)| from <= at_ms && until.is_none_or(|until| at_ms < until));
        if direct {
            Path::Direct
        } else {
            Path::Relayed
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    /// The relay and this peer's circuit address on it, once reserved.
    pub reservation: Option<(PeerId, Multiaddr)>,
    /// When, in the trace's ms, the connection to the relay last closed; None while it is up.
    pub relay_lost_at: Option<f64>,
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

    /// Notes a peer the learner dials by its address.
    pub fn dialing_by_address(&mut self, peer: PeerId) {
        self.members
            .entry(peer)
            .or_insert_with(Member::listed)
            .by_address = true;
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
                self.relay_lost_at = None;
            }
            EventKind::Room(RoomStep::Discovered { peers, .. }) => {
                for peer in peers {
                    self.members
                        .entry(*peer)
                        .or_insert_with(Member::listed)
                        .in_room = true;
                }
            }
            EventKind::Room(RoomStep::CircuitOpened { remote, .. }) => {
                let member = self.members.entry(*remote).or_insert_with(Member::listed);
                member.connections += 1;
                member.state = MemberState::Connected;
                member.problem = None;
            }
            EventKind::Room(RoomStep::DirectOpened { remote, .. }) => {
                if let Some(member) = self.members.get_mut(remote) {
                    member.connections += 1;
                    member.direct_open += 1;
                    if member.path() == Path::Relayed {
                        if member.direct.len() == MAX_DIRECT_SPANS {
                            member.direct.pop_front();
                        }
                        member.direct.push_back((event.at_ms, None));
                    }
                    member.direct_problem = None;
                    member.state = MemberState::Connected;
                    member.problem = None;
                }
            }
            EventKind::Room(RoomStep::DirectFailed { remote, reason }) => {
                if let Some(member) = self.members.get_mut(remote) {
                    member.direct_problem = Some(reason.clone());
                }
            }
            EventKind::Room(RoomStep::DirectClosed { remote, reason }) => {
                if let Some(member) = self.members.get_mut(remote) {
                    member.direct_open = member.direct_open.saturating_sub(1);
                    if let (0, Some((_, until @ None))) =
                        (member.direct_open, member.direct.back_mut())
                    {
                        *until = Some(event.at_ms);
                    }
                    member.direct_problem = Some(format!(
                        "closed ({})",
                        reason.as_deref().unwrap_or("no reason")
                    ));
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
                self.relay_lost_at = Some(event.at_ms);
                for member in self.members.values_mut() {
                    if member.state == MemberState::Connected && member.path() == Path::Relayed {
                        member.state = MemberState::Left;
                        member.connections = 0;
                        member.direct_open = 0;
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

    fn circuit(relay: PeerId, remote: PeerId) -> Event {
        event(EventKind::Room(RoomStep::CircuitOpened {
            relay,
            remote,
            dialer: true,
        }))
    }

    fn direct(remote: PeerId) -> Event {
        event(EventKind::Room(RoomStep::DirectOpened {
            remote,
            dialer: true,
        }))
    }

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
        members.apply(&circuit(relay, alice));
        members.apply(&direct(alice));
        // The relay goes, and the circuit inside it.
        for remote in [relay, alice] {
            members.apply(&event(EventKind::ConnectionClosed {
                remote,
                cause: Some("reset".into()),
            }));
        }
        let alice_now = members.get(&alice).unwrap();
        assert_eq!(alice_now.state, MemberState::Connected);
        assert_eq!(alice_now.path(), Path::Direct);
    }

    #[test]
    fn a_message_took_the_path_open_when_it_was_sent() {
        let (relay, alice) = (PeerId::random(), PeerId::random());
        let mut members = Members::default();
        let at = |at_ms, kind| Event {
            at_ms,
            peer: PeerId::random(),
            kind,
        };
        members.apply(&at(
            1.0,
            EventKind::Room(RoomStep::CircuitOpened {
                relay,
                remote: alice,
                dialer: true,
            }),
        ));
        members.apply(&at(
            10.0,
            EventKind::Room(RoomStep::DirectOpened {
                remote: alice,
                dialer: true,
            }),
        ));
        members.apply(&at(
            20.0,
            EventKind::Room(RoomStep::DirectClosed {
                remote: alice,
                reason: Some("ICE disconnected".into()),
            }),
        ));
        let alice_now = members.get(&alice).unwrap();
        assert_eq!(alice_now.path_at(5.0), Path::Relayed);
        assert_eq!(alice_now.path_at(15.0), Path::Direct);
        assert_eq!(alice_now.path_at(25.0), Path::Relayed);
        assert_eq!(alice_now.path(), Path::Relayed);
        assert_eq!(
            alice_now.direct_problem.as_deref(),
            Some("closed (ICE disconnected)")
        );
    }

    #[test]
    fn a_failed_direct_connection_says_why_and_the_member_stays_on_the_relay() {
        let (relay, alice) = (PeerId::random(), PeerId::random());
        let mut members = Members::default();
        members.apply(&circuit(relay, alice));
        members.apply(&event(EventKind::Room(RoomStep::DirectFailed {
            remote: alice,
            reason: "no route".into(),
        })));
        let alice_now = members.get(&alice).unwrap();
        assert_eq!(alice_now.state, MemberState::Connected);
        assert_eq!(alice_now.path(), Path::Relayed);
        assert_eq!(alice_now.direct_problem.as_deref(), Some("no route"));
        assert!(alice_now.path_settled());
    }

    #[test]
    fn a_peer_dialed_by_its_address_is_outside_the_room_and_a_listed_one_inside() {
        let (alice, bob) = (PeerId::random(), PeerId::random());
        let mut members = Members::default();
        members.dialing_by_address(alice);
        members.apply(&event(EventKind::Room(RoomStep::Discovered {
            room: "blue".into(),
            peers: vec![bob],
        })));
        let (alice_now, bob_now) = (members.get(&alice).unwrap(), members.get(&bob).unwrap());
        assert!(alice_now.by_address && !alice_now.in_room);
        assert!(bob_now.in_room && !bob_now.by_address);
    }

    #[test]
    fn the_path_is_settled_once_only_the_direct_connection_is_left() {
        let (relay, alice) = (PeerId::random(), PeerId::random());
        let mut members = Members::default();
        members.apply(&circuit(relay, alice));
        assert!(!members.get(&alice).unwrap().path_settled(), "going direct");
        members.apply(&direct(alice));
        assert!(
            !members.get(&alice).unwrap().path_settled(),
            "the circuit still open"
        );
        members.apply(&event(EventKind::ConnectionClosed {
            remote: alice,
            cause: None,
        }));
        assert!(members.get(&alice).unwrap().path_settled());
        // The two tabs dialed each other at once: a second direct connection changes nothing.
        members.apply(&event(EventKind::Room(RoomStep::DirectOpened {
            remote: alice,
            dialer: false,
        })));
        let alice_now = members.get(&alice).unwrap();
        assert!(alice_now.path_settled());
        assert_eq!(alice_now.direct.len(), 1);
    }
}
