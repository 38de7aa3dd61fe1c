//! What each snapshot recorded: every peer's balance, the tokens recorded on channels, their
//! sum against the tokens in the system, and whether the cut was consistent. Newest first;
//! older ones folded to a line, so the diagram keeps its room.
//! The words come from the engine ([`Report::wording`]).

use leptos::prelude::*;
use testbed::snapshot::report::Report;
use testbed::snapshot::{in_trace, Recording};

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
    let reports = move || {
        session.tokens.reports.with(|reports| {
            reports
                .iter()
                .rev()
                .take(SHOWN)
                .enumerate()
                .map(|(n, report)| report_view(report, took_ms(report), n == 0))
                .collect_view()
        })
    };
    view! {
        <section class="snapshots" aria-label="Snapshots" aria-live="polite"
            hidden=move || session.tokens.reports.with(Vec::is_empty)>
            {reports}
        </section>
    }
}

fn report_view(report: &Report, took_ms: Option<f64>, newest: bool) -> impl IntoView {
    let wording = report.wording(took_ms);
    let balances = (!report.balances.is_empty()).then(|| {
        let rows = report
            .balances
            .iter()
            .map(|(peer, balance)| {
                view! { <li><span class="peer-name">"peer " {*peer}</span> " " <b>{*balance}</b></li> }
            })
            .collect_view();
        view! { <ul class="balances" aria-label="Recorded balances">{rows}</ul> }
    });
    let verdicts = wording
        .sentences
        .into_iter()
        .map(|(sentence, good)| {
            view! { <p class="verdict" data-ok=good.map(|good| good.to_string())>{sentence}</p> }
        })
        .collect_view();
    view! {
        <details class="snapshot-report" open=newest
            data-recording=report.recording.to_string()
            data-adds-up=report.adds_up().to_string()
            data-incomplete=report.incomplete.is_some().to_string()
            data-took-ms=took_ms.map(|ms| format!("{ms:.1}"))>
            <summary>{wording.summary}</summary>
            {balances}
            {verdicts}
        </details>
    }
}
