//! `cargo xtask serve`: the relay and the page, side by side, until Ctrl-C. The page is the
//! optimized build the browser tests test (a rebuild only if the code changed), served
//! precompressed; the URL is printed once both the page and the relay answer. With `--lan`,
//! both listen on every interface and the relay announces this machine's LAN address, so other
//! machines on the same network open the page from it. With `--dev`, `trunk serve` builds a
//! debug page and rebuilds it as the code changes. With `--stun URL`, the printed address
//! gives the page a STUN server for direct WebRTC connections between tabs (`?stun=`).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::build;
use crate::command::{cmd, root, run, step, Result};
use crate::setup::{self, native_cargo};
use crate::site;

const PAGE_PORT: u16 = 8080;
const RELAY_INFO_PORT: u16 = 4002;
/// How long the relay may take to answer before the page is offered without it.
const RELAY_PATIENCE: Duration = Duration::from_secs(30);

pub struct Options {
    lan: bool,
    dev: bool,
    /// A STUN server the page's tabs ask for their address outside a NAT.
    stun: Option<String>,
}

impl Options {
    pub fn parse(flags: &[String]) -> Result<Options> {
        let mut options = Options {
            lan: false,
            dev: false,
            stun: None,
        };
        let mut flags = flags.iter();
        while let Some(flag) = flags.next() {
            match flag.as_str() {
                "--lan" => options.lan = true,
                "--dev" => options.dev = true,
                "--stun" => match flags.next() {
                    Some(url) if url.starts_with("stun:") || url.starts_with("stuns:") => {
                        options.stun = Some(url.clone())
                    }
                    _ => {
                        return Err(
                            "serve: --stun takes a STUN URL, e.g. --stun stun:example.org:3478"
                                .into(),
                        )
                    }
                },
                other => {
                    return Err(format!(
                        "serve: unknown flag {other} (known: --lan, --dev, --stun URL)"
                    ))
                }
            }
        }
        Ok(options)
    }
}

pub fn main(options: Options) -> Result {
    let toolchain = setup::main()?;
    step("build the relay", || {
        run(native_cargo().args(["build", "--package", "relay"]))
    })?;
    let address = if options.lan {
        Some(lan_address().ok_or(
            "no LAN address found (`hostname -I` lists none): connect to a network, or serve without --lan",
        )?)
    } else {
        None
    };
    let host = address.map_or("127.0.0.1".to_owned(), |ip| ip.to_string());
    let query = options
        .stun
        .as_ref()
        .map(|url| format!("?stun={}", url.replace(':', "%3A")))
        .unwrap_or_default();
    let page = format!("http://{host}:{PAGE_PORT}/{query}");
    let firewall = "Other machines on this network open the same address. The firewall must let in TCP 8080 (page), 4001 (WebSocket), 4002 (relay info) and 4003.";

    if options.dev {
        let relay = start_relay(address)?;
        println!("\nBuilding a debug page; when trunk says it is serving, open {page}");
        if options.lan {
            println!("{firewall}");
        }
        let mut trunk = toolchain.trunk();
        trunk.arg("serve");
        if options.lan {
            trunk.args(["--address", "0.0.0.0"]);
        }
        let served = run(&mut trunk);
        stop(relay);
        return served;
    }

    let dist = build::page(&toolchain)?;
    let relay = start_relay(address)?;
    let bind_ip = if options.lan {
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    };
    let listener = TcpListener::bind((bind_ip, PAGE_PORT)).map_err(|e| {
        format!("cannot serve the page on port {PAGE_PORT} ({e}): is another `cargo xtask serve` running?")
    })?;
    site::spawn(dist, listener);
    if !answers(&format!("127.0.0.1:{PAGE_PORT}"), "/") {
        stop(relay);
        return Err("the page server does not answer".into());
    }
    let relay_up = wait_until(RELAY_PATIENCE, || {
        answers(&format!("127.0.0.1:{RELAY_INFO_PORT}"), "/")
    });
    if relay_up {
        println!("\nthe relay answers (WebSocket 4001, info 4002, TCP 4003)");
    } else {
        println!("\nthe relay did not answer within {} s; the page works without it (the Room tab says so)", RELAY_PATIENCE.as_secs());
    }
    println!("the page is served, compressed, at\n\n    {page}\n");
    if options.lan {
        println!("{firewall}");
    }
    println!("Ctrl-C stops both.");
    let mut relay = relay;
    if let Some(child) = relay.as_mut() {
        let status = child.wait();
        println!("the relay stopped ({status:?}); the page is still served");
    }
    loop {
        std::thread::park();
    }
}

/// Starts the relay binary built above (not `cargo run`, which would wait on cargo's lock).
fn start_relay(address: Option<Ipv4Addr>) -> Result<Option<Child>> {
    let mut relay = Command::new(root().join("target/debug/relay"));
    relay.current_dir(root());
    if let Some(ip) = address {
        relay.args(["--listen-ip", "0.0.0.0"]);
        for announced in [
            format!("/ip4/{ip}/tcp/4001/ws"),
            format!("/ip4/{ip}/tcp/4003"),
        ] {
            relay.args(["--announce", &announced]);
        }
    }
    match relay.spawn() {
        Ok(child) => Ok(Some(child)),
        Err(error) => {
            println!("the relay did not start ({error}); the page works without it");
            Ok(None)
        }
    }
}

fn stop(relay: Option<Child>) {
    if let Some(mut relay) = relay {
        let _ = relay.kill();
        let _ = relay.wait();
    }
}

/// True once `check` holds, trying every 200 ms for at most `patience`.
fn wait_until(patience: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < patience {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Whether an HTTP server at `address` answers a GET of `path` with a status line.
fn answers(address: &str, path: &str) -> bool {
    let Ok(address) = address.parse::<SocketAddr>() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut start = [0u8; 12];
    stream.read_exact(&mut start).is_ok() && start.starts_with(b"HTTP/1.")
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

#[cfg(test)]
mod tests {
    use super::Options;

    fn parse(flags: &[&str]) -> Result<Options, String> {
        Options::parse(&flags.iter().map(|f| f.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_stun_server_is_taken_with_its_url_and_refused_without() {
        let options = parse(&["--lan", "--stun", "stun:example.org:3478"]).unwrap();
        assert!(options.lan);
        assert_eq!(options.stun.as_deref(), Some("stun:example.org:3478"));
        assert!(parse(&["--stun"]).is_err());
        assert!(parse(&["--stun", "example.org"]).is_err());
    }
}
