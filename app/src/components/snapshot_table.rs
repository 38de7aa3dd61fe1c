//! What each snapshot recorded: every peer's balance, the tokens recorded on channels, their
//! sum against the tokens in the system, and whether the cut was consistent. Newest first;
//! older ones folded to a line, so the diagram keeps its room.
//! The words come from the engine ([`Report::wording`]).

use leptos::html::Section;
use leptos::prelude::*;
use testbed::snapshot::report::Report;
use testbed::snapshot::{in_trace, Recording};

use crate::dom::{draw_into, el, Node};
use crate::running::Running;
use crate::token_app::TokenApp;

/// Reports shown; older ones stay in the session.
const SHOWN: usize = 3;

#[component]
pub fn SnapshotTable(tokens: TokenApp, running: Running) -> impl IntoView {
    // How long each finished snapshot took, found once in the trace: scanning it again on
    // every trace update would cost a full pass per report while peers keep talking. Keyed by
    // the network's generation, as a new network numbers its snapshots afresh.
    let took: StoredValue<Vec<((u64, Recording), f64)>> = StoredValue::new(Vec::new());
    let took_ms = move |report: &Report| {
        if !matches!(report.recording, Recording::Snapshot(_)) || report.incomplete.is_some() {
            return None;
        }
        let key = (running.generation(), report.recording);
        let known = took.with_value(|t| t.iter().find(|(k, _)| *k == key).map(|(_, ms)| *ms));
        known.or_else(|| {
            let ms = running
                .trace
                .with(|trace| in_trace::took_ms(trace, report.recording))?;
            took.update_value(|t| {
                t.retain(|((generation, _), _)| *generation == key.0);
                t.push((key, ms));
            });
            Some(ms)
        })
    };
    // A memo: the trace changes with every message, the table far less often.
    let nodes = Memo::new(move |_| {
        tokens.reports.with(|reports| {
            reports
                .iter()
                .rev()
                .take(SHOWN)
                .enumerate()
                .map(|(n, report)| report_node(report, took_ms(report), n == 0))
                .collect::<Vec<_>>()
        })
    });
    let section = NodeRef::<Section>::new();
    draw_into(section, move || nodes.get());
    view! {
        <section class="snapshots" aria-label="Snapshots" aria-live="polite" node_ref=section
            hidden=move || tokens.reports.with(Vec::is_empty)>
        </section>
    }
}

fn report_node(report: &Report, took_ms: Option<f64>, newest: bool) -> Node {
    let wording = report.wording(took_ms);
    let balances = (!report.balances.is_empty()).then(|| {
        el("ul")
            .attr("class", "balances")
            .attr("aria-label", "Recorded balances")
            .children(report.balances.iter().map(|(peer, balance)| {
                el("li")
                    .child(
                        el("span")
                            .attr("class", "peer-name")
                            .text(format!("peer {peer}")),
                    )
                    .text(" ")
                    .child(el("b").text(balance.to_string()))
            }))
    });
    el("details")
        .key(report.recording)
        .attr("class", "snapshot-report")
        .attr_if("open", newest.then_some(""))
        .attr("data-recording", report.recording)
        .attr("data-adds-up", report.adds_up())
        .attr("data-incomplete", report.incomplete.is_some())
        .attr_if("data-took-ms", took_ms.map(|ms| format!("{ms:.1}")))
        .child(el("summary").text(wording.summary))
        .children(balances)
        .children(wording.sentences.into_iter().map(|(sentence, good)| {
            el("p")
                .attr("class", "verdict")
                .attr_if("data-ok", good)
                .text(sentence)
        }))
}
