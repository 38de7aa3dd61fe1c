//! The engine reads from the ground up: every source file sits on a floor (`FLOORS`), and it
//! may use only what is defined on lower floors or in its own folder on its own floor. A
//! protocol's folder spans floors (its wire format low, the views folding its events high),
//! so slices and layers hold together, and no two floors can import each other. Beyond floors,
//! no two files use each other at all, even through others.
//!
//! The check reads the sources: each `crate::…`, `super::…` or child-module path is resolved
//! to the file that defines the item it names.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lowest first. A file belongs to the floor of the longest prefix of its path (relative to
/// `src/`) listed here.
const FLOORS: &[(&str, &[&str])] = &[
    (
        "ground: names, labels, time, pacing, topologies",
        &[
            "identity.rs",
            "labels.rs",
            "pace.rs",
            "runtime.rs",
            "topology.rs",
        ],
    ),
    ("the Kademlia key space: XOR distance", &["dht/key.rs"]),
    (
        "trace context: ids and clocks carried inside messages, and the marks each protocol gives the trace",
        &[
            "trace/mod.rs",
            "trace/clock.rs",
            "trace/context.rs",
            "trace/layer.rs",
            "trace/mark.rs",
        ],
    ),
    (
        "wire formats: framing, muxing and each protocol's messages",
        &["wire/"],
    ),
    (
        "protocols: what each one says and the steps it reports",
        &[
            "protocols/",
            "dht/mod.rs",
            "dht/node.rs",
            "dht/shown.rs",
            "snapshot/",
            "room/mod.rs",
            "room/client.rs",
            "room/shown.rs",
            "webrtc/",
        ],
    ),
    (
        "events: the steps of every protocol, one stream",
        &["event.rs"],
    ),
    ("a peer: one libp2p swarm", &["peer/"]),
    (
        "kinds of peers: what each runs beyond what every peer runs",
        &["dht/peer.rs", "room/peer.rs"],
    ),
    ("a network of peers", &["network.rs"]),
    (
        "what runs on peers: settling, token systems, a tab's room",
        &[
            "dht/settle.rs",
            "room/link/",
            "room/members.rs",
            "room/tokens.rs",
            "snapshot/live/",
        ],
    ),
    (
        "views: events and wire records folded into state",
        &["view/", "dht/lookup.rs", "snapshot/cuts.rs"],
    ),
    (
        "the trace: every message linked to its send",
        &[
            "trace/model.rs",
            "trace/details.rs",
            "trace/export.rs",
            "trace/synthetic.rs",
        ],
    ),
    (
        "what is drawn and checked from the trace",
        &["timeline.rs", "snapshot/in_trace.rs", "diagram.rs"],
    ),
    ("lessons", &["lesson/"]),
    (
        "scenario links that rebuild a lesson's run",
        &["scenario.rs"],
    ),
];

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every engine file, as a path relative to `src/` with `/` separators.
fn engine_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, files: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, root, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                files.push(relative.replace('\\', "/"));
            }
        }
    }
    let root = source_root();
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    // The crate root and the simulator binary sit above every floor.
    files.retain(|f| f != "lib.rs" && !f.starts_with("bin/"));
    files.sort();
    files
}

fn floor_of(file: &str) -> usize {
    FLOORS
        .iter()
        .enumerate()
        .flat_map(|(floor, (_, prefixes))| prefixes.iter().map(move |p| (floor, *p)))
        .filter(|(_, prefix)| file.starts_with(prefix))
        .max_by_key(|(_, prefix)| prefix.len())
        .map(|(floor, _)| floor)
        .unwrap_or_else(|| panic!("{file} is on no floor: add it to FLOORS"))
}

