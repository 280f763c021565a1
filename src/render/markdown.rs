//! The plan as a pull-request comment: a summary table, one collapsible
//! section per decky, diffs in fenced blocks, sensitive files flagged without
//! content, and a size cap that drops diffs (then whole sections) with a note
//! rather than cutting a block in half.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::safe;
use super::style::Style;
use super::text::{self, describe};
use crate::plan::{Action, Change, ContentChange, Detail, Plan, Summary};

/// GitHub refuses comments over 65,536 characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room kept for the closing note when sections are dropped.
const FOOTER_RESERVE: usize = 400;

/// A fence longer than any run of backticks in `body`.
fn fence(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn section(group: &str, changes: &[&Change], with_diffs: bool) -> String {
    let s = Summary::of(changes.iter().copied());
    let mut out = format!("<details><summary><b>{group}</b>: {} to add, {} to change, {} to replace, {} to destroy</summary>\n\n", s.add, s.change, s.replace, s.destroy);
    for c in changes {
        let verb = if c.action == Action::Start {
            "start "
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "- `{}` {verb}{} — {}",
            text::symbol(c.action, Style::PLAIN),
            code(&describe(c)),
            // Reasons can quote an engine: no controls, no HTML.
            safe::escape(&c.reasons.join("; ")).replace('<', "&lt;")
        );
        if let Detail::File(f) = &c.detail {
            match &f.content {
                ContentChange::Unchanged => {}
                ContentChange::Opaque { before, after } => {
                    let show = |d: &Option<crate::plan::Digest>| {
                        d.as_ref()
                            .map(|d| format!("{} bytes, sha256 `{}`", d.size, d.hash()))
                            .unwrap_or_else(|| "absent".into())
                    };
                    let what = if f.sensitive {
                        "🔒 sensitive content changed (not shown)"
                    } else {
                        "binary content"
                    };
                    let _ = writeln!(out, "  - {what}: {} → {}", show(before), show(after));
                }
                ContentChange::TextDiff(diff) if with_diffs => {
                    let fence = fence(diff);
                    let _ = write!(out, "\n  {fence}diff\n");
                    for line in diff.lines() {
                        let _ = writeln!(out, "  {}", safe::escape(line));
                    }
                    let _ = writeln!(out, "  {fence}\n");
                }
                ContentChange::TextDiff(_) => {
                    let _ = writeln!(out, "  - diff omitted to fit the comment size limit");
                }
            }
        }
    }
    out.push_str("\n</details>\n\n");
    out
}

fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

/// Appends each section whole, else without its diffs, else not at all, to
/// stay within `cap`; says what was left out.
fn fit_sections(
    doc: &mut String,
    order: &[String],
    groups: &BTreeMap<String, Vec<&Change>>,
    cap: usize,
) {
    let mut shortened = Vec::new();
    let mut dropped = Vec::new();
    for g in order {
        let full = section(g, &groups[g], true);
        let budget = cap.saturating_sub(doc.chars().count() + FOOTER_RESERVE);
        if full.chars().count() <= budget {
            doc.push_str(&full);
            continue;
        }
        let short = section(g, &groups[g], false);
        if short.chars().count() <= budget {
            doc.push_str(&short);
            shortened.push(g.as_str());
        } else {
            dropped.push(g.as_str());
        }
    }
    if !shortened.is_empty() || !dropped.is_empty() {
        doc.push_str("> **Truncated to fit a comment:**");
        if !shortened.is_empty() {
            let _ = write!(doc, " diffs omitted for {};", shortened.len());
        }
        if !dropped.is_empty() {
            let _ = write!(doc, " {} section(s) not shown;", dropped.len());
        }
        doc.push_str(" run `deckhand plan` for the whole plan.\n");
    }
}

/// Renders `plan` within `cap` characters.
pub fn render(plan: &Plan, out: &mut dyn Write, cap: usize) -> io::Result<()> {
    let mut doc = format!("### deckhand plan for fleet `{}`\n\n", plan.fleet);
    for note in &plan.notes {
        let _ = writeln!(doc, "> **Note:** {note}\n");
    }
    for d in &plan.drift {
        let what = safe::escape(&d.what.join("; ")).replace('<', "&lt;");
        let file = code(&safe::escape(&format!("{}:{}", d.container, d.path)));
        let _ = writeln!(
            doc,
            "> **Drift:** {file} — {what}; left as found (`on_drift = \"report\"`)\n"
        );
    }
    if plan.is_empty() {
        doc.push_str("No changes. The fleet matches the configuration.\n");
        return out.write_all(doc.as_bytes());
    }
    let mut groups: BTreeMap<String, Vec<&Change>> = BTreeMap::new();
    let mut order = Vec::new();
    for c in &plan.changes {
        let group = text::group_on(c, plan.several_hosts());
        if !groups.contains_key(&group) {
            order.push(group.clone());
        }
        groups.entry(group).or_default().push(c);
    }
    doc.push_str("| | add | change | replace | destroy |\n|---|---:|---:|---:|---:|\n");
    for g in &order {
        let s = Summary::of(groups[g].iter().copied());
        let _ = writeln!(
            doc,
            "| {g} | {} | {} | {} | {} |",
            s.add, s.change, s.replace, s.destroy
        );
    }
    let s = plan.summary();
    let _ = writeln!(
        doc,
        "| **total** | **{}** | **{}** | **{}** | **{}** |\n",
        s.add, s.change, s.replace, s.destroy
    );

    fit_sections(&mut doc, &order, &groups, cap);
    let _ = writeln!(
        doc,
        "**Plan: {} to add, {} to change, {} to replace, {} to destroy.**",
        s.add, s.change, s.replace, s.destroy
    );
    out.write_all(doc.as_bytes())
}
