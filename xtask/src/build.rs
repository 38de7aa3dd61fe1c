//! `cargo xtask build`: the release page in `dist/`, the smallest build (see
//! `Toolchain::trunk_release`). Any static file server can serve it.

use crate::command::{root, run, step, Result};
use crate::setup;

pub fn main() -> Result {
    let toolchain = setup::main()?;
    let dist = root().join("dist");
    step("release build of the page", || {
        run(&mut toolchain.trunk_release(&dist))
    })?;
    println!("\nthe page is in {}", dist.display());
    Ok(())
}
