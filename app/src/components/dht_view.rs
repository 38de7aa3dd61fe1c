//! The DHT view: the key space as a circle (every peer and the key looked up, at their 256-bit
//! positions), the last lookup hop by hop with a chart of the best distance it knew, one
//! peer's routing table as its buckets, and which peers hold each record. A click on a peer
//! shows its routing table.
//!
//! What is drawn is first computed as a [`Picture`], in a memo: the trace changes with every
//! kad message, the picture far less often, and an unchanged picture leaves the page (and the
//! focused peer) alone.

use std::f64::consts::TAU;

use leptos::prelude::*;
use testbed::dht::lookup::{depth, progress, Hop};
use testbed::dht::{Holding, KeyPoint, Lookup, LookupKind, Lookups};
use testbed::labels::key_label;
use testbed::view::NetworkView;
use testbed::PeerId;
use wasm_bindgen::JsCast;

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
    view! {
        <div class="dht" on:click=on_click on:keydown=on_key>
            {move || picture.with(picture_view)}
        </div>
    }
}

fn picture_view(picture: &Picture) -> AnyView {
    if picture == &Picture::default() {
        return ().into_any();
    }
    let status = picture.status.clone().map(|status| match status {
        Status::Settling { busy, peers, entries } => view! {
            <p class="dht-status" data-settled="false" role="status">
                {format!("Settling: libp2p-kad's start-up lookups are filling the routing tables ({busy} of {peers} peers still busy, {entries} table entries so far). ")}
                <progress max=peers value=peers - busy></progress>
            </p>
        }
        .into_any(),
        Status::Settled => view! {
            <p class="dht-status" data-settled="true" role="status">
                "Settled: the start-up lookups are over and the routing tables are filled."
            </p>
        }
        .into_any(),
    });
    let lookup = match &picture.lookup {
        Some(panel) => lookup_view(panel),
        None => view! {
            <section class="dht-lookup">
                <h3>"Lookups"</h3>
                <p class="muted">"No lookup yet. A lookup asks peers ever closer to a key until no one knows a closer peer."</p>
            </section>
        }
        .into_any(),
    };
    let table = picture.table.as_ref().map(table_view);
    let records =
        (!picture.records.is_empty()).then(|| records_view(&picture.records, picture.replication));
    let errors = (!picture.errors.is_empty()).then(|| {
        let items = picture
            .errors
            .iter()
            .map(|error| view! { <li>{error.clone()}</li> })
            .collect_view();
        view! {
            <section class="kad-errors" role="alert">
                <h3>"Malformed kad messages"</h3>
                <ul>{items}</ul>
            </section>
        }
    });
    view! {
        {status}
        <div class="dht-grid">
            {key_space_view(&picture.key_space)}
            <div class="dht-side">{lookup} {table} {records}</div>
        </div>
        {errors}
    }
    .into_any()
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

/// One decimal: SVG coordinates need no more.
fn fixed(value: f64) -> String {
    format!("{value:.1}")
}

fn key_space_view(space: &KeySpace) -> impl IntoView {
    let quarters = ["00…", "01…", "10…", "11…"]
        .iter()
        .enumerate()
        .map(|(quarter, prefix)| {
            // Quarters of the circle are the keys starting 00, 01, 10 and 11.
            let (x, y) = point(quarter as f64 / 4.0, RADIUS + 8.0);
            let (lx, ly) = point((quarter as f64 + 0.5) / 4.0, RADIUS - 22.0);
            view! {
                <line class="quarter" x1=CENTER y1=CENTER x2=fixed(x) y2=fixed(y)/>
                <text class="prefix" x=fixed(lx) y=fixed(ly)>{*prefix}</text>
            }
        })
        .collect_view();
    let hops = space
        .hops
        .iter()
        .map(|hop| {
            view! {
                <line class="hop" data-depth=hop.depth x1=fixed(hop.from.0) y1=fixed(hop.from.1)
                    x2=fixed(hop.to.0) y2=fixed(hop.to.1)>
                    <title>{hop.title.clone()}</title>
                </line>
            }
        })
        .collect_view();
    let target = space.target.clone().map(|((x, y), key)| {
        view! {
            <path class="target" d=format!("M{x:.1} {:.1} l7 7 l-7 7 l-7 -7 z", y - 7.0)>
                <title>{format!("the key: {key}")}</title>
            </path>
        }
    });
    let dots = space
        .dots
        .iter()
        .map(|dot| {
            let name = format!("peer {}{}", dot.index, dot.share);
            let label_text = format!("{name}: show its routing table");
            let label = dot.label.map(|(x, y)| {
                view! { <text x=fixed(x) y=fixed(y + 4.0)>{dot.index}</text> }
            });
            view! {
                <g class=dot.classes.clone() data-peer=dot.index tabindex="0" role="button"
                    aria-label=label_text>
                    <title>{name}</title>
                    <circle cx=fixed(dot.at.0) cy=fixed(dot.at.1) r="5"/>
                    {label}
                </g>
            }
        })
        .collect_view();
    let legend = space.legend.clone().map(|(key, origin)| {
        view! {
            <p>
                <span class="legend-target">"◆"</span> {format!(" the key {key} · ")}
                <span class="legend-origin">"●"</span>
                {format!(" {origin} · lines: the peers it asked, darker with each hop · thick ring: the closest found · yellow: holds the record.")}
            </p>
        }
    });
    view! {
        <figure class="keyspace">
            <svg viewBox=format!("0 0 {SIZE} {SIZE}") role="img"
                aria-label="The key space: each peer at the position of its 256-bit key">
                <circle class="ring" cx=CENTER cy=CENTER r=RADIUS/>
                {quarters}
                {hops}
                {target}
                {dots}
            </svg>
            <figcaption>
                <p>"Each dot is a peer at its key (SHA-256 of its PeerId), read as a fraction of the circle. Peers whose keys share a long prefix sit in the same small arc: XOR distance is small between them. Click a peer for its routing table."</p>
                {legend}
            </figcaption>
        </figure>
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

fn lookup_view(panel: &LookupPanel) -> AnyView {
    let stop = match &panel.stop {
        Some(stop) => stop.clone(),
        None => "Running…".to_owned(),
    };
    let found = panel.found.clone().map(|found| match found {
        Some(value) => view! {
            <p class="found" data-found="true">{format!("Found the record: “{value}”.")}</p>
        }
        .into_any(),
        None => view! {
            <p class="found" data-found="false">"No peer it asked had the record."</p>
        }
        .into_any(),
    });
    let providers = (!panel.providers.is_empty()).then(|| {
        view! { <p class="found">{format!("Providers: {}.", panel.providers.join(", "))}</p> }
    });
    let rows = panel
        .rows
        .iter()
        .map(|row| {
            let answer = match &row.answer {
                None => view! { "no answer (yet)" }.into_any(),
                Some((text, new)) if new.is_empty() => format!("{text}, none new").into_any(),
                Some((text, new)) => {
                    let names = new
                        .iter()
                        .enumerate()
                        .map(|(i, name)| {
                            view! { {(i > 0).then_some(", ")} <b>{name.clone()}</b> }
                        })
                        .collect_view();
                    view! { {format!("{text}; new: ")} {names} }.into_any()
                }
            };
            let late = row
                .late
                .then_some(" (sent after the lookup ended: its connection was still being dialed)");
            view! {
                <tr class="hop-row" data-depth=row.depth.min(4) data-late=row.late.then_some("true")>
                    <td>{row.number}</td>
                    <td>{row.depth}</td>
                    <td>{row.asked.clone()}</td>
                    <td>{row.bits}</td>
                    <td>{row.in_flight}</td>
                    <td>{answer}{late}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="dht-lookup" data-hops=panel.hops data-depth=panel.depth
            data-finished=panel.finished.to_string() data-took-ms=format!("{:.1}", panel.took_ms)>
            <h3>{panel.title.clone()}</h3>
            <p class="stop">{stop}</p>
            {found}
            {providers}
            {panel.chart.as_ref().map(chart_view)}
            <table class="hops">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">"hop"</th>
                        <th scope="col">"asked"</th>
                        <th scope="col">"bits shared with the key"</th>
                        <th scope="col">"in flight"</th>
                        <th scope="col">"answer"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
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

fn chart_view(chart: &Chart) -> impl IntoView {
    let floor = CHART_HEIGHT - CHART_BOTTOM;
    let marks = chart
        .marks
        .iter()
        .map(|((x, y), title)| {
            view! {
                <circle cx=fixed(*x) cy=fixed(*y) r="3"><title>{title.clone()}</title></circle>
            }
        })
        .collect_view();
    let bits: Vec<String> = chart.bits.iter().map(ToString::to_string).collect();
    view! {
        <figure class="distance-chart" data-points=chart.bits.len() data-bits=bits.join(" ")>
            <svg viewBox=format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}") role="img"
                aria-label="Bits shared with the key by the closest peer known, at the start and after each answer">
                <line class="axis" x1=CHART_LEFT y1=floor x2=CHART_WIDTH y2=floor/>
                <line class="axis" x1=CHART_LEFT y1="8" x2=CHART_LEFT y2=floor/>
                <text x="2" y=fixed(chart.top_y)>{chart.top_label.clone()}</text>
                <text x="2" y=fixed(chart.zero_y)>"0"</text>
                <polyline points=chart.points.clone()/>
                {marks}
                <text x=CHART_LEFT y=fixed(CHART_HEIGHT - 3.0)>"start, then each answer in the order they came →"</text>
            </svg>
            <figcaption>"The best distance known, as leading bits shared with the key (more bits: closer): first from the peer's own table, then after each answer. It never falls back. libp2p-kad answers with up to 20 peers, so in a small network one answer often names the closest peers at once."</figcaption>
        </figure>
    }
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

fn table_view(table: &TablePanel) -> impl IntoView {
    let buckets = table
        .buckets
        .iter()
        .map(|bucket| {
            let entries = bucket
                .entries
                .iter()
                .map(|(name, same, rest)| {
                    view! {
                        " " <span class="entry">{format!("{name} ")} <code><b>{same.clone()}</b>{format!("{rest}…")}</code></span>
                    }
                })
                .collect_view();
            view! {
                <li data-bucket=bucket.index>
                    <span class="bucket-name">{format!("bucket {} · shares {} bits", bucket.index, bucket.shared)}</span>
                    {entries}
                </li>
            }
        })
        .collect_view();
    let peer = table.peer;
    view! {
        <section class="routing-table" data-peer=peer data-buckets=table.buckets.len()>
            <h3>{format!("Peer {peer}'s routing table")}</h3>
            <p>
                "Its key starts " <code>{format!("{}…", table.prefix)}</code>
                ". Bucket " <i>"i"</i> " holds peers at XOR distance from 2" <sup><i>"i"</i></sup>
                " to 2" <sup><i>"i"</i> "+1"</sup>
                ": they share the first 255 − " <i>"i"</i>
                " bits of its key, then differ. Far buckets cover huge parts of the key space, so they fill first; each holds at most k peers. About log₂ N buckets have anyone in them."
            </p>
            <ol class="buckets">{buckets}</ol>
        </section>
    }
}

fn records_view(records: &[RecordRow], replication: usize) -> impl IntoView {
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
    let rows = records
        .iter()
        .map(|record| {
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
            view! {
                <li data-key=record.key.clone() data-holders=record.holders.len()
                    data-holder-peers=spaced(&record.holders)
                    data-closest-live=spaced(&record.closest_live)>
                    {format!("{what} {}: {holders} ", record.key)}
                    <span class="muted">
                        {format!("(the {replication} closest live peers to the key: {})", named(&record.closest_live))}
                    </span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="records">
            <h3>"Who holds what"</h3>
            <ul>{rows}</ul>
        </section>
    }
}
