//! Waiting for a DHT network to settle. libp2p-kad bootstraps on its own whenever a peer's
//! table is short of 20 entries (it cannot be switched off), so a new network is busy for
//! seconds; a lesson's lookups read better once that traffic is over.

use std::time::Duration;

use futures::future::join_all;

use crate::event::{DhtStep, EventKind};
use crate::network::Network;
use crate::peer;
use crate::peer::PeerError;

/// How often the peers are asked whether they are busy.
const POLL: Duration = Duration::from_millis(100);

/// How the network stands, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settling {
    /// Peers still running a lookup (their bootstrap) or answering requests.
    pub busy: usize,
    /// Peers whose own lookups are over: each bootstraps at start-up (a lookup of its own
    /// key, then one for each bucket farther out), then only answers.
    pub done: usize,
    pub peers: usize,
    /// Routing-table entries over all peers.
    pub entries: usize,
}

/// Waits until every peer has no lookup running and has heard no kad request for `quiet`,
/// then reports it (`DhtStep::Settled`, from peer 0); `progress` hears how it stands after
/// each look.
pub async fn settle(
    network: &Network,
    quiet: Duration,
    mut progress: impl FnMut(Settling),
) -> Result<(), PeerError> {
    let peers = network.peers();
    // A peer's bootstrap begins a moment after its first connection: before that it is not
    // done, only not started.
    let mut started = vec![false; peers.len()];
    loop {
        let statuses = join_all(peers.iter().map(peer::Handle::dht_status)).await;
        let mut settling = Settling {
            busy: 0,
            done: 0,
            peers: peers.len(),
            entries: 0,
        };
        for (status, started) in statuses.into_iter().zip(&mut started) {
            let status = status?;
            settling.entries += status.table_size;
            *started |= status.lookups > 0;
            if *started && status.lookups == 0 {
                settling.done += 1;
            }
            if status.running > 0 || status.quiet_ms < quiet.as_secs_f64() * 1000.0 {
                settling.busy += 1;
            }
        }
        progress(settling);
        if settling.busy == 0 {
            network.events().emit(
                peers[0].peer_id(),
                EventKind::Dht(DhtStep::Settled {
                    entries: settling.entries,
                }),
            );
            return Ok(());
        }
        futures_timer::Delay::new(POLL).await;
    }
}
