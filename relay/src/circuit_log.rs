//! The relay's log lines for libp2p-relay's events. A circuit whose client vanished is
//! reported closed twice by libp2p-relay (once as that client's connection closes, once as
//! the other end's handler ends the circuit); the log says it once.

use std::collections::HashMap;

use libp2p::{relay, PeerId};

#[derive(Debug, Default)]
pub struct CircuitLog {
    /// Circuits accepted and not yet reported closed, by source and destination. Events carry
    /// no circuit id, so two circuits between the same pair are told apart only by count.
    open: HashMap<(PeerId, PeerId), usize>,
}

impl CircuitLog {
    /// The line to log for `event`; None for a circuit already reported closed.
    pub fn line(&mut self, event: &relay::Event) -> Option<String> {
        match event {
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                *self.open.entry((*src_peer_id, *dst_peer_id)).or_default() += 1;
                Some(format!("circuit opened: {src_peer_id} → {dst_peer_id}"))
            }
            relay::Event::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                let pair = (*src_peer_id, *dst_peer_id);
                let open = self.open.get_mut(&pair)?;
                *open -= 1;
                if *open == 0 {
                    self.open.remove(&pair);
                }
                let why = error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                Some(format!(
                    "circuit closed: {src_peer_id} → {dst_peer_id}{why}"
                ))
            }
            other => Some(format!("relay: {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circuit_is_logged_open_once_and_closed_once() {
        let (src, dst) = (PeerId::random(), PeerId::random());
        let mut log = CircuitLog::default();
        let opened = log.line(&relay::Event::CircuitReqAccepted {
            src_peer_id: src,
            dst_peer_id: dst,
        });
        assert_eq!(opened, Some(format!("circuit opened: {src} → {dst}")));
        let closed = || relay::Event::CircuitClosed {
            src_peer_id: src,
            dst_peer_id: dst,
            error: Some(std::io::ErrorKind::ConnectionAborted.into()),
        };
        let first = log.line(&closed()).expect("the first report is logged");
        assert!(
            first.starts_with(&format!("circuit closed: {src} → {dst} (")),
            "{first}"
        );
        assert_eq!(
            log.line(&closed()),
            None,
            "the second report of the same close"
        );

        // Two circuits between the same pair: each close is logged.
        for _ in 0..2 {
            log.line(&relay::Event::CircuitReqAccepted {
                src_peer_id: src,
                dst_peer_id: dst,
            });
        }
        assert!(log.line(&closed()).is_some());
        assert!(log.line(&closed()).is_some());
        assert_eq!(log.line(&closed()), None);
    }
}
