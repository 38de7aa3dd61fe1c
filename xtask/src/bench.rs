//! `cargo xtask bench`: figures, printed as a table and written to target/bench.json.
//! Timings are measured here, never asserted in tests: these machines are shared and noisy.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::command::{cmd, root, run, step, Result};
use crate::compress;
use crate::setup::{self, native_cargo, CHROMIUM};

/// Peer counts whose time to full connection is measured (original topology).
const PEER_COUNTS: &[usize] = &[5, 20, 50, 100];
/// Page loads per peer count; the table shows their median.
const RUNS: usize = 5;

pub fn main() -> Result {
    let toolchain = setup::main()?;
    let dist = root().join("target/bench/dist");
    step("release build of the page", || {
        run(&mut toolchain.trunk_release(&dist))
    })?;
    let sizes = bundle_sizes(&dist)?;
    let relay_bin = root().join("target/release/relay");
    step("release build of the relay", || {
        run(native_cargo().args(["build", "--quiet", "--release", "--package", "relay"]))
    })?;
    let boot = step(
        "the page: boot, diagram, snapshots, DHT, ping between tabs",
        || {
            let counts: Vec<String> = PEER_COUNTS.iter().map(ToString::to_string).collect();
            let output = cmd("node")
                .arg("e2e/bench.mjs")
                .env("DIST_DIR", &dist)
                .env("CHROMIUM", CHROMIUM)
                .env("PEER_COUNTS", counts.join(","))
                .env("RUNS", RUNS.to_string())
                .env("RELAY_BIN", &relay_bin)
                .output()
                .map_err(|e| format!("could not run the browser benchmark: {e}"))?;
            std::io::stderr().write_all(&output.stderr).ok();
            if !output.status.success() {
                return Err("the browser benchmark failed".into());
            }
            serde_json::from_slice::<serde_json::Value>(&output.stdout)
                .map_err(|e| format!("the browser benchmark printed no JSON: {e}"))
        },
    )?;

    let layout = step("diagram layout in the engine (native, release)", || {
        engine_example("diagram_layout")
    })?;
    let wire = step(
        "the wire tap's cost: ping and transfer with and without it (native, release)",
        || engine_example("wire_tap"),
    )?;
    let snapshots = step(
        "Chandy-Lamport snapshot completion (native, release)",
        || engine_example("snapshot_time"),
    )?;
    let dht = step(
        "Kademlia: boot and settle, lookup hops and time for 10 to 200 peers (native, release)",
        || engine_example("dht_lookups"),
    )?;
    let load = step("the relay under 200 native clients (release)", || {
        let mut cargo = native_cargo();
        cargo.env("RELAY_BIN", &relay_bin);
        native_example("relay", "load", cargo)
    })?;

    println!("\n| figure | value |\n| --- | --- |");
    for (name, bytes) in &sizes {
        println!("| {name} | {:.1} KB |", *bytes as f64 / 1000.0);
    }
    let empty = Vec::new();
    for run in boot["runs"].as_array().unwrap_or(&empty) {
        let peers = run["peers"].as_u64().unwrap_or_default();
        println!(
            "| {peers} peers, {} connections: all connected, from navigation (median of {RUNS}) | {:.0} ms |",
            run["connections"], run["median_ready_at_ms"].as_f64().unwrap_or(f64::NAN)
        );
        println!(
            "| {peers} peers: from network start to all connected (median; worst) | {:.0} ms; {:.0} ms |",
            run["median_took_ms"].as_f64().unwrap_or(f64::NAN),
            run["worst_took_ms"].as_f64().unwrap_or(f64::NAN)
        );
        println!(
            "| {peers} peers: longest task while connecting (worst of {RUNS}); tasks over 200 ms | {:.0} ms; {} |",
            run["longest_task_while_connecting_ms"].as_f64().unwrap_or(f64::NAN),
            run["tasks_over_200_ms"]
        );
    }
    let diagram = &boot["diagram"];
    println!(
        "| frames per second, 20 peers pinging continuously, diagram following | {:.0} |",
        diagram["fps_while_pinging"].as_f64().unwrap_or(f64::NAN)
    );
    for target in ["1000", "10000"] {
        let render = &diagram[format!("render_{target}")];
        println!(
            "| show the diagram of {} messages (median; worst of 5) | {:.1} ms; {:.1} ms |",
            render["messages"],
            render["median_ms"].as_f64().unwrap_or(f64::NAN),
            render["worst_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let scrub = &diagram["scrub_10000"];
    println!(
        "| time scrubber: show a random moment of {} messages in the page (median; worst of {}) | {:.1} ms; {:.1} ms |",
        scrub["messages"],
        scrub["moves"],
        scrub["median_ms"].as_f64().unwrap_or(f64::NAN),
        scrub["worst_ms"].as_f64().unwrap_or(f64::NAN)
    );
    let figure = &layout["scrub_10000_messages_ms"];
    println!(
        "| engine: state and diagram at a random moment of a 10000-message trace (median; worst) | {:.2} ms; {:.2} ms |",
        figure["median"].as_f64().unwrap_or(f64::NAN),
        figure["worst"].as_f64().unwrap_or(f64::NAN)
    );
    for messages in ["1000", "10000"] {
        let figure = &layout[format!("layout_{messages}_messages_ms")];
        println!(
            "| engine layout of a screen of a {messages}-message trace (median; worst) | {:.2} ms; {:.2} ms |",
            figure["median"].as_f64().unwrap_or(f64::NAN),
            figure["worst"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!(
        "| testbed ping round trip, 2 in-memory peers: untapped; tapped (median of {}) | {:.3} ms; {:.3} ms (ratio {:.2}) |",
        wire["pings"],
        wire["untapped"]["median_ping_rtt_ms"].as_f64().unwrap_or(f64::NAN),
        wire["tapped"]["median_ping_rtt_ms"].as_f64().unwrap_or(f64::NAN),
        wire["rtt_ratio"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "| transfer throughput, {} MiB over one stream: untapped; tapped (best of 3) | {:.0} MiB/s; {:.0} MiB/s (ratio {:.2}) |",
        wire["transfer_mib"],
        wire["untapped"]["transfer_mib_per_s"].as_f64().unwrap_or(f64::NAN),
        wire["tapped"]["transfer_mib_per_s"].as_f64().unwrap_or(f64::NAN),
        wire["throughput_ratio"].as_f64().unwrap_or(f64::NAN)
    );
    for figure in snapshots["snapshots"].as_array().unwrap_or(&empty) {
        println!(
            "| snapshot completion, {} peers, {}: simulator (ticks, median of {}); real in-memory peers | {} ticks; {:.2} ms |",
            figure["peers"],
            figure["topology"].as_str().unwrap_or_default(),
            snapshots["runs"],
            figure["simulated_median_ticks"],
            figure["real_peers_median_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    for figure in boot["snapshots"].as_array().unwrap_or(&empty) {
        println!(
            "| snapshot completion in the page, {} peers, {}: first recording to last marker in (median; worst of {}) | {:.1} ms; {:.1} ms |",
            figure["peers"],
            figure["topology"].as_str().unwrap_or_default(),
            figure["runs"],
            figure["median_ms"].as_f64().unwrap_or(f64::NAN),
            figure["worst_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    for figure in dht["lookups"].as_array().unwrap_or(&empty) {
        println!(
            "| Kademlia, {} peers (k {}, α {}): boot and settle; lookup hops mean, max (log₂ N {:.1}); requests; lookup time mean, max | {:.1} s; {:.2}, {}; {:.1}; {:.1} ms, {:.1} ms |",
            figure["peers"],
            figure["k"],
            figure["alpha"],
            figure["log2_n"].as_f64().unwrap_or(f64::NAN),
            figure["boot_and_settle_ms"].as_f64().unwrap_or(f64::NAN) / 1000.0,
            figure["hops_mean"].as_f64().unwrap_or(f64::NAN),
            figure["hops_max"],
            figure["requests_mean"].as_f64().unwrap_or(f64::NAN),
            figure["lookup_ms_mean"].as_f64().unwrap_or(f64::NAN),
            figure["lookup_ms_max"].as_f64().unwrap_or(f64::NAN)
        );
    }
    for figure in boot["dht"].as_array().unwrap_or(&empty) {
        println!(
            "| Kademlia in the page, {} peers (k 3, α 3): navigation to settled; frames per second while settling; a lookup's hops, requests, time | {:.1} s; {:.0}; {}, {}, {:.0} ms |",
            figure["peers"],
            figure["settled_ms"].as_f64().unwrap_or(f64::NAN) / 1000.0,
            figure["fps_while_settling"].as_f64().unwrap_or(f64::NAN),
            figure["lookup_hops"],
            figure["lookup_requests"],
            figure["lookup_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let rooms = &boot["rooms"];
    println!(
        "| the testbed's ping between two tabs through the relay; between two peers in one page (medians of {}, stream opened to both sides closed) | {:.1} ms; {:.1} ms |",
        rooms["pings"],
        rooms["between_tabs_median_ms"].as_f64().unwrap_or(f64::NAN),
        rooms["in_page_median_ms"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "| relay load: clients holding a reservation (of {}); circuits; relay memory per client; relay CPU per 1,000 pings relayed; ping round trip through the relay (median) | {}; {}; {:.0} KiB; {:.0} ms; {:.2} ms |",
        load["clients"],
        load["reserved"],
        load["circuits"],
        load["relay_kib_per_client"].as_f64().unwrap_or(f64::NAN),
        load["relay_cpu_ms_per_1000_pings"].as_f64().unwrap_or(f64::NAN),
        load["ping_rtt_median_ms"].as_f64().unwrap_or(f64::NAN)
    );
    let report = serde_json::json!({
        "relay_load": load,
        "dht": dht,
        "snapshots": snapshots,
        "wire_tap": wire,
        "layout": layout,
        "bundle_bytes": sizes.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        "boot": boot,
    });
    let path = root().join("target/bench.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    )
    .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    println!("\nwritten to {}", path.display());
    Ok(())
}

/// Runs one of the engine's benchmark examples (native, release) and reads its JSON.
fn engine_example(name: &str) -> Result<serde_json::Value> {
    native_example("testbed", name, native_cargo())
}

/// Runs an example of `package` (native, release) and reads its JSON.
fn native_example(package: &str, name: &str, mut cargo: Command) -> Result<serde_json::Value> {
    let output = cargo
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            package,
            "--example",
            name,
        ])
        .output()
        .map_err(|e| format!("could not run the {name} benchmark: {e}"))?;
    if !output.status.success() {
        return Err(format!("the {name} benchmark failed"));
    }
    serde_json::from_slice::<serde_json::Value>(&output.stdout)
        .map_err(|e| format!("the {name} benchmark printed no JSON: {e}"))
}

/// Raw and gzip sizes of the wasm module and its JS glue.
fn bundle_sizes(dist: &Path) -> Result<Vec<(String, u64)>> {
    let mut sizes = Vec::new();
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut total_gzip = 0;
    let mut total_brotli = 0;
    for file in files {
        let kind = match file.extension().and_then(|e| e.to_str()) {
            Some("wasm") => "wasm",
            Some("js") => "JS glue",
            _ => continue,
        };
        let bytes = std::fs::read(&file).map_err(|e| e.to_string())?;
        let gzip = compress::compress("gzip", &bytes).len() as u64;
        let brotli = compress::compress("br", &bytes).len() as u64;
        total_gzip += gzip;
        total_brotli += brotli;
        sizes.push((format!("{kind}, raw"), bytes.len() as u64));
        sizes.push((format!("{kind}, gzip"), gzip));
        sizes.push((format!("{kind}, brotli"), brotli));
    }
    sizes.push(("wasm + JS glue, gzip".into(), total_gzip));
    sizes.push((
        "wasm + JS glue, brotli (what `serve` sends)".into(),
        total_brotli,
    ));
    Ok(sizes)
}
