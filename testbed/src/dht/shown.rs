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
                match &outcome.error {
                    Some(error) => (Tone::Problem, format!("{what} failed: {error}")),
                    None => (
                        Tone::Ping,
                        format!(
                            "{what} finished after {} requests in {:.0} ms; closest found: {}",
                            outcome.requests,
                            outcome.took_ms,
                            names.peers(&outcome.closest)
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
