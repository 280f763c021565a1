//! The plan as a pull-request comment: a summary table, one collapsible
//! section per decky, diffs in fenced blocks, sensitive files flagged without
//! content, and a size cap that drops diffs (then whole sections) with a note
//! rather than cutting a block in half.
//!
//! Text that came from a decky, an engine or a file name (reasons, paths,
//! names, diff lines) is made inert before it is drawn: outside a fence it
//! can make no link, image, autolink, HTML, emphasis or table cell; inside
//! one it cannot close the fence (GitHub-flavoured markdown, SPEC §8).

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

/// The most of the cap the picture of the changes may take.
const PICTURE_SHARE: usize = 4;

/// A mermaid picture of what `plan` changes (SPEC §11), when it takes no
/// more than `room` characters; else a note that it was left out. Its
/// labels are written with mermaid's entities only (`crate::graph::mermaid`):
/// nothing in them is markdown, HTML or a backtick.
fn picture(plan: &Plan, room: usize) -> String {
    let graph = crate::graph::changes::of_plan(plan);
    let body = crate::graph::mermaid::render(&graph);
    let fence = fence(&body);
    let block = format!("{fence}mermaid\n{body}{fence}\n\n");
    match block.chars().count() <= room {
        true => block,
        false => format!(
            "> **Picture left out** to fit a comment: {} nodes; run `deckhand graph` for the fleet.\n\n",
            graph.nodes.len()
        ),
    }
}

/// A fence longer than any run of backticks in `body`.
fn fence(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// What starts markup inside a line of GitHub-flavoured markdown: a link or
/// image (`[`, `]`, `(`, `)`, `!`), emphasis and strikethrough, a code span,
/// a table cell, an autolink (`http:`, `www.`, `a@b`), math (`$`), an
/// emoji or issue reference, and the backslash itself. Line starts (`#`, `-`,
/// `>`, `1.`) cannot happen: a newline is escaped before.
const MARKUP: &str = "\\`*_~[]()!|:.@$#";

/// How HTML writes `c` when it is not to be read as markup.
fn entity(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '&' => Some("&amp;"),
        '"' => Some("&quot;"),
        _ => None,
    }
}

/// `s` as plain markdown text: controls escaped, `<`, `>`, `&` and `"` as
/// HTML entities, and each [`MARKUP`] character behind a backslash
/// (CommonMark allows one before any ASCII punctuation).
fn inert(s: &str) -> String {
    let escaped = safe::escape(s);
    let mut out = String::with_capacity(escaped.len() * 2);
    for c in escaped.chars() {
        match entity(c) {
            Some(e) => out.push_str(e),
            None if MARKUP.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push(c),
        }
    }
    out
}

