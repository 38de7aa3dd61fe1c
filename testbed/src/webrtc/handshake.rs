//! The signaling itself, on a `/webrtc-signaling/0.0.1` stream over the relayed connection
//! (libp2p specs `webrtc/webrtc.md`, steps 4–8). The dialer offers: it creates the
//! `RTCPeerConnection` with one data channel (so the offer has something to negotiate) and
//! sends the SDP offer; the listener answers; both then send each ICE candidate as the browser
//! finds it and add the other's, until the peer connection is connected. The stream is then
//! closed (reset on failure, by dropping it). No Noise: the offer and answer carry each side's
//! certificate fingerprint over the relayed connection, which is already authenticated, and
//! the browser's DTLS handshake checks the certificate against it.

use futures::channel::mpsc;
use futures::io::{ReadHalf, WriteHalf};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt, StreamExt};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcIceCandidateInit, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

use super::connection::{Connection, Inbound};
use crate::wire::webrtc::{Signal, SignalKind};

/// Hears each signaling message: `true` for one sent, `false` for one received.
pub type Report = std::sync::Arc<dyn Fn(bool, &Signal) + Send + Sync>;

/// Local candidates found before they are sent: a browser finds a handful per connection.
const CANDIDATE_BACKLOG: usize = 64;

/// How long ICE may try pairs of candidates. A browser with no usable candidate (UDP blocked,
/// no TURN server) may never report "failed", so the handshake gives up itself.
pub const ICE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the dialer waits on the other side before ICE: for the signaling stream to open,
/// then for the answer. A tab that takes the offer and never answers would otherwise hold the
/// dial forever, its row saying "through the relay" with no reason given.
pub const SIGNALING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("the browser refused: {0}")]
    Browser(String),
    #[error("the signaling stream failed: {0}")]
    Stream(String),
    #[error("the other side sent {0}")]
    Unexpected(String),
    #[error("no route between the two browsers: ICE {0}")]
    NoRoute(String),
    #[error("no {0} within {secs} s", secs = SIGNALING_TIMEOUT.as_secs())]
    TimedOut(&'static str),
}

/// `step`, unless [`SIGNALING_TIMEOUT`] passes first: then the `awaited` never came.
pub async fn in_time<T>(
    awaited: &'static str,
    step: impl std::future::Future<Output = Result<T, HandshakeError>>,
) -> Result<T, HandshakeError> {
    futures::select! {
        done = step.fuse() => done,
        _ = futures_timer::Delay::new(SIGNALING_TIMEOUT).fuse() => Err(HandshakeError::TimedOut(awaited)),
    }
}

fn browser(error: JsValue) -> HandshakeError {
    HandshakeError::Browser(
        error
            .as_string()
            .or_else(|| js_sys::JSON::stringify(&error).ok()?.as_string())
            .unwrap_or_else(|| format!("{error:?}")),
    )
}

/// The dialer's side: offers, and returns the connection once it is up.
pub async fn offer(
    stream: impl AsyncRead + AsyncWrite,
    config: &RtcConfiguration,
    report: Report,
) -> Result<Connection, HandshakeError> {
    let (mut incoming, mut outgoing) = signals(stream, report);
    let peer = Peer::new(config)?;
    // Something to negotiate: an offer without a data channel has no application section.
    let first_channel = peer.connection.create_data_channel("init");
    let offer = JsFuture::from(peer.connection.create_offer())
        .await
        .map_err(browser)?;
    let sdp = sdp_of(&offer)?;
    outgoing.send(SignalKind::SdpOffer, sdp.clone()).await?;
    peer.describe_local(RtcSdpType::Offer, &sdp).await?;
    let answer = in_time("SDP answer", incoming.expect()).await?;
    if answer.kind != SignalKind::SdpAnswer {
        return Err(HandshakeError::Unexpected(format!(
            "{:?}, not an SDP answer",
            answer.kind
        )));
    }
    peer.describe_remote(RtcSdpType::Answer, &answer.data)
        .await?;
    let connection = peer.trade_candidates(incoming, outgoing).await?;
    first_channel.close();
    Ok(connection)
}

