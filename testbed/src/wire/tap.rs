//! The tap itself: a wrapper around a connection's byte stream that hands every chunk read or
//! written to that direction's decoder, and an in-memory transport that puts one wrapper under
//! noise and one between noise and yamux.
//!
//! libp2p's upgrade builder hides the stream between its stages, so the stages are run here
//! the way it runs them: negotiate the protocol with multistream-select, then upgrade.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{Boxed, MemoryTransport, Transport};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade};
use libp2p::core::{ConnectedPoint, Negotiated};
use libp2p::identity::Keypair;
use libp2p::{noise, yamux, PeerId};
use multistream_select::Version;

use super::decode::{PlainDecoder, RawDecoder, WireItem};
use super::kad_tap::{self, KadSeen, KadTap};
use super::{Depth, Direction, Layer, WireLog, WireRecord};

/// One end of one connection: its four decoders (two depths, two directions).
#[derive(Debug)]
pub struct ConnectionTap {
    log: WireLog,
    state: Mutex<TapState>,
}

#[derive(Debug)]
struct TapState {
    id: u64,
    local: PeerId,
    remote: Option<PeerId>,
    dialer: bool,
    raw_sent: RawDecoder,
    raw_received: RawDecoder,
    plain_sent: PlainDecoder,
    plain_received: PlainDecoder,
    /// Records made before the handshake named the remote; logged once it has.
    unidentified: Vec<WireRecord>,
}

