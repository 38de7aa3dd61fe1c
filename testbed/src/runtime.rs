//! Where the engine's tasks run: the browser's microtask queue in wasm, tokio natively.

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