/// The listener's side: answers the offer that opens the stream.
pub async fn answer(
    stream: impl AsyncRead + AsyncWrite,
    config: &RtcConfiguration,
    report: Report,
) -> Result<Connection, HandshakeError> {
    let (mut incoming, mut outgoing) = signals(stream, report);
    let offer = incoming.expect().await?;
    if offer.kind != SignalKind::SdpOffer {
        return Err(HandshakeError::Unexpected(format!(
            "{:?}, not an SDP offer",
            offer.kind
        )));
    }
    let peer = Peer::new(config)?;
    peer.describe_remote(RtcSdpType::Offer, &offer.data).await?;
    let answer = JsFuture::from(peer.connection.create_answer())
        .await
        .map_err(browser)?;
    let sdp = sdp_of(&answer)?;
    peer.describe_local(RtcSdpType::Answer, &sdp).await?;
    outgoing.send(SignalKind::SdpAnswer, sdp).await?;
    peer.trade_candidates(incoming, outgoing).await
}

fn sdp_of(description: &JsValue) -> Result<String, HandshakeError> {
    js_sys::Reflect::get(description, &"sdp".into())
        .ok()
        .and_then(|sdp| sdp.as_string())
        .ok_or_else(|| HandshakeError::Browser("a session description without its SDP".into()))
}

/// An SDP offer or answer, as the browser takes it.
fn description(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let description = RtcSessionDescriptionInit::new(kind);
    description.set_sdp(sdp);
    description
}

/// Waits for a browser promise that resolves to nothing.
async fn settle(promise: js_sys::Promise) -> Result<(), HandshakeError> {
    JsFuture::from(promise).await.map(drop).map_err(browser)
}

/// A peer connection being set up, with the handlers that report its candidates and state.
struct Peer {
    connection: RtcPeerConnection,
    candidates: mpsc::Receiver<String>,
    states: mpsc::Receiver<RtcPeerConnectionState>,
    /// Kept while the peer connection may call them; taken off it first when dropped.
    _on_candidate: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    _on_state: Closure<dyn FnMut(web_sys::Event)>,
    /// The data channels the remote opens, caught before the connection is up.
    inbound: Option<Inbound>,
    /// Set once the connection is up: a handshake that fails closes its peer connection.
    handed_over: bool,
}

impl Peer {
    fn new(config: &RtcConfiguration) -> Result<Self, HandshakeError> {
        let connection = RtcPeerConnection::new_with_configuration(config).map_err(browser)?;
        let (mut found, candidates) = mpsc::channel(CANDIDATE_BACKLOG);
        let on_candidate = Closure::new(move |event: RtcPeerConnectionIceEvent| {
            // As js-libp2p does: the candidate's JSON, or `null` once there are no more.
            let json = match event.candidate() {
                Some(candidate) => js_sys::JSON::stringify(&candidate.to_json())
                    .ok()
                    .and_then(|json| json.as_string()),
                None => Some("null".to_owned()),
            };
            if let Some(json) = json {
                if found.try_send(json).is_err() {
                    tracing::warn!(
                        "a local ICE candidate dropped: more than {CANDIDATE_BACKLOG} unsent"
                    );
                }
            }
        });
        connection.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        let (mut changed, states) = mpsc::channel(CANDIDATE_BACKLOG);
        let watched = connection.clone();
        let on_state = Closure::new(move |_: web_sys::Event| {
            let _ = changed.try_send(watched.connection_state());
        });
        connection.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        Ok(Peer {
            inbound: Some(Inbound::catch(&connection)),
            connection,
            candidates,
            states,
            _on_candidate: on_candidate,
            _on_state: on_state,
            handed_over: false,
        })
    }

