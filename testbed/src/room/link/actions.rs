//! What the learner asks of the other tabs through the link: pings and bulk transfers, timed
//! by the path they took (relayed or direct), and puts and gets in the room's DHT, told in a
//! sentence.

use std::sync::atomic::Ordering;

use libp2p::PeerId;

use super::{Link, PingsTo, State};
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

impl State {
    fn ping_started(&mut self, remote: PeerId) {
        self.pings.entry(remote).or_default().in_flight += 1;
    }

    /// A ping's outcome: a round trip is kept (the oldest beyond [`MAX_ROUND_TRIPS`] let go)
    /// and ends the failure told before it; a failure is told until the next round trip. A
    /// peer with no ping in flight and no failure to tell leaves `pings`.
    fn record_ping(&mut self, remote: PeerId, path: Path, outcome: Result<f64, String>) {
        let pings = self.pings.entry(remote).or_default();
        pings.in_flight = pings.in_flight.saturating_sub(1);
        match outcome {
            Ok(ms) => {
                pings.last_failure = None;
                let samples = self.round_trips.entry((remote, path)).or_default();
                samples.push(ms);
                if samples.len() > MAX_ROUND_TRIPS {
                    samples.remove(0);
                }
            }
            Err(why) => pings.last_failure = Some(why),
        }
        if *pings == PingsTo::default() {
            self.pings.remove(&remote);
        }
    }
}

impl Link {
    /// Pings `remote` with the testbed's protocol, on the path its traffic takes now, and
    /// keeps the round trip, or why it failed (the room's log tells it too).
    pub fn ping(&self, remote: PeerId) {
        let link = self.clone();
        let id = format!("tab-{}", self.pings_sent.fetch_add(1, Ordering::Relaxed));
        let path = self.path_to(remote);
        self.update(|state| state.ping_started(remote));
        spawn(async move {
            let started = web_time::Instant::now();
            let outcome = match link.peer.ping(remote, id).await {
                Ok(_) => Ok(started.elapsed().as_secs_f64() * 1000.0),
                Err(error) => Err(error.to_string()),
            };
            link.update(|state| state.record_ping(remote, path, outcome));
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
    use crate::room::link::Status;

    #[test]
    fn a_ping_is_in_flight_until_its_outcome_and_a_failure_is_told_until_a_round_trip() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut state = State::new(Status::NotStarted, None);
        let pings_to = |state: &State, peer| state.pings.get(&peer).cloned().unwrap_or_default();
        state.ping_started(a);
        state.ping_started(a);
        state.record_ping(a, Path::Direct, Err("stream reset".into()));
        assert_eq!(
            pings_to(&state, a),
            PingsTo {
                in_flight: 1,
                last_failure: Some("stream reset".into())
            }
        );
        state.ping_started(b);
        state.record_ping(b, Path::Relayed, Ok(40.0));
        assert!(
            !state.pings.contains_key(&b),
            "nothing left to tell about b"
        );
        state.record_ping(a, Path::Relayed, Ok(55.0));
        assert!(state.pings.is_empty(), "nothing left to tell about a");
        assert_eq!(state.round_trips[&(a, Path::Relayed)], [55.0]);
        for ms in 0..MAX_ROUND_TRIPS {
            state.record_ping(b, Path::Relayed, Ok(ms as f64));
        }
        // The first round trip to b, 40 ms, is the one let go.
        let kept = &state.round_trips[&(b, Path::Relayed)];
        assert_eq!((kept.len(), kept[0]), (MAX_ROUND_TRIPS, 0.0));
    }

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
