//! `cargo xtask serve`: the relay and `trunk serve`, side by side, until Ctrl-C.

use crate::command::{run, step, Result};
use crate::setup::{self, native_cargo};

const PAGE_URL: &str = "http://127.0.0.1:8080/";

pub fn main() -> Result {
    let toolchain = setup::main()?;
    step("build the relay", || {
        run(native_cargo().args(["build", "--package", "relay"]))
    })?;
    let relay = native_cargo()
        .args(["run", "--quiet", "--package", "relay"])
        .spawn();
    match &relay {
        Ok(_) => println!("relay started on 127.0.0.1 (WebSocket 4001, info 4002, TCP 4003)"),
        Err(error) => println!("the relay did not start ({error}); the page works without it"),
    }
    println!("\nBuilding the page; when trunk says it is serving, open {PAGE_URL}\n");
    let served = run(toolchain.trunk().arg("serve"));
    if let Ok(mut relay) = relay {
        let _ = relay.kill();
        let _ = relay.wait();
    }
    served
}
