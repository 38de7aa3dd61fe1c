//! The relay's log lines for libp2p-relay's events, naming the limit behind each refusal and
//! each circuit the relay ended. The protocol tells a refused client only
//! RESOURCE_LIMIT_EXCEEDED; whoever runs the relay reads here which flag to raise. The counts
//! mirror libp2p-relay's own checks, in its order.
//!
//! libp2p-relay reports a circuit whose client vanished closed twice (once as that client's
//! connection closes, once as the other end's handler ends the circuit); the log says it once.

use std::collections::HashMap;
use std::io;

use libp2p::{relay, PeerId};

/// The relay's limits, as its flags set them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_reservations: usize,
    pub max_reservations_per_peer: usize,
    pub max_circuits: usize,
    pub max_circuits_per_peer: usize,
    pub max_circuit_seconds: u64,
    pub max_circuit_bytes: u64,
    pub max_per_ip_per_minute: u32,
}

#[derive(Debug)]
pub struct EventLog {
    limits: Limits,
    /// Reservations held, by peer.
    reservations: HashMap<PeerId, usize>,
    /// Circuits accepted and not yet reported closed, by source and destination. Events carry
    /// no circuit id, so two circuits between the same pair are told apart only by count.
    circuits: HashMap<(PeerId, PeerId), usize>,
}

impl EventLog {
    pub fn new(limits: Limits) -> EventLog {
        EventLog {
            limits,
            reservations: HashMap::new(),
            circuits: HashMap::new(),
        }
    }

    /// The line to log for `event`; None for a circuit already reported closed.
    pub fn line(&mut self, event: &relay::Event) -> Option<String> {
        let limits = self.limits;
        Some(match event {
            relay::Event::ReservationReqAccepted {
                src_peer_id,
                renewed,
            } => {
                if !renewed {
                    *self.reservations.entry(*src_peer_id).or_default() += 1;
                }
                format!("reservation accepted: {src_peer_id}")
            }
            relay::Event::ReservationClosed { src_peer_id }
            | relay::Event::ReservationTimedOut { src_peer_id } => {
                decrement(&mut self.reservations, *src_peer_id);
                format!("reservation ended: {src_peer_id}")
            }
            relay::Event::ReservationReqDenied { src_peer_id, .. } => {
                let held = self.reservations.get(src_peer_id).copied().unwrap_or(0);
                let total: usize = self.reservations.values().sum();
                let why = if held > limits.max_reservations_per_peer {
                    format!(
                        "it holds {held}, over libp2p's {} per peer",
                        limits.max_reservations_per_peer
                    )
                } else if total >= limits.max_reservations {
                    format!(
                        "{total} held, --max-reservations {} reached",
                        limits.max_reservations
                    )
                } else {
                    rate(limits)
                };
                format!("reservation refused: {src_peer_id}: {why}")
            }
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                *self
                    .circuits
                    .entry((*src_peer_id, *dst_peer_id))
                    .or_default() += 1;
                format!("circuit opened: {src_peer_id} → {dst_peer_id}")
            }
            relay::Event::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                status,
            } => {
                let of_peer: usize = self
                    .circuits
                    .iter()
                    .filter(|((src, dst), _)| src == src_peer_id || dst == src_peer_id)
                    .map(|(_, n)| n)
                    .sum();
                let total: usize = self.circuits.values().sum();
                let why = if matches!(status, relay::StatusCode::NoReservation) {
                    "the destination holds no reservation here".to_owned()
                } else if of_peer > limits.max_circuits_per_peer {
                    format!(
                        "it has {of_peer} circuits, over --max-circuits-per-peer {}",
                        limits.max_circuits_per_peer
                    )
                } else if total >= limits.max_circuits {
                    format!(
                        "{total} circuits open, --max-circuits {} reached",
                        limits.max_circuits
                    )
                } else {
                    rate(limits)
                };
                format!("circuit refused: {src_peer_id} → {dst_peer_id}: {why}")
            }
            relay::Event::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                let pair = (*src_peer_id, *dst_peer_id);
                self.circuits.get(&pair)?;
                decrement(&mut self.circuits, pair);
                let why = match error {
                    None => String::new(),
                    Some(e) => format!(" ({})", close_reason(e, limits)),
                };
                format!("circuit closed: {src_peer_id} → {dst_peer_id}{why}")
            }
            other => format!("relay: {other:?}"),
        })
    }
}

fn decrement<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: K) {
    if let Some(n) = counts.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&key);
        }
    }
}

