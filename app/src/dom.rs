//! A small description of DOM for large views that are pictures of one value (the DHT view,
//! the snapshot table, the wire view's records): elements, attributes and text as plain data, turned into elements by
//! one non-generic function. Text is always a text node, so nothing needs escaping; and the
//! page stays light (the same views as Leptos' typed views cost ~20 KB gzip more code).
//!
//! A new picture is drawn by changing only what differs from the last one: an element that
//! stays keeps its DOM node, so the focus, a hover and a `<details>` the learner opened stay
//! too, and a DHT settling (a new picture several times a second) costs a few text changes, not
//! hundreds of new SVG elements.

use std::collections::HashSet;

use leptos::html::ElementType;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

const SVG: &str = "http://www.w3.org/2000/svg";

/// An element or a piece of text.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element {
        tag: &'static str,
        /// Names this element among its siblings across pictures (a record, a snapshot):
        /// it keeps its DOM node as others come and go before it.
        key: Option<String>,
        attributes: Vec<(&'static str, String)>,
        children: Vec<Node>,
    },
    Text(String),
}

/// `<tag>` with no attributes yet.
pub fn el(tag: &'static str) -> Node {
    Node::Element {
        tag,
        key: None,
        attributes: Vec::new(),
        children: Vec::new(),
    }
}

pub fn text(text: impl Into<String>) -> Node {
    Node::Text(text.into())
}

impl Node {
    /// Adds an attribute.
    pub fn attr(mut self, name: &'static str, value: impl ToString) -> Node {
        if let Node::Element { attributes, .. } = &mut self {
            attributes.push((name, value.to_string()));
        }
        self
    }

    /// Names the element among its siblings (see [`Node::Element`]'s `key`).
    pub fn key(mut self, value: impl ToString) -> Node {
        if let Node::Element { key, .. } = &mut self {
            *key = Some(value.to_string());
        }
        self
    }

    /// Adds an attribute when `value` is `Some`.
    pub fn attr_if(self, name: &'static str, value: Option<impl ToString>) -> Node {
        match value {
            Some(value) => self.attr(name, value),
            None => self,
        }
    }

    /// Adds a child.
    pub fn child(mut self, child: Node) -> Node {
        if let Node::Element { children, .. } = &mut self {
            children.push(child);
        }
        self
    }

    /// Adds children.
    pub fn children(mut self, more: impl IntoIterator<Item = Node>) -> Node {
        if let Node::Element { children, .. } = &mut self {
            children.extend(more);
        }
        self
    }

    /// Adds a piece of text.
    pub fn text(self, text: impl Into<String>) -> Node {
        self.child(Node::Text(text.into()))
    }

    fn build(&self, document: &web_sys::Document, in_svg: bool) -> Option<web_sys::Node> {
        match self {
            Node::Text(text) => Some(document.create_text_node(text).into()),
            Node::Element {
                tag,
                attributes,
                children,
                ..
            } => {
                let in_svg = in_svg || *tag == "svg";
                let element = match in_svg {
                    true => document.create_element_ns(Some(SVG), tag).ok()?,
                    false => document.create_element(tag).ok()?,
                };
                for (name, value) in attributes {
                    let _ = element.set_attribute(name, value);
                }
                for child in children {
                    if let Some(node) = child.build(document, in_svg) {
                        let _ = element.append_child(&node);
                    }
                }
                Some(element.into())
            }
        }
    }

    fn key_of(&self) -> Option<&str> {
        match self {
            Node::Element { key, .. } => key.as_deref(),
            Node::Text(_) => None,
        }
    }
}

