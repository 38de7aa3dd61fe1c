//! What a peer is started with.

use libp2p::identity::Keypair;

use crate::dht;
use crate::pace::Pace;
use crate::wire::WireLog;

/// Options for [`Handle::start`].
pub struct Config {
    pub keypair: Keypair,
    /// Run libp2p's ping on every connection and report round-trip times.
    pub measure_round_trips: bool,
    /// Holds each of the testbed's messages before it is written (injected latency, pause).
    pub pace: Pace,
    /// Where in-page connections record what they carry (see [`crate::wire`]); None: untapped.
    pub wire: Option<WireLog>,
    /// Kademlia's parameters, for the kinds of peers that run it.
    pub dht: Option<dht::Config>,
    /// Where direct WebRTC connections to other tabs look for a route (a tab's peer in a
    /// browser).
    pub ice: crate::webrtc::ice::Ice,
}
