//! The DHT view: the key space as a circle (every peer and the key looked up, at their 256-bit
//! positions), the last lookup hop by hop with a chart of the best distance it knew, one
//! peer's routing table as its buckets, and which peers hold each record. Written as one HTML
//! string (see [`crate::html`]); a click on a peer shows its routing table.

use std::f64::consts::TAU;
use std::fmt::Write;

use leptos::prelude::*;
use testbed::dht::lookup::{depth, progress, Hop};
use testbed::dht::{KeyPoint, Lookup, Lookups};
use testbed::labels::key_label;
use testbed::view::NetworkView;
use testbed::PeerId;
use wasm_bindgen::JsCast;

use crate::html::escape;
use crate::session::Session;
use testbed::dht::Holding;

const SIZE: f64 = 320.0;
const CENTER: f64 = SIZE / 2.0;
const RADIUS: f64 = 112.0;

/// Peers labelled with their number on the circle, up to this many.
const LABELLED: usize = 40;
/// How far outside the circle a peer's number may go, nearest first, and how far apart two
/// numbers' centres must be (two digits at the keyspace's font size).
const LABEL_RINGS: [f64; 3] = [13.0, 25.0, 37.0];
const LABEL_CLEARANCE: f64 = 15.0;

fn point(fraction: f64, radius: f64) -> (f64, f64) {
    // 0 at the top, growing clockwise.
    let angle = TAU * fraction - TAU / 4.0;
    (CENTER + radius * angle.cos(), CENTER + radius * angle.sin())
}

#[component]
pub fn DhtView(session: Session, visible: Signal<bool>) -> impl IntoView {
    let dht = session.dht;
    // A memo: the trace changes with every kad message, the picture far less often, and an
    // unchanged picture leaves the page (and the focused peer) alone.
    let html = Memo::new(move |_| {
        if !visible.get() {
            return String::new();
        }
        let settling = dht.settling.get();
        let left = dht.left.get();
        let chosen = dht.chosen.get();
        let table = dht.table.get();
        let holdings = dht.holdings.get();
        let replication = session
            .config
            .with(|c| c.dht.map_or(0, |d| usize::from(d.replication)));
        session.view.with(|view| {
            session.trace.with(|trace| {
                let lookups = trace.lookups();
                let names = Names { view, left: &left };
                let last = lookups.lookups().next_back();
                let hops = last.map(|l| lookups.hops(l)).unwrap_or_default();
                let mut html = String::new();
                status(&mut html, settling, lookups);
                html.push_str("<div class=\"dht-grid\">");
                key_space(&mut html, &names, last, &hops, chosen, &holdings);
                html.push_str("<div class=\"dht-side\">");
                match last {
                    Some(lookup) => lookup_html(&mut html, &names, lookups, lookup, &hops),
                    None => html.push_str(
                        "<section class=\"dht-lookup\"><h3>Lookups</h3><p class=\"muted\">No lookup yet. A lookup asks peers ever closer to a key until no one knows a closer peer.</p></section>",
                    ),
                }
                if let Some((peer, table)) = &table {
                    table_html(&mut html, &names, *peer, table);
                }
                records_html(&mut html, &names, &holdings, replication);
                html.push_str("</div></div>");
                errors_html(&mut html, &names, lookups);
                html
            })
        })
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let peer = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("[data-peer]").ok().flatten())
            .and_then(|e| e.get_attribute("data-peer"))
            .and_then(|p| p.parse().ok());
        if let Some(peer) = peer {
            dht.choose(session, peer);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" || ev.key() == " " {
            let peer = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.get_attribute("data-peer"))
                .and_then(|p| p.parse().ok());
            if let Some(peer) = peer {
                ev.prevent_default();
                dht.choose(session, peer);
            }
        }
    };
    view! {
        <div class="dht" on:click=on_click on:keydown=on_key inner_html=html></div>
    }
}

/// Peer names as the learner knows them.
struct Names<'a> {
    view: &'a NetworkView,
    left: &'a [usize],
}