/// The file's code without comments, without its unit tests (which may use anything) and
/// without re-exports (`pub use` offers a name; it does not use what it names).
fn code_of(file: &str) -> String {
    let text = std::fs::read_to_string(source_root().join(file)).expect("readable source");
    let text = match text.find("#[cfg(test)]") {
        Some(tests) => &text[..tests],
        None => &text[..],
    };
    let code = text
        .lines()
        .map(|line| match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut kept = String::new();
    let mut rest = &code[..];
    while let Some(start) = rest.find("pub use ") {
        kept.push_str(&rest[..start]);
        rest = rest[start..].split_once(';').map_or("", |(_, after)| after);
    }
    kept.push_str(rest);
    kept
}

/// The module a file is (`dht/mod.rs` → `dht`, `dht/key.rs` → `dht/key`).
fn module_of(file: &str) -> String {
    let stem = file.strip_suffix(".rs").unwrap();
    stem.strip_suffix("/mod").unwrap_or(stem).to_owned()
}

/// The file of a module, if there is one.
fn file_of(module: &str, files: &[String]) -> Option<String> {
    [format!("{module}.rs"), format!("{module}/mod.rs")]
        .into_iter()
        .find(|f| files.contains(f))
}

/// The file among `module`'s files (itself and its submodules) that defines `item`.
fn definer(module: &str, item: &str, files: &[String]) -> Option<String> {
    let kinds = [
        "struct", "enum", "fn", "type", "const", "static", "trait", "mod", "union",
    ];
    let defines = |code: &str| {
        kinds.iter().any(|kind| {
            code.split(&format!("{kind} {item}")).skip(1).any(|after| {
                after
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_')
            })
        })
    };
    let own = file_of(module, files)?;
    if defines(&code_of(&own)) {
        return Some(own);
    }
    files
        .iter()
        .filter(|f| f.starts_with(&format!("{module}/")) && **f != own)
        .find(|f| defines(&code_of(f)))
        .cloned()
}

/// Expands `a::{b, c::{d, e}}` into every full path it names.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.trim().trim_end_matches("::").to_owned()];
    };
    let prefix = &path[..open];
    let inner = &path[open + 1..path.rfind('}').unwrap_or(path.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// The path that starts at `start` in `code`: identifiers, `::`, and balanced braces.
fn path_at(code: &str, start: usize) -> &str {
    let mut depth = 0;
    for (i, c) in code[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if depth > 0 || c.is_alphanumeric() || c == '_' || c == ':' => {}
            _ => return &code[start..start + i],
        }
        if depth == 0 && c == '}' {
            return &code[start..=start + i];
        }
    }
    &code[start..]
}

/// The files whose items `file` uses, each with the path that names it.
fn uses_of(file: &str, files: &[String]) -> Vec<(String, String)> {
    let code = code_of(file);
    let module = module_of(file);
    let parent = module.rsplit_once('/').map_or("", |(p, _)| p).to_owned();
    let mut roots: Vec<(&str, String)> = vec![("crate::", String::new())];
    roots.push(("super::", parent));
    // A folder's mod.rs names its children directly.
    let children: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let m = module_of(f);
            let (p, name) = m.rsplit_once('/')?;
            (p == module).then(|| name.to_owned())
        })
        .collect();
    let child_roots: Vec<String> = children.iter().map(|c| format!("{c}::")).collect();
    for root in &child_roots {
        roots.push((root, format!("{module}/{}", root.trim_end_matches("::"))));
    }
    let mut used = Vec::new();
    for (root, base) in &roots {
        for (at, _) in code.match_indices(root) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let base = match *root {
                "crate::" | "super::" => base.clone(),
                // `child::x` means `module/child` plus `x`.
                _ => base.rsplit_once('/').map_or("", |(p, _)| p).to_owned(),
            };
            let start = if matches!(*root, "crate::" | "super::") {
                at + root.len()
            } else {
                at
            };
            for path in expand(path_at(&code, start)) {
                if let Some(target) = resolve(&base, &path, files) {
                    if target != file {
                        used.push((target, path));
                    }
                }
            }
        }
    }
    used
}

