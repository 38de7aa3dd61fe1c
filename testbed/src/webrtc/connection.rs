//! An `RTCPeerConnection` as a libp2p connection (a `StreamMuxer`): each stream is a data
//! channel framed as the spec says (libp2p-webrtc-utils' `Stream`); a data channel the remote
//! opens is an inbound stream. WebRTC muxes natively, so no yamux runs on top.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::channel::mpsc;
use futures::stream::FuturesUnordered;
use futures::task::AtomicWaker;
use futures::{AsyncRead, AsyncWrite, StreamExt};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use libp2p_webrtc_utils::DropListener;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use web_sys::{RtcDataChannelEvent, RtcPeerConnection, RtcPeerConnectionState};

use super::channel::DataChannel;

/// Data channels the remote may have opened before the swarm takes them as streams; more
/// are refused (closed), as a yamux connection refuses streams over its backlog.
const INBOUND_BACKLOG: usize = 32;

pub struct Connection {
    peer_connection: SendWrapper<RtcPeerConnection>,
    /// Channels the remote opened, their handlers set at once: the remote may send on one
    /// (its multistream-select header) before the swarm takes it as a stream.
    inbound: SendWrapper<mpsc::Receiver<DataChannel>>,
    /// One per stream handed out: resolves once the stream is dropped (resetting it if it
    /// was not closed), as long as the connection polls it.
    drop_listeners: FuturesUnordered<SendWrapper<DropListener<DataChannel>>>,
    /// Woken when a stream is handed out while there was none to poll.
    no_streams: Option<Waker>,
    /// Set once the peer connection is over: the remote tab closed it or went away.
    ended: Arc<Ended>,
    /// Kept while the peer connection may call them; taken off it first when dropped.
    _on_data_channel: SendWrapper<Closure<dyn FnMut(RtcDataChannelEvent)>>,
    _on_state: SendWrapper<Closure<dyn FnMut(web_sys::Event)>>,
    closed: bool,
}

#[derive(Default)]
struct Ended {
    yes: AtomicBool,
    waker: AtomicWaker,
}

/// A stream of a WebRTC connection.
pub struct Stream(SendWrapper<libp2p_webrtc_utils::Stream<DataChannel>>);

/// The data channels the remote opens, caught from the start of the handshake: a remote that
/// is connected before this side is opens its streams (and writes on them) at once.
pub struct Inbound {
    channels: mpsc::Receiver<DataChannel>,
    on_data_channel: Closure<dyn FnMut(RtcDataChannelEvent)>,
}

impl Inbound {
    pub fn catch(peer_connection: &RtcPeerConnection) -> Inbound {
        let (mut opened, channels) = mpsc::channel(INBOUND_BACKLOG);
        let on_data_channel = Closure::new(move |event: RtcDataChannelEvent| {
            let channel = event.channel();
            // Its handlers set now: a message sent before the swarm takes it is kept.
            if opened.try_send(DataChannel::new(channel.clone())).is_err() {
                tracing::warn!("a WebRTC data channel refused: the remote opens too many at once");
                channel.close();
            }
        });
        peer_connection.set_ondatachannel(Some(on_data_channel.as_ref().unchecked_ref()));
        Inbound {
            channels,
            on_data_channel,
        }
    }
}

impl Connection {
    /// Takes over a peer connection whose offer and answer are done, with the channels the
    /// remote opened so far.
    pub fn new(peer_connection: RtcPeerConnection, inbound: Inbound) -> Self {
        let Inbound {
            channels: inbound,
            on_data_channel,
        } = inbound;
        let ended = Arc::new(Ended::default());
        let watched = peer_connection.clone();
        let noticed = ended.clone();
        // As js-libp2p does, "disconnected" ends the connection too: a closed tab's peer
        // connection goes there first (consent checks stop), and may stay for long.
        let on_state = Closure::new(move |_: web_sys::Event| {
            if matches!(
                watched.connection_state(),
                RtcPeerConnectionState::Disconnected
                    | RtcPeerConnectionState::Failed
                    | RtcPeerConnectionState::Closed
            ) {
                noticed.yes.store(true, Ordering::Relaxed);
                noticed.waker.wake();
            }
        });
        peer_connection.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        Connection {
            peer_connection: SendWrapper::new(peer_connection),
            inbound: SendWrapper::new(inbound),
            drop_listeners: FuturesUnordered::new(),
            no_streams: None,
            ended,
            _on_data_channel: SendWrapper::new(on_data_channel),
            _on_state: SendWrapper::new(on_state),
            closed: false,
        }
    }

    fn stream(&mut self, channel: DataChannel) -> Stream {
        let (stream, drop_listener) = libp2p_webrtc_utils::Stream::new(channel);
        self.drop_listeners.push(SendWrapper::new(drop_listener));
        self.no_streams.take().map(Waker::wake);
        Stream(SendWrapper::new(stream))
    }

    fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.peer_connection.close();
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Off the connection before the closure is freed: a late event finds no handler.
        self.peer_connection.set_ondatachannel(None);
        self.peer_connection.set_onconnectionstatechange(None);
        self.close();
    }
}

impl StreamMuxer for Connection {
    type Substream = Stream;
    type Error = io::Error;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Stream, io::Error>> {
        match futures::ready!(self.inbound.poll_next_unpin(cx)) {
            Some(channel) => Poll::Ready(Ok(self.stream(channel))),
            None => Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into())),
        }
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Result<Stream, io::Error>> {
        if self.closed {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        }
        // The label is not used: the protocol is negotiated on the stream.
        let channel = DataChannel::new(self.peer_connection.create_data_channel(""));
        Poll::Ready(Ok(self.stream(channel)))
    }

    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        self.close();
        Poll::Ready(Ok(()))
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, io::Error>> {
        self.ended.waker.register(cx.waker());
        if self.ended.yes.load(Ordering::Relaxed) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the WebRTC peer connection ended",
            )));
        }
        loop {
            match futures::ready!(self.drop_listeners.poll_next_unpin(cx)) {
                Some(Ok(())) => {}
                Some(Err(error)) => {
                    tracing::debug!("a dropped WebRTC stream's reset failed: {error}")
                }
                None => {
                    self.no_streams = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_close(cx)
    }
}
