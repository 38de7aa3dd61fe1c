//! Where the engine's tasks run: the browser's microtask queue in wasm, tokio natively.
//!
//! In a page every peer shares the one thread the page draws on, and microtasks never let it
//! draw: a hundred busy peers would freeze it. So peers take turns ([`take_turn`]): the
//! work runs in slices, and between slices the browser may draw a frame.

use std::future::Future;

#[cfg(target_arch = "wasm32")]
pub fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    wasm_bindgen_futures::spawn_local(task);
}

#[cfg(not(target_arch = "wasm32"))]
pub fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(task);
}

/// Lets everything else that is waiting run first: in a page, the browser draws (a task, not
/// a microtask, so rendering gets its turn). The task is a message to ourselves, as in
/// React's scheduler: a `setTimeout(0)` set from a timer is held back 4 ms or more, and with
/// every peer taking turns the page sat idle about a quarter of the time it connected.
#[cfg(target_arch = "wasm32")]
pub async fn yield_now() {
    next_task::NextTask::default().await;
}

#[cfg(not(target_arch = "wasm32"))]
pub async fn yield_now() {
    tokio::task::yield_now().await;
}

/// Work done before the peers let the page draw: a frame lasts 16.7 ms at 60 Hz.
#[cfg(target_arch = "wasm32")]
const SLICE: std::time::Duration = std::time::Duration::from_millis(10);

#[cfg(target_arch = "wasm32")]
thread_local! {
    /// The current slice: the page task it runs in (as `next_task::delivered` counts them)
    /// and when it began.
    static CURRENT_SLICE: std::cell::Cell<Option<(u64, web_time::Instant)>> =
        const { std::cell::Cell::new(None) };
}

/// Called by a busy task between two pieces of its work: once the current slice is used up,
/// it waits for the next one, after the browser has had its turn. A task woken with the
/// others checks again before working: otherwise every peer woken by one message did a piece
/// of work in that one page task, and a hundred busy peers held the page for 70-90 ms at a
/// time. Natively a no-op: tokio's threads draw nothing.
#[cfg(target_arch = "wasm32")]
pub async fn take_turn() {
    loop {
        let now = web_time::Instant::now();
        let task = next_task::delivered();
        match CURRENT_SLICE.get() {
            Some((slice_task, started)) if slice_task == task => {
                if now - started < SLICE {
                    return;
                }
            }
            // The first task back after a message starts the next slice.
            _ => {
                CURRENT_SLICE.set(Some((task, now)));
                return;
            }
        }
        yield_now().await;
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub async fn take_turn() {}

/// Spawns `task` to run in turns like a peer's event loop: each time it is woken, it waits
/// for the page if the slice is used up ([`take_turn`]), then does the piece of work it was
/// woken for.
#[cfg(target_arch = "wasm32")]
pub fn spawn_in_turns(task: impl Future<Output = ()> + Send + 'static) {
    spawn(async move {
        let mut task = std::pin::pin!(task);
        loop {
            take_turn().await;
            // Polls the task once; unless it is done, waits until it is woken again.
            let mut polled = false;
            let done = futures::future::poll_fn(|cx| {
                if std::mem::replace(&mut polled, true) {
                    return std::task::Poll::Ready(false);
                }
                task.as_mut().poll(cx).map(|()| true)
            })
            .await;
            if done {
                return;
            }
        }
    });
}

/// A future that is ready in the page's next task: one `MessageChannel` message wakes every
/// task that yielded since the last one.
#[cfg(target_arch = "wasm32")]
mod next_task {
    use std::cell::{Cell, RefCell};
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use wasm_bindgen::prelude::*;
    use web_sys::MessageChannel;

    struct Yielder {
        channel: MessageChannel,
        /// Kept alive while the channel may call it.
        _on_message: Closure<dyn FnMut()>,
        /// Messages delivered so far: a yield is over once one more has come.
        delivered: Cell<u64>,
        posted: Cell<bool>,
        waiting: RefCell<Vec<Waker>>,
    }

    thread_local! {
        static YIELDER: Yielder = Yielder::new();
    }

    impl Yielder {
        fn new() -> Yielder {
            let channel = MessageChannel::new().expect("a page has MessageChannel");
            let on_message = Closure::<dyn FnMut()>::new(|| {
                let waiting = YIELDER.with(|y| {
                    y.delivered.set(y.delivered.get() + 1);
                    y.posted.set(false);
                    y.waiting.take()
                });
                waiting.into_iter().for_each(Waker::wake);
            });
            channel
                .port1()
                .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            Yielder {
                channel,
                _on_message: on_message,
                delivered: Cell::new(0),
                posted: Cell::new(false),
                waiting: RefCell::new(Vec::new()),
            }
        }

        /// Waits for the next message, posting it unless it is on its way; returns the count
        /// of messages that must have been delivered for the wait to be over.
        fn wait(&self, waker: &Waker, until: Option<u64>) -> u64 {
            self.waiting.borrow_mut().push(waker.clone());
            if !self.posted.replace(true) {
                self.channel
                    .port2()
                    .post_message(&JsValue::NULL)
                    .expect("posting to our own channel");
            }
            until.unwrap_or(self.delivered.get() + 1)
        }
    }

    /// Messages delivered so far: which of the page's turns this is.
    pub fn delivered() -> u64 {
        YIELDER.with(|y| y.delivered.get())
    }

    #[derive(Default)]
    pub struct NextTask {
        until: Option<u64>,
    }

    impl Future for NextTask {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            YIELDER.with(|yielder| match self.until {
                Some(until) if yielder.delivered.get() >= until => Poll::Ready(()),
                until => {
                    self.until = Some(yielder.wait(cx.waker(), until));
                    Poll::Pending
                }
            })
        }
    }
}
