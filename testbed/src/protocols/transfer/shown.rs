//! How the transfer's steps are shown in the log.

use super::TransferStep;
use crate::labels::{Names, Tone};

impl TransferStep {
    /// The log's sentence; `me` names the peer that saw the step.
    pub fn sentence(&self, me: &str, names: &impl Names) -> (Tone, String) {
        let kib = |bytes: &u64| bytes / 1024;
        match self {
            TransferStep::Started {
                remote,
                bytes,
                slow_reader,
            } => (
                Tone::Ping,
                format!(
                    "{me} opened a stream to {} to send {} KiB{}",
                    names.peer(remote),
                    kib(bytes),
                    if *slow_reader {
                        ", which will read slowly"
                    } else {
                        ""
                    }
                ),
            ),
            TransferStep::Finished {
                remote,
                bytes,
                took_ms,
            } => (
                Tone::Ping,
                format!(
                    "{me} sent {} KiB to {} in {took_ms:.0} ms, and {} confirmed it read them all",
                    kib(bytes),
                    names.peer(remote),
                    names.peer(remote)
                ),
            ),
            TransferStep::GaveUp { remote, sent } => (
                Tone::Ping,
                format!(
                    "{me} gave up after {} KiB and dropped its stream to {}: yamux resets it (RST)",
                    kib(sent),
                    names.peer(remote)
                ),
            ),
            TransferStep::Received { remote, bytes } => (
                Tone::Ping,
                format!(
                    "{me} read all {} KiB from {}",
                    kib(bytes),
                    names.peer(remote)
                ),
            ),
            TransferStep::Failed { remote, error } => (
                Tone::Ping,
                format!(
                    "{me}: the transfer with {} ended: {error}",
                    names.peer(remote)
                ),
            ),
        }
    }
}
