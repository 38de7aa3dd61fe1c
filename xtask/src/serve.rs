//! `cargo xtask serve`: the relay and `trunk serve`, side by side, until Ctrl-C. With `--lan`,
//! both listen on every interface and the relay announces this machine's LAN address, so other
//! machines on the same network open the page from it.

use std::net::Ipv4Addr;

use crate::command::{cmd, run, step, Result};
use crate::setup::{self, native_cargo};

pub fn main(lan: bool) -> Result {
    let toolchain = setup::main()?;
    step("build the relay", || {
        run(native_cargo().args(["build", "--package", "relay"]))
    })?;
    let address = if lan {
        Some(lan_address().ok_or(
            "no LAN address found (`hostname -I` lists none): connect to a network, or serve without --lan",
        )?)
    } else {
        None
    };
    let mut relay_command = native_cargo();
    relay_command.args(["run", "--quiet", "--package", "relay", "--"]);
    if let Some(ip) = address {
        relay_command.args(["--listen-ip", "0.0.0.0"]);
        for announced in [
            format!("/ip4/{ip}/tcp/4001/ws"),
            format!("/ip4/{ip}/tcp/4003"),
        ] {
            relay_command.args(["--announce", &announced]);
        }
    }
    let relay = relay_command.spawn();
    let host = address.map_or("127.0.0.1".to_owned(), |ip| ip.to_string());
    match &relay {
        Ok(_) => println!("relay started on {host} (WebSocket 4001, info 4002, TCP 4003)"),
        Err(error) => println!("the relay did not start ({error}); the page works without it"),
    }
    let page = format!("http://{host}:8080/");
    println!("\nBuilding the page; when trunk says it is serving, open {page}");
    if lan {
        println!("Other machines on this network open the same address. The firewall must let in TCP 8080 (page), 4001 (WebSocket), 4002 (relay info) and 4003.");
    }
    println!();
    let mut trunk = toolchain.trunk();
    trunk.arg("serve");
    if lan {
        trunk.args(["--address", "0.0.0.0"]);
    }
    let served = run(&mut trunk);
    if let Ok(mut relay) = relay {
        let _ = relay.kill();
        let _ = relay.wait();
    }
    served
}

/// This machine's LAN address, from those `hostname -I` lists: a private one if there is one,
/// else the first that is neither loopback nor link-local.
fn lan_address() -> Option<Ipv4Addr> {
    let output = cmd("hostname").arg("-I").output().ok()?;
    let addresses: Vec<Ipv4Addr> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .filter(|ip: &Ipv4Addr| !ip.is_loopback() && !ip.is_link_local())
        .collect();
    addresses
        .iter()
        .find(|ip| ip.is_private())
        .or(addresses.first())
        .copied()
}
