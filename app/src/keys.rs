//! The page's keyboard shortcuts: which keypresses are for the page rather than for the
//! control that has focus, and the list shown to the learner.

use wasm_bindgen::JsCast;

/// (keys, what they do), in the order the key list shows them.
pub const SHORTCUTS: [(&str, &str); 10] = [
    ("Space", "run the step's action"),
    ("→ / ←", "next / previous step"),
    ("1 – 9", "choose an answer"),
    ("P", "pause or play the messages"),
    (".", "let one held message go"),
    ("[ / ]", "scrub back / forward one event"),
    ("L", "back to live"),
    ("N", "the network view, focus on its first peer"),
    ("D", "the sequence diagram, focus on its first lifeline"),
    ("?", "show or hide this list"),
];

/// The key, when the page should act on this keypress: not while typing in a field or
/// choosing in a list, not with Ctrl, Alt or Meta, and not Space or Enter on a button or a
/// focused peer (which act on that control). An answer's radio button is the lesson's: its
/// keys are the page's (Space there runs the step, as everywhere else in the lesson).
pub fn for_page(event: &web_sys::KeyboardEvent) -> Option<String> {
    if event.ctrl_key() || event.alt_key() || event.meta_key() || event.default_prevented() {
        return None;
    }
    let key = event.key();
    let target = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
    if let Some(element) = target {
        let tag = element.tag_name().to_ascii_lowercase();
        if is_radio(&element) {
            return Some(key);
        }
        if matches!(tag.as_str(), "input" | "select" | "textarea") {
            return None;
        }
        let activates = element.get_attribute("role").as_deref() == Some("button")
            || matches!(tag.as_str(), "button" | "a" | "summary");
        if activates && (key == " " || key == "Enter") {
            return None;
        }
    }
    Some(key)
}

/// Whether the keypress landed on a radio button, whose own Space and arrow keys would choose
/// an answer.
pub fn on_radio(event: &web_sys::KeyboardEvent) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|element| is_radio(&element))
}

fn is_radio(element: &web_sys::Element) -> bool {
    element.tag_name().eq_ignore_ascii_case("input")
        && element.get_attribute("type").as_deref() == Some("radio")
}
