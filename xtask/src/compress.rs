//! Precompression of a built page: each text or wasm file in `dist/` gets a brotli (`.br`) and
//! a gzip (`.gz`) copy beside it, made once per build, so a server hands out the smallest one
//! the browser accepts without compressing on every request.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::command::Result;

/// Files worth compressing; images and fonts are compressed already.
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "html", "json", "svg"];

/// The encodings made, best first: (Content-Encoding, file suffix).
pub const ENCODINGS: [(&str, &str); 2] = [("br", "br"), ("gzip", "gz")];

/// Writes the `.br` and `.gz` copies of every compressible file in `dist` that is newer than
/// its copies.
pub fn precompress(dist: &Path) -> Result {
    for file in compressible_files(dist)? {
        let bytes = fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (encoding, suffix) in ENCODINGS {
            let copy = with_suffix(&file, suffix);
            if is_newer(&copy, &file) {
                continue;
            }
            let compressed = compress(encoding, &bytes);
            fs::write(&copy, compressed).map_err(|e| format!("{}: {e}", copy.display()))?;
        }
    }
    Ok(())
}

/// `bytes` compressed with `encoding` ("br" or "gzip") at its best setting.
pub fn compress(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if encoding == "br" {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 24,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("writing to memory");
    } else {
        let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::best());
        encoder.write_all(bytes).expect("writing to memory");
        out = encoder.finish().expect("writing to memory");
    }
    out
}

/// `file` with `.suffix` appended: `app.wasm` → `app.wasm.br`.
pub fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn compressible_files(dist: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    Ok(entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| COMPRESSIBLE.contains(&e))
        })
        .collect())
}

fn is_newer(copy: &Path, original: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    matches!((modified(copy), modified(original)), (Some(c), Some(o)) if c >= o)
}
