//! `cargo xtask bench`: figures, printed as a table and written to target/bench.json.
//! Timings are measured here, never asserted in tests: these machines are shared and noisy.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::command::{cmd, root, run, step, Result};
use crate::compress;
use crate::setup::{self, native_cargo, CHROMIUM};
use crate::{build, bundle};

/// The cargo profile of the native builds measured: release, but built for speed.
const NATIVE: &str = "native";

/// `cargo <subcommand>` of `package` with the [`NATIVE`] profile.
fn native_profile(subcommand: &str, package: &str) -> Command {
    let mut cargo = native_cargo();
    cargo.args([
        subcommand,
        "--quiet",
        "--profile",
        NATIVE,
        "--package",
        package,
    ]);
    cargo
}

/// How much a run measures.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Peer counts whose time to full connection is measured (original topology and ring).
    peer_counts: &'static [usize],
    /// Page loads per peer count; the table shows their median.
    runs: usize,
    /// The smallest sizes once, on the builds the tests made (not release), so that the tests
    /// can run every benchmark and they cannot rot; its figures mean nothing.
    smoke: bool,
}

impl Size {
    pub const FULL: Size = Size {
        peer_counts: &[5, 20, 50, 100, 200],
        runs: 5,
        smoke: false,
    };
    pub const SMOKE: Size = Size {
        peer_counts: &[5],
        runs: 1,
        smoke: true,
    };

    /// Sets the environment the benchmark scripts and examples read their sizes from.
    fn apply(self, command: &mut Command) -> &mut Command {
        if self.smoke {
            command.env("BENCH_SMOKE", "1");
        }
        command
    }
}

