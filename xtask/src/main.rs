//! `cargo xtask serve | test | bench`: installs what is missing, builds, and runs p2p-testbed.
//! Every command does the whole set-up first, so each works on a fresh machine.

mod bench;
mod build;
mod command;
mod serve;
mod setup;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  serve   set up, build, start the relay and `trunk serve`; prints the URL to open
          (--lan: reachable from other machines on this network, for a classroom)
  test    set up and run every test: fmt, clippy, engine, relay, wasm, browser end-to-end
  build   set up and build the release page into dist/, ready to put on any static host
  bench   set up and print figures: bundle size, time until all peers are connected
  setup   only install what is missing (Debian packages, wasm toolchain, trunk, wasm-bindgen, npm)";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("serve") => serve::main(std::env::args().nth(2).as_deref() == Some("--lan")),
        Some("test") => test::main(),
        Some("build") => build::main(),
        Some("bench") => bench::main(),
        Some("setup") => setup::main().map(drop),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: {error}");
            ExitCode::FAILURE
        }
    }
}