/// `s` inside HTML (the `<summary>` of a section): controls escaped, `<`,
/// `>`, `&` and `"` as entities.
fn html(s: &str) -> String {
    let escaped = safe::escape(s);
    let mut out = String::with_capacity(escaped.len());
    for c in escaped.chars() {
        match entity(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

fn section(group: &str, changes: &[&Change], with_diffs: bool) -> String {
    let s = Summary::of(changes.iter().copied());
    let group = html(group);
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
            // Reasons can quote an engine or a decky.
            inert(&c.reasons.join("; "))
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
                ContentChange::Canary { id, size } => {
                    let _ = writeln!(out, "  - 🔒 canary {}, {size} bytes", code(id));
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

/// `s` as a code span (never in a table): controls escaped, backticks
/// shown as `'`; nothing else is read as markdown there.
fn code(s: &str) -> String {
    format!("`{}`", safe::escape(s).replace('`', "'"))
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
    let mut doc = format!("### deckhand plan for fleet {}\n\n", code(&plan.fleet));
    for note in &plan.notes {
        let _ = writeln!(doc, "> **Note:** {}\n", inert(note));
    }
    for d in &plan.drift {
        let what = inert(&d.what.join("; "));
        let file = code(&format!("{}:{}", d.container, d.path));
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
            "| {} | {} | {} | {} | {} |",
            inert(g),
            s.add,
            s.change,
            s.replace,
            s.destroy
        );
    }
    let s = plan.summary();
    let _ = writeln!(
        doc,
        "| **total** | **{}** | **{}** | **{}** | **{}** |\n",
        s.add, s.change, s.replace, s.destroy
    );
    doc.push_str(&picture(plan, cap / PICTURE_SHARE));

    fit_sections(&mut doc, &order, &groups, cap);
    let _ = writeln!(
        doc,
        "**Plan: {} to add, {} to change, {} to replace, {} to destroy.**",
        s.add, s.change, s.replace, s.destroy
    );
    out.write_all(doc.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Drift, Object};

    /// What an intruder writes into a reason, a drift, a note or a path to
    /// make the PR comment lie or link: one input per markdown rule.
    const HOSTILE: [&str; 14] = [
        "[click](http://evil.example/)",          // link
        "![x](http://evil.example/p.png)",        // image
        "<http://evil.example/>",                 // angle autolink
        "see http://evil.example/x now",          // bare URL autolink
        "see www.evil.example now",               // www autolink
        "mail root@evil.example now",             // email autolink
        "<img src=x onerror=alert(1)>",           // raw HTML
        "<a href=\"http://evil.example/\">x</a>", // raw HTML link
        "</details><script>alert(1)</script>",    // HTML closing our section
        "&#x202e;&lt;b&gt;",                      // entities
        "**bold** _it_ ~~gone~~ `code`",          // emphasis, code span
        "cell | break",                           // table cell
        "line\n# heading\n- item\n> quote",       // block starts
        "$x^2$ [^1] :+1:",                        // math, footnote, emoji
    ];

    /// The markdown as GitHub renders it: GFM with raw HTML passed through,
    /// so that any HTML an input smuggles in shows.
    fn github(md: &str) -> String {
        let mut options = comrak::Options::default();
        let e = &mut options.extension;
        (e.table, e.autolink, e.strikethrough, e.footnotes) = (true, true, true, true);
        e.math_dollars = true;
        options.render.r#unsafe = true;
        comrak::markdown_to_html(md, &options)
    }

    /// `s` as HTML text: what a rendering shows when nothing was read as markup.
    fn as_text(s: &str) -> String {
        let s = safe::escape(s).into_owned();
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    fn hostile_plan() -> Plan {
        let mut plan = crate::render::fixture::every_kind();
        let hostile: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        plan.changes[0].reasons = hostile.clone();
        plan.notes = hostile.clone();
        plan.drift = vec![Drift {
            host: "local".into(),
            decky: "web-01".into(),
            container: "web-01".into(),
            path: "/srv/[x](http://evil.example/)<b>`".into(),
            what: hostile,
            evidence: None,
            sensitive: false,
        }];
        plan.changes[1].object = Object::Decky {
            decky: "web|01 [x](http://evil.example/) <b>".into(),
        };
        plan
    }

    fn render_md(plan: &Plan) -> String {
        let mut out = Vec::new();
        render(plan, &mut out, GITHUB_COMMENT_LIMIT).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_from_a_decky_renders_as_the_same_text_and_nothing_else() {
        let md = render_md(&hostile_plan());
        let html = github(&md);
        for h in HOSTILE {
            // A note, a reason and a drift: each shown verbatim, three times.
            assert_eq!(html.matches(&as_text(h)).count(), 3, "{h:?}:\n{md}\n{html}");
        }
        for tag in [
            "<a ",
            "<img",
            "<script",
            "<em>",
            "<del>",
            "<h1",
            "<blockquote>\n<h",
        ] {
            assert!(!html.contains(tag), "{tag}:\n{md}\n{html}");
        }
        assert_eq!(html.matches("<table>").count(), 1, "{html}");
        for row in html.split("<tr>").skip(1) {
            let cells = row.matches("<td").count() + row.matches("<th").count();
            assert_eq!(cells, 5, "a cell broke: {row}");
        }
        assert!(
            html.contains("<td>decky web|01 [x](http://evil.example/) &lt;b&gt;</td>"),
            "{html}"
        );
        let opened = html.matches("<details>").count();
        assert_eq!(html.matches("</details>").count(), opened, "{html}");
    }

    #[test]
    fn a_path_is_a_code_span_that_nothing_closes() {
        let html = github(&render_md(&hostile_plan()));
        assert!(
            html.contains("<code>web-01:/srv/[x](http://evil.example/)&lt;b&gt;'</code>"),
            "{html}"
        );
    }

    #[test]
    fn a_diff_stays_in_its_fence_whatever_runs_of_backticks_it_holds() {
        let mut plan = crate::render::fixture::every_kind();
        let diff = "@@ -1 +1,4 @@\n-```\n+````\n+```diff\n+</details><img src=x>\n";
        for c in &mut plan.changes {
            if let Detail::File(f) = &mut c.detail {
                if let ContentChange::TextDiff(d) = &mut f.content {
                    *d = diff.to_string();
                }
            }
        }
        let md = render_md(&plan);
        assert!(md.contains("  `````diff\n"), "{md}");
        let html = github(&md);
        let inside = "@@ -1 +1,4 @@\n-```\n+````\n+```diff\n+&lt;/details&gt;&lt;img src=x&gt;\n";
        assert!(
            html.contains(&format!(
                "<code class=\"language-diff\">{inside}</code></pre>"
            )),
            "{md}\n{html}"
        );
        assert!(!html.contains("<img"), "{html}");
    }

    /// The mermaid block of a rendering: its lines, between the fences.
    fn mermaid_block(md: &str) -> Vec<&str> {
        let start = md.find("```mermaid\n").expect("a picture") + 11;
        let end = start + md[start..].find("```\n").unwrap();
        md[start..end].lines().collect()
    }

    #[test]
    fn the_picture_of_the_changes_shows_hostile_names_as_text_only() {
        let mut plan = hostile_plan();
        let names = HOSTILE.map(|h| format!("web-{h}"));
        let template = plan.changes[1].clone();
        plan.changes = names
            .iter()
            .map(|name| Change {
                object: Object::Decky {
                    decky: name.clone(),
                },
                ..template.clone()
            })
            .collect();
        let md = render_md(&plan);
        let lines = mermaid_block(&md);
        assert_eq!(lines[0], "flowchart LR");
        let mut shown = Vec::new();
        for line in &lines[1..] {
            // A label is one quoted string of entities: no quote, backtick
            // or HTML of its own, whatever the name held.
            assert!(!line.contains('`') && !line.contains('\\'), "{line}");
            if line.contains('"') {
                assert_eq!(line.matches('"').count(), 2, "{line}");
                let label = &line[line.find('"').unwrap() + 1..line.rfind('"').unwrap()];
                assert!(
                    !label
                        .replace("<br>", "")
                        .contains(['<', '>', '&', '[', ']', '|']),
                    "{line}"
                );
                shown.push(decode(label.split("<br>").next().unwrap()));
            }
        }
        for name in &names {
            let name = safe::escape(name).into_owned();
            assert!(
                shown.contains(&name),
                "{name:?} not drawn as itself: {lines:#?}"
            );
        }
        // GitHub sees one mermaid block, whole, and the sections after it.
        let html = github(&md);
        assert_eq!(
            html.matches("<code class=\"language-mermaid\">").count(),
            1,
            "{html}"
        );
        let opened = html.matches("<details>").count();
        assert_eq!(html.matches("</details>").count(), opened, "{html}");
    }

    /// Undoes mermaid's `#N;` entities.
    fn decode(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('#') {
            out.push_str(&rest[..i]);
            let end = rest[i..].find(';').unwrap() + i;
            out.push(char::from_u32(rest[i + 1..end].parse().unwrap()).unwrap());
            rest = &rest[end + 1..];
        }
        out + rest
    }

    #[test]
    fn a_picture_too_big_for_its_share_of_the_cap_is_left_out_with_a_note() {
        let mut plan = crate::render::fixture::every_kind();
        let template = plan.changes[1].clone();
        for i in 0..400 {
            let mut c = template.clone();
            c.object = Object::Decky {
                decky: format!("web-{i:03}"),
            };
            plan.changes.push(c);
        }
        let md = render_md(&plan);
        assert!(md.chars().count() <= GITHUB_COMMENT_LIMIT, "{}", md.len());
        assert!(!md.contains("```mermaid"), "{md}");
        assert!(
            md.contains("> **Picture left out** to fit a comment: 409 nodes;"),
            "{md}"
        );
        // A small plan's picture is there.
        assert_eq!(
            mermaid_block(&render_md(&crate::render::fixture::every_kind())).len(),
            24
        );
    }

    #[test]
    fn an_intruders_controls_stay_escaped_in_a_fence_and_out_of_one() {
        let mut plan = hostile_plan();
        plan.changes[0].reasons = vec!["\u{1b}]8;;http://evil/\u{9c}x\u{202e}".into()];
        let md = render_md(&plan);
        assert!(md.contains("\\\\x1b\\]8;;http\\:"), "{md}");
        assert!(!md.chars().any(|c| c.is_control() && c != '\n'), "{md}");
    }
}