pub fn main(size: Size) -> Result {
    let toolchain = setup::main()?;
    // A smoke run uses what `cargo test` built (a build of one package alone unifies other
    // features, and would compile libp2p again); a full run builds the page for release, and
    // what runs natively with the `native` profile.
    let built = match size.smoke {
        true => Some(step("the tests' builds", tests_builds)?),
        false => None,
    };
    let (dist, relay_bin) = if let Some(built) = &built {
        let dist = build::page(&toolchain)?;
        (
            dist,
            built
                .get("relay")
                .cloned()
                .ok_or("cargo test built no relay")?,
        )
    } else {
        let dist = root().join("target/bench/dist");
        step("release build of the page", || {
            bundle::build(&toolchain, "release", &dist)
        })?;
        step("native build of the relay", || {
            run(&mut native_profile("build", "relay"))
        })?;
        (dist, root().join("target").join(NATIVE).join("relay"))
    };
    let sizes = bundle_sizes(&dist)?;
    let js_libp2p = step("js-libp2p's side-by-side page (esbuild)", js_libp2p_page)?;
    let js_sizes = js_sizes(&js_libp2p)?;
    let boot = step(
        "the page: boot, diagram, snapshots, DHT, ping between tabs; js-libp2p alongside",
        || {
            let counts: Vec<String> = size.peer_counts.iter().map(ToString::to_string).collect();
            let output = size
                .apply(&mut cmd("node"))
                .arg("e2e/bench.mjs")
                .env("DIST_DIR", &dist)
                .env("CHROMIUM", CHROMIUM)
                .env("PEER_COUNTS", counts.join(","))
                .env("RUNS", size.runs.to_string())
                .env("RELAY_BIN", &relay_bin)
                .env("JS_LIBP2P_DIR", &js_libp2p)
                .output()
                .map_err(|e| format!("could not run the browser benchmark: {e}"))?;
            std::io::stderr().write_all(&output.stderr).ok();
            if !output.status.success() {
                return Err("the browser benchmark failed".into());
            }
            serde_json::from_slice::<Value>(&output.stdout)
                .map_err(|e| format!("the browser benchmark printed no JSON: {e}"))
        },
    )?;

    let example = |package, name| Example {
        package,
        name,
        built: built.as_ref(),
    };
    let layout = step("diagram layout in the engine (native)", || {
        example("testbed", "diagram_layout").run(size, &[])
    })?;
    let wire = step(
        "the wire tap's cost: ping and transfer with and without it (native)",
        || example("testbed", "wire_tap").run(size, &[]),
    )?;
    let snapshots = step("Chandy-Lamport snapshot completion (native)", || {
        example("testbed", "snapshot_time").run(size, &[])
    })?;
    let dht = step(
        "Kademlia: boot and settle, lookup hops and time for 10 to 200 peers (native)",
        || example("testbed", "dht_lookups").run(size, &[]),
    )?;
    let load = step("the relay under 200 native clients", || {
        example("relay", "load").run(size, &[("RELAY_BIN", &relay_bin)])
    })?;

    let figures = Figures {
        boot: &boot,
        layout: &layout,
        wire: &wire,
        snapshots: &snapshots,
        dht: &dht,
        load: &load,
    };
    println!("\n| figure | value |\n| --- | --- |");
    for (name, bytes) in &sizes {
        println!("| {name} | {:.1} KB |", *bytes as f64 / 1000.0);
    }
    for row in figures.rows()? {
        println!("{row}");
    }
    println!("\n| side by side, in the same Chromium | ours / js-libp2p |\n| --- | --- |");
    for row in side_by_side(&boot, &sizes, &js_sizes)? {
        println!("{row}");
    }
    let report = serde_json::json!({
        "relay_load": load,
        "dht": dht,
        "snapshots": snapshots,
        "wire_tap": wire,
        "layout": layout,
        "bundle_bytes": sizes.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
        "js_libp2p_bundle_bytes": js_sizes,
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

/// What the benchmarks measured.
struct Figures<'a> {
    boot: &'a Value,
    layout: &'a Value,
    wire: &'a Value,
    snapshots: &'a Value,
    dht: &'a Value,
    load: &'a Value,
}

/// The figure at `pointer` (a JSON pointer) in `value`, from the benchmark `source`; one that
/// is missing or not a finite number is an error naming it, never a NaN in the table.
fn figure(source: &str, value: &Value, pointer: &str) -> Result<f64> {
    value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("the {source} benchmark did not measure {pointer}"))
}

/// The entries of the array at `pointer`; none is an error naming it.
fn entries(source: &str, value: &Value, pointer: &str) -> Result<usize> {
    match value.pointer(pointer).and_then(Value::as_array) {
        Some(entries) if !entries.is_empty() => Ok(entries.len()),
        _ => Err(format!("the {source} benchmark measured no {pointer}")),
    }
}

impl Figures<'_> {
    /// The table's rows, in the order they are printed.
    fn rows(&self) -> Result<Vec<String>> {
        let (boot, layout, wire, snapshots, dht, load) = (
            |p: &str| figure("page", self.boot, p),
            |p: &str| figure("diagram layout", self.layout, p),
            |p: &str| figure("wire tap", self.wire, p),
            |p: &str| figure("snapshot", self.snapshots, p),
            |p: &str| figure("Kademlia", self.dht, p),
            |p: &str| figure("relay load", self.load, p),
        );
        let mut rows = vec![format!(
            "| first lesson can start (its first step's action on screen), from navigation (median; worst of {:.0}) | {:.0} ms; {:.0} ms |",
            boot("/first_lesson/runs")?,
            boot("/first_lesson/median_ms")?,
            boot("/first_lesson/worst_ms")?
        )];
        for (runs_at, topology) in [("/runs", "original topology"), ("/ring_runs", "ring")] {
            for i in 0..entries("page", self.boot, runs_at)? {
                let at = |name: &str| boot(&format!("{runs_at}/{i}/{name}"));
                let (peers, runs) = (at("peers")?, at("runs")?);
                rows.push(format!(
                    "| {peers} peers, {topology}, {:.0} connections: all connected, from navigation (median of {runs}) | {:.0} ms |",
                    at("connections")?,
                    at("median_ready_at_ms")?
                ));
                rows.push(format!(
                    "| {peers} peers, {topology}: from network start to all connected (median; worst) | {:.0} ms; {:.0} ms |",
                    at("median_took_ms")?,
                    at("worst_took_ms")?
                ));
                rows.push(format!(
                    "| {peers} peers, {topology}: frames per second while connecting (median); longest task (worst of {runs}); tasks over 200 ms | {:.0}; {:.0} ms; {:.0} |",
                    at("median_fps_while_connecting")?,
                    at("longest_task_while_connecting_ms")?,
                    at("tasks_over_200_ms")?
                ));
            }
        }
        rows.push(format!(
            "| frames per second, 20 peers pinging continuously, diagram following | {:.0} |",
            boot("/diagram/fps_while_pinging")?
        ));
        for i in 0..entries("page", self.boot, "/diagram/renders")? {
            let at = |name: &str| boot(&format!("/diagram/renders/{i}/{name}"));
            rows.push(format!(
                "| show the diagram of {:.0} messages (median; worst of 5) | {:.1} ms; {:.1} ms |",
                at("messages")?,
                at("median_ms")?,
                at("worst_ms")?
            ));
        }
        rows.push(format!(
            "| time scrubber: show a random moment of {:.0} messages in the page (median; worst of {:.0}) | {:.1} ms; {:.1} ms |",
            boot("/diagram/scrub/messages")?,
            boot("/diagram/scrub/moves")?,
            boot("/diagram/scrub/median_ms")?,
            boot("/diagram/scrub/worst_ms")?
        ));
        rows.push(format!(
            "| engine: state and diagram at a random moment of a 10000-message trace (median; worst) | {:.2} ms; {:.2} ms |",
            layout("/scrub_10000_messages_ms/median")?,
            layout("/scrub_10000_messages_ms/worst")?
        ));
        for messages in ["1000", "10000"] {
            rows.push(format!(
                "| engine layout of a screen of a {messages}-message trace (median; worst) | {:.2} ms; {:.2} ms |",
                layout(&format!("/layout_{messages}_messages_ms/median"))?,
                layout(&format!("/layout_{messages}_messages_ms/worst"))?
            ));
        }
        rows.push(format!(
            "| testbed ping round trip, 2 in-memory peers: untapped; tapped (median of {:.0}) | {:.3} ms; {:.3} ms (ratio {:.2}) |",
            wire("/pings")?,
            wire("/untapped/median_ping_rtt_ms")?,
            wire("/tapped/median_ping_rtt_ms")?,
            wire("/rtt_ratio")?
        ));
        rows.push(format!(
            "| transfer throughput, {:.0} MiB over one stream: untapped; tapped (best of {:.0}) | {:.0} MiB/s; {:.0} MiB/s (ratio {:.2}) |",
            wire("/transfer_mib")?,
            wire("/transfers")?,
            wire("/untapped/transfer_mib_per_s")?,
            wire("/tapped/transfer_mib_per_s")?,
            wire("/throughput_ratio")?
        ));
        for i in 0..entries("snapshot", self.snapshots, "/snapshots")? {
            let at = |name: &str| snapshots(&format!("/snapshots/{i}/{name}"));
            rows.push(format!(
                "| snapshot completion, {:.0} peers, {}: simulator (ticks, median of {:.0}); real in-memory peers | {:.0} ticks; {:.2} ms |",
                at("peers")?,
                text(self.snapshots, &format!("/snapshots/{i}/topology")),
                snapshots("/runs")?,
                at("simulated_median_ticks")?,
                at("real_peers_median_ms")?
            ));
        }
        for i in 0..entries("page", self.boot, "/snapshots")? {
            let at = |name: &str| boot(&format!("/snapshots/{i}/{name}"));
            rows.push(format!(
                "| snapshot completion in the page, {:.0} peers, {}: first recording to last marker in (median; worst of {:.0}) | {:.1} ms; {:.1} ms |",
                at("peers")?,
                text(self.boot, &format!("/snapshots/{i}/topology")),
                at("runs")?,
                at("median_ms")?,
                at("worst_ms")?
            ));
        }
        for i in 0..entries("Kademlia", self.dht, "/lookups")? {
            let at = |name: &str| dht(&format!("/lookups/{i}/{name}"));
            rows.push(format!(
                "| Kademlia, {:.0} peers (k {:.0}, α {:.0}): boot and settle; lookup hops mean, max (log₂ N {:.1}); requests; lookup time mean, max | {:.1} s; {:.2}, {:.0}; {:.1}; {:.1} ms, {:.1} ms |",
                at("peers")?,
                at("k")?,
                at("alpha")?,
                at("log2_n")?,
                at("boot_and_settle_ms")? / 1000.0,
                at("hops_mean")?,
                at("hops_max")?,
                at("requests_mean")?,
                at("lookup_ms_mean")?,
                at("lookup_ms_max")?
            ));
        }
        for i in 0..entries("page", self.boot, "/dht")? {
            let at = |name: &str| boot(&format!("/dht/{i}/{name}"));
            rows.push(format!(
                "| Kademlia in the page, {:.0} peers (k 3, α 3): navigation to settled (routing tables last changed); frames per second while settling; a lookup's hops, requests, time | {:.1} s ({:.1} s); {:.0}; {:.0}, {:.0}, {:.0} ms |",
                at("peers")?,
                at("settled_ms")? / 1000.0,
                at("tables_settled_ms")? / 1000.0,
                at("fps_while_settling")?,
                at("lookup_hops")?,
                at("lookup_requests")?,
                at("lookup_ms")?
            ));
        }
        rows.push(format!(
            "| the testbed's ping between two tabs directly (WebRTC); through the relay; between two peers in one page (medians of {:.0}, stream opened to both sides closed) | {:.1} ms; {:.1} ms; {:.1} ms |",
            boot("/rooms/pings")?,
            boot("/rooms/direct_median_ms")?,
            boot("/rooms/between_tabs_median_ms")?,
            boot("/rooms/in_page_median_ms")?
        ));
        rows.push(format!(
            "| two tabs: from connected through the relay to connected directly (WebRTC signaling and ICE) | {:.0} ms |",
            boot("/rooms/relayed_to_direct_ms")?
        ));
        rows.push(format!(
            "| two tabs: 32 MiB on a new stream, directly (WebRTC data channel); through the relay (circuit) | {:.1} MiB/s; {:.1} MiB/s |",
            boot("/rooms/bulk_direct_mib_per_s")?,
            boot("/rooms/bulk_relayed_mib_per_s")?
        ));
        rows.push(format!(
            "| relay load: clients holding a reservation (of {:.0}); circuits; relay memory per client; relay CPU per 1,000 pings relayed; ping round trip through the relay (median) | {:.0}; {:.0}; {:.0} KiB; {:.0} ms; {:.2} ms |",
            load("/clients")?,
            load("/reserved")?,
            load("/circuits")?,
            load("/relay_kib_per_client")?,
            load("/relay_cpu_ms_per_1000_pings")?,
            load("/ping_rtt_median_ms")?
        ));
        Ok(rows)
    }
}

