//! The human plan, `terraform plan` style.

use std::io::{self, Write};

use super::safe;
use super::style::Style;
use crate::plan::{Action, Change, ContentChange, Detail, Digest, Object, Plan};

/// The symbol of an action: `+ ~ -/+ -`, with its colour.
pub fn symbol(action: Action, style: Style) -> String {
    match action {
        Action::Create => style.green("+"),
        Action::Update => style.yellow("~"),
        Action::Start => style.yellow("~"),
        Action::Replace => style.magenta("-/+"),
        Action::Delete => style.red("-"),
    }
}

/// How a change names its object: `service web-01-ssh`, `file web-01:/etc/motd`.
pub fn describe(change: &Change) -> String {
    // Names of live containers come from the engine's labels: shown escaped.
    safe::escape(&describe_raw(change)).into_owned()
}

fn describe_raw(change: &Change) -> String {
    match (&change.object, &change.detail) {
        (Object::Network { name }, _) => format!("network {name}"),
        (
            Object::File {
                container, path, ..
            },
            _,
        ) => format!("file {container}:{path}"),
        (object, Detail::Container { name, .. }) => format!("{} {name}", object.kind()),
        (object, Detail::Lans(l)) => format!("{} {} networks", object.kind(), l.container),
        (object, _) => object.kind().to_string(),
    }
}

/// [`describe`], naming the host when the plan spans several.
pub fn describe_on(change: &Change, several: bool) -> String {
    if several {
        format!("{} on {}", describe(change), change.host)
    } else {
        describe(change)
    }
}

/// The section a change is shown in: `decky web-01`, `networks` or `fleet-wide`.
pub fn group(change: &Change) -> String {
    match (change.object.decky(), &change.object) {
        // A decky no longer in the file is named by the engine's labels.
        (Some(d), _) => format!("decky {}", safe::escape(d)),
        (None, Object::Network { .. }) => "networks".to_string(),
        (None, _) => "fleet-wide".to_string(),
    }
}

/// [`group`], prefixed with the host when the plan spans several: `edge-a · decky web-07`.
pub fn group_on(change: &Change, several: bool) -> String {
    if several {
        format!("{} · {}", change.host, group(change))
    } else {
        group(change)
    }
}

pub fn render(plan: &Plan, out: &mut dyn Write, style: Style) -> io::Result<()> {
    for note in &plan.notes {
        writeln!(out, "{} {note}", style.yellow("note:"))?;
    }
    render_drift(plan, out, style)?;
    if plan.is_empty() {
        return no_changes(plan, out);
    }
    writeln!(
        out,
        "deckhand will perform these actions on fleet '{}':",
        plan.fleet
    )?;
    let mut current: Option<String> = None;
    let mut host: Option<&str> = None;
    for change in &plan.changes {
        if plan.several_hosts() && host != Some(change.host.as_str()) {
            writeln!(out)?;
            writeln!(out, "{}", style.bold(&format!("## host {}", change.host)))?;
            host = Some(&change.host);
            current = None;
        }
        let this = group(change);
        if current.as_ref() != Some(&this) {
            writeln!(out)?;
            writeln!(out, "  {}", style.bold(&format!("# {this}")))?;
            current = Some(this);
        }
        render_change(change, out, style)?;
    }
    summary(plan, out, style)
}

/// Files someone else changed that `on_drift = "report"` leaves as found.
fn render_drift(plan: &Plan, out: &mut dyn Write, style: Style) -> io::Result<()> {
    for d in &plan.drift {
        let evidence = if d.evidence.is_some() {
            "; evidence kept"
        } else {
            ""
        };
        let file = safe::escape(&format!("{}:{}", d.container, d.path)).into_owned();
        let what = safe::escape(&d.what.join("; ")).into_owned();
        let left = format!("({what}; left as found: on_drift = \"report\"{evidence})");
        writeln!(
            out,
            "{} drift file {file}  {}",
            style.yellow("!"),
            style.dim(&left)
        )?;
    }
    Ok(())
}

