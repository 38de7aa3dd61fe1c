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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn each_copy_decompresses_to_the_original_and_is_made_once() {
        let dist =
            std::env::temp_dir().join(format!("p2p-testbed-compress-{}", std::process::id()));
        fs::create_dir_all(&dist).unwrap();
        let page = "<p>peer</p>".repeat(500);
        fs::write(dist.join("index.html"), &page).unwrap();
        fs::write(dist.join("photo.png"), b"not text").unwrap();
        precompress(&dist).unwrap();
        let br = fs::read(dist.join("index.html.br")).unwrap();
        let mut unpacked = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, page.as_bytes());
        let gz = fs::read(dist.join("index.html.gz")).unwrap();
        let mut unpacked = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, page);
        assert!(br.len() < page.len() / 10);
        assert!(!dist.join("photo.png.br").exists());
        // A copy newer than its original is kept.
        let made = fs::metadata(dist.join("index.html.br"))
            .unwrap()
            .modified()
            .unwrap();
        precompress(&dist).unwrap();
        assert_eq!(
            fs::metadata(dist.join("index.html.br"))
                .unwrap()
                .modified()
                .unwrap(),
            made
        );
        fs::remove_dir_all(&dist).unwrap();
    }
}
