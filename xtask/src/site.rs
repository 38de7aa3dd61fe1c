//! A small static file server for a built page: each file is sent precompressed (brotli, else
//! gzip) when the browser accepts it, with an ETag so a reload downloads nothing new. Enough
//! for a classroom on one network; any static host serves `cargo xtask build`'s `dist/` too.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::thread;
use std::time::{Duration, UNIX_EPOCH};

use crate::compress::{with_suffix, ENCODINGS};

/// A request's head larger than this is refused.
const MAX_HEAD_BYTES: u64 = 16 * 1024;

/// Serves `dist` on `listener` from a thread of its own, one thread per connection.
pub fn spawn(dist: PathBuf, listener: TcpListener) {
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dist = dist.clone();
            thread::spawn(move || {
                let _ = answer(&dist, stream);
            });
        }
    });
}

fn answer(dist: &Path, mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = BufReader::new(stream.try_clone()?.take(MAX_HEAD_BYTES));
    let mut request_line = String::new();
    head.read_line(&mut request_line)?;
    let mut accepted = Vec::new();
    let mut if_none_match = None;
    loop {
        let mut line = String::new();
        if head.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("accept-encoding") {
            accepted = value
                .split(',')
                .filter_map(|part| part.split(';').next())
                .map(|coding| coding.trim().to_ascii_lowercase())
                .collect();
        } else if name.eq_ignore_ascii_case("if-none-match") {
            if_none_match = Some(value.trim().to_owned());
        }
    }
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or_default();
    let target = words.next().unwrap_or("/");
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            &[],
            b"only GET and HEAD\n",
        );
    }
    let Some(file) = resolve(dist, target) else {
        return respond(&mut stream, "404 Not Found", &[], b"not found\n");
    };
    let (file, encoding) = ENCODINGS
        .iter()
        .filter(|(coding, _)| accepted.iter().any(|a| a == coding))
        .map(|(coding, suffix)| (with_suffix(&file, suffix), Some(*coding)))
        .find(|(copy, _)| copy.is_file())
        .unwrap_or((file.clone(), None));
    let Ok(metadata) = fs::metadata(&file) else {
        return respond(&mut stream, "404 Not Found", &[], b"not found\n");
    };
    let modified = metadata
        .modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    let etag = format!("\"{:x}-{:x}\"", metadata.len(), modified);
    let mut headers = vec![
        ("Content-Type", content_type(target)),
        ("Cache-Control", "no-cache"),
        ("Vary", "Accept-Encoding"),
        ("ETag", etag.as_str()),
    ];
    if let Some(encoding) = encoding {
        headers.push(("Content-Encoding", encoding));
    }
    if if_none_match.as_deref() == Some(etag.as_str()) {
        return respond(&mut stream, "304 Not Modified", &headers, b"");
    }
    let body = if method == "HEAD" {
        Vec::new()
    } else {
        fs::read(&file)?
    };
    let length = metadata.len().to_string();
    headers.push(("Content-Length", &length));
    write_head(&mut stream, "200 OK", &headers)?;
    stream.write_all(&body)
}

/// The file a request path names inside `dist` (`/` is `index.html`), or None for a path that
/// leaves it or names nothing.
fn resolve(dist: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let relative = Path::new(path.trim_start_matches('/'));
    if !relative
        .components()
        .all(|part| matches!(part, Component::Normal(_)))
    {
        return None;
    }
    let file = dist.join(relative);
    let file = if file.is_dir() {
        file.join("index.html")
    } else {
        file
    };
    file.is_file().then_some(file)
}

fn content_type(target: &str) -> &'static str {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("wasm") => "application/wasm",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("html") | None => "text/html; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let length = body.len().to_string();
    let mut all = headers.to_vec();
    if !headers.iter().any(|(name, _)| *name == "Content-Type") {
        all.push(("Content-Type", "text/plain; charset=utf-8"));
    }
    all.push(("Content-Length", &length));
    write_head(stream, status, &all)?;
    stream.write_all(body)
}

fn write_head(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)]) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_a_file_inside_the_page_or_nothing() {
        let dist = std::env::temp_dir().join(format!("p2p-testbed-site-{}", std::process::id()));
        fs::create_dir_all(&dist).unwrap();
        fs::write(dist.join("index.html"), "<!doctype html>").unwrap();
        fs::write(dist.join("app.wasm"), b"\0asm").unwrap();
        assert_eq!(resolve(&dist, "/"), Some(dist.join("index.html")));
        assert_eq!(
            resolve(&dist, "/?relay=x#v=1"),
            Some(dist.join("index.html"))
        );
        assert_eq!(resolve(&dist, "/app.wasm"), Some(dist.join("app.wasm")));
        assert_eq!(resolve(&dist, "/../Cargo.toml"), None);
        assert_eq!(resolve(&dist, "/missing.js"), None);
        assert_eq!(content_type("/app.wasm"), "application/wasm");
        assert_eq!(content_type("/?x=1"), "text/html; charset=utf-8");
        fs::remove_dir_all(&dist).unwrap();
    }
}
