//! One `RTCDataChannel` as a byte stream (`AsyncRead` + `AsyncWrite`), for libp2p-webrtc-utils'
//! framing to run on. The browser's events (open, message, buffered amount low, close) wake
//! the reader and the writer. When the last handle goes, the event handlers are taken off the
//! channel before their closures are freed: an event that arrives afterwards then finds no
//! handler, instead of a freed closure (the "closure invoked recursively or after being
//! dropped" error of rust-libp2p#6551).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::{AsyncRead, AsyncWrite};
use libp2p_webrtc_utils::MAX_MSG_LEN;
use wasm_bindgen::prelude::*;
use web_sys::{Event, MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType};

/// A cloneable handle: the framing keeps one to reset the stream when it is dropped.
#[derive(Clone)]
pub struct DataChannel {
    inner: Rc<Inner>,
}

struct Inner {
    channel: RtcDataChannel,
    state: Rc<RefCell<State>>,
    _handlers: Handlers,
}

#[derive(Default)]
struct State {
    /// Bytes received and not read yet: at most one framed message's worth.
    received: VecDeque<u8>,
    /// The remote sent more than the framing allows before we read it.
    overrun: bool,
    /// Waiting for the channel to open, for data, for room to write, or for the close.
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl State {
    fn wake_all(&mut self) {
        self.reader.take().map(Waker::wake);
        self.writer.take().map(Waker::wake);
    }
}

struct Handlers {
    on_open: Closure<dyn FnMut(Event)>,
    on_message: Closure<dyn FnMut(MessageEvent)>,
    on_buffered_amount_low: Closure<dyn FnMut(Event)>,
    on_close: Closure<dyn FnMut(Event)>,
}

impl DataChannel {
    pub fn new(channel: RtcDataChannel) -> Self {
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        // Woken whenever everything written so far has left.
        channel.set_buffered_amount_low_threshold(0);
        let state = Rc::new(RefCell::new(State::default()));
        let waking = |state: &Rc<RefCell<State>>| {
            let state = state.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| state.borrow_mut().wake_all())
        };
        let on_message = {
            let state = state.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let bytes = js_sys::Uint8Array::new(&event.data()).to_vec();
                let mut state = state.borrow_mut();
                if state.received.len() + bytes.len() > MAX_MSG_LEN {
                    state.overrun = true;
                } else {
                    state.received.extend(bytes);
                }
                state.reader.take().map(Waker::wake);
            })
        };
        let handlers = Handlers {
            on_open: waking(&state),
            on_message,
            on_buffered_amount_low: waking(&state),
            on_close: waking(&state),
        };
        channel.set_onopen(Some(handlers.on_open.as_ref().unchecked_ref()));
        channel.set_onmessage(Some(handlers.on_message.as_ref().unchecked_ref()));
        channel.set_onbufferedamountlow(Some(
            handlers.on_buffered_amount_low.as_ref().unchecked_ref(),
        ));
        channel.set_onclose(Some(handlers.on_close.as_ref().unchecked_ref()));
        DataChannel {
            inner: Rc::new(Inner {
                channel,
                state,
                _handlers: handlers,
            }),
        }
    }

    /// Ready once the channel is open; an error once it is closing or closed, or overrun.
    fn poll_open(&self, cx: &mut Context<'_>, reading: bool) -> Poll<io::Result<()>> {
        let mut state = self.inner.state.borrow_mut();
        if state.overrun {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the remote sent more than one message's worth unread",
            )));
        }
        match self.inner.channel.ready_state() {
            RtcDataChannelState::Connecting => {
                let waiting = if reading {
                    &mut state.reader
                } else {
                    &mut state.writer
                };
                *waiting = Some(cx.waker().clone());
                Poll::Pending
            }
            RtcDataChannelState::Open => Poll::Ready(Ok(())),
            _ => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.channel.set_onopen(None);
        self.channel.set_onmessage(None);
        self.channel.set_onbufferedamountlow(None);
        self.channel.set_onclose(None);
        self.channel.close();
    }
}

impl AsyncRead for DataChannel {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let closed = match this.poll_open(cx, true) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(())) => false,
            // What arrived before the close is still read.
            Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::BrokenPipe => true,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
        };
        let mut state = this.inner.state.borrow_mut();
        if state.received.is_empty() {
            if closed {
                return Poll::Ready(Ok(0));
            }
            state.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(state.received.len());
        for (slot, byte) in buf.iter_mut().zip(state.received.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for DataChannel {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        futures::ready!(this.poll_open(cx, false))?;
        // At most one framed message waits in the browser's buffer at a time.
        let buffered = this.inner.channel.buffered_amount() as usize;
        let room = MAX_MSG_LEN.saturating_sub(buffered);
        if room == 0 {
            this.inner.state.borrow_mut().writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(room);
        this.inner
            .channel
            .send_with_u8_array(&buf[..n])
            .map_err(|error| io::Error::other(format!("{error:?}")))?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Everything written has left: flushed, even if the remote has closed the channel
        // since. A libp2p-kad responder drops its stream as soon as it has answered, which
        // resets and closes the channel while the requester may still be flushing its FIN.
        if this.inner.channel.buffered_amount() == 0 {
            return Poll::Ready(Ok(()));
        }
        futures::ready!(this.poll_open(cx, false))?;
        this.inner.state.borrow_mut().writer = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.inner.channel.ready_state() {
            RtcDataChannelState::Closed => Poll::Ready(Ok(())),
            RtcDataChannelState::Closing => {
                this.inner.state.borrow_mut().writer = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => {
                this.inner.channel.close();
                this.inner.state.borrow_mut().writer = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
