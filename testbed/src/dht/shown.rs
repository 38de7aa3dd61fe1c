//! How the DHT's steps are shown in the log (its messages reach the trace from the wire).

use super::DhtStep;
use crate::labels::{Names, Tone};

/// How long before settling the routing tables stopped changing, as the DHT tab and the log
/// both say it.
pub fn steady_before(tables_steady_ms: u64) -> String {
    format!(
        "stopped changing {:.1} s before the last lookup ended",
        tables_steady_ms as f64 / 1000.0
    )
}

impl DhtStep {
    /// The log's sentence; `me` names the peer that saw the step.
    pub fn sentence(&self, me: &str, names: &impl Names) -> (Tone, String) {
        match self {
            DhtStep::LookupStarted { kind, key, .. } => (
                Tone::Ping,
                format!("{me} starts a lookup ({kind}) for {}", names.key(key)),
            ),
            DhtStep::LookupFinished { outcome, .. } => {
                let what = format!(
                    "{me}'s lookup ({}) for {}",
                    outcome.kind,
                    names.key(&outcome.key)
                );
                // libp2p-kad names the closest peers only for lookups that end without a record
                // or providers: a put's or a provide's end says nothing of them.
                let result = if outcome.value.is_some() {
                    "; it found the record".to_owned()
                } else if !outcome.providers.is_empty() {
                    format!("; providers: {}", names.peers(&outcome.providers))
                } else if !outcome.closest.is_empty() {
                    format!("; closest found: {}", names.peers(&outcome.closest))
                } else {
                    String::new()
                };
                match &outcome.error {
                    Some(error) => (Tone::Problem, format!("{what} failed: {error}")),
                    None => (
                        Tone::Ping,
                        format!(
                            "{what} finished after {} requests in {:.0} ms{result}",
                            outcome.requests, outcome.took_ms,
                        ),
                    ),
                }
            }
            DhtStep::Settled {
                entries,
                tables_steady_ms,
            } => (
                Tone::Info,
                format!(
                    "The DHT has settled: libp2p-kad's start-up lookups are over; the routing tables hold {entries} entries in all and {}",
                    steady_before(*tables_steady_ms)
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dht::{LookupKind, LookupOutcome};
    use crate::PeerId;

    struct Numbered(Vec<PeerId>);

    impl Names for Numbered {
        fn peer(&self, peer: &PeerId) -> String {
            let index = self.0.iter().position(|p| p == peer).unwrap();
            format!("peer {index}")
        }
    }

    /// The log's line for a lookup of `kind` that ended as `ended` makes it, among `peers`.
    fn finished(
        kind: LookupKind,
        peers: &[PeerId],
        ended: impl FnOnce(&mut LookupOutcome),
    ) -> String {
        let mut outcome = LookupOutcome {
            kind,
            key: b"record 1".to_vec(),
            closest: Vec::new(),
            value: None,
            holders: Vec::new(),
            providers: Vec::new(),
            error: None,
            requests: 4,
            took_ms: 12.0,
        };
        ended(&mut outcome);
        let step = DhtStep::LookupFinished { lookup: 0, outcome };
        step.sentence("peer 4", &Numbered(peers.to_vec())).1
    }

    #[test]
    fn a_lookups_end_names_what_it_found_and_no_closest_peers_kad_did_not_report() {
        let peers = [PeerId::random(), PeerId::random()];
        let put = finished(LookupKind::PutRecord, &peers, |_| {});
        assert!(put.ends_with("after 4 requests in 12 ms"), "{put}");
        let got = finished(LookupKind::GetRecord, &peers, |o| {
            o.value = Some(b"v".to_vec())
        });
        assert!(got.ends_with("; it found the record"), "{got}");
        let providers = finished(LookupKind::FindProviders, &peers, |o| {
            o.providers = vec![peers[1]]
        });
        assert!(providers.ends_with("; providers: peer 1"), "{providers}");
        let closest = finished(LookupKind::ClosestPeers, &peers, |o| {
            o.closest = peers.to_vec()
        });
        assert!(
            closest.ends_with("; closest found: peer 0, peer 1"),
            "{closest}"
        );
    }
}