    async fn describe_local(&self, kind: RtcSdpType, sdp: &str) -> Result<(), HandshakeError> {
        settle(
            self.connection
                .set_local_description(&description(kind, sdp)),
        )
        .await
    }

    async fn describe_remote(&self, kind: RtcSdpType, sdp: &str) -> Result<(), HandshakeError> {
        settle(
            self.connection
                .set_remote_description(&description(kind, sdp)),
        )
        .await
    }

    /// Sends each local candidate and adds each remote one until the connection is up; then
    /// closes the signaling stream and hands the peer connection over.
    async fn trade_candidates<S: AsyncRead + AsyncWrite>(
        mut self,
        mut incoming: Incoming<S>,
        mut outgoing: Outgoing<S>,
    ) -> Result<Connection, HandshakeError> {
        enum Step {
            State(Option<RtcPeerConnectionState>),
            Local(Option<String>),
            Remote(Result<Option<Signal>, HandshakeError>),
        }
        // The other side closes the stream once it is connected, which may be before we are,
        // and closes its circuits to us soon after, which resets the stream: either way, from
        // then on only the peer connection's state is awaited (a closed stream, read again,
        // would answer at once, and the loop would never let the browser run). The browsers
        // have the candidates they need by then; if not, ICE fails or the wait runs out.
        let mut signaling_open = true;
        let mut gave_up = futures_timer::Delay::new(ICE_TIMEOUT).fuse();
        loop {
            let step = {
                let remote = async {
                    match signaling_open {
                        true => incoming.next().await,
                        false => futures::future::pending().await,
                    }
                };
                futures::select! {
                    _ = gave_up => return Err(HandshakeError::NoRoute(format!(
                        "found no working pair of candidates in {} s",
                        ICE_TIMEOUT.as_secs()
                    ))),
                    state = self.states.next() => Step::State(state),
                    json = self.candidates.next() => Step::Local(json),
                    signal = remote.fuse() => Step::Remote(signal),
                }
            };
            match step {
                Step::State(Some(RtcPeerConnectionState::Connected)) => break,
                Step::State(Some(RtcPeerConnectionState::Failed)) => {
                    return Err(HandshakeError::NoRoute(
                        "tried every pair of candidates".into(),
                    ))
                }
                Step::State(Some(RtcPeerConnectionState::Closed) | None) => {
                    return Err(HandshakeError::NoRoute("closed before connecting".into()))
                }
                Step::State(Some(_)) | Step::Local(None) => {}
                // Once the other side has closed, ours are sent for nothing, and not at all.
                Step::Local(Some(_)) if !signaling_open => {}
                Step::Local(Some(json)) => {
                    if let Err(error) = outgoing.send(SignalKind::IceCandidate, json).await {
                        tracing::debug!("signaling stream gone while connecting: {error}");
                        signaling_open = false;
                    }
                }
                Step::Remote(Ok(None)) => signaling_open = false,
                Step::Remote(Err(error @ HandshakeError::Stream(_))) => {
                    tracing::debug!("signaling stream gone while connecting: {error}");
                    signaling_open = false;
                }
                Step::Remote(Err(error)) => return Err(error),
                Step::Remote(Ok(Some(signal))) if signal.kind != SignalKind::IceCandidate => {
                    return Err(HandshakeError::Unexpected(format!(
                        "{:?}, not an ICE candidate",
                        signal.kind
                    )))
                }
                Step::Remote(Ok(Some(signal))) => {
                    self.add_candidate(&signal.data).await?;
                }
            }
        }
        outgoing.close().await;
        Ok(self.into_connection())
    }

