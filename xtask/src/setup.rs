//! Installs what the project needs, idempotently, and fast when everything is present:
//! Debian's packages (Chromium, and the browser Rust toolchain where rustup lacks wasm32),
//! trunk and wasm-bindgen-cli at pinned versions, and npm packages (the browser tests, the
//! js-libp2p page, binaryen's wasm-opt).

use std::env;
use std::path::PathBuf;
use std::process::Command;

use crate::command::{cmd, output, root, run, step, Result};

const TRUNK_VERSION: &str = "0.21.14";
/// Must equal the `wasm-bindgen` pinned in Cargo.toml.
const WASM_BINDGEN_VERSION: &str = "0.2.108";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Rust toolchain for browsers, linked into rustup under this name.
const DEBIAN_TOOLCHAIN: &str = "debian-web";
const BROWSER_PACKAGES: &[&str] = &["chromium", "chromium-driver"];
/// Debian's Rust that builds `std` for wasm from source, and the linker it needs.
const DEBIAN_WASM_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "lld-22",
];
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How this machine builds wasm, once set up.
pub struct Toolchain {
    /// Where trunk and wasm-bindgen are installed (`cargo install --root`).
    tools: PathBuf,
    /// False where rustup has the wasm32 target itself; true when Debian's toolchain stands in.
    debian_wasm: bool,
}

pub fn main() -> Result<Toolchain> {
    step("set-up", || {
        let debian_wasm = !rustup_has_wasm_target();
        let mut packages = BROWSER_PACKAGES.to_vec();
        if debian_wasm {
            packages.extend(DEBIAN_WASM_PACKAGES);
        }
        if output(Command::new("node").arg("--version")).is_none() {
            packages.extend(["nodejs", "npm"]);
        }
        install_debian_packages(&packages)?;
        if debian_wasm {
            link_debian_toolchain()?;
        }
        let toolchain = Toolchain {
            tools: tools_dir(),
            debian_wasm,
        };
        toolchain.install_tool("trunk", "trunk", TRUNK_VERSION)?;
        toolchain.install_tool("wasm-bindgen-cli", "wasm-bindgen", WASM_BINDGEN_VERSION)?;
        install_npm_packages()?;
        // Trunk builds offline: fetch every crate, including those only build-std needs.
        run(toolchain
            .wasm_cargo()
            .args(["fetch", "--target", WASM_TARGET]))?;
        Ok(toolchain)
    })
}

impl Toolchain {
    /// `cargo` set up to build for the browser.
    pub fn wasm_cargo(&self) -> Command {
        let mut command = self.with_wasm_env(cmd("cargo"));
        command.env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            self.tools.join("bin/wasm-bindgen-test-runner"),
        );
        command.env("CHROMEDRIVER", CHROMEDRIVER);
        command
    }

    /// `trunk` with the installed wasm-bindgen and the browser toolchain.
    pub fn trunk(&self) -> Command {
        let mut command = self.with_wasm_env(cmd(&self.tools.join("bin/trunk").to_string_lossy()));
        command.arg("--skip-version-check");
        command
    }

    /// `cargo` building the page with cargo profile `profile`. The release build is as small
    /// as it gets: where std is built from source, panics abort at once without formatting a
    /// message (that machinery is ~40 KB of the gzipped page), and std picks its smaller
    /// implementations (`optimize_for_size`, ~10 KB). Its own target dir, so dev and test
    /// builds keep their messages.
    ///
    /// Leptos's `erase_components` would save ~20 KB more, but the page then took three times
    /// as long to show a scrubbed moment (99 ms instead of 33 ms): not worth it.
    pub fn wasm_build(&self, profile: &str) -> Command {
        let mut command = self.with_wasm_env(cmd("cargo"));
        command.env("CARGO_TARGET_DIR", self.wasm_target_dir(profile));
        if self.debian_wasm && profile == "release" {
            command
                .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort")
                .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size");
        }
        command
    }

    /// Where [`Toolchain::wasm_build`] builds with `profile`.
    pub fn wasm_target_dir(&self, profile: &str) -> PathBuf {
        match (self.debian_wasm, profile) {
            (true, "release") => root().join("target/wasm-release"),
            _ => root().join("target"),
        }
    }

    /// The installed `wasm-bindgen`, matching the pinned crate.
    pub fn wasm_bindgen(&self) -> Command {
        cmd(&self.tools.join("bin/wasm-bindgen").to_string_lossy())
    }

    fn with_wasm_env(&self, mut command: Command) -> Command {
        let path = env::var_os("PATH").unwrap_or_default();
        // Trunk finds wasm-opt on the path (release builds only).
        let mut paths = vec![
            self.tools.join("bin"),
            root().join("xtask/wasm-opt/node_modules/.bin"),
        ];
        paths.extend(env::split_paths(&path));
        command.env(
            "PATH",
            env::join_paths(paths).expect("paths without separators"),
        );
        if self.debian_wasm {
            command
                .env("RUSTUP_TOOLCHAIN", DEBIAN_TOOLCHAIN)
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort");
        }
        command
    }

    /// Installs `krate` at `version` unless `binary --version` already says so.
    fn install_tool(&self, krate: &str, binary: &str, version: &str) -> Result {
        let installed = output(Command::new(self.tools.join("bin").join(binary)).arg("--version"));
        if installed.is_some_and(|v| v.split_whitespace().any(|word| word == version)) {
            return Ok(());
        }
        run(native_cargo()
            .args(["install", "--locked", "--version", version, "--root"])
            .arg(&self.tools)
            .arg(krate))
    }
}

