//! `cargo xtask serve | test | bench`: installs what is missing, builds, and runs p2p-testbed.
//! Every command does the whole set-up first, so each works on a fresh machine.

mod bench;
mod build;
mod bundle;
mod command;
mod compress;
mod serve;
mod setup;
mod site;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  serve   set up, build the page (optimized), start the relay and serve the page compressed;
          prints the URL to open once both answer
          (--lan: reachable from other machines on this network, for a classroom;
           --dev: `trunk serve` with a debug build that rebuilds as the code changes;
           --stun URL: a STUN server for direct WebRTC connections between tabs)
  test    set up and run every test: fmt, clippy, engine, relay, wasm, browser end-to-end
  build   set up and build the release page into dist/, ready to put on any static host
  bench   set up and print figures: bundle size, time until all peers are connected
          (--smoke: the smallest sizes once on the test builds, to check the benchmarks run)
  setup   only install what is missing (Debian packages, wasm toolchain, trunk, wasm-bindgen, npm)";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("serve") => {
            let flags: Vec<String> = std::env::args().skip(2).collect();
            match serve::Options::parse(&flags) {
                Ok(options) => serve::main(options),
                Err(error) => Err(error),
            }
        }
        Some("test") => test::main(),
        Some("build") => build::main(),
        Some("bench") => match std::env::args().nth(2).as_deref() {
            None => bench::main(bench::Size::FULL),
            Some("--smoke") => bench::main(bench::Size::SMOKE),
            Some(other) => Err(format!("bench takes no \"{other}\" (only --smoke)")),
        },
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
