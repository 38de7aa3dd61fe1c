//! Precompression of a built page: each text or wasm file in `dist/` gets a brotli (`.br`) and
//! a gzip (`.gz`) copy beside it, so a server hands out the smallest one the browser accepts
//! without compressing on every request. Copies are kept in a cache by content: trunk writes
//! `dist/` anew on every build, but the same bytes are never compressed twice.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::command::{root, Result};

/// Files worth compressing; images and fonts are compressed already.
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "html", "json", "svg"];

/// The encodings made, best first: (Content-Encoding, file suffix).
pub const ENCODINGS: [(&str, &str); 2] = [("br", "br"), ("gzip", "gz")];

/// Writes the `.br` and `.gz` copies of every compressible file in `dist`, from the cache in
/// `target/precompressed` when the same bytes were compressed before.
pub fn precompress(dist: &Path) -> Result {
    precompress_with_cache(dist, &root().join("target/precompressed"))
}

fn precompress_with_cache(dist: &Path, cache: &Path) -> Result {
    fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    for file in compressible_files(dist)? {
        let bytes = fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        let key = format!("{:016x}-{}", hasher.finish(), bytes.len());
        for (encoding, suffix) in ENCODINGS {
            let cached = cache.join(format!("{key}.{suffix}"));
            if !cached.is_file() {
                fs::write(&cached, compress(encoding, &bytes))
                    .map_err(|e| format!("{}: {e}", cached.display()))?;
            }
            let copy = with_suffix(&file, suffix);
            fs::copy(&cached, &copy).map_err(|e| format!("{}: {e}", copy.display()))?;
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn each_copy_decompresses_to_the_original_and_is_made_once() {
        let dist =
            std::env::temp_dir().join(format!("p2p-testbed-compress-{}", std::process::id()));
        let cache = dist.join("cache");
        fs::create_dir_all(&dist).unwrap();
        let page = "<p>peer</p>".repeat(500);
        fs::write(dist.join("index.html"), &page).unwrap();
        fs::write(dist.join("photo.png"), b"not text").unwrap();
        precompress_with_cache(&dist, &cache).unwrap();
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
        // The same bytes written anew (as trunk does on every build) come from the cache.
        let cached: Vec<_> = fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let made = fs::metadata(&cached[0]).unwrap().modified().unwrap();
        fs::remove_file(dist.join("index.html.br")).unwrap();
        fs::write(dist.join("index.html"), &page).unwrap();
        precompress_with_cache(&dist, &cache).unwrap();
        assert_eq!(fs::metadata(&cached[0]).unwrap().modified().unwrap(), made);
        assert_eq!(fs::read(dist.join("index.html.br")).unwrap(), br);
        fs::remove_dir_all(&dist).unwrap();
    }
}