    /// Adds a remote candidate; the end of candidates (`null`, or an empty one) adds none.
    async fn add_candidate(&self, json: &str) -> Result<(), HandshakeError> {
        let value = js_sys::JSON::parse(json)
            .map_err(|_| HandshakeError::Unexpected("a candidate that is not JSON".into()))?;
        if value.is_null() || value.as_string().as_deref() == Some("") {
            return Ok(());
        }
        let candidate = js_sys::Reflect::get(&value, &"candidate".into())
            .ok()
            .and_then(|c| c.as_string())
            .ok_or_else(|| HandshakeError::Unexpected("a candidate without its line".into()))?;
        let init = RtcIceCandidateInit::new(&candidate);
        if let Some(mid) = js_sys::Reflect::get(&value, &"sdpMid".into())
            .ok()
            .and_then(|m| m.as_string())
        {
            init.set_sdp_mid(Some(&mid));
        }
        if let Some(index) = js_sys::Reflect::get(&value, &"sdpMLineIndex".into())
            .ok()
            .and_then(|i| i.as_f64())
        {
            init.set_sdp_m_line_index(Some(index as u16));
        }
        // A candidate the browser cannot use is skipped, as js-libp2p skips it.
        if let Err(error) = JsFuture::from(
            self.connection
                .add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)),
        )
        .await
        {
            tracing::debug!("a remote ICE candidate skipped: {:?}", browser(error));
        }
        Ok(())
    }

    fn into_connection(mut self) -> Connection {
        self.take_handlers_off();
        self.handed_over = true;
        // The connection sets handlers of its own, and keeps catching the remote's channels.
        let inbound = self.inbound.take().expect("handed over once");
        Connection::new(self.connection.clone(), inbound)
    }

    /// Off the peer connection before their closures are freed (the data channels' one
    /// goes on with the connection when it is handed over).
    fn take_handlers_off(&self) {
        self.connection.set_onicecandidate(None);
        self.connection.set_onconnectionstatechange(None);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if !self.handed_over {
            self.take_handlers_off();
            self.connection.set_ondatachannel(None);
            self.connection.close();
        }
    }
}

/// A signaling stream's two halves: the messages read, and those sent.
fn signals<S: AsyncRead + AsyncWrite>(stream: S, report: Report) -> (Incoming<S>, Outgoing<S>) {
    let (reader, writer) = stream.split();
    (
        Incoming {
            reader,
            received: Vec::new(),
            report: report.clone(),
        },
        Outgoing { writer, report },
    )
}

struct Incoming<S> {
    reader: ReadHalf<S>,
    received: Vec<u8>,
    report: Report,
}

struct Outgoing<S> {
    writer: WriteHalf<S>,
    report: Report,
}

impl<S: AsyncRead + AsyncWrite> Incoming<S> {
    /// The next message, or None once the other side closed the stream; what a cancelled
    /// call had read stays in `received`.
    async fn next(&mut self) -> Result<Option<Signal>, HandshakeError> {
        loop {
            if let Some((signal, used)) =
                Signal::read(&self.received).map_err(HandshakeError::Unexpected)?
            {
                self.received.drain(..used);
                (self.report)(false, &signal);
                return Ok(Some(signal));
            }
            let mut chunk = [0u8; 4096];
            let n = self
                .reader
                .read(&mut chunk)
                .await
                .map_err(|e| HandshakeError::Stream(e.to_string()))?;
            if n == 0 {
                return Ok(None);
            }
            self.received.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next message, which must come.
    async fn expect(&mut self) -> Result<Signal, HandshakeError> {
        self.next().await?.ok_or_else(|| {
            HandshakeError::Stream("closed before the offer and answer were traded".into())
        })
    }
}

impl<S: AsyncRead + AsyncWrite> Outgoing<S> {
    async fn send(&mut self, kind: SignalKind, data: String) -> Result<(), HandshakeError> {
        let signal = Signal { kind, data };
        (self.report)(true, &signal);
        let framed = signal.framed();
        self.writer
            .write_all(&framed)
            .await
            .map_err(|e| HandshakeError::Stream(e.to_string()))?;
        self.writer
            .flush()
            .await
            .map_err(|e| HandshakeError::Stream(e.to_string()))
    }

    async fn close(mut self) {
        let _ = self.writer.close().await;
    }
}
