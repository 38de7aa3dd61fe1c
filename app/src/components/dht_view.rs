//! The DHT view: the key space as a circle (every peer and the key looked up, at their 256-bit
//! positions), the last lookup hop by hop with a chart of the best distance it knew, one
//! peer's routing table as its buckets, and which peers hold each record. A click on a peer
//! shows its routing table.
//!
//! What is drawn is first computed as a [`Picture`], in a memo: the trace changes with every
//! kad message, the picture far less often, and an unchanged picture leaves the page (and the
//! focused peer) alone.

use std::f64::consts::TAU;

use leptos::html::Div;
use leptos::prelude::*;
use testbed::dht::lookup::{depth, progress, Hop};
use testbed::dht::{Holding, KeyPoint, Lookup, LookupKind, Lookups};
use testbed::labels::key_label;
use testbed::view::NetworkView;
use testbed::PeerId;
use wasm_bindgen::JsCast;

use crate::dom::{draw_into, el, text, Node};
use crate::session::Session;

const SIZE: f64 = 320.0;
const CENTER: f64 = SIZE / 2.0;
const RADIUS: f64 = 112.0;

/// Peers labelled with their number on the circle, up to this many.
const LABELLED: usize = 40;
/// How far outside the circle a peer's number may go, nearest first, and how far apart two
/// numbers' centres must be (two digits at the keyspace's font size).
const LABEL_RINGS: [f64; 3] = [13.0, 25.0, 37.0];
const LABEL_CLEARANCE: f64 = 15.0;

/// The distance chart's size and margins.
const CHART_WIDTH: f64 = 280.0;
const CHART_HEIGHT: f64 = 120.0;
const CHART_LEFT: f64 = 34.0;
const CHART_BOTTOM: f64 = 18.0;
/// Shared bits drawn to scale up to this; more is drawn at the top.
const CHART_SCALE: u32 = 24;

fn point(fraction: f64, radius: f64) -> (f64, f64) {
    // 0 at the top, growing clockwise.
    let angle = TAU * fraction - TAU / 4.0;
    (CENTER + radius * angle.cos(), CENTER + radius * angle.sin())
}

