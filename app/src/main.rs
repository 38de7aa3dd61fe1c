//! The p2p-testbed page: mounts the app. Runs in the browser only.

mod app;
mod components;
mod dht_app;
mod dom;
mod download;
mod frame;
mod keys;
mod lazy;
mod peer_clicks;
mod relay_link;
mod running;
mod session;
mod token_app;
mod view_choice;
mod welcome;

use leptos::prelude::provide_context;
use testbed::trace::layer::Recorder;
use tracing::Level;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::layer::{Layer, SubscriberExt};

fn main() {
    console_error_panic_hook::set_once();
    // The console gets warnings and errors; the diagram gets everything the recorder keeps.
    let recorder = Recorder::default();
    let console = tracing_wasm::WASMLayer::new(
        tracing_wasm::WASMLayerConfigBuilder::new()
            .set_report_logs_in_timings(false)
            .build(),
    )
    // Not spans: tracing-wasm writes a mark and a measure into the browser's performance
    // timeline at every enter and exit of a span, each time a peer's task is polled; the
    // diagram's bars already show the spans. Nor INFO events: one line per peer started
    // (200 at 200 peers) and per PONG, which the diagram already draws.
    .with_filter(filter_fn(|meta| {
        meta.is_event() && *meta.level() <= Level::WARN
    }));
    let subscriber = tracing_subscriber::registry()
        // libp2p is chatty below INFO; the console would drown.
        .with(LevelFilter::INFO)
        .with(console)
        .with(recorder.layer());
    let _ = tracing::subscriber::set_global_default(subscriber);
    leptos::mount::mount_to_body(move || {
        provide_context(recorder.clone());
        app::App()
    });
}
