//! What the DHT view draws, as plain values computed from the page's state: the key space,
//! the last lookup, a routing table, who holds each record.

use std::f64::consts::TAU;

use leptos::prelude::*;
use testbed::dht::lookup::{depth, progress, Hop};
use testbed::dht::settle::Settling;
use testbed::dht::{Holding, KeyPoint, Lookup, LookupKind, Lookups};
use testbed::labels::{key_label, Names as _};
use testbed::trace::Trace;
use testbed::view::{counted, NetworkView};
use testbed::wire::kad::KadKind;
use testbed::PeerId;

use crate::dht_app::DhtApp;

pub(super) const SIZE: f64 = 320.0;
pub(super) const CENTER: f64 = SIZE / 2.0;
pub(super) const RADIUS: f64 = 112.0;

/// Peers labelled with their number on the circle, up to this many.
pub(super) const LABELLED: usize = 40;
/// How far outside the circle a peer's number may go, nearest first, and how far apart two
/// numbers' centres must be (two digits at the keyspace's font size).
pub(super) const LABEL_RINGS: [f64; 3] = [13.0, 25.0, 37.0];
pub(super) const LABEL_CLEARANCE: f64 = 15.0;
/// A leader line stops this far from the dot's centre and from the number's.
const LEADER_GAP: f64 = 7.0;

/// The distance chart's size and margins.
pub(super) const CHART_WIDTH: f64 = 280.0;
pub(super) const CHART_HEIGHT: f64 = 120.0;
pub(super) const CHART_LEFT: f64 = 34.0;
pub(super) const CHART_BOTTOM: f64 = 18.0;
/// Shared bits drawn to scale up to this; more is drawn at the top.
pub(super) const CHART_SCALE: u32 = 24;

pub(super) fn point(fraction: f64, radius: f64) -> (f64, f64) {
    // 0 at the top, growing clockwise.
    let angle = TAU * fraction - TAU / 4.0;
    (CENTER + radius * angle.cos(), CENTER + radius * angle.sin())
}

