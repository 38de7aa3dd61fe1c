//! The trace offered as a file: Jaeger, Chrome trace, ShiViz, Mermaid.

use leptos::prelude::*;
use testbed::trace::export;

use crate::download;
use crate::session::Session;

/// Offers the trace as a file in `format`.
pub fn export_trace(session: Session, format: &str) -> Result<(), String> {
    let origin = session.started_unix_ms.get_value();
    session.view.with_untracked(|view| {
        let names = |p: &testbed::PeerId| view.name(p);
        session.trace.with_untracked(|trace| match format {
            "mermaid" => download::save("trace.mmd", "text/plain", &export::mermaid(trace, &names)),
            "chrome" => download::save(
                "trace.chrome.json",
                "application/json",
                &export::chrome_trace(trace, &names).to_string(),
            ),
            "jaeger" => download::save(
                "trace.jaeger.json",
                "application/json",
                &export::jaeger(trace, &names, origin).to_string(),
            ),
            "shiviz" => download::save(
                "trace.shiviz.log",
                "text/plain",
                &export::shiviz(trace, &names),
            ),
            _ => Ok(()),
        })
    })
}
