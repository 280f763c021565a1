//! A [`Graph`] in Graphviz's DOT language (`dot -Tsvg`). Labels are quoted
//! strings with `\` and `"` escaped and controls shown as escapes, so a name
//! cannot end its string or start an escape of DOT's own (`\n`, `\l`).

use std::fmt::Write as _;

use super::{action_word, Graph, Kind};

/// `s` inside a DOT quoted string.
pub fn quote(s: &str) -> String {
    let s = crate::safe::escape(s);
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn shape(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "house",
        Kind::Lan => "ellipse",
        Kind::Decky => "box",
        Kind::Service => "box, style=rounded",
        Kind::Singleton => "component",
    }
}

/// The graph `name`, undirected.
pub fn render(g: &Graph, name: &str) -> String {
    let mut out = format!("graph {} {{\n  rankdir=LR;\n", quote(name));
    for n in &g.nodes {
        let mut lines: Vec<String> = n
            .label
            .iter()
            .map(|l| {
                let q = quote(l);
                q[1..q.len() - 1].to_string()
            })
            .collect();
        if let Some(a) = n.action {
            lines.push(format!("will {}", action_word(a)));
        }
        let _ = writeln!(
            out,
            "  {} [label=\"{}\", shape={}];",
            n.id,
            lines.join("\\n"),
            shape(n.kind)
        );
    }
    for e in &g.edges {
        match &e.label {
            Some(l) => {
                let _ = writeln!(out, "  {} -- {} [label={}];", e.from, e.to, quote(l));
            }
            None => {
                let _ = writeln!(out, "  {} -- {};", e.from, e.to);
            }
        }
    }
    out.push_str("}\n");
    out
}
