//! The p2p-testbed page: mounts the app. Runs in the browser only.

mod app;
mod components;
mod download;
mod frame;
mod relay_link;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    tracing_wasm::set_as_global_default_with_config(
        tracing_wasm::WASMLayerConfigBuilder::new()
            // libp2p is chatty below INFO; the console would drown.
            .set_max_level(tracing::Level::INFO)
            .build(),
    );
    leptos::mount::mount_to_body(app::App);
}
