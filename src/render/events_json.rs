//! The machine view of apply, destroy and watch (`--json`, SPEC §9): one JSON
//! object per line, drawn from the same events as the text view. Each has
//! `format_version` 1, `time` (RFC 3339, UTC), `type` and `fleet`, and `host`
//! where one applies. Strings are escaped by JSON, controls included.

use serde_json::{json, Map, Value};

use crate::apply::{Event, Status};
use crate::fleet::{FleetReport, HostFailure};
use crate::plan::Plan;

use super::json;

/// The fields every event carries.
pub fn event(kind: &str, fleet: &str) -> Map<String, Value> {
    let time = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut m = Map::new();
    m.insert("format_version".into(), json!(1));
    m.insert("time".into(), json!(time));
    m.insert("type".into(), json!(kind));
    m.insert("fleet".into(), json!(fleet));
    m
}

/// Prints one event as one line; a closed pipe is ignored.
pub fn emit(value: Map<String, Value>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{}", line(value));
}

/// One event as the line it is printed as: controls escaped (see [`crate::safe::json`]).
pub fn line(value: Map<String, Value>) -> String {
    crate::safe::json::to_string(&Value::Object(value)).expect("an event always serialises")
}

/// `plan`: the SPEC §4 plan object under `plan`.
pub fn plan(plan: &Plan) -> Map<String, Value> {
    let mut m = event("plan", &plan.fleet);
    m.insert("plan".into(), json::to_value(plan));
    m
}

/// `degraded`: one per decky over its budget (SPEC §8), its steps skipped.
pub fn degraded(plan: &Plan) -> Vec<Map<String, Value>> {
    let each = plan.degraded.iter().map(|d| {
        let mut m = event("degraded", &plan.fleet);
        m.insert("host".into(), json!(d.host));
        m.insert("decky".into(), json!(d.decky));
        m.insert("what".into(), json!(d.what));
        m.insert("limit".into(), json!(d.limit));
        m
    });
    each.collect()
}

/// `held`: one per decky whose replaces, restarts and restores wait for a
/// live session to end (SPEC §11).
pub fn held(plan: &Plan) -> Vec<Map<String, Value>> {
    let each = plan.held.iter().map(|h| {
        let mut m = event("held", &plan.fleet);
        m.insert("host".into(), json!(h.host));
        m.insert("decky".into(), json!(h.decky));
        let short: Vec<String> = h.sessions.iter().map(|e| e.short()).collect();
        m.insert("sessions".into(), json!(short));
        // SPEC §9: the first session's peer, and the earliest first seen.
        m.insert("peer".into(), json!(h.sessions.first().map(|e| &e.peer)));
        let since = h.sessions.iter().map(|e| &e.since).min();
        m.insert("since".into(), json!(since));
        m.insert("changes".into(), json!(h.changes.len()));
        m
    });
    each.collect()
}

/// What a plan says beside its changes: `degraded` and `held` events.
pub fn notices(plan: &Plan) -> Vec<Map<String, Value>> {
    let mut all = degraded(plan);
    all.extend(held(plan));
    all
}

/// The event an executor event is drawn as; `None` for those machines do
/// not get (a builder's output lines).
pub fn of(e: &Event, fleet: &str) -> Option<Map<String, Value>> {
    match e {
        Event::Evidence {
            host,
            container,
            kept,
        } => {
            let mut m = event("evidence", fleet);
            m.insert("host".into(), json!(host));
            m.insert("container".into(), json!(container));
            m.insert("path".into(), json!(kept.path.display().to_string()));
            m.insert("sha256".into(), json!(kept.sha256));
            m.insert("size".into(), json!(kept.size));
            m.insert("seen_before".into(), json!(kept.seen_before));
            m.insert("left_out".into(), json!(kept.left_out));
            let dropped = kept.dropped.iter().map(|p| p.display().to_string());
            m.insert("dropped".into(), json!(dropped.collect::<Vec<_>>()));
            Some(m)
        }
        Event::Drift(d) => {
            let mut m = event("drift", fleet);
            m.insert("host".into(), json!(d.host));
            m.insert("kind".into(), json!("file"));
            m.insert("decky".into(), json!(d.decky));
            m.insert("container".into(), json!(d.container));
            m.insert("path".into(), json!(d.path));
            m.insert("what".into(), json!(d.what.join("; ")));
            Some(m)
        }
        _ => step(e, fleet),
    }
}

/// `step`: a step started, ended or failed; `None` for events that are not steps.
fn step(e: &Event, fleet: &str) -> Option<Map<String, Value>> {
    let (change, status, error, seconds) = match e {
        Event::Started(change) => (change, "started", None, None),
        Event::Ended(o) => {
            let status = match &o.status {
                Status::Done => "done",
                Status::Failed(_) => "failed",
                Status::Skipped(_) => "skipped",
            };
            (
                &o.change,
                status,
                o.status.problem(),
                Some(o.elapsed.as_secs_f64()),
            )
        }
        _ => return None,
    };
    let mut m = event("step", fleet);
    let Value::Object(c) = json::change(change) else {
        unreachable!("a change is an object")
    };
    for key in [
        "host",
        "action",
        "kind",
        "decky",
        "service",
        "path",
        "container",
    ] {
        m.insert(key.into(), c.get(key).cloned().unwrap_or(Value::Null));
    }
    m.insert("status".into(), json!(status));
    m.insert("error".into(), json!(error));
    m.insert("seconds".into(), json!(seconds));
    Some(m)
}

