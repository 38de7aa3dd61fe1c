//! Building the page: `cargo xtask build`, the release page in `dist/` (the smallest build, see
//! `Toolchain::wasm_build`) for any static host; and the page `serve` serves and the browser
//! tests test (the `page` profile: optimized, quick to rebuild). Both are precompressed.

use std::path::PathBuf;

use crate::bundle;
use crate::command::{root, step, Result};
use crate::compress;
use crate::setup::{self, Toolchain};

pub fn main() -> Result {
    let toolchain = setup::main()?;
    let dist = root().join("dist");
    step("release build of the page", || {
        bundle::build(&toolchain, "release", &dist)
    })?;
    step("compress the page (brotli, gzip)", || {
        compress::precompress(&dist)
    })?;
    println!("\nthe page is in {}", dist.display());
    Ok(())
}

/// Builds the page with the `page` profile into `target/page/dist`, precompressed.
pub fn page(toolchain: &Toolchain) -> Result<PathBuf> {
    let dist = root().join("target/page/dist");
    step(
        "build the page (optimized; a first build takes a few minutes, a rebuild a minute or two)",
        || bundle::build(toolchain, "page", &dist),
    )?;
    step("compress the page (brotli, gzip)", || {
        compress::precompress(&dist)
    })?;
    Ok(dist)
}