/// A label in the figures (a topology's name), or `?` without one.
fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("?")
}

/// The executables `cargo test` builds (binaries and examples), by name: built now if missing,
/// found through cargo's own messages.
fn tests_builds() -> Result<HashMap<String, PathBuf>> {
    let output = native_cargo()
        .args(["test", "--no-run", "--quiet", "--message-format=json"])
        .output()
        .map_err(|e| format!("could not run cargo test --no-run: {e}"))?;
    if !output.status.success() {
        std::io::stderr().write_all(&output.stderr).ok();
        return Err("cargo test --no-run failed".into());
    }
    let mut built = HashMap::new();
    for line in output.stdout.split(|&b| b == b'\n') {
        let Ok(message) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let kinds = &message["target"]["kind"];
        let is = |kind: &str| {
            kinds
                .as_array()
                .is_some_and(|k| k.iter().any(|v| v == kind))
        };
        let test = message["profile"]["test"].as_bool().unwrap_or(true);
        if let (Some(name), Some(path)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            if (is("bin") || is("example")) && !test {
                built.insert(name.to_owned(), PathBuf::from(path));
            }
        }
    }
    Ok(built)
}

/// A benchmark written as an example of one of the packages: it prints JSON.
struct Example<'a> {
    package: &'static str,
    name: &'static str,
    /// In a smoke run, what `cargo test` built.
    built: Option<&'a HashMap<String, PathBuf>>,
}