/// The `No changes.` line, naming the hosts when there are several.
fn no_changes(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let fleet = &plan.fleet;
    let hosts = plan.hosts.join(", ");
    if !plan.drift.is_empty() {
        let n = plan.drift.len();
        writeln!(out, "No changes to apply; {n} file(s) of fleet '{fleet}' drifted and are left as found (above).")
    } else if !plan.degraded.is_empty() {
        let names: Vec<&str> = plan.degraded.iter().map(|d| d.decky.as_str()).collect();
        let names = names.join(", ");
        writeln!(
            out,
            "No changes to the deckies planned; not planned (over their budget, above): {names}."
        )
    } else if !plan.unplanned.is_empty() {
        let unplanned = plan.unplanned.join(", ");
        writeln!(out, "No changes. Fleet '{fleet}' matches the configuration on host(s): {hosts} (not planned: {unplanned}).")
    } else if plan.hosts.iter().any(|h| h != crate::hosts::LOCAL) {
        writeln!(
            out,
            "No changes. Fleet '{fleet}' matches the configuration on host(s): {hosts}."
        )
    } else {
        writeln!(
            out,
            "No changes. Fleet '{fleet}' matches the configuration."
        )
    }
}

/// One change: symbol, object, reasons, then a file's content change.
fn render_change(change: &Change, out: &mut dyn Write, style: Style) -> io::Result<()> {
    let verb = if change.action == Action::Start {
        "start "
    } else {
        ""
    };
    let sym = symbol(change.action, style);
    let pad = if change.action == Action::Replace {
        ""
    } else {
        "  "
    };
    writeln!(
        out,
        "  {pad}{sym} {verb}{}  {}",
        describe(change),
        style.dim(&format!("({})", safe::escape(&change.reasons.join("; "))))
    )?;
    if let Detail::File(file) = &change.detail {
        render_content(&file.content, file.sensitive, out, style)?;
    }
    Ok(())
}

/// The hosts without changes, then the `Plan: …` line.
fn summary(plan: &Plan, out: &mut dyn Write, style: Style) -> io::Result<()> {
    let s = plan.summary();
    writeln!(out)?;
    if plan.several_hosts() {
        let quiet: Vec<&str> = plan
            .hosts
            .iter()
            .filter(|h| plan.changes.iter().all(|c| &c.host != *h))
            .map(String::as_str)
            .collect();
        if !quiet.is_empty() {
            writeln!(out, "No changes on host(s): {}.", quiet.join(", "))?;
        }
    }
    writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
            s.add, s.change, s.replace, s.destroy
        ))
    )
}

fn digest(d: &Option<Digest>) -> String {
    match d {
        Some(d) => format!("{} bytes, sha256 {}", d.size, d.hash()),
        None => "absent".to_string(),
    }
}

fn render_content(
    content: &ContentChange,
    sensitive: bool,
    out: &mut dyn Write,
    style: Style,
) -> io::Result<()> {
    const INDENT: &str = "        ";
    match content {
        ContentChange::Unchanged => {}
        ContentChange::TextDiff(diff) => {
            for line in diff.lines() {
                // Live content is the intruder's: escaped before it is painted.
                let line = &safe::escape(line);
                let painted = match line.chars().next() {
                    Some('+') => style.green(line),
                    Some('-') => style.red(line),
                    Some('@') => style.dim(line),
                    _ => line.to_string(),
                };
                writeln!(out, "{INDENT}{painted}")?;
            }
        }
        ContentChange::Opaque { before, after } => {
            let what = if sensitive {
                "sensitive content"
            } else {
                "binary content"
            };
            writeln!(
                out,
                "{INDENT}{what}: {} -> {}",
                digest(before),
                digest(after)
            )?;
        }
        ContentChange::Canary { id, size } => {
            writeln!(out, "{INDENT}canary {}, {size} bytes", safe::escape(id))?;
        }
    }
    Ok(())
}