impl Names<'_> {
    fn index(&self, peer: &PeerId) -> Option<usize> {
        self.view.index_of(peer)
    }

    fn name(&self, peer: &PeerId) -> String {
        self.view.name(peer)
    }

    fn ids(&self) -> &[PeerId] {
        self.view.peer_ids()
    }

    fn key(&self, key: &[u8]) -> String {
        escape(&key_label(key, self.ids()))
    }

    fn has_left(&self, index: usize) -> bool {
        self.left.contains(&index)
    }
}

fn status(html: &mut String, settling: Option<testbed::dht::settle::Settling>, lookups: &Lookups) {
    match settling {
        Some(s) => {
            let _ = write!(
                html,
                "<p class=\"dht-status\" data-settled=\"false\" role=\"status\">Settling: libp2p-kad's start-up lookups are filling the routing tables ({} of {} peers still busy, {} table entries so far). <progress max=\"{}\" value=\"{}\"></progress></p>",
                s.busy, s.peers, s.entries, s.peers, s.peers - s.busy
            );
        }
        None if lookups.settled => html.push_str(
            "<p class=\"dht-status\" data-settled=\"true\" role=\"status\">Settled: the start-up lookups are over and the routing tables are filled.</p>",
        ),
        None => {}
    }
}

fn key_space(
    html: &mut String,
    names: &Names,
    last: Option<&Lookup>,
    hops: &[Hop],
    chosen: usize,
    holdings: &[Holding],
) {
    let ids = names.ids();
    let _ = write!(
        html,
        "<figure class=\"keyspace\"><svg viewBox=\"0 0 {SIZE} {SIZE}\" role=\"img\" aria-label=\"The key space: each peer at the position of its 256-bit key\"><circle class=\"ring\" cx=\"{CENTER}\" cy=\"{CENTER}\" r=\"{RADIUS}\"/>"
    );
    // Quarters of the circle are the keys starting 00, 01, 10 and 11.
    for (quarter, prefix) in ["00…", "01…", "10…", "11…"].iter().enumerate() {
        let (x, y) = point(quarter as f64 / 4.0, RADIUS + 8.0);
        let (lx, ly) = point((quarter as f64 + 0.5) / 4.0, RADIUS - 22.0);
        let _ = write!(
            html,
            "<line class=\"quarter\" x1=\"{CENTER}\" y1=\"{CENTER}\" x2=\"{x:.1}\" y2=\"{y:.1}\"/><text class=\"prefix\" x=\"{lx:.1}\" y=\"{ly:.1}\">{prefix}</text>"
        );
    }
    let target = last.map(|l| KeyPoint::of_bytes(&l.key));
    let origin = last.and_then(|l| names.index(&l.origin));
    let at = |peer: &PeerId| point(KeyPoint::of_peer(peer).fraction(), RADIUS);
    if let (Some(lookup), Some(origin)) = (last, origin) {
        let (ox, oy) = at(&ids[origin]);
        for hop in hops {
            let (x, y) = at(&hop.asked);
            let _ = write!(
                html,
                "<line class=\"hop\" data-depth=\"{}\" x1=\"{ox:.1}\" y1=\"{oy:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\"><title>hop {}: {} asked {}</title></line>",
                hop.depth.min(4),
                hop.depth,
                names.name(&lookup.origin),
                names.name(&hop.asked)
            );
        }
    }
    if let (Some(target), Some(lookup)) = (target, last) {
        let (x, y) = point(target.fraction(), RADIUS);
        let _ = write!(
            html,
            "<path class=\"target\" d=\"M{x:.1} {:.1} l7 7 l-7 7 l-7 -7 z\"><title>the key: {}</title></path>",
            y - 7.0,
            names.key(&lookup.key)
        );
    }
    let closest: Vec<PeerId> = last
        .and_then(|l| l.outcome.as_ref())
        .map(|o| o.closest.clone())
        .unwrap_or_default();
    let holders: Vec<usize> = holdings
        .iter()
        .filter(|h| last.is_some_and(|l| l.key == h.key))
        .flat_map(|h| h.peers.iter().copied())
        .collect();
    let labels = if ids.len() <= LABELLED {
        label_spots(ids)
    } else {
        Vec::new()
    };
    for (index, peer) in ids.iter().enumerate() {
        let (x, y) = at(peer);
        let asked = hops.iter().find(|h| h.asked == *peer).map(|h| h.depth);
        let mut classes = String::from("peer");
        for (on, class) in [
            (names.has_left(index), " left"),
            (Some(index) == origin, " origin"),
            (asked.is_some(), " asked"),
            (closest.contains(peer), " closest"),
            (holders.contains(&index), " holder"),
            (index == chosen, " chosen"),
        ] {
            if on {
                classes.push_str(class);
            }
        }
        let share = target
            .map(|t| {
                format!(
                    ", shares {} leading bits with the key",
                    KeyPoint::of_peer(peer).distance(&t).common_prefix()
                )
            })
            .unwrap_or_default();
        let _ = write!(
            html,
            "<g class=\"{classes}\" data-peer=\"{index}\" tabindex=\"0\" role=\"button\" aria-label=\"peer {index}{share}: show its routing table\"><title>peer {index}{share}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\"/>"
        );
        if let Some(&Some((lx, ly))) = labels.get(index) {
            let _ = write!(
                html,
                "<text x=\"{lx:.1}\" y=\"{:.1}\">{index}</text>",
                ly + 4.0
            );
        }
        html.push_str("</g>");
    }
    html.push_str("</svg><figcaption><p>Each dot is a peer at its key (SHA-256 of its PeerId), read as a fraction of the circle. Peers whose keys share a long prefix sit in the same small arc: XOR distance is small between them. Click a peer for its routing table.</p>");
    if let Some(lookup) = last {
        let _ = write!(
            html,
            "<p><span class=\"legend-target\">◆</span> the key {} · <span class=\"legend-origin\">●</span> {} · lines: the peers it asked, darker with each hop · thick ring: the closest found · yellow: holds the record.</p>",
            names.key(&lookup.key),
            names.name(&lookup.origin)
        );
    }
    html.push_str("</figcaption></figure>");
}

