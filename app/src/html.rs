//! Views written as one HTML string: static text and pictures cost far less code (and page
//! weight) than typed views.

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
