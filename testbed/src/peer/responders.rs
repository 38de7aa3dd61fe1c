//! A peer's answering side: every inbound ping and transfer stream, each in its own task, and
//! the timeout both ends of a ping run under.

use std::time::Duration;

use futures::{future, StreamExt};
use libp2p::PeerId;
use tracing::Instrument;

use crate::event::{EventKind, EventSink, PingStep, TransferStep};
use crate::pace::Pace;
use crate::protocols::ping::{self as testbed_ping, PingError};
use crate::protocols::transfer;
use crate::runtime::spawn;
use crate::trace::Tracer;

/// A ping exchange that has not finished by then has failed (the remote vanished or stalled).
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Fails `work` once the ping timeout, plus its two paced messages' latency, has passed
/// while the pace was playing.
pub(super) async fn with_timeout<T>(
    work: impl std::future::Future<Output = Result<T, PingError>>,
    pace: &Pace,
) -> Result<T, PingError> {
    let deadline = pace.deadline(PING_TIMEOUT, 2);
    futures::pin_mut!(deadline);
    futures::pin_mut!(work);
    match future::select(work, deadline).await {
        future::Either::Left((result, _)) => result,
        future::Either::Right(((), _)) => Err(PingError::Timeout(PING_TIMEOUT.as_secs())),
    }
}

/// Reads every inbound transfer, each in its own task.
pub(super) async fn answer_transfers(
    local: PeerId,
    mut incoming: libp2p_stream::IncomingStreams,
    events: EventSink,
) {
    while let Some((remote, mut stream)) = incoming.next().await {
        let events = events.clone();
        spawn(async move {
            let step = match transfer::receive(&mut stream).await {
                Ok((_, bytes)) => TransferStep::Received { remote, bytes },
                Err(error) => TransferStep::Failed {
                    remote,
                    error: error.to_string(),
                },
            };
            events.emit(local, EventKind::Transfer(step));
        });
    }
}

/// Answers every inbound `/testbed/ping/1.0.0` stream, each in its own task, so a slow
/// initiator never holds up the next one.
pub(super) async fn answer_pings(
    local: PeerId,
    mut incoming: libp2p_stream::IncomingStreams,
    events: EventSink,
    tracer: Tracer,
    pace: Pace,
) {
    while let Some((remote, mut stream)) = incoming.next().await {
        let events = events.clone();
        let tracer = tracer.clone();
        let pace = pace.clone();
        let span = tracing::info_span!("ping exchange", role = "responder", remote = %remote);
        spawn(
            async move {
                let report = |step| events.emit(local, EventKind::Ping(step));
                report(PingStep::StreamAccepted {
                    remote,
                    protocol: testbed_ping::PROTOCOL.to_string(),
                });
                let exchange = testbed_ping::respond(&mut stream, remote, &tracer, &pace, &report);
                if let Err(error) = with_timeout(exchange, &pace).await {
                    report(PingStep::Failed {
                        remote,
                        error: error.to_string(),
                    });
                }
            }
            .instrument(span),
        );
    }
}