impl Example<'_> {
    /// Runs it (natively, built with the `native` profile unless a smoke run) and reads its JSON.
    fn run(&self, size: Size, env: &[(&str, &Path)]) -> Result<Value> {
        let mut command = match self.built {
            Some(built) => {
                let path = built
                    .get(self.name)
                    .ok_or_else(|| format!("cargo test built no {} example", self.name))?;
                let mut command = Command::new(path);
                command.current_dir(root());
                command
            }
            None => {
                let mut cargo = native_profile("run", self.package);
                cargo.args(["--example", self.name]);
                cargo
            }
        };
        for (name, value) in env {
            command.env(name, value);
        }
        let output = size
            .apply(&mut command)
            .output()
            .map_err(|e| format!("could not run the {} benchmark: {e}", self.name))?;
        if !output.status.success() {
            return Err(format!("the {} benchmark failed", self.name));
        }
        serde_json::from_slice::<Value>(&output.stdout)
            .map_err(|e| format!("the {} benchmark printed no JSON: {e}", self.name))
    }
}

/// Builds e2e/js-libp2p/page.js with esbuild (installed by the set-up) into
/// target/js-libp2p/, beside its index.html; returns that folder.
fn js_libp2p_page() -> Result<PathBuf> {
    let source = root().join("e2e/js-libp2p");
    let out = root().join("target/js-libp2p");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    run(Command::new(source.join("node_modules/.bin/esbuild"))
        .args([
            "page.js",
            "--bundle",
            "--minify",
            "--format=esm",
            "--platform=browser",
        ])
        .arg(format!("--outfile={}", out.join("bundle.js").display()))
        .arg("--log-level=warning")
        .current_dir(&source))?;
    std::fs::copy(source.join("index.html"), out.join("index.html"))
        .map_err(|e| format!("index.html: {e}"))?;
    Ok(out)
}

