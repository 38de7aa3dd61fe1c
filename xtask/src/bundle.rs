//! The page's files, built without Trunk so the wasm can be split: the app compiled to wasm,
//! split into the first download and chunks fetched when first used (`wasm_split`: the DHT's
//! and the rooms' peers), bound to JavaScript by wasm-bindgen, and `index.html` pointing at
//! them. `cargo xtask serve --dev` still uses `trunk serve`, unsplit.

use std::fs;
use std::path::{Path, PathBuf};

use crate::command::{cmd, root, run, Result};
use crate::setup::{Toolchain, WASM_TARGET};

/// binaryen's optimizer, from npm: Debian's is too old for the externref table. `-O1` is the
/// level that makes the compressed page smaller (`-Os` and `-Oz` shrink the raw wasm more but
/// compress worse); it runs on release builds, on the main module and each chunk.
const WASM_OPT: &str = "xtask/wasm-opt/node_modules/.bin/wasm-opt";
/// What rustc's wasm uses, for wasm-opt to keep.
const WASM_FEATURES: &[&str] = &[
    "--enable-reference-types",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-multivalue",
    "--enable-mutable-globals",
];
/// The module `index.html` starts; the chunks import the main module's exports from it.
const MAIN_JS: &str = "app.js";
/// The main module: the first download, with the page and the in-page peers.
pub const MAIN_WASM: &str = "app_bg.wasm";
/// The glue the split main module imports its chunk loaders from.
const LINK_JS: &str = "__wasm_split.js";

/// Builds the page with cargo profile `profile` into `dist`, replacing what was there.
pub fn build(toolchain: &Toolchain, profile: &str, dist: &Path) -> Result {
    let target_dir = toolchain.wasm_target_dir(profile);
    // Only the final link needs relocations (the splitter follows them), so they are passed to
    // the app's own rustc alone and the dependencies' builds are shared with other wasm builds.
    run(toolchain.wasm_build(profile).args([
        "rustc",
        "--package",
        "app",
        "--bin",
        "app",
        "--features",
        "split",
        "--target",
        WASM_TARGET,
        "--profile",
        profile,
        "--",
        "-Clink-args=--emit-relocs",
    ]))?;
    let wasm = target_dir.join(WASM_TARGET).join(profile).join("app.wasm");
    let split_dir = target_dir.join("split").join(profile);
    recreate(&split_dir)?;
    let main_wasm = split_dir.join("main.wasm");
    let input = fs::read(&wasm).map_err(|e| format!("could not read {}: {e}", wasm.display()))?;
    let (link_name, main_module) = (format!("./{LINK_JS}"), format!("./{MAIN_JS}"));
    println!("$ wasm_split {} {}", wasm.display(), split_dir.display());
    wasm_split_cli_support::transform({
        let mut options = wasm_split_cli_support::Options::new(&input);
        options.output_dir = &split_dir;
        options.main_out_path = &main_wasm;
        options.link_name = &link_name;
        options.main_module = &main_module;
        options
    })
    .map_err(|e| format!("could not split {}: {e:?}", wasm.display()))?;

    recreate(dist)?;
    run(toolchain
        .wasm_bindgen()
        .arg(&main_wasm)
        .args(["--target", "web", "--no-typescript", "--keep-lld-exports"])
        .args(["--out-name", MAIN_JS.trim_end_matches(".js"), "--out-dir"])
        .arg(dist))?;
    for chunk in files_in(&split_dir)? {
        if chunk != main_wasm {
            copy(&chunk, &dist.join(chunk.file_name().expect("a file")))?;
        }
    }
    debug_assert!(dist.join(LINK_JS).is_file());
    if profile == "release" {
        for wasm in files_in(dist)?
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "wasm"))
        {
            run(cmd(&root().join(WASM_OPT).to_string_lossy())
                .arg("-O1")
                .args(WASM_FEATURES)
                .arg(wasm)
                .arg("-o")
                .arg(wasm))?;
        }
    }
    copy(&root().join("style.css"), &dist.join("style.css"))?;
    let page = fs::read_to_string(root().join("index.html"))
        .map_err(|e| format!("could not read index.html: {e}"))?;
    fs::write(dist.join("index.html"), index_html(&page)?)
        .map_err(|e| format!("could not write index.html: {e}"))
}

/// `index.html` as served: Trunk's two `data-trunk` links (kept for `trunk serve`) become the
/// stylesheet and the script that starts the wasm.
fn index_html(page: &str) -> Result<String> {
    let start = |tag: &str| {
        page.find(tag)
            .ok_or_else(|| format!("index.html has no `{tag}` (the build replaces it)"))
    };
    let css = start(r#"<link data-trunk rel="css""#)?;
    let rust = start(r#"<link data-trunk rel="rust""#)?;
    let end_of = |from: usize| {
        page[from..]
            .find("/>")
            .map(|end| from + end + 2)
            .ok_or("index.html: a data-trunk link is not closed with `/>`")
    };
    let (css_end, rust_end) = (end_of(css)?, end_of(rust)?);
    if css_end > rust {
        return Err("index.html: the css link must come before the rust link".into());
    }
    let wasm = MAIN_WASM;
    let script = format!(
        r#"<link rel="modulepreload" href="/{MAIN_JS}" />
    <link rel="preload" href="/{wasm}" as="fetch" type="application/wasm" crossorigin="anonymous" />
    <script type="module">
      import init from "/{MAIN_JS}";
      init({{ module_or_path: "/{wasm}" }});
    </script>"#
    );
    Ok(format!(
        "{}<link rel=\"stylesheet\" href=\"/style.css\" />{}{}{}",
        &page[..css],
        &page[css_end..rust],
        script,
        &page[rust_end..]
    ))
}

fn recreate(dir: &Path) -> Result {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("could not empty {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", dir.display()))
}

fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries =
        fs::read_dir(dir).map_err(|e| format!("could not list {}: {e}", dir.display()))?;
    Ok(entries.flatten().map(|entry| entry.path()).collect())
}

fn copy(from: &Path, to: &Path) -> Result {
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("could not copy {} to {}: {e}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trunk_links_become_a_stylesheet_and_the_start_script() {
        let page = fs::read_to_string(root().join("index.html")).unwrap();
        let served = index_html(&page).unwrap();
        assert!(!served.contains("data-trunk"), "{served}");
        assert!(served.contains(r#"<link rel="stylesheet" href="/style.css" />"#));
        assert!(served.contains(r#"import init from "/app.js";"#));
        assert!(served.contains("<title>"), "the rest of the page stays");
    }
}
