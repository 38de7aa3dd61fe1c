//! A small description of DOM for large views that are pictures of one value (the DHT view,
//! the snapshot table, the wire view's records): elements, attributes and text as plain data, turned into elements by
//! one non-generic function. Text is always a text node, so nothing needs escaping; and the
//! page stays light (the same views as Leptos' typed views cost ~20 KB gzip more code).

use leptos::html::ElementType;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

const SVG: &str = "http://www.w3.org/2000/svg";

/// An element or a piece of text.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element {
        tag: &'static str,
        attributes: Vec<(&'static str, String)>,
        children: Vec<Node>,
    },
    Text(String),
}

/// `<tag>` with no attributes yet.
pub fn el(tag: &'static str) -> Node {
    Node::Element {
        tag,
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
}

/// Keeps the children of `container` drawn from `nodes`, redrawn whenever a signal it reads
/// changes.
pub fn draw_into<E>(container: NodeRef<E>, nodes: impl Fn() -> Vec<Node> + 'static)
where
    E: ElementType + 'static,
    E::Output: JsCast + Clone + 'static,
{
    Effect::new(move || {
        let Some(container) = container.get() else {
            return;
        };
        let container: &web_sys::Element = container.unchecked_ref();
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        container.set_text_content(None);
        for node in nodes() {
            if let Some(built) = node.build(&document, false) {
                let _ = container.append_child(&built);
            }
        }
    });
}