/// The js-libp2p bundle's raw, gzip and brotli sizes.
fn js_sizes(dir: &Path) -> Result<Value> {
    let bytes = std::fs::read(dir.join("bundle.js")).map_err(|e| format!("bundle.js: {e}"))?;
    Ok(serde_json::json!({
        "raw": bytes.len(),
        "gzip": compress::compress("gzip", &bytes).len(),
        "brotli": compress::compress("br", &bytes).len(),
    }))
}

/// Rows of the same work done by the testbed's page and by js-libp2p in the same browser.
fn side_by_side(boot: &Value, sizes: &[(String, u64)], js_sizes: &Value) -> Result<Vec<String>> {
    let ours = |p: &str| figure("page", boot, p);
    let theirs = |p: &str| figure("js-libp2p", boot, &format!("/js_libp2p{p}"));
    let size = |encoding: &str| {
        sizes
            .iter()
            .find(|(name, _)| name == &format!("wasm + JS glue, {encoding}, in all"))
            .map(|(_, bytes)| *bytes as f64 / 1000.0)
            .ok_or_else(|| format!("no {encoding} size of the page"))
    };
    let js_size = |encoding: &str| {
        figure("js-libp2p bundle", js_sizes, &format!("/{encoding}")).map(|b| b / 1000.0)
    };
    let mut rows = vec![format!(
        "| the page's code: gzip; brotli (ours: wasm + JS glue in all, first download and chunks; js-libp2p: its bundle of the same protocols, without any page) | {:.0} / {:.0} KB; {:.0} / {:.0} KB |",
        size("gzip")?,
        js_size("gzip")?,
        size("brotli")?,
        js_size("brotli")?
    )];
    for (peers, run, i) in paired_runs(boot, "/runs", "/connect")? {
        rows.push(format!(
            "| {peers} peers in one page, original topology: from start to all connected (median) | {:.0} / {:.0} ms |",
            ours(&format!("/runs/{run}/median_took_ms"))?,
            theirs(&format!("/connect/{i}/median_took_ms"))?
        ));
    }
    rows.push(format!(
        "| a ping on a new stream between two peers of one page (ours: the testbed's PING and PONG, both sides closed; js-libp2p: `/ipfs/ping/1.0.0`), median | {:.1} / {:.1} ms |",
        ours("/rooms/in_page_median_ms")?,
        theirs("/connect/0/ping_median_ms")?
    ));
    for (peers, run, i) in paired_runs(boot, "/dht", "/dht")? {
        rows.push(format!(
            "| Kademlia, {peers} peers in a star (k 3, α 3), from navigation: the last routing-table change (both: sizes read every 100 ms); ours settled (no lookup running and 500 ms without kad traffic); a closest-peers lookup | {:.1} / {:.1} s; {:.1} s; {:.0} / {:.0} ms |",
            ours(&format!("/dht/{run}/tables_settled_ms"))? / 1000.0,
            theirs(&format!("/dht/{i}/settled_ms"))? / 1000.0,
            ours(&format!("/dht/{run}/settled_ms"))? / 1000.0,
            ours(&format!("/dht/{run}/lookup_ms"))?,
            theirs(&format!("/dht/{i}/lookup_ms"))?
        ));
    }
    Ok(rows)
}

