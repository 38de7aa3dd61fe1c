//! `cargo xtask test`: every test, the quick ones first.

use std::env;

use crate::command::{cmd, root, run, step, Result};
use crate::setup::{self, native_cargo, CHROMIUM, WASM_TARGET};
use crate::{bench, build};

pub fn main() -> Result {
    let toolchain = setup::main()?;
    step("format", || {
        run(native_cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    step("clippy", || {
        run(native_cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("engine and relay tests (native)", || {
        run(native_cargo().arg("test"))
    })?;
    step(
        "engine tests in headless Chromium (wasm-bindgen-test)",
        || {
            run(toolchain.wasm_cargo().args([
                "test",
                "--package",
                "testbed",
                "--target",
                WASM_TARGET,
                "--test",
                "wasm",
            ]))
        },
    )?;
    // The page `cargo xtask serve` serves: after the tests, serving needs no build.
    let dist = build::page(&toolchain)?;
    step("end-to-end tests in headless Chromium", || {
        let screenshots = env::temp_dir().join("p2p-testbed-screenshots");
        std::fs::create_dir_all(&screenshots).map_err(|e| e.to_string())?;
        println!("screenshots go to {}", screenshots.display());
        run(cmd("node")
            .args(["--test", "--test-concurrency=1", "e2e/"])
            .env("DIST_DIR", &dist)
            // `cargo test` built it for the relay's own tests.
            .env("RELAY_BIN", root().join("target/debug/relay"))
            .env("SCREENSHOT_DIR", &screenshots)
            .env("CHROMIUM", CHROMIUM))
    })?;
    // Every benchmark, at its smallest, so none can rot unnoticed.
    bench::main(bench::Size::SMOKE)
}
