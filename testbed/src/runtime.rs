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
