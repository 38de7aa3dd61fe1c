//! Tracing what peers say to each other: trace context and Lamport clocks carried inside
//! messages, and the trace model that links each receive to its send.

pub mod clock;
pub mod context;
pub mod details;
pub mod export;
pub mod layer;
pub mod mark;
pub mod model;
pub mod synthetic;

use std::sync::{Arc, Mutex};

use libp2p::PeerId;
use rand::rngs::ChaCha8Rng;
use rand::Rng;
use rand::SeedableRng;

pub use clock::LamportClock;
pub use context::{SpanId, TraceContext, TraceId};
pub use model::{Message, Stamp, Trace};

/// What a peer stamps its messages with: its Lamport clock and its own source of ids.
///
/// Ids are drawn from a generator seeded by the PeerId, so a network rebuilt from the same
/// seed gives its messages the same ids.
#[derive(Debug, Clone)]
pub struct Tracer {
    clock: LamportClock,
    ids: Arc<Mutex<ChaCha8Rng>>,
}

/// The stamp of one send: which trace and span it belongs to, and its Lamport time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendStamp {
    pub context: TraceContext,
    pub lamport: u64,
}

impl Tracer {
    pub fn new(peer: &PeerId) -> Tracer {
        let seed = peer
            .to_bytes()
            .iter()
            .fold(0u64, |seed, &b| seed.rotate_left(8) ^ u64::from(b));
        Tracer {
            clock: LamportClock::default(),
            ids: Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))),
        }
    }

    /// A send that starts a new trace (a new exchange).
    pub fn start_trace(&self) -> SendStamp {
        let trace_id = TraceId(u128::from(self.nonzero()) << 64 | u128::from(self.nonzero()));
        self.send_in(trace_id)
    }

    /// A send that continues the trace of `cause` (an answer to it).
    pub fn continue_trace(&self, cause: &TraceContext) -> SendStamp {
        self.send_in(cause.trace_id)
    }

    /// A receive of a message stamped `lamport`: returns this peer's time of the receive.
    pub fn receive(&self, lamport: u64) -> u64 {
        self.clock.receive(lamport)
    }

    fn send_in(&self, trace_id: TraceId) -> SendStamp {
        SendStamp {
            context: TraceContext {
                trace_id,
                span_id: SpanId(self.nonzero()),
                sampled: true,
            },
            lamport: self.clock.tick(),
        }
    }

    fn nonzero(&self) -> u64 {
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            let id = ids.next_u64();
            if id != 0 {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_stays_in_its_trace_with_a_new_span_and_a_later_time() {
        let (a, b) = (
            Tracer::new(&crate::identity::keypair(1, 0).public().to_peer_id()),
            Tracer::new(&crate::identity::keypair(1, 1).public().to_peer_id()),
        );
        let ping = a.start_trace();
        let received = b.receive(ping.lamport);
        let pong = b.continue_trace(&ping.context);
        assert_eq!(pong.context.trace_id, ping.context.trace_id);
        assert_ne!(pong.context.span_id, ping.context.span_id);
        assert!(ping.lamport < received && received < pong.lamport);
    }

    #[test]
    fn the_same_peer_draws_the_same_ids() {
        let peer = crate::identity::keypair(1, 0).public().to_peer_id();
        assert_eq!(
            Tracer::new(&peer).start_trace(),
            Tracer::new(&peer).start_trace()
        );
    }
}
