//! Events as real peers report them, made up: for tests and benchmarks that need a trace
//! without running a network.

use libp2p::PeerId;

use super::Tracer;
use crate::event::{Event, EventKind, PingStep};
use crate::protocols::ping::Envelope;

/// One side of an exchange: the peer and its tracer.
pub type Side<'a> = (PeerId, &'a Tracer);

/// The four events of a PING/PONG exchange from `a` to `b` at `times` (ms): PING sent, PING
/// received, PONG sent, PONG received, with trace context and Lamport clocks as peers set them.
pub fn ping_exchange(a: Side, b: Side, id: &str, times: [f64; 4]) -> [Event; 4] {
    let ((a, a_tracer), (b, b_tracer)) = (a, b);
    let event = |at_ms, peer, step| Event {
        at_ms,
        peer,
        kind: EventKind::Ping(step),
    };
    let ping = Envelope::ping(id.to_owned(), a, String::new(), a_tracer.start_trace());
    let ping_received = b_tracer.receive(ping.lamport);
    let cause = ping.traceparent.expect("a new PING carries trace context");
    let receipt = crate::protocols::ping::Receipt {
        at: ping.created,
        lamport: ping_received,
    };
    let pong = ping.pong(b_tracer.continue_trace(&cause), receipt);
    let pong_received = a_tracer.receive(pong.lamport);
    [
        event(
            times[0],
            a,
            PingStep::Sent {
                remote: b,
                envelope: ping.clone(),
            },
        ),
        event(
            times[1],
            b,
            PingStep::Received {
                remote: a,
                envelope: ping,
                lamport: ping_received,
            },
        ),
        event(
            times[2],
            b,
            PingStep::Sent {
                remote: a,
                envelope: pong.clone(),
            },
        ),
        event(
            times[3],
            a,
            PingStep::Received {
                remote: b,
                envelope: pong,
                lamport: pong_received,
            },
        ),
    ]
}
