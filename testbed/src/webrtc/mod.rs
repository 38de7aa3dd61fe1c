//! libp2p's `/webrtc` (browser to browser, libp2p specs `webrtc/webrtc.md`), which
//! rust-libp2p lacks: two tabs that reach each other through the relay exchange an SDP offer,
//! an answer and ICE candidates on a `/webrtc-signaling/0.0.1` stream over that relayed
//! connection (`wire/webrtc.rs`), then talk over their own `RTCPeerConnection`, each stream a
//! data channel framed as the spec says (libp2p-webrtc-utils' `Stream`).
//!
//! Work in progress: data channels as streams, the connection as a libp2p muxer, the
//! signaling handshake and the `Transport`; not yet composed into the peers' swarm, nor tried
//! in a browser.

pub mod channel;
pub mod connection;
pub mod handshake;
pub mod transport;