/// Where each peer's number goes outside the circle: the nearest of a few rings out where it
/// covers no number placed before it (peers in key order); None where all are taken (the
/// number is still in the dot's tooltip).
fn label_spots(ids: &[PeerId]) -> Vec<Option<(f64, f64)>> {
    let mut order: Vec<(usize, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, p)| (i, KeyPoint::of_peer(p).fraction()))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut spots = vec![None; ids.len()];
    let mut placed: Vec<(f64, f64)> = Vec::new();
    for (index, fraction) in order {
        let free = LABEL_RINGS
            .iter()
            .map(|out| point(fraction, RADIUS + out))
            .find(|&(x, y)| {
                placed
                    .iter()
                    .all(|&(px, py)| (px - x).hypot(py - y) >= LABEL_CLEARANCE)
            });
        if let Some(spot) = free {
            placed.push(spot);
            spots[index] = Some(spot);
        }
    }
    spots
}

fn lookup_html(html: &mut String, names: &Names, lookups: &Lookups, lookup: &Lookup, hops: &[Hop]) {
    let _ = write!(
        html,
        "<section class=\"dht-lookup\" data-hops=\"{}\" data-depth=\"{}\" data-finished=\"{}\" data-took-ms=\"{:.1}\"><h3>{}'s lookup ({}) for {}</h3>",
        hops.len(),
        depth(hops),
        lookup.outcome.is_some(),
        lookup.outcome.as_ref().map_or(0.0, |o| o.took_ms),
        names.name(&lookup.origin),
        lookup.kind,
        names.key(&lookup.key)
    );
    if let Some(outcome) = &lookup.outcome {
        let found = outcome
            .closest
            .iter()
            .map(|p| names.name(p))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            html,
            "<p class=\"stop\">It stopped because {}. {}, {} deep, {:.0} ms.{}</p>",
            escape(&lookups.stop_reason(lookup)),
            count(hops.len(), "request"),
            count(depth(hops), "hop"),
            outcome.took_ms,
            if found.is_empty() {
                String::new()
            } else {
                format!(" Closest found: {found}.")
            }
        );
        if let Some(value) = &outcome.value {
            let _ = write!(
                html,
                "<p class=\"found\" data-found=\"true\">Found the record: “{}”.</p>",
                escape(&String::from_utf8_lossy(value))
            );
        } else if lookup.kind == testbed::dht::LookupKind::GetRecord {
            html.push_str(
                "<p class=\"found\" data-found=\"false\">No peer it asked had the record.</p>",
            );
        }
        if !outcome.providers.is_empty() {
            let providers: Vec<String> = outcome.providers.iter().map(|p| names.name(p)).collect();
            let _ = write!(
                html,
                "<p class=\"found\">Providers: {}.</p>",
                providers.join(", ")
            );
        }
    } else {
        html.push_str("<p class=\"stop\">Running…</p>");
    }
    chart(html, &progress(hops));
    html.push_str("<table class=\"hops\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">hop</th><th scope=\"col\">asked</th><th scope=\"col\">bits shared with the key</th><th scope=\"col\">in flight</th><th scope=\"col\">answer</th></tr></thead><tbody>");
    for (n, hop) in hops.iter().enumerate() {
        let answer = match &hop.answer {
            None => "no answer (yet)".to_owned(),
            Some(answer) => {
                let new: Vec<String> = answer
                    .peers
                    .iter()
                    .filter(|f| f.new)
                    .map(|f| format!("<b>{}</b>", names.name(&f.peer)))
                    .collect();
                let mut text = format!("{} peers", answer.peers.len());
                if answer.record {
                    text.insert_str(0, "the record, ");
                }
                if !answer.providers.is_empty() {
                    text.push_str(&format!(", {} providers", answer.providers.len()));
                }
                if new.is_empty() {
                    text.push_str(", none new");
                } else {
                    text.push_str(&format!("; new: {}", new.join(", ")));
                }
                text
            }
        };
        let _ = write!(
            html,
            "<tr class=\"hop-row\" data-depth=\"{}\"{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{answer}{}</td></tr>",
            hop.depth.min(4),
            if hop.late { " data-late=\"true\"" } else { "" },
            n + 1,
            hop.depth,
            names.name(&hop.asked),
            hop.distance.common_prefix(),
            hop.in_flight,
            if hop.late {
                " (sent after the lookup ended: its connection was still being dialed)"
            } else {
                ""
            }
        );
    }
    html.push_str("</tbody></table></section>");
}