fn rate(limits: Limits) -> String {
    format!(
        "too many requests: --max-per-ip-per-minute {}, or libp2p's 30 per peer per 2 minutes",
        limits.max_per_ip_per_minute
    )
}

/// Why libp2p-relay ended a circuit, from the error its copy loop gave.
fn close_reason(error: &io::Error, limits: Limits) -> String {
    match error.kind() {
        io::ErrorKind::TimedOut => format!(
            "--max-circuit-seconds {} ran out",
            limits.max_circuit_seconds
        ),
        _ if error.to_string().contains("Max circuit bytes") => {
            format!("--max-circuit-bytes {} carried", limits.max_circuit_bytes)
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_reservations: 2,
        max_reservations_per_peer: 4,
        max_circuits: 2,
        max_circuits_per_peer: 1,
        max_circuit_seconds: 7,
        max_circuit_bytes: 1000,
        max_per_ip_per_minute: 60,
    };

    fn opened(log: &mut EventLog, src: PeerId, dst: PeerId) {
        log.line(&relay::Event::CircuitReqAccepted {
            src_peer_id: src,
            dst_peer_id: dst,
        });
    }

    fn closed(src: PeerId, dst: PeerId, error: io::Error) -> relay::Event {
        relay::Event::CircuitClosed {
            src_peer_id: src,
            dst_peer_id: dst,
            error: Some(error),
        }
    }

    fn refused(src: PeerId, dst: PeerId) -> relay::Event {
        relay::Event::CircuitReqDenied {
            src_peer_id: src,
            dst_peer_id: dst,
            status: relay::StatusCode::ResourceLimitExceeded,
        }
    }

    #[test]
    fn a_circuit_is_logged_closed_once_with_the_limit_that_ended_it() {
        let (src, dst) = (PeerId::random(), PeerId::random());
        let mut log = EventLog::new(LIMITS);
        opened(&mut log, src, dst);
        let aborted = || closed(src, dst, io::ErrorKind::ConnectionAborted.into());
        let first = log.line(&aborted()).expect("the first report is logged");
        assert!(
            first.starts_with(&format!("circuit closed: {src} → {dst} (")),
            "{first}"
        );
        assert_eq!(
            log.line(&aborted()),
            None,
            "the second report of the same close"
        );

        opened(&mut log, src, dst);
        let timed_out = log.line(&closed(src, dst, io::ErrorKind::TimedOut.into()));
        assert!(timed_out
            .unwrap()
            .ends_with("(--max-circuit-seconds 7 ran out)"));
        opened(&mut log, src, dst);
        let full = log.line(&closed(
            src,
            dst,
            io::Error::other("Max circuit bytes reached."),
        ));
        assert!(full
            .unwrap()
            .ends_with("(--max-circuit-bytes 1000 carried)"));
    }

    #[test]
    fn a_refusal_names_the_limit_reached() {
        let peers: Vec<PeerId> = (0..5).map(|_| PeerId::random()).collect();
        let mut log = EventLog::new(LIMITS);
        opened(&mut log, peers[0], peers[1]);
        opened(&mut log, peers[0], peers[2]);
        let line = log.line(&refused(peers[0], peers[3])).unwrap();
        assert!(
            line.ends_with("it has 2 circuits, over --max-circuits-per-peer 1"),
            "{line}"
        );
        let line = log.line(&refused(peers[3], peers[4])).unwrap();
        assert!(
            line.ends_with("2 circuits open, --max-circuits 2 reached"),
            "{line}"
        );
        log.line(&closed(
            peers[0],
            peers[2],
            io::ErrorKind::BrokenPipe.into(),
        ));
        let line = log.line(&refused(peers[3], peers[4])).unwrap();
        assert!(line.contains("--max-per-ip-per-minute 60"), "{line}");

        for peer in &peers[..2] {
            log.line(&relay::Event::ReservationReqAccepted {
                src_peer_id: *peer,
                renewed: false,
            });
        }
        let denied = relay::Event::ReservationReqDenied {
            src_peer_id: peers[2],
            status: relay::StatusCode::ResourceLimitExceeded,
        };
        let line = log.line(&denied).unwrap();
        assert!(
            line.ends_with("2 held, --max-reservations 2 reached"),
            "{line}"
        );
        log.line(&relay::Event::ReservationTimedOut {
            src_peer_id: peers[0],
        });
        assert!(log
            .line(&denied)
            .unwrap()
            .contains("--max-per-ip-per-minute"));
    }
}