/// Everything the view draws, as plain values.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Picture {
    pub(super) status: Option<Status>,
    pub(super) key_space: KeySpace,
    pub(super) lookup: Option<LookupPanel>,
    pub(super) table: Option<TablePanel>,
    pub(super) records: Vec<RecordRow>,
    pub(super) replication: usize,
    /// Malformed kad messages, newest first, as sentences.
    pub(super) errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Status {
    Settling(Settling),
    Settled { tables_steady_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct KeySpace {
    pub(super) hops: Vec<HopLine>,
    /// Where the key sits, and its name.
    pub(super) target: Option<((f64, f64), String)>,
    pub(super) dots: Vec<Dot>,
    /// The key's name and the lookup's origin, for the legend.
    pub(super) legend: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct HopLine {
    pub(super) depth: usize,
    pub(super) from: (f64, f64),
    pub(super) to: (f64, f64),
    pub(super) title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Dot {
    pub(super) index: usize,
    pub(super) classes: String,
    /// `, shares 3 leading bits with the key`, when a lookup has a key.
    pub(super) share: String,
    pub(super) at: (f64, f64),
    pub(super) label: Option<Label>,
}

/// A peer's number outside the circle, straight out from its dot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Label {
    pub(super) at: (f64, f64),
    /// From the dot to a number pushed past the nearest ring, so it still points at its peer.
    pub(super) leader: Option<((f64, f64), (f64, f64))>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct LookupPanel {
    pub(super) hops: usize,
    pub(super) depth: usize,
    pub(super) finished: bool,
    pub(super) took_ms: f64,
    pub(super) title: String,
    /// Why it stopped, in a sentence; None while it runs.
    pub(super) stop: Option<String>,
    /// A get's result: the value found, or None for no record. None for other lookups.
    pub(super) found: Option<Option<String>>,
    pub(super) providers: Vec<String>,
    pub(super) chart: Option<Chart>,
    pub(super) rows: Vec<HopRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct HopRow {
    pub(super) number: usize,
    pub(super) depth: usize,
    pub(super) late: bool,
    pub(super) asked: String,
    pub(super) bits: u32,
    pub(super) in_flight: usize,
    /// What the answer held (`the record, 5 peers`), and the peers new to the lookup.
    pub(super) answer: Option<(String, Vec<String>)>,
    /// A request that stores rather than asks (PUT_VALUE, ADD_PROVIDER), sent to the closest
    /// peers once the lookup has found them: what it asked for, and how it ended.
    pub(super) store: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Chart {
    pub(super) bits: Vec<u32>,
    pub(super) top_label: String,
    pub(super) top_y: f64,
    pub(super) zero_y: f64,
    pub(super) points: String,
    /// Each point and what it says.
    pub(super) marks: Vec<((f64, f64), String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct TablePanel {
    pub(super) peer: usize,
    pub(super) prefix: String,
    pub(super) buckets: Vec<BucketRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct BucketRow {
    pub(super) index: u32,
    pub(super) shared: usize,
    /// Each peer's name, and its key's first bits: those shared with the table's owner, then
    /// the rest.
    pub(super) entries: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct RecordRow {
    pub(super) key: String,
    pub(super) holders: Vec<usize>,
    pub(super) closest_live: Vec<usize>,
    pub(super) provider_records: bool,
}

/// What the DHT view draws now.
pub(super) fn of(
    dht: DhtApp,
    trace: RwSignal<Trace>,
    view: RwSignal<NetworkView>,
    replication: usize,
) -> Picture {
    let settling = dht.settling.get();
    let left = dht.left.get();
    let chosen = dht.chosen.get();
    let table = dht.table.get();
    let holdings = dht.holdings.get();
    view.with(|view| {
        trace.with(|trace| {
            let lookups = trace.lookups();
            let names = Names { view, left: &left };
            let last = lookups.lookups().next_back();
            let hops = last.map(|l| lookups.hops(l)).unwrap_or_default();
            Picture {
                status: match settling {
                    Some(settling) => Some(Status::Settling(settling)),
                    None => lookups
                        .settled
                        .map(|tables_steady_ms| Status::Settled { tables_steady_ms }),
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
}

/// Peer names as the learner knows them.
pub(super) struct Names<'a> {
    pub(super) view: &'a NetworkView,
    pub(super) left: &'a [usize],
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

pub(super) fn key_space(
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
pub(super) fn label_spots(ids: &[PeerId]) -> Vec<Option<Label>> {
    let mut order: Vec<(usize, f64)> = ids
        .iter()
        .enumerate()
        .map(|(i, p)| (i, KeyPoint::of_peer(p).fraction()))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut spots = vec![None; ids.len()];
    let mut placed: Vec<(f64, f64)> = Vec::new();
    for (index, fraction) in order {
        let free = LABEL_RINGS.iter().enumerate().find_map(|(ring, out)| {
            let (x, y) = point(fraction, RADIUS + out);
            placed
                .iter()
                .all(|&(px, py)| (px - x).hypot(py - y) >= LABEL_CLEARANCE)
                .then_some((ring, out, (x, y)))
        });
        if let Some((ring, out, at)) = free {
            placed.push(at);
            spots[index] = Some(Label {
                at,
                leader: (ring > 0).then(|| {
                    (
                        point(fraction, RADIUS + LEADER_GAP),
                        point(fraction, RADIUS + out - LEADER_GAP),
                    )
                }),
            });
        }
    }
    spots
}

pub(super) fn lookup_panel(
    names: &Names,
    lookups: &Lookups,
    lookup: &Lookup,
    hops: &[Hop],
) -> LookupPanel {
    let outcome = lookup.outcome.as_ref();
    let stores: Vec<&Hop> = hops
        .iter()
        .filter(|hop| matches!(hop.request, KadKind::PutValue | KadKind::AddProvider))
        .collect();
    let stop = outcome.map(|outcome| {
        let closest = match outcome.closest.is_empty() {
            true => String::new(),
            false => format!(" Closest found: {}.", names.view.peers(&outcome.closest)),
        };
        // A put or a provide reports no closest peers: the peers it then stores at are those.
        let then = match stores.first() {
            Some(first) => format!(
                " Then {} to {}.",
                first.request.name(),
                names
                    .view
                    .peers(&stores.iter().map(|hop| hop.asked).collect::<Vec<_>>())
            ),
            None => String::new(),
        };
        format!(
            "It stopped because {}. {}, {} deep, {:.0} ms.{closest}{then}",
            lookups.stop_reason(lookup),
            counted(hops.len() - stores.len(), "request", "requests"),
            counted(depth(hops), "hop", "hops"),
            outcome.took_ms,
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
            store: match (hop.request, &hop.answer) {
                (KadKind::PutValue, Some(_)) => Some("PUT_VALUE: it stored the record and said so"),
                (KadKind::PutValue, None) => Some("PUT_VALUE: store the record; no answer (yet)"),
                // libp2p-kad sends it once the lookup is over, and the protocol has no answer.
                (KadKind::AddProvider, _) => {
                    Some("ADD_PROVIDER: keep a provider record; it has no answer")
                }
                _ => None,
            },
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

/// The best distance known at the start and after each answer, as bits shared with the
/// key: the line climbs as the lookup closes in. The key itself (all 256 bits) is drawn at
/// the top.
pub(super) fn chart(progress: &[testbed::dht::Distance]) -> Option<Chart> {
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

pub(super) fn table_panel(
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
