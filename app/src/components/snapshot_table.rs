//! What each snapshot recorded: every peer's balance, the tokens recorded on channels, their
//! sum against the tokens in the system, and whether the cut was consistent. Newest first;
//! older ones folded to a line, so the diagram keeps its room.

use leptos::prelude::*;
use testbed::snapshot::report::Report;
use testbed::snapshot::{in_trace, Recording};

/// Reports shown; older ones stay in the session.
const SHOWN: usize = 3;

#[component]
pub fn SnapshotTable(session: crate::session::Session) -> impl IntoView {
    let shown = move || {
        session.tokens.reports.with(|reports| {
            reports
                .iter()
                .rev()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <Show when=move || session.tokens.reports.with(|r| !r.is_empty())>
            <section class="snapshots" aria-label="Snapshots" aria-live="polite">
                {move || shown().into_iter().enumerate().map(|(n, report)| {
                    let took = session.trace.with(|trace| in_trace::took_ms(trace, report.recording));
                    report_view(report, took, n == 0)
                }).collect_view()}
            </section>
        </Show>
    }
}

/// `took_ms`: from the first recording to the last marker's arrival, for a snapshot.
fn report_view(report: Report, took_ms: Option<f64>, newest: bool) -> impl IntoView {
    let title = match report.recording {
        Recording::Snapshot(id) => format!(
            "Snapshot {id}: Chandy-Lamport, started by peer {}",
            id.initiator
        ),
        Recording::Naive(_) => format!(
            "{}: every peer recorded at the same instant, no markers",
            report.recording
        ),
    };
    let balances: u64 = report.balances.iter().sum();
    let in_channels = report.in_channels();
    let sum = if report.channels.is_empty() {
        format!("{balances} in balances")
    } else {
        format!("{balances} in balances + {in_channels} on channels")
    };
    let conservation = if report.adds_up() {
        format!("✓ {sum} = {}: every token is counted once.", report.total)
    } else if report.recorded() < report.total {
        format!(
            "✗ {sum} = {}, but there are {}: {} tokens were in flight across the line, and nobody recorded them.",
            report.recorded(),
            report.total,
            report.total - report.recorded()
        )
    } else {
        format!(
            "✗ {sum} = {}, but there are {}: {} tokens were counted twice.",
            report.recorded(),
            report.total,
            report.recorded() - report.total
        )
    };
    let channels = match report.recording {
        Recording::Naive(_) => "Channels: not recorded.".to_owned(),
        Recording::Snapshot(_) if report.channels.is_empty() => {
            "Channels: every channel recorded empty (no tokens in flight at the cut).".to_owned()
        }
        Recording::Snapshot(_) => {
            let each: Vec<String> = report
                .channels
                .iter()
                .map(|(from, to, amounts)| {
                    let amounts: Vec<String> = amounts.iter().map(u64::to_string).collect();
                    format!("peer {from} → peer {to}: {}", amounts.join(" + "))
                })
                .collect();
            format!("In flight, recorded on channels: {}.", each.join("; "))
        }
    };
    let verdict = report.verdict.clone().map(|verdict| match verdict {
        Ok(()) => view! {
            <p class="verdict" data-ok="true">"✓ Consistent cut: no token was received before the cut and sent after it, and each channel recorded exactly the tokens in flight."</p>
        }
        .into_any(),
        Err(problem) => view! { <p class="verdict" data-ok="false">{format!("✗ {problem}")}</p> }.into_any(),
    });
    let took = match (report.recording, took_ms) {
        (Recording::Snapshot(_), Some(ms)) if ms < 1000.0 => format!(" · finished in {ms:.0} ms"),
        (Recording::Snapshot(_), Some(ms)) => format!(" · finished in {:.2} s", ms / 1000.0),
        _ => String::new(),
    };
    let summary = format!(
        "{title} · {} {} of {}{took}",
        if report.adds_up() { "✓" } else { "✗" },
        report.recorded(),
        report.total
    );
    view! {
        <details class="snapshot-report" open=newest data-recording=report.recording.to_string() data-adds-up=report.adds_up().to_string()
            data-took-ms=took_ms.map(|ms| format!("{ms:.1}"))>
            <summary>{summary}</summary>
            <ul class="balances" aria-label="Recorded balances">
                {report.balances.iter().enumerate().map(|(peer, balance)| view! {
                    <li><span class="peer-name">{format!("peer {peer}")}</span>" "<b>{*balance}</b></li>
                }).collect_view()}
            </ul>
            <p class="channels">{channels}</p>
            <p class="verdict" data-ok=report.adds_up().to_string()>{conservation}</p>
            {verdict}
        </details>
    }
}
