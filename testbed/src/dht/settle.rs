//! Waiting for a DHT network to settle. libp2p-kad bootstraps on its own whenever a peer's
//! table is short of 20 entries (it cannot be switched off), so a new network is busy for
//! seconds; a lesson's lookups read better once that traffic is over. Measured natively (100
//! peers, star, k 3): about 190 bootstraps of 8 lookups each, ~57 requests a lookup, 90,000
//! requests in all; the tables stop changing after the first 5,000.

use std::time::Duration;

use futures::future::join_all;
use web_time::Instant;

use crate::event::{DhtStep, EventKind};
use crate::network::Network;
use crate::peer;
use crate::peer::PeerError;

use super::node::BootstrapLookups;

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
    /// How long no peer's routing table has changed size: once the tables are full, the
    /// bootstrap's later lookups find no one new, yet run to the end.
    pub tables_steady_ms: u64,
    /// The bootstraps' lookups over all peers.
    pub bootstrap: BootstrapLookups,
}

impl Settling {
    /// Before anything is known: every peer's bootstrap is to come.
    pub fn starting(peers: usize) -> Settling {
        Settling {
            busy: peers,
            done: 0,
            peers,
            entries: 0,
            tables_steady_ms: 0,
            bootstrap: BootstrapLookups::default(),
        }
    }
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
    let mut tables = TableWatch::default();
    loop {
        let statuses = join_all(peers.iter().map(peer::Handle::dht_status)).await;
        let mut settling = Settling {
            busy: 0,
            ..Settling::starting(peers.len())
        };
        let mut sizes = Vec::with_capacity(peers.len());
        for (status, started) in statuses.into_iter().zip(&mut started) {
            let status = status?;
            settling.entries += status.table_size;
            settling.bootstrap.done += status.bootstrap.done;
            settling.bootstrap.left += status.bootstrap.left;
            sizes.push(status.table_size);
            *started |= status.lookups > 0;
            if *started && status.lookups == 0 {
                settling.done += 1;
            }
            if status.running > 0 || status.quiet_ms < quiet.as_secs_f64() * 1000.0 {
                settling.busy += 1;
            }
        }
        settling.tables_steady_ms = tables.look(sizes, Instant::now()).as_millis() as u64;
        progress(settling);
        if settling.busy == 0 {
            network.events().emit(
                peers[0].peer_id(),
                EventKind::Dht(DhtStep::Settled {
                    entries: settling.entries,
                    tables_steady_ms: settling.tables_steady_ms,
                }),
            );
            return Ok(());
        }
        futures_timer::Delay::new(POLL).await;
    }
}

/// When the routing tables last changed, as seen by looking at each peer's table size (what
/// js-libp2p's bench reads too: with no refresh, a full bucket takes no one new, so a table
/// changes only by growing).
#[derive(Debug, Default)]
struct TableWatch {
    sizes: Vec<usize>,
    changed: Option<Instant>,
}

impl TableWatch {
    /// Takes in the sizes seen at `now`; returns how long they have been as they are.
    fn look(&mut self, sizes: Vec<usize>, now: Instant) -> Duration {
        if self.changed.is_none() || sizes != self.sizes {
            self.sizes = sizes;
            self.changed = Some(now);
        }
        now - self.changed.unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_count_as_steady_from_the_last_look_that_saw_a_size_change() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut watch = TableWatch::default();
        assert_eq!(watch.look(vec![0, 0], at(0)), Duration::ZERO);
        assert_eq!(watch.look(vec![0, 0], at(100)), Duration::from_millis(100));
        assert_eq!(watch.look(vec![1, 0], at(200)), Duration::ZERO);
        assert_eq!(watch.look(vec![1, 0], at(300)), Duration::from_millis(100));
        // The same total in other tables is still a change.
        assert_eq!(watch.look(vec![0, 1], at(400)), Duration::ZERO);
        assert_eq!(
            watch.look(vec![0, 1], at(1400)),
            Duration::from_millis(1000)
        );
    }
}
