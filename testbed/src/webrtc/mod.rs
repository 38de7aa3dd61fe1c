//! libp2p's `/webrtc` (browser to browser, libp2p specs `webrtc/webrtc.md`), which
//! rust-libp2p lacks: two tabs that reach each other through the relay exchange an SDP offer,
//! an answer and ICE candidates on a `/webrtc-signaling/0.0.1` stream over that relayed
//! connection (`wire/webrtc.rs`), then talk over their own `RTCPeerConnection`, each stream a
//! data channel framed as the spec says (libp2p-webrtc-utils' `Stream`).
//! Only `ice` (the settings) builds natively; the rest needs a browser.
//!
//! Like libp2p's relay client, it comes as a pair made together ([`transport::new`]): the
//! transport the swarm dials and listens with, and the behaviour its signaling streams run on,
//! which the swarm composes like any other protocol.

#[cfg(target_arch = "wasm32")]
pub mod channel;
#[cfg(target_arch = "wasm32")]
pub mod connection;
#[cfg(target_arch = "wasm32")]
pub mod handshake;
pub mod ice;
#[cfg(target_arch = "wasm32")]
pub mod transport;

/// The behaviour `/webrtc`'s signaling runs on: a stream behaviour of its own, carrying only
/// `/webrtc-signaling/0.0.1` streams.
pub type Behaviour = libp2p_stream::Behaviour;
