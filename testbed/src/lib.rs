//! The p2p-testbed engine: real libp2p peers, the shapes they connect in, the protocols they
//! speak, and the events they report. Plain Rust with no UI types; builds natively (tested with
//! `cargo test`) and for the browser.

pub mod dht;
pub mod diagram;
pub mod event;
pub mod identity;
pub mod labels;
pub mod lesson;
pub mod network;
pub mod pace;
pub mod peer;
pub mod protocols;
pub mod room;
pub mod runtime;
pub mod scenario;
pub mod snapshot;
pub mod timeline;
pub mod topology;
pub mod trace;
pub mod view;
pub mod webrtc;
pub mod wire;

// The libp2p names the page needs, so that it does not depend on libp2p itself.
pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr, PeerId};

pub use event::{
    DhtStep, Event, EventKind, EventSink, EventStream, PeerIndex, PingStep, TokenStep, TransferStep,
};
pub use network::{Network, NetworkConfig, NetworkError, MAX_PEERS};
pub use topology::Topology;
pub use view::NetworkView;
