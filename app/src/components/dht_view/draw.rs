//! The DHT view's picture as DOM (see [`crate::dom`]).

use super::picture::{
    point, Chart, KeySpace, LookupPanel, Picture, RecordRow, Status, TablePanel, CENTER,
    CHART_BOTTOM, CHART_HEIGHT, CHART_LEFT, CHART_WIDTH, RADIUS, SIZE,
};
use crate::dom::{el, text, Node};
use testbed::dht::settle::Settling;
use testbed::dht::steady_before;
use testbed::view::counted;

pub(super) fn picture_nodes(picture: &Picture) -> Vec<Node> {
    if picture == &Picture::default() {
        return vec![el("p").attr("class", "diagram-empty").text(
            "No DHT yet. Once a Kademlia network starts, its key space, lookups and routing tables are drawn here.",
        )];
    }
    let status = picture.status.as_ref().map(|status| match status {
        Status::Settling(Settling {
            done,
            peers,
            entries,
            tables_steady_ms,
            bootstrap,
            ..
        }) => el("p")
            .attr("class", "dht-status")
            .attr("data-settled", "false")
            .attr("role", "status")
            .text(
                "Settling: each peer bootstraps. It looks up its own key, then a key in each farther bucket, each time asking for the 20 closest peers (libp2p-kad's number for this, whatever k is). A peer whose table grew meanwhile, and holds fewer than 20, bootstraps again.",
            )
            .child(
                el("span")
                    .attr("class", "dht-figures")
                    .text(format!(
                        "{} done, {} to go in the bootstraps running · {done} of {peers} peers done · {}{} ",
                        counted(bootstrap.done, "bootstrap lookup", "bootstrap lookups"),
                        bootstrap.left,
                        counted(*entries, "table entry", "table entries"),
                        steady_note(*tables_steady_ms)
                    ))
                    .child(
                        el("progress")
                            .attr("max", (bootstrap.done + bootstrap.left).max(1))
                            .attr("value", bootstrap.done),
                    ),
            ),
        Status::Settled { tables_steady_ms } => el("p")
            .attr("class", "dht-status")
            .attr("data-settled", "true")
            .attr("data-tables-steady-ms", tables_steady_ms)
            .attr("role", "status")
            .text(format!(
                "Settled: the start-up lookups are over and the routing tables are filled (they {}).",
                steady_before(*tables_steady_ms)
            )),
    });
    let lookup = match &picture.lookup {
        Some(panel) => lookup_node(panel),
        None => el("section")
            .attr("class", "dht-lookup")
            .child(el("h3").text("Lookups"))
            .child(el("p").attr("class", "muted").text("No lookup yet. A lookup asks peers ever closer to a key until no one knows a closer peer.")),
    };
    // Who holds what first: a line per record, which the record lessons watch change while
    // the lookup beside it runs long.
    let side = el("div")
        .attr("class", "dht-side")
        .children(
            (!picture.records.is_empty())
                .then(|| records_node(&picture.records, picture.replication)),
        )
        .child(lookup)
        .children(picture.table.as_ref().map(table_node));
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

/// While the tables have not changed for a while, says so: the bootstrap's last lookups find
/// no one new, and the learner sees why settling still goes on.
fn steady_note(tables_steady_ms: u64) -> String {
    if tables_steady_ms < 2_000 {
        return String::new();
    }
    format!(
        " · no table has changed for {:.1} s, yet each bootstrap runs to its end",
        tables_steady_ms as f64 / 1000.0
    )
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
            .children(
                dot.label
                    .and_then(|label| label.leader)
                    .map(|(from, to)| line("leader", from, to)),
            )
            .children(dot.label.map(|label| {
                el("text")
                    .attr("x", fixed(label.at.0))
                    .attr("y", fixed(label.at.1 + 4.0))
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
        answer = match (row.store, &row.answer) {
            (Some(store), _) => answer.text(store),
            (None, None) => answer.text("no answer (yet)"),
            (None, Some((summary, new))) if new.is_empty() => {
                answer.text(format!("{summary}, none new"))
            }
            (None, Some((summary, new))) => {
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
        if row.late && row.store.is_none() {
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
                "bucket {} · shares {}",
                bucket.index,
                testbed::view::counted(bucket.shared, "bit", "bits")
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
        // A key is named like its record ("record 1"): "The record record 1" would say it twice.
        let what = if record.provider_records {
            "Provider records for "
        } else {
            ""
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
            .text(format!("{what}{}: {holders} ", record.key))
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