/// `cargo` for native builds with rustup's default toolchain, whatever called us.
pub fn native_cargo() -> Command {
    let mut command = cmd("cargo");
    command.env_remove("RUSTUP_TOOLCHAIN");
    command
}

fn tools_dir() -> PathBuf {
    if let Some(dir) = env::var_os("P2P_TESTBED_TOOLS") {
        return PathBuf::from(dir);
    }
    let home = env::var_os("HOME").map_or_else(|| root().join("target"), PathBuf::from);
    home.join(".cache/p2p-testbed/tools")
}

fn rustup_has_wasm_target() -> bool {
    output(Command::new("rustup").args(["target", "list", "--installed"]))
        .is_some_and(|targets| targets.lines().any(|t| t.trim() == WASM_TARGET))
}

fn link_debian_toolchain() -> Result {
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if toolchains.lines().any(|t| t.starts_with(DEBIAN_TOOLCHAIN)) {
        return Ok(());
    }
    run(Command::new("rustup").args(["toolchain", "link", DEBIAN_TOOLCHAIN, "/usr"]))
}

fn install_debian_packages(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            !output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
                .is_some_and(|status| status.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|id| id.trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if is_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        command
    };
    run(&mut apt(&["update", "-qq"]))?;
    run(apt(&["install", "-y", "-qq"]).args(&missing))
}

/// `npm ci` where a locked package is not installed at its version: e2e/ (playwright-core,
/// for the browser tests), e2e/js-libp2p/ (js-libp2p and esbuild, for the benchmark's
/// side-by-side page and the `/webrtc` interop test; its newest package is checked) and
/// xtask/wasm-opt/ (binaryen's wasm-opt, for the release page).
fn install_npm_packages() -> Result {
    for (folder, package) in [
        ("e2e", "playwright-core"),
        ("e2e/js-libp2p", "@libp2p/webrtc"),
        ("xtask/wasm-opt", "binaryen"),
    ] {
        let folder = root().join(folder);
        let wanted = version_in(&folder.join("package.json"), &["dependencies", package]);
        let installed = version_in(
            &folder
                .join("node_modules")
                .join(package)
                .join("package.json"),
            &["version"],
        );
        if wanted.is_none() || wanted != installed {
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(folder))?;
        }
    }
    Ok(())
}

fn version_in(file: &std::path::Path, path: &[&str]) -> Option<String> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    path.iter()
        .try_fold(&json, |value, key| value.get(key))?
        .as_str()
        .map(str::to_owned)
}