/// `1 hop`, `3 hops`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The best distance known at the start and after each answer, as bits shared with the
/// key: the line climbs as the lookup closes in. The key itself (all 256 bits) is drawn at
/// the top.
fn chart(html: &mut String, progress: &[testbed::dht::Distance]) {
    /// Shared bits drawn to scale up to this; more is drawn at the top.
    const SCALE: u32 = 24;
    if progress.is_empty() {
        return;
    }
    let bits: Vec<u32> = progress.iter().map(|d| d.common_prefix()).collect();
    let top = bits.iter().copied().max().unwrap_or(1).clamp(8, SCALE);
    let (width, height, left, bottom) = (280.0, 120.0, 34.0, 18.0);
    let step = (width - left - 8.0) / (bits.len().max(2) - 1) as f64;
    let x = |i: usize| left + step * i as f64;
    let y =
        |b: u32| height - bottom - (height - bottom - 8.0) * f64::from(b.min(top)) / f64::from(top);
    let points: Vec<String> = bits
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{:.1},{:.1}", x(i), y(*b)))
        .collect();
    let top_label = if bits.iter().any(|&b| b > top) {
        format!("{top}+")
    } else {
        top.to_string()
    };
    let _ = write!(
        html,
        "<figure class=\"distance-chart\" data-points=\"{}\" data-bits=\"{}\"><svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Bits shared with the key by the closest peer known, at the start and after each answer\"><line class=\"axis\" x1=\"{left}\" y1=\"{}\" x2=\"{width}\" y2=\"{}\"/><line class=\"axis\" x1=\"{left}\" y1=\"8\" x2=\"{left}\" y2=\"{}\"/><text x=\"2\" y=\"{:.1}\">{top_label}</text><text x=\"2\" y=\"{:.1}\">0</text><polyline points=\"{}\"/>",
        bits.len(),
        bits.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
        height - bottom,
        height - bottom,
        height - bottom,
        y(top) + 4.0,
        y(0) + 4.0,
        points.join(" ")
    );
    for (i, b) in bits.iter().enumerate() {
        let when = if i == 0 {
            "from its own table".to_owned()
        } else {
            format!("after answer {i}")
        };
        let what = if *b == 256 {
            "the key itself".to_owned()
        } else {
            format!("{b} bits shared")
        };
        let _ = write!(
            html,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{when}: {what}</title></circle>",
            x(i),
            y(*b)
        );
    }
    let _ = write!(
        html,
        "<text x=\"{left}\" y=\"{:.1}\">start, then each answer in the order they came →</text></svg><figcaption>The best distance known, as leading bits shared with the key (more bits: closer): first from the peer's own table, then after each answer. It never falls back. libp2p-kad answers with up to 20 peers, so in a small network one answer often names the closest peers at once.</figcaption></figure>",
        height - 3.0
    );
}

