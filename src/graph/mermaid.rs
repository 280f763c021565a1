//! A [`Graph`] as a mermaid flowchart. Every label is quoted, and every
//! character of it that mermaid, HTML or a markdown fence could read as
//! anything but text is written as mermaid's `#N;` entity: a name can
//! neither end its label, add a node or link, nor close the fence it sits in.

use std::fmt::Write as _;

use super::{action_word, Graph, Kind};
use crate::plan::Action;

/// The characters a label keeps as they are.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || " ._:/,+-".contains(c)
}

/// `s` as the text of a quoted mermaid label.
pub fn label_text(s: &str) -> String {
    let s = crate::safe::escape(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match plain(c) {
            true => out.push(c),
            false => {
                let _ = write!(out, "#{};", c as u32);
            }
        }
    }
    out
}

/// The opening and closing brackets of a kind's shape.
fn shape(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Host => ("[(", ")]"),
        Kind::Lan => ("([", "])"),
        Kind::Decky => ("[", "]"),
        Kind::Service => ("(", ")"),
        Kind::Singleton => ("[[", "]]"),
    }
}

/// How a plan's action is coloured.
const CLASSES: [(&str, &str); 5] = [
    ("add", "fill:#e6ffed,stroke:#2da44e"),
    ("change", "fill:#fff8c5,stroke:#bf8700"),
    ("replace", "fill:#ffebe9,stroke:#cf222e,stroke-dasharray:4"),
    ("destroy", "fill:#ffebe9,stroke:#cf222e"),
    ("start", "fill:#ddf4ff,stroke:#0969da"),
];

/// The flowchart, without a fence.
pub fn render(g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for n in &g.nodes {
        let (open, close) = shape(n.kind);
        let mut lines: Vec<String> = n.label.iter().map(|l| label_text(l)).collect();
        if let Some(a) = n.action {
            lines.push(format!("will {}", action_word(a)));
        }
        let _ = writeln!(out, "  {}{open}\"{}\"{close}", n.id, lines.join("<br>"));
    }
    for e in &g.edges {
        match &e.label {
            Some(l) => {
                let _ = writeln!(out, "  {} ---|\"{}\"| {}", e.from, label_text(l), e.to);
            }
            None => {
                let _ = writeln!(out, "  {} --- {}", e.from, e.to);
            }
        }
    }
    let marked: Vec<(&str, Action)> = g
        .nodes
        .iter()
        .filter_map(|n| Some((n.id.as_str(), n.action?)))
        .collect();
    for (class, style) in CLASSES {
        let ids: Vec<&str> = marked
            .iter()
            .filter(|(_, a)| action_word(*a) == class)
            .map(|(id, _)| *id)
            .collect();
        if !ids.is_empty() {
            let _ = writeln!(out, "  classDef {class} {style}");
            let _ = writeln!(out, "  class {} {class}", ids.join(","));
        }
    }
    out
}