/// Keeps the children of `container` drawn from `nodes`, redrawn whenever a signal it reads
/// changes: only what differs from the last drawing is touched.
pub fn draw_into<E>(container: NodeRef<E>, nodes: impl Fn() -> Vec<Node> + 'static)
where
    E: ElementType + 'static,
    E::Output: JsCast + Clone + 'static,
{
    Effect::new(move |drawn: Option<Vec<Node>>| {
        let nodes = nodes();
        let (Some(container), Some(document)) = (
            container.get(),
            web_sys::window().and_then(|w| w.document()),
        ) else {
            return Vec::new();
        };
        let container: &web_sys::Node = container.unchecked_ref();
        patch_children(
            &document,
            container,
            &drawn.unwrap_or_default(),
            &nodes,
            false,
        );
        nodes
    });
}

/// Turns the DOM children of `parent`, drawn from `old`, into a drawing of `new`. Keyed
/// children are matched by key, the others by position.
fn patch_children(
    document: &web_sys::Document,
    parent: &web_sys::Node,
    old: &[Node],
    new: &[Node],
    in_svg: bool,
) {
    let live = parent.child_nodes();
    let mut before: Vec<Option<(&Node, web_sys::Node)>> = match live.length() as usize == old.len()
    {
        true => (0..live.length())
            .zip(old)
            .map(|(i, node)| live.item(i).map(|dom| (node, dom)))
            .collect(),
        // Not what was drawn (never expected): draw afresh.
        false => {
            parent.set_text_content(None);
            Vec::new()
        }
    };
    // What goes goes first, so that what stays is already in order and none of it moves.
    let new_keys: HashSet<&str> = new.iter().filter_map(Node::key_of).collect();
    for (position, slot) in before.iter_mut().enumerate() {
        let stays = slot.as_ref().is_some_and(|(old, _)| match old.key_of() {
            Some(key) => new_keys.contains(key),
            None => new
                .get(position)
                .is_some_and(|node| node.key_of().is_none()),
        });
        if !stays {
            if let Some((_, dom)) = slot.take() {
                let _ = parent.remove_child(&dom);
            }
        }
    }
    let mut next = parent.first_child();
    for (position, node) in new.iter().enumerate() {
        let reused = match node.key_of() {
            Some(key) => before
                .iter_mut()
                .find(|slot| {
                    slot.as_ref()
                        .is_some_and(|(old, _)| old.key_of() == Some(key))
                })
                .and_then(Option::take),
            None => before
                .get_mut(position)
                .filter(|slot| slot.as_ref().is_some_and(|(old, _)| old.key_of().is_none()))
                .and_then(Option::take),
        };
        let dom = match reused {
            Some((old, dom)) if patch_in_place(document, old, node, &dom, in_svg) => Some(dom),
            Some((_, dom)) => {
                // Another kind of node: its replacement goes where it was.
                if next.as_ref() == Some(&dom) {
                    next = dom.next_sibling();
                }
                let _ = parent.remove_child(&dom);
                node.build(document, in_svg)
            }
            None => node.build(document, in_svg),
        };
        let Some(dom) = dom else { continue };
        if next.as_ref() == Some(&dom) {
            next = dom.next_sibling();
        } else {
            let _ = parent.insert_before(&dom, next.as_ref());
        }
    }
    // An element whose key came twice.
    for (_, dom) in before.into_iter().flatten() {
        let _ = parent.remove_child(&dom);
    }
}

/// Makes `dom`, drawn from `old`, a drawing of `new` in place; false when it is another kind
/// of node, which must be built anew.
fn patch_in_place(
    document: &web_sys::Document,
    old: &Node,
    new: &Node,
    dom: &web_sys::Node,
    in_svg: bool,
) -> bool {
    if old == new {
        return true;
    }
    match (old, new) {
        (Node::Text(_), Node::Text(text)) => {
            dom.set_node_value(Some(text));
            true
        }
        (
            Node::Element {
                tag: old_tag,
                attributes: old_attributes,
                children: old_children,
                ..
            },
            Node::Element {
                tag,
                attributes,
                children,
                ..
            },
        ) if old_tag == tag => {
            let element: &web_sys::Element = dom.unchecked_ref();
            for (name, value) in attributes {
                if !old_attributes.iter().any(|(n, v)| n == name && v == value) {
                    let _ = element.set_attribute(name, value);
                }
            }
            for (name, _) in old_attributes {
                if !attributes.iter().any(|(kept, _)| kept == name) {
                    let _ = element.remove_attribute(name);
                }
            }
            let in_svg = in_svg || *tag == "svg";
            patch_children(document, dom, old_children, children, in_svg);
            true
        }
        _ => false,
    }
}