fn table_html(
    html: &mut String,
    names: &Names,
    peer: usize,
    table: &testbed::dht::node::RoutingTable,
) {
    let Some(own) = names.view.peer_id(peer) else {
        return;
    };
    let own_key = KeyPoint::of_peer(&own);
    let _ = write!(
        html,
        "<section class=\"routing-table\" data-peer=\"{peer}\" data-buckets=\"{}\"><h3>Peer {peer}'s routing table</h3><p>Its key starts <code>{}…</code>. Bucket <i>i</i> holds peers at XOR distance from 2<sup><i>i</i></sup> to 2<sup><i>i</i>+1</sup>: they share the first 255 − <i>i</i> bits of its key, then differ. Far buckets cover huge parts of the key space, so they fill first; each holds at most k peers. About log₂ N buckets have anyone in them.</p><ol class=\"buckets\">",
        table.buckets.len(),
        own_key.prefix(12)
    );
    for bucket in &table.buckets {
        let shared = 255 - bucket.index as usize;
        let _ = write!(
            html,
            "<li data-bucket=\"{}\"><span class=\"bucket-name\">bucket {} · shares {shared} bits</span>",
            bucket.index, bucket.index
        );
        for entry in &bucket.peers {
            let key = KeyPoint::of_peer(entry).prefix(shared + 4);
            let (same, rest) = key.split_at(shared.min(key.len()));
            let _ = write!(
                html,
                " <span class=\"entry\">{} <code><b>{same}</b>{rest}…</code></span>",
                names.name(entry)
            );
        }
        html.push_str("</li>");
    }
    html.push_str("</ol></section>");
}

fn records_html(html: &mut String, names: &Names, holdings: &[Holding], replication: usize) {
    if holdings.is_empty() {
        return;
    }
    html.push_str("<section class=\"records\"><h3>Who holds what</h3><ul>");
    let ids = names.ids();
    let spaced = |peers: &[usize]| {
        peers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    for holding in holdings {
        let closest_live = holding.closest_live(ids, |i| names.has_left(i), replication);
        let closest: Vec<String> = closest_live.iter().map(|i| format!("peer {i}")).collect();
        let holders: Vec<String> = holding.peers.iter().map(|i| format!("peer {i}")).collect();
        let _ = write!(
            html,
            "<li data-key=\"{}\" data-holders=\"{}\" data-holder-peers=\"{}\" data-closest-live=\"{}\">{} {}: {} <span class=\"muted\">(the {replication} closest live peers to the key: {})</span></li>",
            names.key(&holding.key),
            holding.peers.len(),
            spaced(&holding.peers),
            spaced(&closest_live),
            if holding.provider_records {
                "Provider records for"
            } else {
                "The record"
            },
            names.key(&holding.key),
            if holders.is_empty() {
                "nobody".to_owned()
            } else {
                holders.join(", ")
            },
            closest.join(", ")
        );
    }
    html.push_str("</ul></section>");
}

fn errors_html(html: &mut String, names: &Names, lookups: &Lookups) {
    let errors: Vec<_> = lookups.errors().collect();
    if errors.is_empty() {
        return;
    }
    html.push_str(
        "<section class=\"kad-errors\" role=\"alert\"><h3>Malformed kad messages</h3><ul>",
    );
    for error in errors.iter().rev().take(5) {
        let _ = write!(
            html,
            "<li>{} sent {} something that is not a kad message: {}. The stream was dropped; nothing else was lost.</li>",
            names.name(&error.from),
            names.name(&error.to),
            escape(&error.error)
        );
    }
    html.push_str("</ul></section>");
}
