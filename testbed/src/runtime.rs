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

/// Lets everything else that is waiting run first: in a page, the browser draws (a timer task,
/// not a microtask, so rendering gets its turn).
#[cfg(target_arch = "wasm32")]
pub async fn yield_now() {
    futures_timer::Delay::new(std::time::Duration::ZERO).await;
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
    /// When the current slice began.
    static SLICE_STARTED: std::cell::Cell<Option<web_time::Instant>> =
        const { std::cell::Cell::new(None) };
}

/// Called by a busy task between two pieces of its work: once the current slice is used up,
/// it waits for the next one, after the browser has had its turn. Natively a no-op: tokio's
/// threads draw nothing.
#[cfg(target_arch = "wasm32")]
pub async fn take_turn() {
    let slice_over = |now: web_time::Instant| {
        SLICE_STARTED
            .get()
            .is_none_or(|started| now - started >= SLICE)
    };
    if !slice_over(web_time::Instant::now()) {
        return;
    }
    yield_now().await;
    // The first task back starts the next slice; the others find it running.
    let now = web_time::Instant::now();
    if slice_over(now) {
        SLICE_STARTED.set(Some(now));
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub async fn take_turn() {}
