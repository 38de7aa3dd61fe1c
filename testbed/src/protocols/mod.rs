//! The testbed's own protocols, spoken over libp2p streams.

pub mod ping;
pub mod transfer;
