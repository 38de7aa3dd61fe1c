//! What the learner asks of the other tabs through the link: pings and bulk transfers, timed
//! by the path they took (relayed or direct), and puts and gets in the room's DHT, told in a
//! sentence.

use std::sync::atomic::Ordering;

use libp2p::PeerId;

use super::Link;
use crate::dht::{LookupKind, LookupOutcome, LookupRequest};
use crate::labels::short_peer_id;
use crate::protocols::transfer;
use crate::room::Path;
use crate::runtime::spawn;

/// Round trips kept per peer of the room.
const MAX_ROUND_TRIPS: usize = 100;

/// What "send bytes" sends to another tab: enough for a throughput, little enough for a
/// relay's default limits here (`--max-circuit-bytes`, 64 MiB).
pub const BULK_BYTES: u64 = 32 * 1024 * 1024;

/// A bulk transfer to another tab, on the path its traffic took.
#[derive(Debug, Clone, PartialEq)]
pub enum Throughput {
    Sending {
        bytes: u64,
    },
    /// The other side read all `bytes` in `took_ms`, from opening the stream.
    Done {
        bytes: u64,
        took_ms: f64,
    },
    Failed(String),
}

impl Link {
    /// Pings `remote` with the testbed's protocol, on the path its traffic takes now, and
    /// keeps the round trip. A failure is in the peer's events, and so in the room's log.
    pub fn ping(&self, remote: PeerId) {
        let link = self.clone();
        let id = format!("tab-{}", self.pings.fetch_add(1, Ordering::Relaxed));
        let path = self.path_to(remote);
        spawn(async move {
            let started = web_time::Instant::now();
            if link.peer.ping(remote, id).await.is_ok() {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                link.update(|state| {
                    let samples = state.round_trips.entry((remote, path)).or_default();
                    samples.push(ms);
                    if samples.len() > MAX_ROUND_TRIPS {
                        samples.remove(0);
                    }
                });
            }
        });
    }

    /// The path traffic to `remote` takes now.
    fn path_to(&self, remote: PeerId) -> Path {
        self.lock()
            .state
            .members
            .get(&remote)
            .map_or(Path::Relayed, |member| member.path())
    }

    /// Sends [`BULK_BYTES`] to `remote` on a new stream of the testbed's transfer protocol,
    /// on the path its traffic takes now, and keeps how long the other side took to read
    /// them.
    pub fn send_bulk(&self, remote: PeerId) {
        let link = self.clone();
        let path = self.path_to(remote);
        self.update(|state| {
            state
                .throughputs
                .insert((remote, path), Throughput::Sending { bytes: BULK_BYTES });
        });
        spawn(async move {
            let started = web_time::Instant::now();
            let request = transfer::Request {
                bytes: BULK_BYTES,
                read_delay_ms: 0,
            };
            let outcome = match link.peer.transfer(remote, request, None).await {
                Ok(bytes) => Throughput::Done {
                    bytes,
                    took_ms: started.elapsed().as_secs_f64() * 1000.0,
                },
                Err(error) => Throughput::Failed(error.to_string()),
            };
            link.update(|state| {
                state.throughputs.insert((remote, path), outcome);
            });
        });
    }

    pub fn ping_everyone(&self) {
        let connected: Vec<PeerId> = self.lock().state.members.connected().collect();
        for remote in connected {
            self.ping(remote);
        }
    }

    /// A put or get in the DHT the room's tabs form, told in a sentence (or why it failed).
    pub async fn lookup(&self, request: LookupRequest) -> Result<String, String> {
        match self.peer.lookup(request).await {
            Ok(outcome) => describe_lookup(&outcome, self.me()),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// A finished put or get, in a sentence; its error, if it failed.
fn describe_lookup(outcome: &LookupOutcome, me: PeerId) -> Result<String, String> {
    let key = String::from_utf8_lossy(&outcome.key);
    let name = |p: &PeerId| match *p == me {
        true => "this tab".to_owned(),
        false => format!("tab {}", short_peer_id(p)),
    };
    let requests = format!(
        "{} request{} in {:.0} ms",
        outcome.requests,
        if outcome.requests == 1 { "" } else { "s" },
        outcome.took_ms
    );
    if let Some(error) = &outcome.error {
        return Err(format!("{key:?}: {error} ({requests})"));
    }
    Ok(match (outcome.kind, &outcome.value) {
        (LookupKind::GetRecord, Some(value)) => {
            let holders: Vec<String> = outcome.holders.iter().map(name).collect();
            format!(
                "Found {key:?} = {:?} at {} ({requests})",
                String::from_utf8_lossy(value),
                holders.join(", ")
            )
        }
        (LookupKind::GetRecord, None) => format!("No tab holds {key:?} ({requests})"),
        _ => format!("Stored {key:?} on the closest tabs of the room ({requests})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_reads_as_a_sentence() {
        let me = PeerId::random();
        let other = PeerId::random();
        let outcome = LookupOutcome {
            kind: LookupKind::GetRecord,
            key: b"cat".to_vec(),
            value: Some(b"meow".to_vec()),
            holders: vec![me, other],
            closest: Vec::new(),
            providers: Vec::new(),
            error: None,
            requests: 1,
            took_ms: 12.0,
        };
        assert_eq!(
            describe_lookup(&outcome, me).unwrap(),
            format!(
                "Found \"cat\" = \"meow\" at this tab, tab {} (1 request in 12 ms)",
                short_peer_id(&other)
            )
        );
    }
}