impl ConnectionTap {
    pub fn new(log: &WireLog, local: PeerId, dialer: bool) -> Arc<ConnectionTap> {
        Arc::new(ConnectionTap {
            log: log.clone(),
            state: Mutex::new(TapState {
                id: log.next_connection(),
                local,
                remote: None,
                dialer,
                raw_sent: RawDecoder::new(dialer),
                raw_received: RawDecoder::new(!dialer),
                plain_sent: PlainDecoder::default(),
                plain_received: PlainDecoder::default(),
                unidentified: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, TapState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, layer: Layer, direction: Direction, bytes: &[u8]) {
        let at_ms = self.log.now_ms();
        let mut state = self.lock();
        let items: Vec<WireItem> = match (layer, direction) {
            (Layer::Raw, Direction::Sent) => state.raw_sent.push(bytes),
            (Layer::Raw, Direction::Received) => state.raw_received.push(bytes),
            (Layer::Plain, Direction::Sent) => state.plain_sent.push(bytes),
            (Layer::Plain, Direction::Received) => state.plain_received.push(bytes),
        };
        let records = items.into_iter().map(|item| WireRecord {
            at_ms,
            connection: state.id,
            local: state.local,
            remote: state.remote,
            dialer: state.dialer,
            direction,
            layer,
            item,
        });
        if state.remote.is_some() {
            let records: Vec<_> = records.collect();
            drop(state);
            self.log.push(records);
        } else {
            let records: Vec<_> = records.collect();
            state.unidentified.extend(records);
        }
    }

    /// The noise handshake proved who the remote is.
    fn identified(&self, remote: PeerId) {
        let mut state = self.lock();
        state.remote = Some(remote);
        let mut records = std::mem::take(&mut state.unidentified);
        drop(state);
        records.iter_mut().for_each(|r| r.remote = Some(remote));
        self.log.push(records);
    }
}

/// A byte stream whose reads and writes are recorded at one depth (when tapped at all).
pub struct Tapped<S> {
    inner: S,
    tap: Option<Arc<ConnectionTap>>,
    layer: Layer,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tapped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(read)), Some(tap)) = (&poll, &self.tap) {
            if *read > 0 {
                tap.record(self.layer, Direction::Received, &buf[..*read]);
            }
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tapped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let (Poll::Ready(Ok(written)), Some(tap)) = (&poll, &self.tap) {
            if *written > 0 {
                tap.record(self.layer, Direction::Sent, &buf[..*written]);
            }
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// A connection's byte stream, whichever transport made it: noise and yamux are then
/// compiled for one stream type (in the page, each copy is tens of kilobytes).
pub enum Socket {
    Memory(<MemoryTransport as Transport>::Output),
    /// A WebSocket to the relay, or a circuit through it to another tab: boxed, so that their
    /// code is reached only from the tab's own kind of peer (`room::peer`), which the page
    /// loads when rooms are first used.
    Remote(Box<dyn RemoteSocket>),
}

/// A byte stream of a connection between tabs or to the relay.
pub trait RemoteSocket: AsyncRead + AsyncWrite + Send + Unpin {}

impl<S: AsyncRead + AsyncWrite + Send + Unpin> RemoteSocket for S {}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Memory(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Remote(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Memory(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Remote(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Memory(s) => Pin::new(s).poll_flush(cx),
            Socket::Remote(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Memory(s) => Pin::new(s).poll_close(cx),
            Socket::Remote(s) => Pin::new(s).poll_close(cx),
        }
    }
}

/// `transport` upgraded the way libp2p's builder does it (noise, then yamux), tapped as deep
/// as the `log` asks, if there is one.
pub fn upgrade<T>(
    transport: T,
    keypair: &Keypair,
    log: Option<WireLog>,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, noise::Error>
where
    T: Transport<Output = Socket> + Send + Unpin + 'static,
    T::Error: Send + Sync + 'static,
    T::Dial: Send + 'static,
    T::ListenerUpgrade: Send + 'static,
{
    let local = keypair.public().to_peer_id();
    let noise = noise::Config::new(keypair)?;
    let yamux = yamux::Config::default();
    let (log, kad_log) = match log {
        Some(log) if log.depth() == Depth::KadOnly => (None, Some(log)),
        log => (log, None),
    };
    Ok(transport
        .and_then(move |socket, endpoint: ConnectedPoint| {
            let tap = log
                .as_ref()
                .map(|log| ConnectionTap::new(log, local, endpoint.is_dialer()));
            let kad_log = kad_log.clone();
            async move {
                let raw = Tapped {
                    inner: socket,
                    tap: tap.clone(),
                    layer: Layer::Raw,
                };
                let (remote, secure) = negotiate_and_upgrade(raw, noise, &endpoint).await?;
                if let Some(tap) = &tap {
                    tap.identified(remote);
                }
                let plain = Tapped {
                    inner: secure,
                    tap,
                    layer: Layer::Plain,
                };
                let muxer =
                    StreamMuxerBox::new(negotiate_and_upgrade(plain, yamux, &endpoint).await?);
                let muxer = match kad_log {
                    Some(log) => {
                        let report = kad_records(log, local, remote, endpoint.is_dialer());
                        StreamMuxerBox::new(KadTap::new(muxer, remote, report))
                    }
                    None => muxer,
                };
                Ok::<_, io::Error>((remote, muxer))
            }
        })
        .boxed())
}

/// Writes each Kademlia message a [`KadTap`] sees on one end of one connection to `log`, as
/// the full tap would have recorded it.
fn kad_records(log: WireLog, local: PeerId, remote: PeerId, dialer: bool) -> kad_tap::Report {
    let connection = log.next_connection();
    Arc::new(move |seen: KadSeen| {
        log.push([WireRecord {
            at_ms: log.now_ms(),
            connection,
            local,
            remote: Some(remote),
            dialer,
            direction: seen.direction,
            layer: Layer::Plain,
            item: WireItem::Kad {
                stream: seen.stream,
                request: seen.request,
                message: seen.message,
            },
        }])
    })
}

/// In-page connections: `MemoryTransport`, noise, yamux, tapped when there is a `log`.
pub fn memory_transport(
    keypair: &Keypair,
    log: Option<WireLog>,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, noise::Error> {
    upgrade(
        MemoryTransport::default().map(|s, _| Socket::Memory(s)),
        keypair,
        log,
    )
}

/// What libp2p's upgrade builder does for one stage: agree on the upgrade's protocol with
/// multistream-select (the dialer proposes), then run the upgrade on the negotiated stream.
async fn negotiate_and_upgrade<C, U, O, E>(
    socket: C,
    upgrade: U,
    endpoint: &ConnectedPoint,
) -> io::Result<O>
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: InboundConnectionUpgrade<Negotiated<C>, Output = O, Error = E>
        + OutboundConnectionUpgrade<Negotiated<C>, Output = O, Error = E>,
    E: std::error::Error + Send + Sync + 'static,
{
    let protocols = upgrade.protocol_info();
    if endpoint.is_dialer() {
        let (protocol, stream) =
            multistream_select::dialer_select_proto(socket, protocols, Version::V1)
                .await
                .map_err(io::Error::other)?;
        upgrade
            .upgrade_outbound(stream, protocol)
            .await
            .map_err(io::Error::other)
    } else {
        let (protocol, stream) = multistream_select::listener_select_proto(socket, protocols)
            .await
            .map_err(io::Error::other)?;
        upgrade
            .upgrade_inbound(stream, protocol)
            .await
            .map_err(io::Error::other)
    }
}
