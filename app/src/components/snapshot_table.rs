//! What each snapshot recorded: every peer's balance, the tokens recorded on channels, their
//! sum against the tokens in the system, and whether the cut was consistent. Newest first;
//! older ones folded to a line, so the diagram keeps its room.
//!
//! The table is static text, written as one HTML string: built from typed views it cost the
//! page ~15 KB (gzip) of view code. The words come from the engine ([`Report::wording`]).

use leptos::prelude::*;
use testbed::snapshot::report::Report;
use testbed::snapshot::{in_trace, Recording};

use crate::html::escape;

/// Reports shown; older ones stay in the session.
const SHOWN: usize = 3;

#[component]
pub fn SnapshotTable(session: crate::session::Session) -> impl IntoView {
    // How long each finished snapshot took, found once in the trace: scanning it again on
    // every trace update would cost a full pass per report while peers keep talking. Keyed by
    // the network's generation, as a new network numbers its snapshots afresh.
    let took: StoredValue<Vec<((u64, Recording), f64)>> = StoredValue::new(Vec::new());
    let took_ms = move |report: &Report| {
        if !matches!(report.recording, Recording::Snapshot(_)) || report.incomplete.is_some() {
            return None;
        }
        let key = (session.generation(), report.recording);
        let known = took.with_value(|t| t.iter().find(|(k, _)| *k == key).map(|(_, ms)| *ms));
        known.or_else(|| {
            let ms = session
                .trace
                .with(|trace| in_trace::took_ms(trace, report.recording))?;
            took.update_value(|t| {
                t.retain(|((generation, _), _)| *generation == key.0);
                t.push((key, ms));
            });
            Some(ms)
        })
    };
    let html = move || {
        session.tokens.reports.with(|reports| {
            reports
                .iter()
                .rev()
                .take(SHOWN)
                .enumerate()
                .map(|(n, report)| report_html(report, took_ms(report), n == 0))
                .collect::<String>()
        })
    };
    view! {
        <section class="snapshots" aria-label="Snapshots" aria-live="polite"
            hidden=move || session.tokens.reports.with(Vec::is_empty) inner_html=html>
        </section>
    }
}

fn report_html(report: &Report, took_ms: Option<f64>, newest: bool) -> String {
    let wording = report.wording(took_ms);
    let mut html = format!(
        "<details class=\"snapshot-report\"{} data-recording=\"{}\" data-adds-up=\"{}\" data-incomplete=\"{}\"{}><summary>{}</summary>",
        if newest { " open" } else { "" },
        escape(&report.recording.to_string()),
        report.adds_up(),
        report.incomplete.is_some(),
        took_ms.map(|ms| format!(" data-took-ms=\"{ms:.1}\"")).unwrap_or_default(),
        escape(&wording.summary),
    );
    if !report.balances.is_empty() {
        html.push_str("<ul class=\"balances\" aria-label=\"Recorded balances\">");
        for (peer, balance) in &report.balances {
            html.push_str(&format!(
                "<li><span class=\"peer-name\">peer {peer}</span> <b>{balance}</b></li>"
            ));
        }
        html.push_str("</ul>");
    }
    for (sentence, good) in &wording.sentences {
        let tone = good
            .map(|good| format!(" data-ok=\"{good}\""))
            .unwrap_or_default();
        html.push_str(&format!(
            "<p class=\"verdict\"{tone}>{}</p>",
            escape(sentence)
        ));
    }
    html.push_str("</details>");
    html
}