/// Pairs each js-libp2p run under `/js_libp2p{theirs}` with the page's run of as many peers
/// under `ours`: (peers, the page's index, js-libp2p's index).
fn paired_runs(boot: &Value, ours: &str, theirs: &str) -> Result<Vec<(f64, usize, usize)>> {
    let theirs = format!("/js_libp2p{theirs}");
    (0..entries("js-libp2p", boot, &theirs)?)
        .map(|i| {
            let peers = figure("js-libp2p", boot, &format!("{theirs}/{i}/peers"))?;
            let run = (0..entries("page", boot, ours)?)
                .find(|&r| figure("page", boot, &format!("{ours}/{r}/peers")).ok() == Some(peers))
                .ok_or(format!(
                    "the page has no run under {ours} with {peers} peers"
                ))?;
            Ok((peers, run, i))
        })
        .collect()
}

/// Raw, gzip and brotli sizes of the page's code: the first download (the main wasm and every
/// script: what a page needs before its first lesson starts) and the chunks fetched when
/// first used (the DHT's, the rooms', and those they share), in all and each.
fn bundle_sizes(dist: &Path) -> Result<Vec<(String, u64)>> {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    let mut sizes = Vec::new();
    let mut first = [0u64; 3];
    let mut later = [0u64; 3];
    for file in files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let total = match file.extension().and_then(|e| e.to_str()) {
            Some("wasm") if name == bundle::MAIN_WASM => &mut first,
            Some("wasm") => &mut later,
            Some("js") => &mut first,
            _ => continue,
        };
        let bytes = std::fs::read(&file).map_err(|e| e.to_string())?;
        let each = [
            bytes.len() as u64,
            compress::compress("gzip", &bytes).len() as u64,
            compress::compress("br", &bytes).len() as u64,
        ];
        for (sum, size) in total.iter_mut().zip(each) {
            *sum += size;
        }
        sizes.push((format!("{name}, brotli"), each[2]));
    }
    for (what, total) in [
        ("first download", first),
        ("chunks loaded when first used", later),
    ] {
        for (encoding, bytes) in ["raw", "gzip", "brotli"].iter().zip(total) {
            sizes.push((format!("{what} (wasm + JS), {encoding}"), bytes));
        }
    }
    for (encoding, i) in [("gzip", 1), ("brotli", 2)] {
        sizes.push((
            format!("wasm + JS glue, {encoding}, in all"),
            first[i] + later[i],
        ));
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_js_libp2p_run_is_paired_with_the_page_run_of_as_many_peers() {
        let boot = serde_json::json!({
            "runs": [{"peers": 5}, {"peers": 20}],
            "js_libp2p": {"connect": [{"peers": 20}, {"peers": 5}], "dht": [{"peers": 100}]},
            "dht": [{"peers": 30}],
        });
        assert_eq!(
            paired_runs(&boot, "/runs", "/connect"),
            Ok(vec![(20.0, 1, 0), (5.0, 0, 1)])
        );
        let unmatched = paired_runs(&boot, "/dht", "/dht").unwrap_err();
        assert!(unmatched.contains("100 peers"), "{unmatched}");
    }

    #[test]
    fn a_figure_not_measured_is_an_error_naming_it() {
        let measured = serde_json::json!({"runs": [{"fps": 57.5}, {"fps": null}], "none": []});
        assert_eq!(figure("page", &measured, "/runs/0/fps"), Ok(57.5));
        for missing in ["/runs/1/fps", "/runs/2/fps", "/fps"] {
            let error = figure("page", &measured, missing).unwrap_err();
            assert_eq!(
                error,
                format!("the page benchmark did not measure {missing}")
            );
        }
        assert_eq!(entries("page", &measured, "/runs"), Ok(2));
        assert!(entries("page", &measured, "/none").is_err());
        assert!(entries("page", &measured, "/absent").is_err());
    }
}