/// `pass`: a watch pass started or ended, and why it ran.
pub fn pass(fleet: &str, status: &str, number: u64, reasons: &[String]) -> Map<String, Value> {
    let mut m = event("pass", fleet);
    m.insert("status".into(), json!(status));
    m.insert("number".into(), json!(number));
    m.insert("reasons".into(), json!(reasons));
    m
}

/// `bait_access`: a process in a decky opened, read, wrote, deleted or
/// `chmod`ed a bait file (SPEC §9, §10); `untold`: how many such went
/// unreported before it (rate-limited per file).
pub fn bait_access(
    fleet: &str,
    container: &str,
    path: &str,
    access: &str,
    untold: u64,
) -> Map<String, Value> {
    let mut m = event("bait_access", fleet);
    m.insert("container".into(), json!(container));
    m.insert("path".into(), json!(path));
    m.insert("access".into(), json!(access));
    m.insert("untold".into(), json!(untold));
    m
}

/// `summary`: the counts of a run, and how many steps were not done.
pub fn summary(fleet: &str, report: &FleetReport, failures: &[HostFailure]) -> Map<String, Value> {
    let mut m = event("summary", fleet);
    m.insert("done".into(), json!(report.done()));
    m.insert("failed".into(), json!(report.failed()));
    // Of those not done, the ones skipped for another's failure.
    m.insert("skipped".into(), json!(report.skipped()));
    m.insert("adopted".into(), json!(report.adopted));
    m.insert("interrupted".into(), json!(report.interrupted));
    let unplanned: Vec<&str> = failures.iter().map(|f| f.host.as_str()).collect();
    m.insert("unplanned_hosts".into(), json!(unplanned));
    m
}

/// `error`: an error that ends or skips work, on `host` when it is one
/// engine's; the advice the text gives (`help: ...`) apart, under `help`.
pub fn error(fleet: &str, host: Option<&str>, message: &str) -> Map<String, Value> {
    let mut m = event("error", fleet);
    if let Some(host) = host {
        m.insert("host".into(), json!(host));
    }
    let (message, help) = advice(message);
    m.insert("message".into(), json!(message));
    m.insert("help".into(), json!(help));
    m
}

/// A message and its advice (every `  help: ` line of it, one per line), apart.
fn advice(message: &str) -> (String, Option<String>) {
    let (mut said, mut help) = (Vec::new(), Vec::new());
    for line in message.lines() {
        match line.strip_prefix("  help: ") {
            Some(h) => help.push(h),
            None => said.push(line),
        }
    }
    let help = (!help.is_empty()).then(|| help.join("\n"));
    (said.join("\n"), help)
}

/// `error` for one engine's failure; a plan the checks stopped carries its
/// problems (SPEC §4).
pub fn failure(fleet: &str, f: &HostFailure) -> Map<String, Value> {
    use crate::fleet::Failure;
    use crate::plan::PlanError;
    match &f.failure {
        Failure::Plan(PlanError::Blocked { problems, .. }) => {
            super::problems_json::blocked_event(fleet, &f.host, problems)
        }
        other => error(fleet, Some(&f.host), &other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_carries_its_advice_apart() {
        let e = error(
            "f",
            None,
            "fleet 'f' is locked\n  help: wait for that run to end",
        );
        assert_eq!(e["message"], "fleet 'f' is locked");
        assert_eq!(e["help"], "wait for that run to end");
        let e = error(
            "f",
            None,
            "invalid configuration: a.toml:1:1: x\n  help: do y\na.toml:2:1: z\n  help: do w\n2 problems found",
        );
        assert_eq!(
            e["message"],
            "invalid configuration: a.toml:1:1: x\na.toml:2:1: z\n2 problems found"
        );
        assert_eq!(e["help"], "do y\ndo w");
        let e = error("f", Some("h"), "no advice here");
        assert_eq!(
            (&e["message"], &e["help"]),
            (&json!("no advice here"), &Value::Null)
        );
    }

    #[test]
    fn an_event_line_shows_no_control_raw_and_parses_back_to_the_same_strings() {
        let hostile = "rm: \u{9b}2J\u{85}\u{90}\u{9d}\u{9f}\u{7f}\u{202e}\u{200e}\u{61c}\u{2069}";
        let line = line(error("corp", Some("local"), hostile));
        assert!(!line.chars().any(|c| c.is_control()), "{line}");
        assert!(
            line.contains(r"\u009b2J\u0085\u0090\u009d\u009f\u007f\u202e\u200e\u061c\u2069"),
            "{line}"
        );
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["message"], hostile);
    }
}