/// The file that defines what `path` names, starting from module `base`.
fn resolve(base: &str, path: &str, files: &[String]) -> Option<String> {
    let mut module = base.to_owned();
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    for segment in segments {
        if segment == "self" {
            continue;
        }
        let deeper = if module.is_empty() {
            segment.to_owned()
        } else {
            format!("{module}/{segment}")
        };
        if file_of(&deeper, files).is_some() {
            module = deeper;
            continue;
        }
        return definer(&module, segment, files).or_else(|| file_of(&module, files));
    }
    file_of(&module, files)
}

#[test]
fn every_file_uses_only_lower_floors_or_its_own_folder() {
    let files = engine_files();
    let folder = |f: &str| {
        f.split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned()
    };
    let mut upward: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let floor = floor_of(file);
        for (target, path) in uses_of(file, &files) {
            let target_floor = floor_of(&target);
            let allowed =
                target_floor < floor || (target_floor == floor && folder(&target) == folder(file));
            if !allowed {
                upward.entry(file.clone()).or_default().push(format!(
                    "{path} ({target}, floor {target_floor} \"{}\")",
                    FLOORS[target_floor].0
                ));
            }
        }
    }
    let report: Vec<String> = upward
        .iter()
        .map(|(file, uses)| {
            let mut uses = uses.clone();
            uses.sort();
            uses.dedup();
            format!(
                "{file} (floor {}) uses:\n  {}",
                floor_of(file),
                uses.join("\n  ")
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "uses of higher floors or of other folders on the same floor:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_check_resolves_paths_to_the_files_that_define_them() {
    let files = engine_files();
    assert_eq!(
        resolve("", "trace::TraceContext", &files).as_deref(),
        Some("trace/context.rs")
    );
    assert_eq!(
        resolve("", "wire::yamux::Header", &files).as_deref(),
        Some("wire/yamux.rs")
    );
    assert_eq!(
        expand("a::{b, c::{d, e}}"),
        vec!["a::b", "a::c::d", "a::c::e"]
    );
    // A use through a re-export is traced to the defining file.
    let uses = uses_of("protocols/ping/mod.rs", &files);
    assert!(uses.iter().any(|(target, _)| target == "trace/context.rs"));
}

#[test]
fn every_path_in_the_readmes_where_is_table_exists() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(workspace.join("README.md")).expect("README.md");
    let table = readme
        .split("**Where is…**")
        .nth(1)
        .expect("the README's Layout has a \"Where is…\" table");
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .collect();
    assert!(rows.len() >= 10, "the table lists at least ten places");
    for row in rows {
        let path = row
            .split('`')
            .nth(1)
            .unwrap_or_else(|| panic!("a path in backticks in: {row}"));
        assert!(workspace.join(path).exists(), "{path} does not exist");
    }
}

/// No loop at all between files: no file uses, directly or through others, a file that
/// uses it (a folder's files on one floor included).
#[test]
fn no_two_files_use_each_other_even_through_others() {
    let files = engine_files();
    let index = |f: &str| files.iter().position(|x| x == f).unwrap();
    let uses: Vec<Vec<usize>> = files
        .iter()
        .map(|f| {
            uses_of(f, &files)
                .into_iter()
                .map(|(target, _)| index(&target))
                .collect()
        })
        .collect();
    // Which files each file reaches: a depth-first walk from each (a few hundred edges).
    let reaches: Vec<Vec<bool>> = (0..files.len())
        .map(|start| {
            let mut seen = vec![false; files.len()];
            let mut stack = vec![start];
            while let Some(file) = stack.pop() {
                for &next in &uses[file] {
                    if !seen[next] {
                        seen[next] = true;
                        stack.push(next);
                    }
                }
            }
            seen
        })
        .collect();
    let loops: Vec<String> = (0..files.len())
        .flat_map(|a| (a + 1..files.len()).map(move |b| (a, b)))
        .filter(|&(a, b)| reaches[a][b] && reaches[b][a])
        .map(|(a, b)| format!("{} and {}", files[a], files[b]))
        .collect();
    assert!(
        loops.is_empty(),
        "files that use each other:\n{}",
        loops.join("\n")
    );
}