/// Everything the view draws, as plain values.
#[derive(Debug, Clone, PartialEq, Default)]
struct Picture {
    status: Option<Status>,
    key_space: KeySpace,
    lookup: Option<LookupPanel>,
    table: Option<TablePanel>,
    records: Vec<RecordRow>,
    replication: usize,
    /// Malformed kad messages, newest first, as sentences.
    errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Settling {
        busy: usize,
        peers: usize,
        entries: usize,
    },
    Settled,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct KeySpace {
    hops: Vec<HopLine>,
    /// Where the key sits, and its name.
    target: Option<((f64, f64), String)>,
    dots: Vec<Dot>,
    /// The key's name and the lookup's origin, for the legend.
    legend: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct HopLine {
    depth: usize,
    from: (f64, f64),
    to: (f64, f64),
    title: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Dot {
    index: usize,
    classes: String,
    /// `, shares 3 leading bits with the key`, when a lookup has a key.
    share: String,
    at: (f64, f64),
    label: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
struct LookupPanel {
    hops: usize,
    depth: usize,
    finished: bool,
    took_ms: f64,
    title: String,
    /// Why it stopped, in a sentence; None while it runs.
    stop: Option<String>,
    /// A get's result: the value found, or None for no record. None for other lookups.
    found: Option<Option<String>>,
    providers: Vec<String>,
    chart: Option<Chart>,
    rows: Vec<HopRow>,
}

#[derive(Debug, Clone, PartialEq)]
struct HopRow {
    number: usize,
    depth: usize,
    late: bool,
    asked: String,
    bits: u32,
    in_flight: usize,
    /// What the answer held (`the record, 5 peers`), and the peers new to the lookup.
    answer: Option<(String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Chart {
    bits: Vec<u32>,
    top_label: String,
    top_y: f64,
    zero_y: f64,
    points: String,
    /// Each point and what it says.
    marks: Vec<((f64, f64), String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct TablePanel {
    peer: usize,
    prefix: String,
    buckets: Vec<BucketRow>,
}

#[derive(Debug, Clone, PartialEq)]
struct BucketRow {
    index: u32,
    shared: usize,
    /// Each peer's name, and its key's first bits: those shared with the table's owner, then
    /// the rest.
    entries: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
struct RecordRow {
    key: String,
    holders: Vec<usize>,
    closest_live: Vec<usize>,
    provider_records: bool,
}

#[component]
pub fn DhtView(session: Session, visible: Signal<bool>) -> impl IntoView {
    let dht = session.dht;
    let picture = Memo::new(move |_| {
        if !visible.get() {
            return Picture::default();
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
                Picture {
                    status: match settling {
                        Some(s) => Some(Status::Settling {
                            busy: s.busy,
                            peers: s.peers,
                            entries: s.entries,
                        }),
                        None if lookups.settled => Some(Status::Settled),
                        None => None,
                    },
                    key_space: key_space(&names, last, &hops, chosen, &holdings),
                    lookup: last.map(|lookup| lookup_panel(&names, lookups, lookup, &hops)),
                    table: table.and_then(|(peer, table)| table_panel(&names, peer, &table)),
                    records: holdings
                        .iter()
                        .map(|holding| RecordRow {
                            key: names.key(&holding.key),
                            holders: holding.peers.clone(),
                            closest_live: holding.closest_live(
                                names.ids(),
                                |i| names.has_left(i),
                                replication,
                            ),
                            provider_records: holding.provider_records,
                        })
                        .collect(),
                    replication,
                    errors: lookups
                        .errors()
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .take(5)
                        .map(|error| {
                            format!(
                                "{} sent {} something that is not a kad message: {}. The stream was dropped; nothing else was lost.",
                                names.name(&error.from),
                                names.name(&error.to),
                                error.error
                            )
                        })
                        .collect(),
                }
            })
        })
    });
    let chosen_peer = move |ev: &web_sys::Event, closest: bool| {
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| match closest {
                true => e.closest("[data-peer]").ok().flatten(),
                false => Some(e),
            })
            .and_then(|e| e.get_attribute("data-peer"))
            .and_then(|p| p.parse::<usize>().ok())
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if let Some(peer) = chosen_peer(&ev, true) {
            dht.choose(session, peer);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" || ev.key() == " " {
            if let Some(peer) = chosen_peer(&ev, false) {
                ev.prevent_default();
                dht.choose(session, peer);
            }
        }
    };
    let nodes = Memo::new(move |_| picture.with(picture_nodes));
    let container = NodeRef::<Div>::new();
    draw_into(container, nodes);
    view! {
        <div class="dht" node_ref=container on:click=on_click on:keydown=on_key></div>
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
        key_label(key, self.ids())
    }

    fn has_left(&self, index: usize) -> bool {
        self.left.contains(&index)
    }
}

fn key_space(
    names: &Names,
    last: Option<&Lookup>,
    hops: &[Hop],
    chosen: usize,
    holdings: &[Holding],
) -> KeySpace {
    let ids = names.ids();
    let target = last.map(|l| KeyPoint::of_bytes(&l.key));
    let origin = last.and_then(|l| names.index(&l.origin));
    let at = |peer: &PeerId| point(KeyPoint::of_peer(peer).fraction(), RADIUS);
    let hop_lines = match (last, origin) {
        (Some(lookup), Some(origin)) => hops
            .iter()
            .map(|hop| HopLine {
                depth: hop.depth.min(4),
                from: at(&ids[origin]),
                to: at(&hop.asked),
                title: format!(
                    "hop {}: {} asked {}",
                    hop.depth,
                    names.name(&lookup.origin),
                    names.name(&hop.asked)
                ),
            })
            .collect(),
        _ => Vec::new(),
    };
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
    let dots = ids
        .iter()
        .enumerate()
        .map(|(index, peer)| {
            let asked = hops.iter().any(|h| h.asked == *peer);
            let mut classes = String::from("peer");
            for (on, class) in [
                (names.has_left(index), " left"),
                (Some(index) == origin, " origin"),
                (asked, " asked"),
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
            Dot {
                index,
                classes,
                share,
                at: at(peer),
                label: labels.get(index).copied().flatten(),
            }
        })
        .collect();
    KeySpace {
        hops: hop_lines,
        target: target
            .zip(last)
            .map(|(t, l)| (point(t.fraction(), RADIUS), names.key(&l.key))),
        dots,
        legend: last.map(|l| (names.key(&l.key), names.name(&l.origin))),
    }
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

fn lookup_panel(names: &Names, lookups: &Lookups, lookup: &Lookup, hops: &[Hop]) -> LookupPanel {
    let outcome = lookup.outcome.as_ref();
    let stop = outcome.map(|outcome| {
        let found = outcome
            .closest
            .iter()
            .map(|p| names.name(p))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "It stopped because {}. {}, {} deep, {:.0} ms.{}",
            lookups.stop_reason(lookup),
            count(hops.len(), "request"),
            count(depth(hops), "hop"),
            outcome.took_ms,
            if found.is_empty() {
                String::new()
            } else {
                format!(" Closest found: {found}.")
            }
        )
    });
    let found = outcome.and_then(|outcome| match &outcome.value {
        Some(value) => Some(Some(String::from_utf8_lossy(value).into_owned())),
        None if lookup.kind == LookupKind::GetRecord => Some(None),
        None => None,
    });
    let rows = hops
        .iter()
        .enumerate()
        .map(|(n, hop)| HopRow {
            number: n + 1,
            depth: hop.depth,
            late: hop.late,
            asked: names.name(&hop.asked),
            bits: hop.distance.common_prefix(),
            in_flight: hop.in_flight,
            answer: hop.answer.as_ref().map(|answer| {
                let mut text = format!("{} peers", answer.peers.len());
                if answer.record {
                    text.insert_str(0, "the record, ");
                }
                if !answer.providers.is_empty() {
                    text.push_str(&format!(", {} providers", answer.providers.len()));
                }
                let new = answer
                    .peers
                    .iter()
                    .filter(|f| f.new)
                    .map(|f| names.name(&f.peer))
                    .collect();
                (text, new)
            }),
        })
        .collect();
    LookupPanel {
        hops: hops.len(),
        depth: depth(hops),
        finished: outcome.is_some(),
        took_ms: outcome.map_or(0.0, |o| o.took_ms),
        title: format!(
            "{}'s lookup ({}) for {}",
            names.name(&lookup.origin),
            lookup.kind,
            names.key(&lookup.key)
        ),
        stop,
        found,
        providers: outcome
            .map(|o| o.providers.iter().map(|p| names.name(p)).collect())
            .unwrap_or_default(),
        chart: chart(&progress(hops)),
        rows,
    }
}

/// `1 hop`, `3 hops`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The best distance known at the start and after each answer, as bits shared with the
/// key: the line climbs as the lookup closes in. The key itself (all 256 bits) is drawn at
/// the top.
fn chart(progress: &[testbed::dht::Distance]) -> Option<Chart> {
    if progress.is_empty() {
        return None;
    }
    let bits: Vec<u32> = progress.iter().map(|d| d.common_prefix()).collect();
    let top = bits
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .clamp(8, CHART_SCALE);
    let step = (CHART_WIDTH - CHART_LEFT - 8.0) / (bits.len().max(2) - 1) as f64;
    let x = |i: usize| CHART_LEFT + step * i as f64;
    let floor = CHART_HEIGHT - CHART_BOTTOM;
    let y = |b: u32| floor - (floor - 8.0) * f64::from(b.min(top)) / f64::from(top);
    let points: Vec<String> = bits
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{:.1},{:.1}", x(i), y(*b)))
        .collect();
    let marks = bits
        .iter()
        .enumerate()
        .map(|(i, b)| {
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
            ((x(i), y(*b)), format!("{when}: {what}"))
        })
        .collect();
    Some(Chart {
        top_label: if bits.iter().any(|&b| b > top) {
            format!("{top}+")
        } else {
            top.to_string()
        },
        top_y: y(top) + 4.0,
        zero_y: y(0) + 4.0,
        points: points.join(" "),
        marks,
        bits,
    })
}

fn table_panel(
    names: &Names,
    peer: usize,
    table: &testbed::dht::node::RoutingTable,
) -> Option<TablePanel> {
    let own = names.view.peer_id(peer)?;
    Some(TablePanel {
        peer,
        prefix: KeyPoint::of_peer(&own).prefix(12),
        buckets: table
            .buckets
            .iter()
            .map(|bucket| {
                let shared = 255 - bucket.index as usize;
                BucketRow {
                    index: bucket.index,
                    shared,
                    entries: bucket
                        .peers
                        .iter()
                        .map(|entry| {
                            let key = KeyPoint::of_peer(entry).prefix(shared + 4);
                            let (same, rest) = key.split_at(shared.min(key.len()));
                            (names.name(entry), same.to_owned(), rest.to_owned())
                        })
                        .collect(),
                }
            })
            .collect(),
    })
}

fn picture_nodes(picture: &Picture) -> Vec<Node> {
    if picture == &Picture::default() {
        return Vec::new();
    }
    let status = picture.status.as_ref().map(|status| match status {
        Status::Settling { busy, peers, entries } => el("p")
            .attr("class", "dht-status")
            .attr("data-settled", "false")
            .attr("role", "status")
            .text(format!("Settling: libp2p-kad's start-up lookups are filling the routing tables ({busy} of {peers} peers still busy, {entries} table entries so far). "))
            .child(el("progress").attr("max", peers).attr("value", peers - busy)),
        Status::Settled => el("p")
            .attr("class", "dht-status")
            .attr("data-settled", "true")
            .attr("role", "status")
            .text("Settled: the start-up lookups are over and the routing tables are filled."),
    });
    let lookup = match &picture.lookup {
        Some(panel) => lookup_node(panel),
        None => el("section")
            .attr("class", "dht-lookup")
            .child(el("h3").text("Lookups"))
            .child(el("p").attr("class", "muted").text("No lookup yet. A lookup asks peers ever closer to a key until no one knows a closer peer.")),
    };
    let side = el("div")
        .attr("class", "dht-side")
        .child(lookup)
        .children(picture.table.as_ref().map(table_node))
        .children(
            (!picture.records.is_empty())
                .then(|| records_node(&picture.records, picture.replication)),
        );
    let errors = (!picture.errors.is_empty()).then(|| {
        el("section")
            .attr("class", "kad-errors")
            .attr("role", "alert")
            .child(el("h3").text("Malformed kad messages"))
            .child(el("ul").children(picture.errors.iter().map(|e| el("li").text(e.clone()))))
    });
    status
        .into_iter()
        .chain([el("div")
            .attr("class", "dht-grid")
            .child(key_space_node(&picture.key_space))
            .child(side)])
        .chain(errors)
        .collect()
}

/// One decimal: SVG coordinates need no more.
fn fixed(value: f64) -> String {
    format!("{value:.1}")
}

/// `<title>`: what a pointer over an SVG element shows.
fn title(text: impl Into<String>) -> Node {
    el("title").text(text)
}

fn line(class: &str, from: (f64, f64), to: (f64, f64)) -> Node {
    el("line")
        .attr("class", class)
        .attr("x1", fixed(from.0))
        .attr("y1", fixed(from.1))
        .attr("x2", fixed(to.0))
        .attr("y2", fixed(to.1))
}

fn key_space_node(space: &KeySpace) -> Node {
    // Quarters of the circle are the keys starting 00, 01, 10 and 11.
    let quarters = ["00…", "01…", "10…", "11…"]
        .iter()
        .enumerate()
        .flat_map(|(quarter, prefix)| {
            let end = point(quarter as f64 / 4.0, RADIUS + 8.0);
            let (lx, ly) = point((quarter as f64 + 0.5) / 4.0, RADIUS - 22.0);
            [
                line("quarter", (CENTER, CENTER), end),
                el("text")
                    .attr("class", "prefix")
                    .attr("x", fixed(lx))
                    .attr("y", fixed(ly))
                    .text(*prefix),
            ]
        });
    let hops = space.hops.iter().map(|hop| {
        line("hop", hop.from, hop.to)
            .attr("data-depth", hop.depth)
            .child(title(hop.title.clone()))
    });
    let target = space.target.as_ref().map(|((x, y), key)| {
        el("path")
            .attr("class", "target")
            .attr("d", format!("M{x:.1} {:.1} l7 7 l-7 7 l-7 -7 z", y - 7.0))
            .child(title(format!("the key: {key}")))
    });
    let dots = space.dots.iter().map(|dot| {
        let name = format!("peer {}{}", dot.index, dot.share);
        el("g")
            .attr("class", &dot.classes)
            .attr("data-peer", dot.index)
            .attr("tabindex", "0")
            .attr("role", "button")
            .attr("aria-label", format!("{name}: show its routing table"))
            .child(title(name))
            .child(
                el("circle")
                    .attr("cx", fixed(dot.at.0))
                    .attr("cy", fixed(dot.at.1))
                    .attr("r", "5"),
            )
            .children(dot.label.map(|(x, y)| {
                el("text")
                    .attr("x", fixed(x))
                    .attr("y", fixed(y + 4.0))
                    .text(dot.index.to_string())
            }))
    });
    let legend = space.legend.as_ref().map(|(key, origin)| {
        el("p")
            .child(el("span").attr("class", "legend-target").text("◆"))
            .text(format!(" the key {key} · "))
            .child(el("span").attr("class", "legend-origin").text("●"))
            .text(format!(" {origin} · lines: the peers it asked, darker with each hop · thick ring: the closest found · yellow: holds the record."))
    });
    el("figure")
        .attr("class", "keyspace")
        .child(
            el("svg")
                .attr("viewBox", format!("0 0 {SIZE} {SIZE}"))
                .attr("role", "img")
                .attr("aria-label", "The key space: each peer at the position of its 256-bit key")
                .child(
                    el("circle")
                        .attr("class", "ring")
                        .attr("cx", CENTER)
                        .attr("cy", CENTER)
                        .attr("r", RADIUS),
                )
                .children(quarters)
                .children(hops)
                .children(target)
                .children(dots),
        )
        .child(
            el("figcaption")
                .child(el("p").text("Each dot is a peer at its key (SHA-256 of its PeerId), read as a fraction of the circle. Peers whose keys share a long prefix sit in the same small arc: XOR distance is small between them. Click a peer for its routing table."))
                .children(legend),
        )
}

fn lookup_node(panel: &LookupPanel) -> Node {
    let found = panel.found.as_ref().map(|found| match found {
        Some(value) => el("p")
            .attr("class", "found")
            .attr("data-found", "true")
            .text(format!("Found the record: “{value}”.")),
        None => el("p")
            .attr("class", "found")
            .attr("data-found", "false")
            .text("No peer it asked had the record."),
    });
    let providers = (!panel.providers.is_empty()).then(|| {
        el("p")
            .attr("class", "found")
            .text(format!("Providers: {}.", panel.providers.join(", ")))
    });
    let head = el("tr").children(
        [
            "#",
            "hop",
            "asked",
            "bits shared with the key",
            "in flight",
            "answer",
        ]
        .map(|name| el("th").attr("scope", "col").text(name)),
    );
    let rows = panel.rows.iter().map(|row| {
        let mut answer = el("td");
        answer = match &row.answer {
            None => answer.text("no answer (yet)"),
            Some((summary, new)) if new.is_empty() => answer.text(format!("{summary}, none new")),
            Some((summary, new)) => {
                answer = answer.text(format!("{summary}; new: "));
                for (i, name) in new.iter().enumerate() {
                    if i > 0 {
                        answer = answer.text(", ");
                    }
                    answer = answer.child(el("b").text(name.clone()));
                }
                answer
            }
        };
        if row.late {
            answer = answer
                .text(" (sent after the lookup ended: its connection was still being dialed)");
        }
        el("tr")
            .attr("class", "hop-row")
            .attr("data-depth", row.depth.min(4))
            .attr_if("data-late", row.late.then_some("true"))
            .children(
                [
                    row.number.to_string(),
                    row.depth.to_string(),
                    row.asked.clone(),
                    row.bits.to_string(),
                    row.in_flight.to_string(),
                ]
                .map(|cell| el("td").text(cell)),
            )
            .child(answer)
    });
    el("section")
        .attr("class", "dht-lookup")
        .attr("data-hops", panel.hops)
        .attr("data-depth", panel.depth)
        .attr("data-finished", panel.finished)
        .attr("data-took-ms", format!("{:.1}", panel.took_ms))
        .child(el("h3").text(panel.title.clone()))
        .child(
            el("p")
                .attr("class", "stop")
                .text(panel.stop.clone().unwrap_or_else(|| "Running…".into())),
        )
        .children(found)
        .children(providers)
        .children(panel.chart.as_ref().map(chart_node))
        .child(
            el("table")
                .attr("class", "hops")
                .child(el("thead").child(head))
                .child(el("tbody").children(rows)),
        )
}

fn chart_node(chart: &Chart) -> Node {
    let floor = CHART_HEIGHT - CHART_BOTTOM;
    let marks = chart.marks.iter().map(|((x, y), what)| {
        el("circle")
            .attr("cx", fixed(*x))
            .attr("cy", fixed(*y))
            .attr("r", "3")
            .child(title(what.clone()))
    });
    let bits: Vec<String> = chart.bits.iter().map(ToString::to_string).collect();
    el("figure")
        .attr("class", "distance-chart")
        .attr("data-points", chart.bits.len())
        .attr("data-bits", bits.join(" "))
        .child(
            el("svg")
                .attr("viewBox", format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}"))
                .attr("role", "img")
                .attr("aria-label", "Bits shared with the key by the closest peer known, at the start and after each answer")
                .child(line("axis", (CHART_LEFT, floor), (CHART_WIDTH, floor)))
                .child(line("axis", (CHART_LEFT, 8.0), (CHART_LEFT, floor)))
                .child(el("text").attr("x", "2").attr("y", fixed(chart.top_y)).text(chart.top_label.clone()))
                .child(el("text").attr("x", "2").attr("y", fixed(chart.zero_y)).text("0"))
                .child(el("polyline").attr("points", &chart.points))
                .children(marks)
                .child(
                    el("text")
                        .attr("x", CHART_LEFT)
                        .attr("y", fixed(CHART_HEIGHT - 3.0))
                        .text("start, then each answer in the order they came →"),
                ),
        )
        .child(el("figcaption").text("The best distance known, as leading bits shared with the key (more bits: closer): first from the peer's own table, then after each answer. It never falls back. libp2p-kad answers with up to 20 peers, so in a small network one answer often names the closest peers at once."))
}

fn table_node(table: &TablePanel) -> Node {
    let i = || el("i").text("i");
    let buckets = table.buckets.iter().map(|bucket| {
        el("li")
            .attr("data-bucket", bucket.index)
            .child(el("span").attr("class", "bucket-name").text(format!(
                "bucket {} · shares {} bits",
                bucket.index, bucket.shared
            )))
            .children(bucket.entries.iter().flat_map(|(name, same, rest)| {
                [
                    text(" "),
                    el("span")
                        .attr("class", "entry")
                        .text(format!("{name} "))
                        .child(
                            el("code")
                                .child(el("b").text(same.clone()))
                                .text(format!("{rest}…")),
                        ),
                ]
            }))
    });
    let peer = table.peer;
    el("section")
        .attr("class", "routing-table")
        .attr("data-peer", peer)
        .attr("data-buckets", table.buckets.len())
        .child(el("h3").text(format!("Peer {peer}'s routing table")))
        .child(
            el("p")
                .text("Its key starts ")
                .child(el("code").text(format!("{}…", table.prefix)))
                .text(". Bucket ")
                .child(i())
                .text(" holds peers at XOR distance from 2")
                .child(el("sup").child(i()))
                .text(" to 2")
                .child(el("sup").child(i()).text("+1"))
                .text(": they share the first 255 − ")
                .child(i())
                .text(" bits of its key, then differ. Far buckets cover huge parts of the key space, so they fill first; each holds at most k peers. About log₂ N buckets have anyone in them."),
        )
        .child(el("ol").attr("class", "buckets").children(buckets))
}

fn records_node(records: &[RecordRow], replication: usize) -> Node {
    let spaced = |peers: &[usize]| {
        peers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let named = |peers: &[usize]| {
        peers
            .iter()
            .map(|i| format!("peer {i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows = records.iter().map(|record| {
        let what = if record.provider_records {
            "Provider records for"
        } else {
            "The record"
        };
        let holders = if record.holders.is_empty() {
            "nobody".to_owned()
        } else {
            named(&record.holders)
        };
        el("li")
            .attr("data-key", &record.key)
            .attr("data-holders", record.holders.len())
            .attr("data-holder-peers", spaced(&record.holders))
            .attr("data-closest-live", spaced(&record.closest_live))
            .text(format!("{what} {}: {holders} ", record.key))
            .child(el("span").attr("class", "muted").text(format!(
                "(the {replication} closest live peers to the key: {})",
                named(&record.closest_live)
            )))
    });
    el("section")
        .attr("class", "records")
        .child(el("h3").text("Who holds what"))
        .child(el("ul").children(rows))
}
