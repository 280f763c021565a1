//! The machine plan: one JSON object (SPEC §4), `format_version` 1.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::plan::{Change, ContentChange, Detail, Digest, Plan};

pub fn to_value(plan: &Plan) -> Value {
    let changes: Vec<Value> = plan.changes.iter().map(change).collect();
    let s = plan.summary();
    json!({
        "format_version": 1,
        "fleet": plan.fleet,
        "hosts": plan.hosts,
        "changes": changes,
        "notes": plan.notes,
        "drift": plan.drift.iter().map(|d| json!({
            "host": d.host, "decky": d.decky, "container": d.container, "path": d.path,
            "what": d.what.join("; "), "evidence": d.evidence.is_some(),
        })).collect::<Vec<_>>(),
        "degraded": plan.degraded.iter().map(|d| json!({
            "host": d.host, "decky": d.decky, "what": d.what, "limit": d.limit,
        })).collect::<Vec<_>>(),
        "held": plan.held.iter().map(|h| json!({
            "host": h.host, "decky": h.decky,
            "sessions": h.sessions.iter().map(|e| e.short()).collect::<Vec<_>>(),
            "peer": h.sessions.first().map(|e| &e.peer),
            "since": h.sessions.iter().map(|e| &e.since).min(),
            "changes": h.changes.iter().map(change).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "summary": {"add": s.add, "change": s.change, "replace": s.replace, "destroy": s.destroy},
    })
}

/// One change as the JSON plan (and each `step` event) shows it.
pub fn change(c: &Change) -> Value {
    let container = c.container();
    let mut v = json!({
        "action": c.action.as_str(),
        "kind": c.object.kind(),
        "host": c.host,
        "decky": c.object.decky(),
        "service": c.object.service(),
        "path": c.object.path(),
        "reason": c.reasons.join("; "),
        "reasons": c.reasons,
        "container": container,
    });
    if let Detail::File(f) = &c.detail {
        v["sensitive"] = json!(f.sensitive);
        v["evidence"] = json!(f.evidence.is_some());
        v["content"] = content(&f.content);
    }
    v
}

fn digest(d: &Option<Digest>) -> Value {
    d.as_ref()
        .map(|d| json!({"size": d.size, "sha256": d.sha256}))
        .unwrap_or(Value::Null)
}

fn content(c: &ContentChange) -> Value {
    match c {
        ContentChange::Unchanged => Value::Null,
        ContentChange::TextDiff(diff) => json!({"diff": diff}),
        ContentChange::Opaque { before, after } => {
            json!({"before": digest(before), "after": digest(after)})
        }
        ContentChange::Canary { id, size } => json!({"canary": id, "size": size}),
    }
}

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    crate::safe::json::to_writer_pretty(&mut *out, &to_value(plan))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reason quoting an engine or a decky: C1, DEL and bidi controls.
    const HOSTILE: &str = "rm: \u{9b}2J\u{85}\u{7f}\u{202e}txt\u{200f}\u{61c}\u{2066}\u{1b}[H";

    #[test]
    fn the_json_plan_shows_no_control_raw_and_parses_back_to_the_same_strings() {
        let mut plan = crate::render::fixture::every_kind();
        plan.changes[0].reasons = vec![HOSTILE.to_string()];
        plan.notes = vec![HOSTILE.to_string()];
        let mut out = Vec::new();
        render(&plan, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        let raw: Vec<char> = out
            .chars()
            .filter(|c| crate::safe::is_control(*c) && *c != '\n')
            .collect();
        assert_eq!(raw, Vec::<char>::new(), "{out}");
        assert!(
            out.contains(r"\u009b2J\u0085\u007f\u202etxt\u200f\u061c\u2066\u001b[H"),
            "{out}"
        );
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, to_value(&plan));
        assert_eq!(back["notes"][0], HOSTILE);
    }
}
